import Base
import Formats
import Tensors

/// What a clipper did at one step.
public struct ClipOutcome: Sendable, Equatable {
    /// The norm the clipper decided on (the total norm for global clipping, the largest per-tensor or per-unit
    /// norm for the others), as the Double value of its result in `normFormat`.
    public var norm: Double
    public var normFormat: FloatFormat
    /// The factor the gradients were multiplied by (global clipping; 1 when nothing was clipped); nil for
    /// element- or unit-wise clippers, whose factor varies.
    public var coefficient: Double?
    /// The threshold in force (max_norm, or the adaptive threshold of ZClip/AutoClip).
    public var threshold: Double?
    /// Whether any gradient element was changed.
    public var clipped: Bool

    public init(norm: Double, normFormat: FloatFormat, coefficient: Double?, threshold: Double?, clipped: Bool) {
        self.norm = norm
        self.normFormat = normFormat
        self.coefficient = coefficient
        self.threshold = threshold
        self.clipped = clipped
    }
}

/// PyTorch's error for a non-finite total norm with `error_if_nonfinite=True`.
public struct NonFiniteNormError: Error, CustomStringConvertible, Equatable {
    public let order: Double
    public var description: String {
        "The total norm of order \(pythonFloat(order)) for gradients from `parameters` is non-finite, so it cannot be clipped. "
            + "To disable this error and scale the gradients by the non-finite norm anyway, set `error_if_nonfinite=False`"
    }
}

/// A float as Python's repr prints it (2.0, inf, 0.5).
func pythonFloat(_ x: Double) -> String {
    if x.isNaN { return "nan" }
    if x.isInfinite { return x > 0 ? "inf" : "-inf" }
    if x == x.rounded() && x.magnitude < 1e16 { return "\(Int64(x)).0" }
    return "\(x)"
}

/// A gradient clipper: rewrites gradients in place, given the parameters (AGC reads them).
public protocol GradientClipper {
    var name: String { get }
    mutating func clip(_ gradients: [GradientTensor], parameters: [GradientTensor]) throws -> ClipOutcome
}

/// Whose arithmetic a clipper follows.
public enum ClipSemantics: String, Sendable, CaseIterable {
    /// torch.nn.utils: coefficient max_norm / (total + 1e-6) in the total's dtype, clamped at 1, always multiplied.
    case torch
    /// optax: no eps; `select(norm < max_norm, g, g / norm * max_norm)` in each leaf's dtype.
    case optax

    /// "torch" or "optax"; "pytorch", the old spelling, is still read.
    public init?(name: String) {
        self.init(rawValue: name == "pytorch" ? "torch" : name)
    }
}

/// A gradient norm computed outside the tensor engine: a reduction algorithm in its own accumulator, or the exact
/// norm. Training says what it needs here; the implementations live above it (Experiments, on Reductions), so the
/// engine does not link MPFR.
public protocol ExternalGradientNorm: Sendable {
    var name: String { get }
    /// The norm of order `order` of all `buffers` as one vector, in its format; nil when this norm does not
    /// support the order (the clipper then uses PyTorch's norm on one thread).
    func norm(of buffers: [FloatBuffer], order: NormOrder) -> NormValue?
}

/// How a clipper's norm is computed.
public enum ClipNorm: Sendable, Equatable {
    /// `torch.nn.utils.get_total_norm`: per-tensor norms in each tensor's dtype, then the norm of their stack
    /// (in the promoted dtype), with torch's CPU kernels for `threads` threads.
    case torch(threads: Int)
    /// `optax.tree.norm`: per-leaf sums in the leaf dtype (16-bit sums accumulated in Float32), added in leaf order.
    case optax
    /// Another norm over all gradients as one vector (e.g. the reduction algorithm `naive`, which accumulates
    /// Float16 gradients in Float16 and overflows at 65504, or the exact norm).
    case external(any ExternalGradientNorm)

    /// "torch" (or its old spelling "pytorch") and "optax"; other names are external norms (see `ClipNorm.named`).
    public init?(builtIn name: String, threads: Int) {
        switch name {
        case "torch", "pytorch": self = .torch(threads: threads)
        case "optax": self = .optax
        default: return nil
        }
    }

    public var name: String {
        switch self {
        case .torch: return "torch"
        case .optax: return "optax"
        case .external(let n): return n.name
        }
    }

    public static func == (a: ClipNorm, b: ClipNorm) -> Bool {
        switch (a, b) {
        case (.torch(let x), .torch(let y)): return x == y
        case (.optax, .optax): return true
        case (.external(let x), .external(let y)): return x.name == y.name
        default: return false
        }
    }
}

