import Base
import Formats
import Reductions
import Reference
import Results

/// Exact references of long inputs straight from their bytes (a memory-mapped file), in parallel chunks: the norms
/// by `FastExactNorm`'s enclosure, sums, means, dot products and variances by `SignedEnclosure`, each deciding the
/// rounding in one vectorized pass, and by the exact accumulators (`SignedExactSum`) when it cannot. No element is
/// copied into an array. Where an enclosure decides, `exact` is the value correctly rounded to Float64 (17
/// significant digits) rather than 30 digits. `logsumexp` and the softmax denominator have no streaming path (their
/// enclosure needs every term at MPFR precision): nil.
public enum KernelStreaming {
    /// Results of at least this many elements are computed here when the bytes are at hand.
    public static let threshold = 1 << 20

    public static func evaluate(_ r: KernelReduction, x: FloatBuffer, y: FloatBuffer?, format: FloatFormat,
                                threads: Int = Parallel.defaultThreads) -> KernelExpected? {
        func signed(_ product: Bool) -> BigFloat {
            var total = SignedExactSum()
            for part in ChunkedParallel.map(count: x.count, chunkSize: 1 << 16, threads: threads, { range -> SignedExactSum in
                var s = SignedExactSum()
                if product, let y { for i in range { s.addProduct(x.value(at: i), y.value(at: i)) } } else { for i in range { s.add(x.value(at: i)) } }
                return s
            }) { total.merge(part) }
            return total.value()
        }
        let n = BigFloat(Double(x.count))
        switch r {
        case .sum, .dot, .mean:
            if r == .dot && y == nil { return nil }
            // One vectorized pass decides the rounding unless the exact value lies within its bound of a rounding
            // boundary (or the data hold inf or NaN); then the exact sum. `exact` is then the Float64 rounding.
            if let (low, high) = SignedEnclosure.of(x, r == .dot ? y : nil, threads: threads).interval() {
                let ends = r == .mean ? (low.divided(by: n, precision: low.precision + 64, rounding: .down),
                                         high.divided(by: n, precision: high.precision + 64, rounding: .up)) : (low, high)
                if let value = decide(ends, format), let wide = decide(ends, .float64) { return KernelExpected(rounded: value, exact: Figures.exact(wide)) }
            }
            let exact = signed(r == .dot)
            return r == .mean ? KernelReference.quotient(exact, n, format) : KernelReference.rounded(exact, format)
        case .sumsq, .norm1, .norm2:
            // The exact norm's own path: a compensated enclosure decides the rounding in one pass at memory speed, the
            // exact accumulator only when it cannot. `exact` is then the value correctly rounded to Float64.
            let enclosure = FastExactNorm.enclosure(x, squares: r != .norm1, threads: threads)
            let order: NormOrder = r == .norm2 ? .two : .one
            if let value = enclosure.decide(order: order, format: format), let wide = enclosure.decide(order: order, format: .float64) {
                return KernelExpected(rounded: value, exact: Figures.exact(wide))
            }
            let q = FastExactNorm.accumulator(x, squares: r != .norm1, threads: threads).value()
            if r != .norm2 { return KernelReference.rounded(q, format) }
            return KernelExpected(rounded: NormOrder.two.norm(ofReduction: q, format: format),
                                  exact: (q.isFinite ? q.squareRoot(precision: 128) : q).formatted(digits: 30))
        case .norminf:
            return KernelReference.rounded(BigFloat(FastExactNorm.maximum(x, threads: threads)), format)
        case .variance, .varianceUnbiased:
            if let value = enclosedVariance(x, unbiased: r == .varianceUnbiased, format: format, threads: threads) { return value }
            let q = FastExactNorm.accumulator(x, squares: true, threads: threads).value()
            return KernelReference.variance(sum: signed(false), squares: q, count: x.count, unbiased: r == .varianceUnbiased, format: format)
        case .logsumexp, .softmaxDenominator: return nil
        }
    }

    /// The value both ends of an enclosure round to in `format`, if they agree.
    static func decide(_ ends: (BigFloat, BigFloat), _ format: FloatFormat) -> Double? {
        let (a, b) = FormatEmulator.with(format) { ($0.round(ends.0), $0.round(ends.1)) }
        return a.bitPattern == b.bitPattern ? a : nil
    }

    /// (n·Q − S²)/(n·d) by interval arithmetic on the enclosures of S = Σx and Q = Σx² (every step rounded outward),
    /// when both ends round alike in `format` and in Float64; nil otherwise (the caller computes it exactly).
    static func enclosedVariance(_ x: FloatBuffer, unbiased: Bool, format: FloatFormat, threads: Int) -> KernelExpected? {
        let n = x.count, d = unbiased ? n - 1 : n
        guard d > 0, let (sLow, sHigh) = SignedEnclosure.of(x, nil, threads: threads).interval() else { return nil }
        guard let (qLow, qHigh) = FastExactNorm.enclosure(x, squares: true, threads: threads).interval() else { return nil }
        let p = max(qLow.precision, qHigh.precision)
        let sp = max(sLow.precision, sHigh.precision) * 2 + 8
        let squares = [sLow.multiplied(by: sLow, precision: sp, rounding: .down), sHigh.multiplied(by: sHigh, precision: sp, rounding: .down)]
        let s2High = max(squares[0], squares[1]), s2Low = (sLow.isNegative != sHigh.isNegative) ? BigFloat(0) : min(squares[0], squares[1])
        let nb = BigFloat(Double(n)), denominator = BigFloat(Double(n)).multiplied(by: BigFloat(Double(d)), precision: 128)
        let wide = max(p, sp) + 128
        let low = qLow.multiplied(by: nb, precision: wide, rounding: .down).subtracting(s2High.withPrecision(wide, rounding: .up), precision: wide, rounding: .down)
        let high = qHigh.multiplied(by: nb, precision: wide, rounding: .up).subtracting(s2Low, precision: wide, rounding: .up)
        let ends = ((low.isNegative ? BigFloat(0) : low).divided(by: denominator, precision: wide, rounding: .down), high.divided(by: denominator, precision: wide, rounding: .up))
        guard let value = decide(ends, format), let f64 = decide(ends, .float64) else { return nil }
        return KernelExpected(rounded: value, exact: Figures.exact(f64))
    }
}
