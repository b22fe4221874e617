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
    /// The threshold, whose meaning is the method's (`thresholdMeaning`): max_norm of the total norm (global-norm)
    /// or of each tensor's norm (per-tensor), the clamp value |g| <= v (value), the RMS each block is scaled down
    /// to (block-rms), ZClip's cap on the adaptive threshold (zclip). AGC and AutoClip do not use it.
    public var maxNorm: Double = 1
    /// The norm order p (`ord`): of the total norm (global-norm, and the telemetry of the others) and of each
    /// tensor's norm (per-tensor).
    public var order: Double = 2
    /// AGC's ratio λ: a unit's gradient norm is clipped to λ·max(‖w‖, eps); and that eps.
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
        if let meaning = thresholdMeaning, !(maxNorm.isFinite && maxNorm > 0) {
            return "max_norm (\(meaning)) must be a finite number > 0 (got \(maxNorm))"
        }
        if method == .agc && !(clipping.isFinite && clipping > 0) { return "clipping (AGC's ratio) must be a finite number > 0 (got \(clipping))" }
        if method == .agc && !(eps.isFinite && eps >= 0) { return "eps must be a finite number >= 0 (got \(eps))" }
        if order.isNaN || order < 0 { return "ord must be 0, a number > 0 or inf (got \(order))" }
        if semantics == .optax && method == .globalNorm && norm == nil && ![1, 2, .infinity].contains(order) {
            return "optax's tree norm has orders 1, 2 and inf only (got \(order))"
        }
        if threads < 1 { return "threads must be at least 1" }
        return nil
    }

    /// Whose arithmetic the clipper runs: AGC and block-RMS exist only in optax, per-tensor only in torch's; the
    /// others follow `semantics`.
    public var arithmetic: ClipSemantics {
        switch method {
        case .agc, .blockRMS: return .optax
        case .perTensor: return .torch
        default: return semantics
        }
    }

    /// What `maxNorm` means for the method, or nil when the method has no such threshold.
    public var thresholdMeaning: String? {
        switch method {
        case .globalNorm: return "the largest total norm"
        case .perTensor: return "the largest norm of each tensor"
        case .value: return "the clamp value: |g| <= max_norm"
        case .blockRMS: return "the RMS each block is scaled down to"
        case .zclip: return "the cap on ZClip's adaptive threshold"
        case .none, .agc, .autoclip: return nil
        }
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