/// A norm's value and the format it was delivered in.
public struct NormValue: Sendable, Equatable {
    public var value: Double
    public var format: FloatFormat
    public init(value: Double, format: FloatFormat) {
        self.value = value
        self.format = format
    }
}

extension ClipNorm {
    /// The norm of order `p` of all `gradients`.
    public func evaluate(_ gradients: [GradientTensor], order p: Double) -> NormValue {
        switch self {
        case .torch(let threads): return TorchClipping.totalNorm(gradients, order: p, threads: threads)
        case .optax: return OptaxClipping.treeNorm(gradients, order: p)
        case .external(let norm):
            guard let order = NormOrder(p: p), !gradients.isEmpty, let value = norm.norm(of: gradients.map(\.floatBuffer), order: order) else {
                return TorchClipping.totalNorm(gradients, order: p, threads: 1)
            }
            return value
        }
    }
}

// MARK: - The clippers

/// No clipping; reports the total 2-norm (PyTorch's) so telemetry still sees it.
public struct NoClipper: GradientClipper {
    public var norm: ClipNorm
    public init(norm: ClipNorm = .torch(threads: 1)) { self.norm = norm }
    public var name: String { "none" }
    public func clip(_ gradients: [GradientTensor], parameters: [GradientTensor]) -> ClipOutcome {
        let total = norm.evaluate(gradients, order: 2)
        return ClipOutcome(norm: total.value, normFormat: total.format, coefficient: 1, threshold: nil, clipped: false)
    }
}

/// Clipping by the global norm: g ← g · min(1, c/‖g‖), in PyTorch's or optax's arithmetic, with the norm of any
/// order computed as `norm` says.
public struct GlobalNormClipper: GradientClipper {
    public var maxNorm: Double
    public var order: Double
    public var semantics: ClipSemantics
    public var norm: ClipNorm
    public var errorIfNonFinite: Bool

    public init(maxNorm: Double, order: Double = 2, semantics: ClipSemantics = .torch, norm: ClipNorm? = nil,
                errorIfNonFinite: Bool = false, threads: Int = 1) {
        self.maxNorm = maxNorm
        self.order = order
        self.semantics = semantics
        self.norm = norm ?? (semantics == .torch ? .torch(threads: threads) : .optax)
        self.errorIfNonFinite = errorIfNonFinite
    }

    public var name: String { "global-norm" }

    public func clip(_ gradients: [GradientTensor], parameters: [GradientTensor]) throws -> ClipOutcome {
        let total = norm.evaluate(gradients, order: order)
        if errorIfNonFinite && !total.value.isFinite { throw NonFiniteNormError(order: order) }
        switch semantics {
        case .torch:
            guard !gradients.isEmpty else { return ClipOutcome(norm: 0, normFormat: .float32, coefficient: nil, threshold: maxNorm, clipped: false) }
            let coefficient = TorchClipping.clipCoefficient(total: total, maxNorm: maxNorm)
            TorchClipping.multiply(gradients, by: coefficient)
            return ClipOutcome(norm: total.value, normFormat: total.format, coefficient: coefficient,
                               threshold: maxNorm, clipped: coefficient != 1)
        case .optax:
            let clipped = OptaxClipping.clip(gradients, norm: total, maxNorm: maxNorm)
            let coefficient = clipped ? total.format.round(total.format.round(maxNorm) / total.value) : 1
            return ClipOutcome(norm: total.value, normFormat: total.format, coefficient: coefficient, threshold: maxNorm, clipped: clipped)
        }
    }
}

/// Each tensor clipped by its own norm, with PyTorch's arithmetic (clip_grad_norm_ applied tensor by tensor).
public struct PerTensorNormClipper: GradientClipper {
    public var maxNorm: Double
    public var order: Double
    public var threads: Int
    public init(maxNorm: Double, order: Double = 2, threads: Int = 1) {
        self.maxNorm = maxNorm
        self.order = order
        self.threads = threads
    }
    public var name: String { "per-tensor" }
    public func clip(_ gradients: [GradientTensor], parameters: [GradientTensor]) -> ClipOutcome {
        var largest = NormValue(value: 0, format: .float32)
        var clipped = false
        for g in gradients {
            let n = TorchClipping.totalNorm([g], order: order, threads: threads)
            if n.value > largest.value || n.value.isNaN { largest = n }
            let coefficient = TorchClipping.clipCoefficient(total: n, maxNorm: maxNorm)
            TorchClipping.multiply([g], by: coefficient)
            clipped = clipped || coefficient != 1
        }
        return ClipOutcome(norm: largest.value, normFormat: largest.format, coefficient: nil, threshold: maxNorm, clipped: clipped)
    }
}

