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
    /// Terms per MPFR scratch array of `zivNorm`.
    static let zivChunk = 1 << 14

    /// (Σ|x|^p)^(1/p) for a p that is not a small integer, as m·(Σ(|x|/m)^p)^(1/p) with m = max|x|, so that the
    /// terms lie in [0, 1] and their sum S in [1, n] whatever p is: |x|^p itself leaves MPFR's exponent range
    /// (±2^30) for p = 10^9 and |x| = 17, and for tiny |x| it underflows to 0. At each working precision every
    /// step is rounded outward (each quotient and power down for the lower end and up for the upper end, the sums
    /// and the root likewise), so [low, high] encloses the norm whatever MPFR's range clipped: an underflowed term
    /// rounds down to 0 and up to the least positive number, an overflowed root down to the largest finite number
    /// (which every format rounds to inf) and up to inf. When both ends round to the same value in `format`, that
    /// is the correctly rounded norm. With two or more nonzero values the norm is strictly above m; if the lower
    /// end is m itself, any value in (m, high] rounds as one in [m⁺, high] does, m⁺ the next number above m at the
    /// working precision (no rounding boundary of a format lies strictly between them). After the last precision
    /// the nearer-rounded value at that precision is returned (never seen: a norm within 2^-12288 of a boundary).
    static func zivNorm(_ values: [Double], p: Double, format: FloatFormat) -> Double {
        guard let m = values.lazy.map(\.magnitude).max(), m > 0 else { return 0 }
        let largest = BigFloat(m)
        let exponent = BigFloat(p)
        let severalNonzero = values.count(where: { $0 != 0 }) > 1
        var fallback = 0.0
        for precision in zivPrecisions {
            func enclosure(_ rounding: RoundingMode) -> BigFloat {
                let r = rounding.mpfr
                // In chunks, so that memory stays bounded for any length: each chunk's sum and the sum of the chunk
                // sums are rounded the same way, which keeps the bound one-sided.
                var sum = BigFloat(0, precision: precision)
                for start in stride(from: 0, to: values.count, by: zivChunk) {
                    let chunk = values[start..<min(values.count, start + zivChunk)]
                    let part = MPFRArray.withTerms(count: chunk.count, precision: precision) { terms in
                        largest.withUnsafeMPFR { mm in
                            exponent.withUnsafeMPFR { e in
                                for (i, x) in chunk.enumerated() {
                                    mpfr_set_d(terms[i], x.magnitude, MPFR_RNDN)  // exact: precision >= 53
                                    mpfr_div(terms[i], terms[i], mm, r)
                                    mpfr_pow(terms[i], terms[i], e, r)
                                }
                            }
                        }
                        return MPFRArray.sum(terms, precision: precision, rounding: rounding)
                    }
                    sum = sum.adding(part, precision: precision, rounding: rounding)
                }
                // S >= 1, so S^(1/p) grows with 1/p: round 1/p the same way as the rest.
                let inverse = BigFloat(1).divided(by: exponent, precision: precision, rounding: rounding)
                return sum.power(inverse, precision: precision, rounding: rounding)
                    .multiplied(by: largest, precision: precision + 64, rounding: rounding)
            }
            var low = enclosure(.down)
            let high = enclosure(.up)
            if severalNonzero, low == largest { low = largest.nextUp(precision: precision + 64) }
            let (a, b) = FormatEmulator.with(format) { ($0.round(low), $0.round(high)) }
            if a.bitPattern == b.bitPattern { return a }
            fallback = FormatEmulator.with(format) { $0.round(enclosure(.toNearestOrEven)) }
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

extension ExactSum {
    /// Σ x_i y_i exactly: each product is exact at 106 bits and `mpfr_sum` adds them with one rounding at a
    /// precision that holds every bit. Non-finite products follow IEEE 754 (inf × 0 is NaN; infinities of both
    /// signs give NaN).
    public static func ofProducts(_ x: [Double], _ y: [Double]) -> BigFloat {
        precondition(x.count == y.count, "dot of inputs of different lengths")
        var finite = [(Double, Double)](), special = [Double]()
        for (a, b) in zip(x, y) {
            if a.isFinite && b.isFinite {
                if a != 0 && b != 0 { finite.append((a, b)) }
            } else {
                special.append(a * b)
            }
        }
        if !special.isEmpty { return of(special) }
        guard !finite.isEmpty else { return BigFloat(0) }
        var top = Int.min, bottom = Int.max
        for (a, b) in finite {
            let (ma, ea) = ExactAccumulator.decompose(a), (mb, eb) = ExactAccumulator.decompose(b)
            top = max(top, ea + 64 - ma.leadingZeroBitCount + eb + 64 - mb.leadingZeroBitCount)
            bottom = min(bottom, ea + ma.trailingZeroBitCount + eb + mb.trailingZeroBitCount)
        }
        let precision = top - bottom + 2 + (Int.bitWidth - finite.count.leadingZeroBitCount)
        return MPFRArray.withTerms(count: finite.count, precision: 106) { terms in
            for (i, (a, b)) in finite.enumerated() {
                mpfr_set_d(terms[i], a, MPFR_RNDN)
                mpfr_mul_d(terms[i], terms[i], b, MPFR_RNDN)
            }
            return MPFRArray.sum(terms, precision: precision, rounding: .toNearestOrEven)
        }
    }

    /// Σ exp(x_i − m) for finite x_i ≤ m, every step rounded in `rounding` at `precision` bits (directed rounding
    /// gives a lower or an upper bound: subtraction, exp and the sum are monotone).
    static func shiftedExponentials(_ x: [Double], max m: Double, precision: Int, rounding: RoundingMode) -> BigFloat {
        MPFRArray.withTerms(count: x.count, precision: precision) { terms in
            for (i, v) in x.enumerated() {
                mpfr_set_d(terms[i], v, MPFR_RNDN)  // exact: precision >= 53
                mpfr_sub_d(terms[i], terms[i], m, rounding.mpfr)
                mpfr_exp(terms[i], terms[i], rounding.mpfr)
            }
            return MPFRArray.sum(terms, precision: precision, rounding: rounding)
        }
    }
}
