import Base
import CMPFR
import Formats

/// Exact norms computed with MPFR alone: the slow path that is obviously right, against which faster exact
/// algorithms are tested. Inputs are Doubles, so values of every format (exact in Double) qualify.
///
/// For an integer p every term |x|^p is exact at 53p bits; `mpfr_sum` adds them with a single rounding, and the
/// working precision covers every bit the sum can have (its exponent span plus log2 n), so the sum is exact.
/// The norm is then rounded once: the p-th root of the exact sum, correctly rounded to the target format.
/// For other p the terms are transcendental, so the norm is enclosed at rising precision until both ends of
/// the enclosure round to the same value (Ziv's strategy).
public enum MPFRNorm {
    /// Σ|x|^p exactly for an integer p (`.one`, `.two`, or `.p(k)`), or max|x| for `.infinity`. NaN if any value
    /// is NaN, else inf if any value is infinite.
    public static func exactReduction(_ values: [Double], order: NormOrder) -> BigFloat {
        if values.contains(where: \.isNaN) { return .nan }
        if values.contains(where: \.isInfinite) { return .infinity() }
        if order == .infinity { return BigFloat(values.lazy.map(\.magnitude).max() ?? 0) }
        guard let k = order.integerExponent else { preconditionFailure("no exact reduction for order \(order)") }
        let nonzero = values.filter { $0 != 0 }
        guard !nonzero.isEmpty else { return BigFloat(0) }
        let precision = exactSumPrecision(nonzero, power: k)
        return MPFRArray.withTerms(count: nonzero.count, precision: 53 * k) { terms in
            for (i, x) in nonzero.enumerated() {
                mpfr_set_d(terms[i], x.magnitude, MPFR_RNDN)
                if k == 2 { mpfr_sqr(terms[i], terms[i], MPFR_RNDN) } else if k > 2 { mpfr_pow_ui(terms[i], terms[i], UInt(k), MPFR_RNDN) }
            }
            return MPFRArray.sum(terms, precision: precision, rounding: .toNearestOrEven)
        }
    }

    /// The norm of `values`, correctly rounded (to nearest, ties to even) to `format`, as its exact Double value.
    public static func norm(_ values: [Double], order: NormOrder, format: FloatFormat = .float64) -> Double {
        if order.integerExponent != nil || order == .infinity {
            return order.norm(ofReduction: exactReduction(values, order: order), format: format)
        }
        if values.contains(where: \.isNaN) { return .nan }
        if values.contains(where: \.isInfinite) { return FormatEmulator.with(format) { $0.round(.infinity) } }
        return zivNorm(values.filter { $0 != 0 }, p: order.exponent, format: format)
    }

    /// Working precisions tried for a non-integer p before giving up on deciding the rounding.
    static let zivPrecisions = [96, 192, 384, 768, 1536, 3072, 6144, 12288]

