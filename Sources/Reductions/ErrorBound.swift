import Base
import Formats
import Reference
#if canImport(Glibc)
import Glibc
#endif

/// γ(k) = k u / (1 - k u), the bound of k successive roundings (Higham), rounded up; inf when k u >= 1.
@inline(__always) func gamma(_ k: Int, _ u: Double) -> Double {
    let ku = Double(k) * u
    return ku < 1 ? (ku / (1 - ku)).nextUp : .infinity
}

/// An a-priori error bound, in the form |Ŝ - S| <= relative·S + absolute on the algorithm's reduction Ŝ of
/// S = Σx² (or Σ|x|), followed by `extraRoundings` roundings in the accumulator on the way to the norm (the
/// root, a scale factor...), and a final rounding to the output format when it is narrower.
public struct ErrorBound: Sendable {
    public var relative: Double
    /// In units of the reduction, times `absoluteScale`² (kept apart so that it cannot overflow).
    public var absolute: Double
    public var absoluteScale: Double = 1
    public var extraRoundings: Int
    public var accumulatorUnit: Double
    public var outputUnit: Double
    /// Absolute error of the roundings after the reduction (root, scale, output) when they land in the
    /// subnormal range: half a subnormal spacing each, in units of the norm.
    public var finalUnderflow: Double = 0
    /// Why no bound is stated (the algorithm's analysis needs n u small), or nil.
    public var unavailable: String?

    /// The bound on |computed norm - exact norm| for an exact reduction S = s × 2^scale (s a Double, so that
    /// Float64 reductions beyond Double's range work), as `value × 2^scale/2` for order 2; inf if unavailable.
    public func normBound(order: NormOrder, reduction s: Double, absolute a: Double) -> Double {
        guard unavailable == nil, relative.isFinite else { return .infinity }
        let rounding = pow(1 + accumulatorUnit, Double(extraRoundings + (order == .two ? 1 : 0))) * (1 + outputUnit)
        let roundingDown = pow(1 - accumulatorUnit, Double(extraRoundings + (order == .two ? 1 : 0))) * (1 - outputUnit)
        let high = s * (1 + relative) + a, low = max(0, s * (1 - relative) - a)
        let bound: Double
        switch order {
        case .two:
            let n = s.squareRoot()
            bound = max(high.squareRoot() * rounding - n, n - low.squareRoot() * roundingDown)
        case .p(let p):
            let n = pow(s, 1 / p), slack = 1 + 0x1p-50
            let above: Double = pow(high, 1 / p) * rounding * slack - n
            let below: Double = n - pow(low, 1 / p) * roundingDown / slack
            bound = max(above, below)
        default:
            bound = max(high * rounding - s, s - low * roundingDown)
        }
        return (bound * (1 + 0x1p-40)).nextUp
    }
}

extension ReductionAlgorithm {
    /// The algorithm's a-priori bound for `source` (n elements in its storage format), from the analysis of its
    /// summation order: recursive γ(n); pairwise and trees γ(depth + 1); Kahan and Neumaier 2u + 4nu² (for
    /// nu <= 0.1); Dot2 u + γ(n)² (for nu < 1/2); scaled algorithms with their extra roundings. Underflow adds
    /// at most half a subnormal spacing per rounded product (`absolute`, in units of the reduction).
    public func bound(for source: ReductionSource, order: NormOrder, smallestNonzero: Double, largest: Double) -> ErrorBound {
        let n = source.count
        let storage = source.storageFormat
        let acc = accumulator(for: source), out = outputFormat(for: source)
        let u = acc.unitRoundoff
        let uo = out == acc ? 0 : out.unitRoundoff
        let eta = order == .one ? 0 : Double(n) * acc.smallestSubnormal
        var b = ErrorBound(relative: 0, absolute: eta, extraRoundings: 0, accumulatorUnit: u, outputUnit: uo, unavailable: nil)
        let termRounding = order == .one ? 0 : 1
        switch self {
        case .naive, .naiveWide:
            b.relative = gamma(max(n - 1, 0) + termRounding + (order.integerExponent == nil && order != .one ? 2 : 0), u)
            if case .p = order { b.relative += 0x1p-51 }
        case .pairwise: b.relative = gamma(pairwiseDepth(n) + termRounding, u)
        case .cascade: b.relative = gamma(cascadeDepth(n, lanes: acc.precision > 24 ? 4 : 8) + termRounding, u)
        case .gpuTree: b.relative = gamma(gpuTreeDepth(n) + termRounding, u)
        case .blockedSIMD:
            let chunk = ChunkedParallel.chunkSize, lanes = wideLaneCount(storage)
            let chunks = max(1, (n + chunk - 1) / chunk)
            let perLane = (min(n, chunk) + lanes - 1) / lanes
            b.relative = gamma(perLane + 5 + ceilLog2(chunks) + source.buffers.count + 1, u)
        case .kahan, .neumaier:
            if Double(n) * u > 0.1 { b.unavailable = "n·u > 0.1" }
            b.relative = Double(termRounding) * u + (2 * u + 4 * Double(n) * u * u) * (1 + u)
        case .dot2:
            if Double(n) * u >= 0.5 { b.unavailable = "n·u ≥ 1/2" }
            let g = gamma(n, u)
            b.relative = u + g * g
            b.absolute = 2 * eta
        case .scaledTwoPass:
            b.relative = gamma(n + 1, u)
            b.absolute = eta
            b.absoluteScale = largest
            b.extraRoundings = 1
        case .blue:
            b.relative = gamma(n + 4, u)
            let c = BlueConstants(acc)
            let tsml = Double(sign: .plus, exponent: c.tsml, significand: 1)
            b.absolute = eta + Double(n) * tsml * tsml
            b.extraRoundings = 5
        case .normOfNorms:
            // Each tensor's norm: its cascade error, then a rounding to its dtype; then the norm of the stack.
            var worst = 0.0
            var absolute = 0.0
            for buffer in source.buffers {
                let depth = cascadeDepth(buffer.count, lanes: acc.precision > 24 ? 4 : 8) + termRounding
                let r = (1 + gamma(depth, u)).squareRoot() * (1 + u) * (1 + buffer.format.unitRoundoff) - 1
                worst = max(worst, r)
                let dtype = buffer.format
                absolute += Double(buffer.count) * acc.smallestSubnormal + 2 * largest * Double(buffer.count).squareRoot() * dtype.smallestSubnormal
            }
            b.relative = (1 + worst) * (1 + worst) * (1 + gamma(cascadeDepth(source.buffers.count, lanes: 8) + 1, u)) - 1
            b.absolute = absolute
        }
        b.finalUnderflow = Double(b.extraRoundings + 1) * acc.smallestSubnormal + out.smallestSubnormal
        return b
    }

    /// Whether the algorithm's squares (or scaled squares) of the smallest nonzero input fall below the normal
    /// range of its accumulator, where they lose precision or vanish.
    public func underflows(storage: FloatFormat, order: NormOrder, smallestNonzero: Double, largest: Double) -> Bool {
        guard smallestNonzero > 0 else { return false }
        let acc = accumulator(for: storage)
        switch self {
        case .blue: return false
        case .scaledTwoPass:
            let ratio = smallestNonzero / largest
            return ratio * ratio < acc.smallestNormal
        default:
            let term = order == .one ? smallestNonzero : smallestNonzero * smallestNonzero
            return term < acc.smallestNormal
        }
    }
}
