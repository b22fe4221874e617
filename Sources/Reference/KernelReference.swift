import Base
import Formats
import Results

/// Exact answers of the kernel harness's reductions, correctly rounded once (to nearest, ties to even) to any
/// format.
///
/// Rational reductions are exact before their one rounding: sums and dot products through `mpfr_sum` (every
/// product exact at 106 bits), sums of squares and |x| through the exact accumulator, the mean as the exact sum
/// divided by n and the variance as (n·Σx² − (Σx)²) / (n·d), d = n or n − 1, both computed exactly and divided
/// with one rounding into the format. `logsumexp` and the softmax denominator are transcendental: they are
/// enclosed with every step rounded down, then up, at rising precision until both ends round to the same value
/// (Ziv's strategy).
///
/// Non-finite inputs follow the frameworks: a NaN makes every result NaN; an infinity makes sums, means and norms
/// infinite and the variance NaN; for `logsumexp` +inf gives +inf and all −inf gives −inf; the softmax denominator
/// of data whose maximum is infinite is NaN (inf − inf), as a max-shifted softmax computes it.
public enum KernelReference {
    /// The reduction of `x` (and `y`, for `dot`), correctly rounded to `format`, and the exact value in decimal.
    public static func evaluate(_ reduction: KernelReduction, x: [Double], y: [Double] = [], format: FloatFormat) -> KernelExpected {
        switch reduction {
        case .sum: return rounded(ExactSum.of(x), format)
        case .dot: return rounded(ExactSum.ofProducts(x, y), format)
        case .sumsq: return rounded(ExactNorm.reduction(x, order: .two), format)
        case .norm1: return rounded(ExactNorm.reduction(x, order: .one), format)
        case .norminf: return rounded(ExactNorm.reduction(x, order: .infinity), format)
        case .norm2:
            let s = ExactNorm.reduction(x, order: .two)
            return KernelExpected(rounded: NormOrder.two.norm(ofReduction: s, format: format), exact: decimal(s.isFinite ? s.squareRoot(precision: 128) : s))
        case .mean:
            let s = ExactSum.of(x)
            return quotient(s, BigFloat(Double(x.count)), format)
        case .variance, .varianceUnbiased:
            return variance(x, unbiased: reduction == .varianceUnbiased, format: format)
        case .logsumexp, .softmaxDenominator:
            return exponentialSum(x, log: reduction == .logsumexp, format: format)
        }
    }

    /// An exact value correctly rounded to `format`, with its decimal text.
    public static func rounded(_ value: BigFloat, _ format: FloatFormat) -> KernelExpected {
        KernelExpected(rounded: FormatEmulator.with(format) { $0.round(value) }, exact: decimal(value))
    }

    /// a / b with one rounding (b a positive integer).
    public static func quotient(_ a: BigFloat, _ b: BigFloat, _ format: FloatFormat) -> KernelExpected {
        guard a.isFinite else { return rounded(a, format) }
        let value = FormatEmulator.with(format) { $0.roundQuotient(of: a, by: b) }
        return KernelExpected(rounded: value, exact: decimal(a.divided(by: b, precision: 128)))
    }

    static func decimal(_ value: BigFloat) -> String { value.formatted(digits: 30) }

    static func variance(_ x: [Double], unbiased: Bool, format: FloatFormat) -> KernelExpected {
        if x.contains(where: { !$0.isFinite }) { return rounded(.nan, format) }
        return variance(sum: ExactSum.of(x), squares: ExactNorm.reduction(x, order: .two), count: x.count, unbiased: unbiased, format: format)
    }

    /// (n·Q − S²) / (n·d) from the exact sum S and sum of squares Q of n finite values: exact numerator (every
    /// operation at a precision that holds all its bits), one division. NaN for a non-finite S or Q, or d = 0.
    public static func variance(sum s: BigFloat, squares q: BigFloat, count n: Int, unbiased: Bool, format: FloatFormat) -> KernelExpected {
        if !s.isFinite || !q.isFinite || (unbiased && n < 2) || n == 0 { return rounded(.nan, format) }
        let nq = q.multiplied(by: BigFloat(Double(n)), precision: q.precision + 64)
        let s2 = s.multiplied(by: s, precision: 2 * s.precision)
        let numerator = nq.subtracting(s2, precision: exactDifferencePrecision(nq, s2))
        // n·d < 2^106: exact at 128 bits.
        let denominator = BigFloat(Double(n)).multiplied(by: BigFloat(Double(unbiased ? n - 1 : n)), precision: 128)
        return quotient(numerator, denominator, format)
    }

    /// A precision at which a − b is exact: from the higher leading bit to the lower last bit of either.
    public static func exactDifferencePrecision(_ a: BigFloat, _ b: BigFloat) -> Int {
        guard let ea = a.exponent else { return b.precision + 1 }
        guard let eb = b.exponent else { return a.precision + 1 }
        return max(ea, eb) - min(ea - a.precision, eb - b.precision) + 2
    }

    /// Working precisions of the enclosure of `logsumexp` and the softmax denominator (from 128 bits, so that the
    /// midpoint printed as the exact value has its 30 digits right for up to 2^28 terms: the ends are about n·2^-128
    /// apart, relatively).
    static let zivPrecisions = [128, 256, 512, 1024, 2048, 4096]

    /// Long: the special cases of log-sum-exp and the softmax denominator, then the Ziv loop of their enclosure.
    static func exponentialSum(_ x: [Double], log: Bool, format: FloatFormat) -> KernelExpected {
        if x.isEmpty || x.contains(where: \.isNaN) { return rounded(x.isEmpty && log ? .infinity(negative: true) : .nan, format) }
        let m = x.max()!
        if m == .infinity { return rounded(log ? .infinity() : .nan, format) }
        if m == -.infinity { return rounded(log ? .infinity(negative: true) : .nan, format) }
        let finite = x.filter(\.isFinite)
        func bound(_ p: Int, _ rounding: RoundingMode) -> BigFloat {
            // Chunks in parallel: a sum of lower (upper) bounds, each addition rounded down (up), is a lower (upper) bound.
            let parts = ChunkedParallel.map(count: finite.count, chunkSize: 1 << 14) { range in
                ExactSum.shiftedExponentials(Array(finite[range]), max: m, precision: p, rounding: rounding)
            }
            let s = parts.dropFirst().reduce(parts[0]) { $0.adding($1, precision: p, rounding: rounding) }
            return log ? s.log(precision: p, rounding: rounding).adding(BigFloat(m), precision: p, rounding: rounding) : s
        }
        for p in zivPrecisions {
            let (low, high) = (bound(p, .down), bound(p, .up))
            let (a, b) = FormatEmulator.with(format) { ($0.round(low), $0.round(high)) }
            // The decimal: the enclosure's midpoint, which has every printed digit right once the ends agree that far.
            let middle = low.adding(high, precision: max(p, 128) + 1).scaled(byPowerOfTwo: -1)
            if a.bitPattern == b.bitPattern { return KernelExpected(rounded: a, exact: decimal(middle)) }
        }
        let nearest = bound(zivPrecisions.last!, .toNearestOrEven)
        return KernelExpected(rounded: FormatEmulator.with(format) { $0.round(nearest) }, exact: decimal(nearest))
    }
}
