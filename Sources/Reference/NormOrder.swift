import CMPFR
import Formats

/// The order of a vector norm: (Σ|x|^p)^(1/p), or max|x| for p = ∞.
public enum NormOrder: Hashable, Sendable, CustomStringConvertible {
    /// Σ|x|.
    case one
    /// sqrt(Σ x²), the norm of gradient clipping.
    case two
    /// max |x|.
    case infinity
    /// (Σ|x|^p)^(1/p) for a finite p > 0 other than 1 and 2 (use `init(p:)`, which normalizes).
    case p(Double)

    /// The order for a numeric p: 1, 2 and ∞ get their own cases; nil unless p > 0 and not NaN.
    public init?(p: Double) {
        switch p {
        case 1: self = .one
        case 2: self = .two
        case .infinity: self = .infinity
        default:
            guard p > 0, p.isFinite else { return nil }
            self = .p(p)
        }
    }

    /// Parses `1`, `2`, `inf` (or `infinity`), `fro`, or any finite p > 0.
    public init?(_ text: String) {
        let lowered = text.lowercased()
        if lowered == "inf" || lowered == "infinity" { self = .infinity; return }
        if lowered == "fro" { self = .two; return }  // PyTorch's name for the 2-norm of a vector
        guard let p = Double(text), p.isFinite else { return nil }
        self.init(p: p)
    }

    /// p as a number (∞ for the max norm).
    public var exponent: Double {
        switch self {
        case .one: return 1
        case .two: return 2
        case .infinity: return .infinity
        case .p(let p): return p
        }
    }

    /// p when it is an integer (its terms |x|^p and their sum are then exact).
    public var integerExponent: Int? {
        switch self {
        case .one: return 1
        case .two: return 2
        case .infinity: return nil
        case .p(let p): return p == p.rounded() && p <= 64 ? Int(p) : nil
        }
    }

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

    public var description: String {
        switch self {
        case .one: return "1"
        case .two: return "2"
        case .infinity: return "inf"
        case .p(let p): return p == p.rounded() && p.magnitude < 1e15 ? String(Int(p)) : "\(p)"
        }
    }
}
