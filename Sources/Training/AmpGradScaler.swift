import Formats
import Tensors

/// An error the GradScaler flow raises, with torch's message.
public struct GradScalerError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(description: String) { self.description = description }
}

/// How a step's gradients are checked for overflow.
public enum OverflowCheck: String, Sendable, CaseIterable {
    /// Any element inf or NaN (`_amp_foreach_non_finite_check_and_unscale_`, jmp's `all_finite`).
    case elementwise
    /// DeepSpeed's `_has_inf_or_nan`: each gradient summed in Float32 (`float(x.float().sum())`), the sum tested.
    /// A finite gradient whose Float32 sum overflows is a false alarm; opposite infinities cancel to NaN (caught).
    case deepspeedFP32Sum = "deepspeed-fp32-sum"

    public func overflowed(_ gradients: [GradientTensor]) -> Bool {
        switch self {
        case .elementwise: return gradients.contains { $0.visit(NonFiniteVisitor()) }
        case .deepspeedFP32Sum: return gradients.contains { !$0.visit(Float32Sum()).isFinite }
        }
    }
}

/// torch.amp.GradScaler's protocol around any loss scaler: `scale` the loss, `unscale` the gradients once per
/// step (multiplying by the Float32 inverse scale and recording found_inf), `step` (skipped when found_inf),
/// `update`. The errors are torch's: unscaling twice, unscaling after step, stepping twice, and unscaling Float16
/// gradients (GradScaler refuses them: its gradients must be Float32 master gradients or BFloat16).
public struct AmpGradScaler {
    enum Stage { case ready, unscaled, stepped }

    public private(set) var scaler: any LossScaler
    public var check: OverflowCheck
    var stage = Stage.ready
    public private(set) var foundInf = false

    public init(_ scaler: any LossScaler, check: OverflowCheck = .elementwise) {
        self.scaler = scaler
        self.check = check
    }

    /// The factor the loss is multiplied by (the seed of backward).
    public var scale: Double { scaler.scale }

    /// 1/scale computed in Double and rounded to Float, as `unscale_` computes `inv_scale`.
    public var inverseScale: Float { Float(1 / scaler.scale) }

    /// `unscale_(optimizer)`: gradients ← gradients · inv_scale (in each gradient's compute type, rounded), and
    /// found_inf from the overflow check of the scaled gradients.
    public mutating func unscale(_ gradients: [GradientTensor], allowFloat16: Bool = false) throws {
        switch stage {
        case .unscaled: throw GradScalerError(description: "unscale_() has already been called on this optimizer since the last update().")
        case .stepped: throw GradScalerError(description: "unscale_() is being called after step().")
        case .ready: break
        }
        if !allowFloat16 && gradients.contains(where: { $0.format == .float16 }) {
            throw GradScalerError(description: "Attempting to unscale FP16 gradients.")
        }
        foundInf = check.overflowed(gradients)
        TorchClipping.multiply(gradients, by: Double(inverseScale))
        stage = .unscaled
    }

    /// `step(optimizer)`: unscales first if that has not happened this step, then runs the optimizer step unless
    /// found_inf. Returns whether the step was skipped.
    public mutating func step(_ gradients: [GradientTensor], allowFloat16: Bool = false, optimizerStep: () -> Void) throws -> Bool {
        if stage == .stepped { throw GradScalerError(description: "step() has already been called since the last update().") }
        if stage == .ready { try unscale(gradients, allowFloat16: allowFloat16) }
        if !foundInf { optimizerStep() }
        stage = .stepped
        return foundInf
    }

    /// `update()`: the scaler's state machine reads found_inf; the next step starts.
    public mutating func update(amax: Double? = nil) throws {
        _ = try scaler.update(nonFinite: foundInf, amax: amax)
        stage = .ready
        foundInf = false
    }
}

private struct NonFiniteVisitor: GradientVisitor {
    func visit<S: TensorScalar>(_ values: UnsafeMutableBufferPointer<S>) -> Bool {
        guard let base = values.baseAddress else { return false }
        return countNonFinite(UnsafePointer(base), count: values.count, stopAtFirst: true) > 0
    }
}

/// Σ x in Float32, in order (DeepSpeed's check tests only whether this is finite).
private struct Float32Sum: GradientVisitor {
    func visit<S: TensorScalar>(_ values: UnsafeMutableBufferPointer<S>) -> Float {
        var s: Float = 0
        for v in values { s += Float(v) }
        return s
    }
}