/// Every element clamped to [-v, v] (torch `clip_grad_value_`, optax `clip`).
public struct ValueClipper: GradientClipper {
    public var limit: Double
    public var semantics: ClipSemantics
    /// The norm reported (value clipping itself uses none).
    public var norm: ClipNorm
    public init(limit: Double, semantics: ClipSemantics = .torch, norm: ClipNorm = .torch(threads: 1)) {
        self.limit = limit
        self.semantics = semantics
        self.norm = norm
    }
    public var name: String { "value" }
    public func clip(_ gradients: [GradientTensor], parameters: [GradientTensor]) -> ClipOutcome {
        let total = norm.evaluate(gradients, order: 2)
        var clipped = false
        for g in gradients { clipped = g.visit(ClampVisitor(limit: limit, semantics: semantics)) || clipped }
        return ClipOutcome(norm: total.value, normFormat: total.format, coefficient: nil, threshold: limit, clipped: clipped)
    }
}

/// optax `adaptive_grad_clip(clipping, eps)`: unit-wise norms of gradients and parameters; a unit whose gradient
/// norm exceeds clipping · max(‖p‖, eps) is scaled to that length.
public struct AdaptiveGradClipper: GradientClipper {
    public var clipping: Double
    public var eps: Double
    public init(clipping: Double, eps: Double = 1e-3) {
        self.clipping = clipping
        self.eps = eps
    }
    public var name: String { "agc" }
    public func clip(_ gradients: [GradientTensor], parameters: [GradientTensor]) throws -> ClipOutcome {
        guard parameters.count == gradients.count else {
            throw ClipperError("adaptive clipping needs one parameter per gradient (\(gradients.count) gradients, \(parameters.count) parameters)")
        }
        var clipped = false
        var largest = 0.0
        for (g, p) in zip(gradients, parameters) {
            guard g.shape == p.shape else {
                throw ClipperError("gradient '\(g.name)' has shape \(g.shape) but its parameter '\(p.name)' has shape \(p.shape)")
            }
            let result = try OptaxClipping.adaptiveClip(g, parameter: p, clipping: clipping, eps: eps)
            clipped = clipped || result.clipped
            largest = max(largest, result.largestRatio)
        }
        return ClipOutcome(norm: largest, normFormat: .float64, coefficient: nil, threshold: clipping, clipped: clipped)
    }
}

/// optax `clip_by_block_rms(threshold)`: each tensor divided by max(1, rms/threshold) in its own dtype.
public struct BlockRMSClipper: GradientClipper {
    public var threshold: Double
    public init(threshold: Double) { self.threshold = threshold }
    public var name: String { "block-rms" }
    public func clip(_ gradients: [GradientTensor], parameters: [GradientTensor]) -> ClipOutcome {
        var clipped = false
        var largest = 0.0
        for g in gradients {
            let rms = OptaxClipping.blockRMSClip(g, threshold: threshold)
            clipped = clipped || rms.clipped
            largest = max(largest, rms.rms)
        }
        return ClipOutcome(norm: largest, normFormat: .float64, coefficient: nil, threshold: threshold, clipped: clipped)
    }
}

public struct ClipperError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

// MARK: - Element kernels

/// Clamps to [-v, v]: PyTorch compares in the compute type with v as a Float (Double for Double); optax rounds v
/// to the leaf dtype first. NaN stays NaN.
struct ClampVisitor: GradientVisitor {
    let limit: Double
    let semantics: ClipSemantics
    func visit<S: TensorScalar>(_ values: UnsafeMutableBufferPointer<S>) -> Bool {
        let v = semantics == .optax ? S.Compute(S.format.round(limit)) : S.Compute(limit)
        var changed = false
        for i in values.indices {
            let x = values[i].compute
            if x.isNaN { continue }
            if x > v || x < -v {
                values[i] = S(compute: x > v ? v : -v)
                changed = true
            }
        }
        return changed
    }
}

/// g ← g · c with c converted to the compute type of g (Float for 16/32-bit, Double for Double), the product
/// rounded once: torch's `mul_` by a 0-dim tensor on the CPU.
struct ScaleVisitor: GradientVisitor {
    let coefficient: Double
    func visit<S: TensorScalar>(_ values: UnsafeMutableBufferPointer<S>) {
        let c = S.Compute(coefficient)
        for i in values.indices { values[i] = S(compute: values[i].compute * c) }
    }
}