    /// (Σ|x|^p)^(1/p) for a non-integer p. At working precision P every term and the sum are rounded to nearest,
    /// so the computed sum s is within a relative 2^(2-P) of the exact one; the enclosure [s(1-2^(2-P)),
    /// s(1+2^(2-P))] is raised to the enclosure of 1/p with outward rounding, and when both ends round to the
    /// same value in `format`, that is the correctly rounded norm. An exact midpoint between two values of the
    /// format never separates; after the last precision the nearer-rounded value at that precision is returned.
    static func zivNorm(_ values: [Double], p: Double, format: FloatFormat) -> Double {
        guard !values.isEmpty else { return 0 }
        var fallback = 0.0
        for precision in zivPrecisions {
            let enclosure: (BigFloat, BigFloat, BigFloat) = MPFRArray.withTerms(count: values.count, precision: precision) { terms in
                let exponent = BigFloat(p)
                exponent.withUnsafeMPFR { e in
                    for (i, x) in values.enumerated() {
                        mpfr_set_d(terms[i], x.magnitude, MPFR_RNDN)
                        mpfr_pow(terms[i], terms[i], e, MPFR_RNDN)
                    }
                }
                let sum = MPFRArray.sum(terms, precision: precision, rounding: .toNearestOrEven)
                let slack = BigFloat(1).scaled(byPowerOfTwo: 2 - precision)
                let low = sum.multiplied(by: BigFloat(1).subtracting(slack, precision: precision + 8), precision: precision + 8, rounding: .down)
                let high = sum.multiplied(by: BigFloat(1).adding(slack, precision: precision + 8), precision: precision + 8, rounding: .up)
                return (low, sum, high)
            }
            let one = BigFloat(1)
            let inverseDown = one.divided(by: BigFloat(p), precision: precision, rounding: .down)
            let inverseUp = one.divided(by: BigFloat(p), precision: precision, rounding: .up)
            let lows = [inverseDown, inverseUp].map { enclosure.0.power($0, precision: precision, rounding: .down) }
            let highs = [inverseDown, inverseUp].map { enclosure.2.power($0, precision: precision, rounding: .up) }
            let low = lows[0] < lows[1] ? lows[0] : lows[1]
            let high = highs[0] < highs[1] ? highs[1] : highs[0]
            let (a, b) = FormatEmulator.with(format) { ($0.round(low), $0.round(high)) }
            if a.bitPattern == b.bitPattern { return a }
            fallback = FormatEmulator.with(format) { $0.round(enclosure.1.power(inverseDown, precision: precision)) }
        }
        return fallback
    }
}

/// Scratch arrays of MPFR numbers for the slow paths: one allocation and one init per term, cleared on exit.
enum MPFRArray {
    static func withTerms<R>(count: Int, precision: Int, _ body: ([mpfr_ptr]) -> R) -> R {
        let storage = UnsafeMutablePointer<__mpfr_struct>.allocate(capacity: max(count, 1))
        var pointers = [mpfr_ptr]()
        pointers.reserveCapacity(count)
        for i in 0..<count {
            mpfr_init2(storage + i, mpfr_prec_t(precision))
            pointers.append(storage + i)
        }
        defer {
            for pointer in pointers { mpfr_clear(pointer) }
            storage.deallocate()
        }
        return body(pointers)
    }

    /// The sum of the terms rounded once to `precision` bits.
    static func sum(_ terms: [mpfr_ptr], precision: Int, rounding: RoundingMode) -> BigFloat {
        let pointers: [mpfr_ptr?] = terms
        return BigFloat.make(precision: precision) { result in
            _ = mpfr_sum(result, pointers, UInt(pointers.count), rounding.mpfr)
        }
    }
}

/// The exact sum of Doubles of any sign (the partial sums of fast reductions are combined with it).
public enum ExactSum {
    public static func of(_ values: [Double]) -> BigFloat {
        if values.contains(where: \.isNaN) { return .nan }
        let finite = values.filter { $0.isFinite && $0 != 0 }
        let infinities = values.filter(\.isInfinite)
        if !infinities.isEmpty {
            let positive = infinities.contains { $0 > 0 }, negative = infinities.contains { $0 < 0 }
            return positive && negative ? .nan : .infinity(negative: negative)
        }
        guard !finite.isEmpty else { return BigFloat(0) }
        let precision = exactSumPrecision(finite, power: 1)
        return MPFRArray.withTerms(count: finite.count, precision: 53) { terms in
            for (i, x) in finite.enumerated() { mpfr_set_d(terms[i], x, MPFR_RNDN) }
            return MPFRArray.sum(terms, precision: precision, rounding: .toNearestOrEven)
        }
    }
}

/// A precision that holds Σ|x|^k exactly for nonzero finite x: every term is a multiple of 2^(k × lowest set bit)
/// below 2^(k × (top bit + 1)), and n terms add log2 n bits.
func exactSumPrecision(_ values: [Double], power k: Int) -> Int {
    var top = Int.min, bottom = Int.max
    for x in values {
        let (m, e) = ExactAccumulator.decompose(x)
        top = max(top, e + 64 - m.leadingZeroBitCount)
        bottom = min(bottom, e + m.trailingZeroBitCount)
    }
    return k * (top - bottom) + 2 + (Int.bitWidth - values.count.leadingZeroBitCount)
}
