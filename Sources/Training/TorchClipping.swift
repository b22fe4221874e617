import Formats
import Tensors

/// `torch.nn.utils.clip_grad_norm_` (torch 2.15, CPU) step by step, with every intermediate held in the dtype
/// torch holds it in.
public enum TorchClipping {
    /// `get_total_norm`: `_foreach_norm` per dtype group (on the CPU, `vector_norm` of each tensor, returned in
    /// the tensor's dtype), the norms stacked in parameter order (group order equals first occurrence, and
    /// within a group the parameter order is kept; stacking promotes: any f64 → f64, else any f32 or a mix of
    /// f16 and bf16 → f32), then `vector_norm` of the stack. No gradients → 0 (a Float32 tensor).
    public static func totalNorm(_ gradients: [GradientTensor], order p: Double, threads: Int) -> NormValue {
        guard !gradients.isEmpty else { return NormValue(value: 0, format: .float32) }
        // Group by dtype in order of first appearance, as _group_tensors_by_device_and_dtype does.
        var groupOrder: [FloatFormat] = []
        for g in gradients where !groupOrder.contains(g.format) { groupOrder.append(g.format) }
        var norms: [Double] = []
        for format in groupOrder {
            for g in gradients where g.format == format { norms.append(g.visit(NormVisitor(order: p, threads: threads))) }
        }
        let stacked = promoted(groupOrder)
        let value: Double
        switch stacked {
        case .float16: value = stackNorm(norms, Float16.self, p, threads)
        case .bfloat16: value = stackNorm(norms, BFloat16.self, p, threads)
        case .float32: value = stackNorm(norms, Float.self, p, threads)
        default: value = stackNorm(norms, Double.self, p, threads)
        }
        return NormValue(value: value, format: stacked)
    }

    /// torch's type promotion of floating dtypes.
    public static func promoted(_ formats: [FloatFormat]) -> FloatFormat {
        let set = Set(formats)
        if set.contains(.float64) { return .float64 }
        if set.contains(.float32) || (set.contains(.float16) && set.contains(.bfloat16)) { return .float32 }
        return set.first ?? .float32
    }

    private static func stackNorm<T: TensorScalar>(_ norms: [Double], _: T.Type, _ p: Double, _ threads: Int) -> Double {
        let values = norms.map { T(rounding: $0, saturating: false) }  // exact: each norm is a value of a narrower dtype
        return Double(values.withUnsafeBufferPointer { TorchNorm.vectorNorm($0, order: p, threads: threads) })
    }

    /// `clamp(max_norm / (total + 1e-6), max=1.0)` in the total's dtype: the sum with 1e-6 (a Float for the 16-
    /// and 32-bit dtypes), the division as `reciprocal() * max_norm`, each rounded to the dtype; NaN stays NaN.
    public static func clipCoefficient(total: NormValue, maxNorm: Double) -> Double {
        let format = total.format
        // + - * / of values of a 16/32-bit format computed in Double and rounded once to the format are correctly
        // rounded (53 >= 2p + 2), which is what torch's Float opmath followed by the cast delivers.
        let denominator = format.round(total.value + scalarOperand(1e-6, format))
        let reciprocal = format.round(1 / denominator)
        let coefficient = format.round(reciprocal * scalarOperand(maxNorm, format))
        return coefficient.isNaN ? coefficient : min(coefficient, 1)
    }

    /// A Python float as a CPU kernel of dtype `format` reads it: as a Float, except for Float64.
    static func scalarOperand(_ x: Double, _ format: FloatFormat) -> Double {
        format == .float64 ? x : Double(Float(x))
    }

    /// `_foreach_mul_(grads, coef)`: every gradient multiplied by the coefficient in its compute type.
    public static func multiply(_ gradients: [GradientTensor], by coefficient: Double) {
        for g in gradients { g.visit(ScaleVisitor(coefficient: coefficient)) }
    }

    /// torch.nn.utils.clip_grad_norm_: returns the total norm.
    @discardableResult
    public static func clipGradNorm(_ gradients: [GradientTensor], maxNorm: Double, order: Double = 2,
                                    errorIfNonFinite: Bool = false, threads: Int = 1) throws -> NormValue {
        let clipper = GlobalNormClipper(maxNorm: maxNorm, order: order, semantics: .torch, errorIfNonFinite: errorIfNonFinite, threads: threads)
        let outcome = try clipper.clip(gradients, parameters: [])
        return NormValue(value: outcome.norm, format: outcome.normFormat)
    }
}

private struct NormVisitor: GradientVisitor {
    let order: Double
    let threads: Int
    func visit<S: TensorScalar>(_ values: UnsafeMutableBufferPointer<S>) -> Double {
        Double(TorchNorm.vectorNorm(UnsafeBufferPointer(values), order: order, threads: threads))
    }
}
