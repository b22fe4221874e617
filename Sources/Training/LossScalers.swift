import Formats

/// A loss scaler: the scale that multiplies the loss at the current step, and its state machine, which reads
/// whether the step's gradients held an inf or NaN and decides whether the step is skipped.
///
/// Each dynamic scaler reproduces one system's code, including the format its scale is kept in (a Float32
/// tensor for PyTorch, Megatron and jmp, a Python float for DeepSpeed and Apex) and the order of its checks.
public protocol LossScaler {
    var name: String { get }
    /// The scale that multiplies the loss at the current step.
    var scale: Double { get }
    /// Records the step's outcome; returns whether the optimizer step is skipped. Throws where the system
    /// raises (DeepSpeed at its minimum scale).
    mutating func update(nonFinite: Bool, amax: Double?) throws -> Bool
}

extension LossScaler {
    public mutating func update(nonFinite: Bool) throws -> Bool { try update(nonFinite: nonFinite, amax: nil) }
}

/// An error a scaler raises, with the system's own message.
public struct LossScalerError: Error, CustomStringConvertible, Equatable {
    public var description: String
}

/// No scaling: scale 1; a step with non-finite gradients is skipped (the guard's job without a scaler).
public struct NoLossScaler: LossScaler {
    public init() {}
    public var name: String { "none" }
    public var scale: Double { 1 }
    public mutating func update(nonFinite: Bool, amax: Double?) -> Bool { nonFinite }
}

/// A fixed scale; a step with non-finite gradients is skipped.
public struct StaticLossScaler: LossScaler {
    public let scale: Double
    public init(scale: Double) { self.scale = scale }
    public var name: String { "static" }
    public mutating func update(nonFinite: Bool, amax: Double?) -> Bool { nonFinite }
}

/// torch.amp.GradScaler (defaults init_scale 2^16, growth 2, backoff 0.5, interval 2000). The scale is a
/// Float32 tensor: `_amp_update_scale_` multiplies it by the (double) factor and stores a float; on a clean
/// step where the tracker reaches the interval the grown scale is kept only if it is finite.
public struct TorchGradScaler: LossScaler {
    public private(set) var scale32: Float
    public let growthFactor: Double, backoffFactor: Double, growthInterval: Int
    public private(set) var growthTracker = 0

    public init(initScale: Double = 65536, growthFactor: Double = 2, backoffFactor: Double = 0.5, growthInterval: Int = 2000) {
        scale32 = Float(initScale)
        self.growthFactor = growthFactor
        self.backoffFactor = backoffFactor
        self.growthInterval = growthInterval
    }

    public var name: String { "torch" }
    public var scale: Double { Double(scale32) }
    /// The factor `unscale_` multiplies gradients by: 1/scale computed in Double, stored as a Float.
    public var inverseScale: Float { Float(1 / Double(scale32)) }

    public mutating func update(nonFinite: Bool, amax: Double?) -> Bool {
        if nonFinite {
            scale32 = Float(Double(scale32) * backoffFactor)
            growthTracker = 0
        } else {
            let successful = growthTracker + 1
            if successful == growthInterval {
                let grown = Float(Double(scale32) * growthFactor)
                if grown.isFinite { scale32 = grown }
                growthTracker = 0
            } else {
                growthTracker = successful
            }
        }
        return nonFinite
    }
}

/// DeepSpeed's DynamicLossScaler (defaults: initial_scale_power 16, loss_scale_window 1000, hysteresis 2,
/// consecutive_hysteresis false, min_loss_scale 1, raise_error_at_min_scale true); the scale is a Python float.
public struct DeepSpeedLossScaler: LossScaler {
    public private(set) var scale: Double
    public let scaleFactor: Double, scaleWindow: Int, minScale: Double, delayedShift: Int
    public let consecutiveHysteresis: Bool, raiseErrorAtMinScale: Bool
    public private(set) var currentIteration = 0, lastOverflowIteration = -1, currentHysteresis: Int

