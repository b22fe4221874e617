import Base
import Formats

extension NormOrder {
    /// The norm from its exact reduction (Σ|x|^p, or max|x|), correctly rounded once to `format`.
    /// Requires an integer p (for other p the reduction is not exact; see `MPFRNorm.norm`).
    public func norm(ofReduction reduction: BigFloat, format: FloatFormat) -> Double {
        switch self {
        case .one, .infinity: return FormatEmulator.with(format) { $0.round(reduction) }
        case .two: return FormatEmulator.with(format) { $0.roundSquareRoot(of: reduction) }
        case .p:
            guard let k = integerExponent else { preconditionFailure("no exact reduction for a non-integer p") }
            return FormatEmulator.with(format) { $0.roundRoot(of: reduction, degree: k) }
        }
    }

    /// The norm correctly rounded to `format` if every reduction value in [lower, upper] gives the same one
    /// (rounding to nearest and the root are monotone, so comparing the two ends decides), else nil.
    public func norm(ofReductionBetween lower: BigFloat, and upper: BigFloat, format: FloatFormat) -> Double? {
        let low = norm(ofReduction: lower.isNegative ? BigFloat(0) : lower, format: format)
        let high = norm(ofReduction: upper, format: format)
        return low.bitPattern == high.bitPattern ? low : nil
    }
}
