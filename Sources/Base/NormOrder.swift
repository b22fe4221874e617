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

    public var description: String {
        switch self {
        case .one: return "1"
        case .two: return "2"
        case .infinity: return "inf"
        case .p(let p): return p == p.rounded() && p.magnitude < 1e15 ? String(Int(p)) : "\(p)"
        }
    }
}