    public init(initScale: Double = 65536, scaleFactor: Double = 2, scaleWindow: Int = 1000, minScale: Double = 1, delayedShift: Int = 2,
                consecutiveHysteresis: Bool = false, raiseErrorAtMinScale: Bool = true) {
        scale = initScale
        self.scaleFactor = scaleFactor
        self.scaleWindow = scaleWindow
        self.minScale = minScale
        self.delayedShift = delayedShift
        self.consecutiveHysteresis = consecutiveHysteresis
        self.raiseErrorAtMinScale = raiseErrorAtMinScale
        currentHysteresis = delayedShift
    }

    public var name: String { "deepspeed" }

    public mutating func update(nonFinite: Bool, amax: Double?) throws -> Bool {
        if nonFinite {
            if delayedShift == 1 || currentHysteresis == 1 {
                if scale == minScale && raiseErrorAtMinScale {
                    throw LossScalerError(description: "Current loss scale already at minimum - cannot decrease scale anymore. Exiting run.")
                }
                scale = max(scale / scaleFactor, minScale)
            } else {
                currentHysteresis -= 1
            }
            lastOverflowIteration = currentIteration
        } else {
            if consecutiveHysteresis { currentHysteresis = delayedShift }
            let stable = currentIteration - lastOverflowIteration - 1
            if stable > 0 && stable % scaleWindow == 0 {
                if !consecutiveHysteresis { currentHysteresis = delayedShift }
                scale *= scaleFactor
            }
        }
        currentIteration += 1
        return nonFinite
    }
}

/// Megatron-LM's DynamicGradScaler (defaults from its arguments: initial_loss_scale 2^32, min_loss_scale 1,
/// growth 2, backoff 0.5, loss_scale_window 1000, hysteresis 2). The scale, factors and minimum are Float32
/// tensors; growth is not checked for overflow.
public struct MegatronGradScaler: LossScaler {
    public private(set) var scale32: Float
    public let minScale: Float, growthFactor: Float, backoffFactor: Float, growthInterval: Int, hysteresis: Int
    public private(set) var growthTracker = 0, hysteresisTracker: Int

    public init(initialScale: Double = 0x1p32, minScale: Double = 1, growthFactor: Double = 2, backoffFactor: Double = 0.5,
                growthInterval: Int = 1000, hysteresis: Int = 2) {
        scale32 = Float(initialScale)
        self.minScale = Float(minScale)
        self.growthFactor = Float(growthFactor)
        self.backoffFactor = Float(backoffFactor)
        self.growthInterval = growthInterval
        self.hysteresis = hysteresis
        hysteresisTracker = hysteresis
    }

    public var name: String { "megatron" }
    public var scale: Double { Double(scale32) }

    public mutating func update(nonFinite: Bool, amax: Double?) -> Bool {
        if nonFinite {
            growthTracker = 0
            hysteresisTracker -= 1
            if hysteresisTracker <= 0 { scale32 = maxPropagatingNaN(scale32 * backoffFactor, minScale) }
        } else {
            growthTracker += 1
            if growthTracker == growthInterval {
                growthTracker = 0
                hysteresisTracker = hysteresis
                scale32 = scale32 * growthFactor
            }
        }
        return nonFinite
    }

    /// torch.max of two tensors: NaN if either is NaN.
    func maxPropagatingNaN(_ a: Float, _ b: Float) -> Float { a.isNaN || b.isNaN ? .nan : Swift.max(a, b) }
}

/// Apex amp's LossScaler (scale 2^16, window 2000, maximum 2^24; an optional minimum); Python floats.
public struct ApexLossScaler: LossScaler {
    public private(set) var scale: Double
    public let scaleWindow: Int, minScale: Double?, maxScale: Double
    public private(set) var unskipped = 0

    public init(initScale: Double = 65536, scaleWindow: Int = 2000, minScale: Double? = nil, maxScale: Double = 0x1p24) {
        scale = initScale
        self.scaleWindow = scaleWindow
        self.minScale = minScale
        self.maxScale = maxScale
    }

    public var name: String { "apex" }

