import CMPFR
import Formats

/// Arithmetic: each operation rounds once, in `rounding`, to `precision` bits (default: the larger operand
/// precision). With enough precision (e.g. the sum of the operand precisions for `*`) results are exact.
extension BigFloat {
    public typealias Binary = (UnsafeMutablePointer<__mpfr_struct>, UnsafePointer<__mpfr_struct>,
                               UnsafePointer<__mpfr_struct>, mpfr_rnd_t) -> Int32

    @inlinable func binary(_ other: BigFloat, _ op: Binary, precision: Int?, rounding: RoundingMode) -> BigFloat {
        let p = precision ?? Swift.max(self.precision, other.precision)
        return withUnsafeMPFR { a in other.withUnsafeMPFR { b in BigFloat.make(precision: p) { _ = op($0, a, b, rounding.mpfr) } } }
    }

    public func adding(_ other: BigFloat, precision: Int? = nil, rounding: RoundingMode = .toNearestOrEven) -> BigFloat {
        binary(other, mpfr_add, precision: precision, rounding: rounding)
    }
    public func subtracting(_ other: BigFloat, precision: Int? = nil, rounding: RoundingMode = .toNearestOrEven) -> BigFloat {
        binary(other, mpfr_sub, precision: precision, rounding: rounding)
    }
    public func multiplied(by other: BigFloat, precision: Int? = nil, rounding: RoundingMode = .toNearestOrEven) -> BigFloat {
        binary(other, mpfr_mul, precision: precision, rounding: rounding)
    }
    public func divided(by other: BigFloat, precision: Int? = nil, rounding: RoundingMode = .toNearestOrEven) -> BigFloat {
        binary(other, mpfr_div, precision: precision, rounding: rounding)
    }
    public func squareRoot(precision: Int? = nil, rounding: RoundingMode = .toNearestOrEven) -> BigFloat {
        withUnsafeMPFR { a in BigFloat.make(precision: precision ?? self.precision) { _ = mpfr_sqrt($0, a, rounding.mpfr) } }
    }
    /// e^self, erfc(self): MPFR's correctly rounded functions.
    public func exp(precision: Int? = nil, rounding: RoundingMode = .toNearestOrEven) -> BigFloat {
        withUnsafeMPFR { a in BigFloat.make(precision: precision ?? self.precision) { _ = mpfr_exp($0, a, rounding.mpfr) } }
    }
    /// log(self), MPFR's correctly rounded natural logarithm.
    public func log(precision: Int? = nil, rounding: RoundingMode = .toNearestOrEven) -> BigFloat {
        withUnsafeMPFR { a in BigFloat.make(precision: precision ?? self.precision) { _ = mpfr_log($0, a, rounding.mpfr) } }
    }
    /// tanh(self), MPFR's correctly rounded hyperbolic tangent.
    public func tanh(precision: Int? = nil, rounding: RoundingMode = .toNearestOrEven) -> BigFloat {
        withUnsafeMPFR { a in BigFloat.make(precision: precision ?? self.precision) { _ = mpfr_tanh($0, a, rounding.mpfr) } }
    }
    public func erfc(precision: Int? = nil, rounding: RoundingMode = .toNearestOrEven) -> BigFloat {
        withUnsafeMPFR { a in BigFloat.make(precision: precision ?? self.precision) { _ = mpfr_erfc($0, a, rounding.mpfr) } }
    }
    /// self * b + c with one rounding.
    public func fma(_ b: BigFloat, _ c: BigFloat, precision: Int? = nil, rounding: RoundingMode = .toNearestOrEven) -> BigFloat {
        let p = precision ?? Swift.max(self.precision, b.precision, c.precision)
        return withUnsafeMPFR { x in b.withUnsafeMPFR { y in c.withUnsafeMPFR { z in
            BigFloat.make(precision: p) { _ = mpfr_fma($0, x, y, z, rounding.mpfr) }
        } } }
    }
    /// |self|^p rounded once.
    public func power(_ exponent: BigFloat, precision: Int? = nil, rounding: RoundingMode = .toNearestOrEven) -> BigFloat {
        binary(exponent, mpfr_pow, precision: precision, rounding: rounding)
    }
    /// self * 2^n, exact.
    public func scaled(byPowerOfTwo n: Int) -> BigFloat {
        withUnsafeMPFR { a in BigFloat.make(precision: self.precision) { _ = shim_mpfr_mul_2si($0, a, n, MPFR_RNDN) } }
    }
    public var magnitude: BigFloat {
        withUnsafeMPFR { a in BigFloat.make(precision: self.precision) { _ = mpfr_abs($0, a, MPFR_RNDN) } }
    }
    /// The least number above `self` at `precision` bits (self first rounded down to that precision).
    public func nextUp(precision p: Int) -> BigFloat {
        withUnsafeMPFR { a in
            BigFloat.make(precision: p) {
                _ = shim_mpfr_set($0, a, MPFR_RNDD)
                mpfr_nextabove($0)
            }
        }
    }
    /// The same value at another precision, rounded.
    public func withPrecision(_ p: Int, rounding: RoundingMode = .toNearestOrEven) -> BigFloat {
        withUnsafeMPFR { a in BigFloat.make(precision: p) { _ = shim_mpfr_set($0, a, rounding.mpfr) } }
    }

    public static func + (a: BigFloat, b: BigFloat) -> BigFloat { a.adding(b) }
    public static func - (a: BigFloat, b: BigFloat) -> BigFloat { a.subtracting(b) }
    public static func * (a: BigFloat, b: BigFloat) -> BigFloat { a.multiplied(by: b) }
    public static func / (a: BigFloat, b: BigFloat) -> BigFloat { a.divided(by: b) }
    public static prefix func - (a: BigFloat) -> BigFloat {
        a.withUnsafeMPFR { x in BigFloat.make(precision: a.precision) { _ = mpfr_neg($0, x, MPFR_RNDN) } }
    }
    public static func += (a: inout BigFloat, b: BigFloat) {
        let p = Swift.max(a.precision, b.precision)
        if p != a.precision { a = a.adding(b); return }
        b.withUnsafeMPFR { y in a.withUnsafeMutableMPFR { x in _ = mpfr_add(x, x, y, MPFR_RNDN) } }
    }
}

/// Comparisons follow IEEE: NaN is unordered and unequal to everything; -0 == +0.
extension BigFloat: Equatable, Comparable {
    public static func == (a: BigFloat, b: BigFloat) -> Bool {
        a.withUnsafeMPFR { x in b.withUnsafeMPFR { y in mpfr_equal_p(x, y) != 0 } }
    }
    public static func < (a: BigFloat, b: BigFloat) -> Bool {
        a.withUnsafeMPFR { x in b.withUnsafeMPFR { y in mpfr_less_p(x, y) != 0 } }
    }
    /// Compares with a Double exactly (no rounding of either side).
    public func compare(_ d: Double) -> Int? {
        if isNaN || d.isNaN { return nil }
        return withUnsafeMPFR { x in Int(mpfr_cmp_d(x, d)).signum() }
    }
}
