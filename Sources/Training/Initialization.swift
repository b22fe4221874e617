import Formats
import Tensors

/// How a parameter's initial values are drawn. Values are drawn in Double from the lab's `SeededGenerator`
/// (xoshiro256**; normals by Box-Muller, two uniforms each) in row-major order and rounded once to the
/// parameter's format, so a model is the same bits from the same seed.
public enum Initializer: Sendable, Equatable {
    /// U(-1/√fanIn, 1/√fanIn): PyTorch's default for Linear (kaiming_uniform_ with a = √5).
    case kaimingUniform
    /// N(0, 2/fanIn): He et al. (2015) for ReLU layers.
    case kaimingNormal
    /// U(-√(6/(fanIn + fanOut)), +√(6/(fanIn + fanOut))): Glorot and Bengio (2010).
    case xavierUniform
    /// N(0, 2/(fanIn + fanOut)).
    case xavierNormal
    /// N(0, σ²).
    case normal(Double)
    /// U(-a, a).
    case uniform(Double)
    /// Every element `c`.
    case constant(Double)

    public func tensor<S: TensorScalar>(_: S.Type, _ shape: Shape, fanIn: Int, fanOut: Int, rng: inout SeededGenerator) -> Tensor<S> {
        let n = shape.count
        var values = [Double]()
        values.reserveCapacity(n)
        switch self {
        case .kaimingUniform: for _ in 0..<n { values.append((2 * rng.nextUnit() - 1) / Double(fanIn).squareRoot()) }
        case .kaimingNormal: for _ in 0..<n { values.append(rng.nextNormal() * (2 / Double(fanIn)).squareRoot()) }
        case .xavierUniform:
            let a = (6 / Double(fanIn + fanOut)).squareRoot()
            for _ in 0..<n { values.append((2 * rng.nextUnit() - 1) * a) }
        case .xavierNormal: for _ in 0..<n { values.append(rng.nextNormal() * (2 / Double(fanIn + fanOut)).squareRoot()) }
        case .normal(let sigma): for _ in 0..<n { values.append(rng.nextNormal() * sigma) }
        case .uniform(let a): for _ in 0..<n { values.append((2 * rng.nextUnit() - 1) * a) }
        case .constant(let c): values = [Double](repeating: c, count: n)
        }
        return Tensor(shape: shape, rounding: values)
    }
}