    public mutating func update(nonFinite: Bool, amax: Double?) -> Bool {
        if nonFinite {
            scale = minScale.map { max($0, scale / 2) } ?? scale / 2
            unskipped = 0
        } else {
            unskipped += 1
        }
        if unskipped == scaleWindow {
            scale = min(maxScale, scale * 2)
            unskipped = 0
        }
        return nonFinite
    }
}

/// jmp's DynamicLossScale (period 2000, factor 2, min_loss_scale 1; the documented start 2^15). The scale is a
/// Float32 array: on finite gradients it grows at the end of a period only if the result is finite; on
/// non-finite ones it becomes max(min, scale / factor); counter = ((counter + 1) % period) · finite.
public struct JmpLossScale: LossScaler {
    public private(set) var scale32: Float
    public let period: Int, factor: Float, minScale: Float
    public private(set) var counter: Int32 = 0

    public init(lossScale: Double = 0x1p15, period: Int = 2000, factor: Double = 2, minScale: Double = 1) {
        scale32 = Float(lossScale)
        self.period = period
        self.factor = Float(factor)
        self.minScale = Float(minScale)
    }

    public var name: String { "jmp" }
    public var scale: Double { Double(scale32) }

    public mutating func update(nonFinite: Bool, amax: Double?) -> Bool {
        let finite = !nonFinite
        if finite {
            if counter == Int32(period - 1) {
                let grown = scale32 * factor
                if grown.isFinite { scale32 = grown }
            }
        } else {
            // jnp.maximum propagates NaN.
            let reduced = scale32 / factor
            scale32 = reduced.isNaN || minScale.isNaN ? .nan : max(minScale, reduced)
        }
        counter = Int32((Int(counter) + 1) % period) * (finite ? 1 : 0)
        return nonFinite
    }
}

/// TransformerEngine's delayed scaling: a history of the last `historyLength` amax values (the newest first);
/// amax = max of the history; scale = (fp8Max / amax) / 2^margin in Float32 when amax is finite and positive,
/// else the old scale. The scale of step i comes from the amax values of steps before i (delayed); a step
/// whose gradients are not finite is skipped. E4M3 max 448, E5M2 max 57344.
public struct AmaxHistoryScaler: LossScaler {
    public private(set) var scale32: Float = 1
    public let fp8Max: Float, margin: Int, historyLength: Int
    public private(set) var history: [Float]

    public init(fp8Max: Double = 57344, margin: Int = 0, historyLength: Int = 1024) {
        self.fp8Max = Float(fp8Max)
        self.margin = margin
        self.historyLength = historyLength
        history = []
    }

    public var name: String { "amax" }
    public var scale: Double { Double(scale32) }

    public mutating func update(nonFinite: Bool, amax: Double?) -> Bool {
        if let amax {
            history.insert(Float(amax), at: 0)
            if history.count > historyLength { history.removeLast() }
            // torch.max over the history: NaN if any entry is NaN.
            let largest = history.contains { $0.isNaN } ? Float.nan : history.max() ?? 0
            let candidate = (fp8Max / largest) / Float(sign: .plus, exponent: margin, significand: 1)
            if largest > 0 && largest.isFinite { scale32 = candidate }
        }
        return nonFinite
    }
}

/// A scaler's run over a trace: the scale that multiplied the loss at each step, and which steps were skipped;
/// `error` is the scaler's own message if it raised (the lists then end at that step).
public struct ScalerReplay: Sendable, Equatable {
    public var scales: [Double] = []
    public var skipped: [Bool] = []
    public var error: String?

    public init(_ scaler: inout some LossScaler, overflow: [Bool], amax: [Double]? = nil) {
        for (i, flag) in overflow.enumerated() {
            scales.append(scaler.scale)
            do {
                skipped.append(try scaler.update(nonFinite: flag, amax: amax?[i]))
            } catch {
                skipped.append(true)
                self.error = "\(error)"
                return
            }
        }
    }
}

/// The dynamic scalers by name, built from options named as `precision-lab scaler replay` takes them. Each
/// system has its own defaults; an option a system does not have is an error, not silently ignored.
public enum LossScalerKind: String, CaseIterable, Sendable {
    case torch, deepspeed, megatron, apex, jmp, amax

