import CMPFR
import Formats

/// The order of a vector norm.
public enum NormOrder: Hashable, Sendable, CustomStringConvertible {
    /// Σ|x|.
    case one
    /// sqrt(Σ x²), the norm of gradient clipping.
    case two
    /// max |x|.
    case infinity

    /// The norm from its exact reduction (Σ|x|, Σx² or max|x|), correctly rounded once to `format`.
    public func norm(ofReduction reduction: BigFloat, format: FloatFormat) -> Double {
        FormatEmulator.with(format) { self == .two ? $0.roundSquareRoot(of: reduction) : $0.round(reduction) }
    }

    public var description: String {
        switch self {
        case .one: return "1"
        case .two: return "2"
        case .infinity: return "inf"
        }
    }
}

/// Exact norms computed with MPFR alone: the slow path that is obviously right, against which faster exact
/// algorithms are tested. Inputs are Doubles, so values of every format (exact in Double) qualify.
///
/// Every term |x| or x² is exact at 106 bits; `mpfr_sum` adds them with a single rounding, and the working
/// precision covers every bit the sum can have (its exponent span plus log2 n), so the sum is exact. The
/// norm is then rounded once: sqrt of the exact sum, correctly rounded to the target format.
public enum MPFRNorm {
    /// Σ|x| (order 1) or Σx² (order 2) exactly, or max|x| (order inf). NaN if any value is NaN, else inf if
    /// any value is infinite.
    public static func exactReduction(_ values: [Double], order: NormOrder) -> BigFloat {
        if values.contains(where: \.isNaN) { return .nan }
        if values.contains(where: \.isInfinite) { return .infinity() }
        if order == .infinity {
            return BigFloat(values.lazy.map(\.magnitude).max() ?? 0)
        }
        let terms: [BigFloat] = values.compactMap { x in
            guard x != 0 else { return nil }
            let magnitude = BigFloat(x.magnitude)
            return order == .one ? magnitude : magnitude.multiplied(by: magnitude, precision: 106)
        }
        guard let largest = terms.compactMap(\.exponent).max(), let smallest = terms.compactMap(\.lowestSetBitExponent).min() else {
            return BigFloat(0)
        }
        var bitsOfCount = 0
        while (1 << bitsOfCount) <= terms.count { bitsOfCount += 1 }
        let precision = largest - smallest + 2 + bitsOfCount
        let pointers: [mpfr_ptr?] = terms.map { $0.storage.pointer }
        return withExtendedLifetime(terms) {
            BigFloat.make(precision: precision) { result in
                _ = mpfr_sum(result, pointers, UInt(pointers.count), MPFR_RNDN)
            }
        }
    }

    /// The norm of `values`, correctly rounded (to nearest, ties to even) to `format`, as its exact Double value.
    public static func norm(_ values: [Double], order: NormOrder, format: FloatFormat = .float64) -> Double {
        order.norm(ofReduction: exactReduction(values, order: order), format: format)
    }
}

extension BigFloat {
    /// The weight of the lowest set bit of the significand (x is an odd multiple of 2^that); nil for 0, inf, NaN.
    var lowestSetBitExponent: Int? {
        guard let top = exponent else { return nil }
        return top - (withUnsafeMPFR { Int(mpfr_min_prec($0)) } - 1)
    }
}
