/// The clipping methods the lab offers by name (the `--method` of `precision-lab clip`, the `--clip` of `train`).
public enum ClipMethod: String, CaseIterable, Sendable {
    case none
    case globalNorm = "global-norm"
    case value
    case perTensor = "per-tensor"
    case agc
    case blockRMS = "block-rms"
    case zclip
    case autoclip
}

/// Everything that names one clipper: method, threshold and semantics. Validated once, then `make()` builds it.
public struct ClipperConfiguration: Sendable, Equatable {
    public var method: ClipMethod
    public var semantics: ClipSemantics = .torch
    /// max_norm (global-norm, per-tensor; ZClip's cap), the clamp value (value), the RMS threshold (block-rms).
    public var maxNorm: Double = 1
    public var order: Double = 2
    /// AGC's ratio and its eps.
    public var clipping: Double = 0.01
    public var eps: Double = 1e-3
    public var errorIfNonFinite = false
    /// Threads torch's CPU kernels would use (they decide the chunking of long reductions).
    public var threads = 1
    /// Overrides the semantics' own norm (a Reductions algorithm in its accumulator, or the exact norm).
    public var norm: ClipNorm? = nil

    public init(method: ClipMethod) { self.method = method }

    /// Why the configuration cannot run, or nil.
    public var problem: String? {
        if !(maxNorm.isFinite && maxNorm > 0) && method != .none && method != .agc && method != .autoclip {
            return "the threshold must be a finite number > 0 (got \(maxNorm))"
        }
        if method == .agc && !(clipping.isFinite && clipping > 0) { return "--clipping must be a finite number > 0 (got \(clipping))" }
        if method == .agc && !(eps.isFinite && eps >= 0) { return "--eps must be a finite number >= 0 (got \(eps))" }
        if order.isNaN || order < 0 { return "--norm-type must be 0, a number > 0 or inf (got \(order))" }
        if semantics == .optax && method == .globalNorm && norm == nil && ![1, 2, .infinity].contains(order) {
            return "optax's tree norm has orders 1, 2 and inf only (got \(order))"
        }
        if threads < 1 { return "threads must be at least 1" }
        return nil
    }

    public func make() -> any GradientClipper {
        switch method {
        case .none: return NoClipper(norm: norm ?? .torch(threads: threads))
        case .globalNorm:
            return GlobalNormClipper(maxNorm: maxNorm, order: order, semantics: semantics, norm: norm,
                                     errorIfNonFinite: errorIfNonFinite, threads: threads)
        case .value: return ValueClipper(limit: maxNorm, semantics: semantics, norm: norm ?? .torch(threads: threads))
        case .perTensor: return PerTensorNormClipper(maxNorm: maxNorm, order: order, threads: threads)
        case .agc: return AdaptiveGradClipper(clipping: clipping, eps: eps)
        case .blockRMS: return BlockRMSClipper(threshold: maxNorm)
        case .zclip: return ZClipper(maxNorm: maxNorm, norm: norm ?? .torch(threads: threads))
        case .autoclip: return AutoClipper(norm: norm ?? .torch(threads: threads))
        }
    }
}