    public struct Options: Sendable, Equatable {
        public var initScale: Double?
        public var growthFactor: Double?
        public var backoffFactor: Double?
        public var growthInterval: Int?
        public var hysteresis: Int?
        public var minScale: Double?
        public var consecutiveHysteresis = false
        public var fp8Max: Double?
        public var margin: Int?
        public var historyLength: Int?
        /// DeepSpeed's raise_error_at_min_scale (nil: its default, true).
        public var raiseErrorAtMinScale: Bool?
        public init() {}
    }

    /// The options this system has.
    public var accepts: Set<String> {
        switch self {
        case .torch: return ["init-scale", "growth-factor", "backoff-factor", "growth-interval"]
        case .deepspeed: return ["init-scale", "growth-factor", "growth-interval", "hysteresis", "min-scale", "consecutive-hysteresis", "raise-error-at-min-scale"]
        case .megatron: return ["init-scale", "growth-factor", "backoff-factor", "growth-interval", "hysteresis", "min-scale"]
        case .apex: return ["init-scale", "growth-interval", "min-scale"]
        case .jmp: return ["init-scale", "growth-factor", "growth-interval", "min-scale"]
        case .amax: return ["fp8-max", "margin", "history-length"]
        }
    }

    public func make(_ o: Options) throws -> any LossScaler {
        let given: [(String, Bool)] = [("init-scale", o.initScale != nil), ("growth-factor", o.growthFactor != nil),
                                       ("backoff-factor", o.backoffFactor != nil), ("growth-interval", o.growthInterval != nil),
                                       ("hysteresis", o.hysteresis != nil), ("min-scale", o.minScale != nil),
                                       ("consecutive-hysteresis", o.consecutiveHysteresis), ("fp8-max", o.fp8Max != nil),
                                       ("margin", o.margin != nil), ("history-length", o.historyLength != nil),
                                       ("raise-error-at-min-scale", o.raiseErrorAtMinScale != nil)]
        for (option, set) in given where set && !accepts.contains(option) {
            throw LossScalerError(description: "--\(option) does not apply to the \(rawValue) scaler (it takes \(accepts.sorted().map { "--" + $0 }.joined(separator: ", ")))")
        }
        switch self {
        case .torch:
            return TorchGradScaler(initScale: o.initScale ?? 65536, growthFactor: o.growthFactor ?? 2, backoffFactor: o.backoffFactor ?? 0.5,
                                   growthInterval: o.growthInterval ?? 2000)
        case .deepspeed:
            return DeepSpeedLossScaler(initScale: o.initScale ?? 65536, scaleFactor: o.growthFactor ?? 2, scaleWindow: o.growthInterval ?? 1000,
                                       minScale: o.minScale ?? 1, delayedShift: o.hysteresis ?? 2, consecutiveHysteresis: o.consecutiveHysteresis,
                                       raiseErrorAtMinScale: o.raiseErrorAtMinScale ?? true)
        case .megatron:
            return MegatronGradScaler(initialScale: o.initScale ?? 0x1p32, minScale: o.minScale ?? 1, growthFactor: o.growthFactor ?? 2,
                                      backoffFactor: o.backoffFactor ?? 0.5, growthInterval: o.growthInterval ?? 1000, hysteresis: o.hysteresis ?? 2)
        case .apex:
            return ApexLossScaler(initScale: o.initScale ?? 65536, scaleWindow: o.growthInterval ?? 2000, minScale: o.minScale)
        case .jmp:
            return JmpLossScale(lossScale: o.initScale ?? 0x1p15, period: o.growthInterval ?? 2000, factor: o.growthFactor ?? 2, minScale: o.minScale ?? 1)
        case .amax:
            return AmaxHistoryScaler(fp8Max: o.fp8Max ?? 57344, margin: o.margin ?? 0, historyLength: o.historyLength ?? 1024)
        }
    }
}

extension ScalerReplay {
    /// Replays a scaler given as an existential.
    public init(_ scaler: any LossScaler, overflow: [Bool], amax: [Double]? = nil) {
        var s = scaler
        self.init(&s, overflow: overflow, amax: amax)
    }
}
