import Formats
import Tensors
import TestSupport

/// A tensor of seeded values uniform in [-scale, scale), rounded to S.
func randomTensor<S: TensorScalar>(_: S.Type, _ shape: Shape, scale: Double = 1, seed: UInt64) -> Tensor<S> {
    Tensor(shape: shape, rounding: seededUniform(count: shape.count, scale: scale, seed: seed))
}

/// Runs `body` for each of the four formats.
func forEachFormat(_ body: (any TensorScalar.Type) -> Void) {
    body(Float16.self); body(BFloat16.self); body(Float.self); body(Double.self)
}

/// The ulp of `x` in format S (the spacing at |x|; the smallest subnormal at 0).
func ulp<S: TensorScalar>(_: S.Type, _ x: Double) -> Double {
    let f = S.format
    let e = x == 0 || !x.isFinite ? f.emin : max(Int(x.magnitude.exponent), f.emin)
    return Double(sign: .plus, exponent: e - f.precision + 1, significand: 1)
}
