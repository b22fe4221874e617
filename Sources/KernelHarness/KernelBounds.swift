import Formats
import Results
#if canImport(Glibc)
import Glibc
#endif

/// A-priori error bounds of the textbook algorithm of each reduction run in an accumulator format with unit
/// roundoff u = 2^-p (Higham, Accuracy and Stability of Numerical Algorithms, §3-4; γ_k = ku / (1 − ku)), without
/// underflow or overflow, plus the final rounding of the result into the output format (unit roundoff u_o):
/// `total = B·(1 + u_o) + u_o·|y|`. The figures are computed in Double with a 1e-9 relative margin.
public enum KernelBounds {
    /// What each bound is, for the report.
    public static func formula(_ r: KernelReduction) -> String {
        switch r {
        case .sum: return "γ(n−1)·Σ|x| (recursive sum)"
        case .dot: return "γ(n)·Σ|x·y|"
        case .sumsq: return "γ(n)·Σx²"
        case .norm1: return "γ(n−1)·Σ|x|"
        case .norm2: return "(γ(n) + u(1 + γ(n)))·‖x‖₂ (sum of squares, then sqrt)"
        case .norminf: return "0 (the maximum is exact)"
        case .mean: return "γ(n)·Σ|x|/n (sum, then one division)"
        case .variance, .varianceUnbiased:
            return "(γ(n+3)·S + n·ε²·(1 + γ(n+3)))/d with S = Σ(x − mean)², ε = γ(n)·Σ|x|/n, d = n or n − 1 (two-pass)"
        case .logsumexp:
            return "δ + 2u(L + δ) + u|y|, δ = −log(1 − Δ/s), L = log s (max-shifted; exp and log within 1 ulp)"
        case .softmaxDenominator:
            return "Δ = Σ e^(x−m)·((1 + 2u)e^(u|x−m|) − 1) + γ(n−1)·Σ e^(x−m)(1 + 2u)e^(u|x−m|) (max-shifted)"
        }
    }

    /// The accumulator of `tolerance`'s bound for inputs of `format`: Float32 for 16-bit inputs unless named.
    public static func accumulator(_ named: FloatFormat?, input format: FloatFormat) -> FloatFormat {
        named ?? (format.bitWidth <= 16 ? .float32 : format)
    }

    /// Long: the bound on |computed − exact| of one result of `r` over `x` (and `y`), whose exact value is `exact`.
    public static func bound(_ r: KernelReduction, x: [Double], y: [Double], exact: Double,
                             accumulator: FloatFormat, output: FloatFormat) -> Double {
        let u = Double(sign: .plus, exponent: -accumulator.precision, significand: 1)
        let uo = Double(sign: .plus, exponent: -output.precision, significand: 1)
        let n = Double(x.count)
        func gamma(_ k: Double) -> Double { k * u < 1 ? k * u / (1 - k * u) : .infinity }
        var b: Double
        switch r {
        case .sum, .norm1: b = gamma(n - 1) * x.reduce(0) { $0 + $1.magnitude }
        case .dot: b = gamma(n) * zip(x, y).reduce(0) { $0 + ($1.0 * $1.1).magnitude }
        case .sumsq: b = gamma(n) * x.reduce(0) { $0 + $1 * $1 }
        case .norm2:
            // ‖x‖₂ as m·‖x/m‖₂, m = max|x|, so that squares past Double's range do not make the bound infinite.
            let m = x.reduce(0) { Swift.max($0, $1.magnitude) }
            let norm = m == 0 ? 0 : m * x.reduce(0) { $0 + ($1 / m) * ($1 / m) }.squareRoot()
            b = (gamma(n) + u * (1 + gamma(n))) * norm
        case .norminf: b = 0
        case .mean: b = gamma(n) * x.reduce(0) { $0 + $1.magnitude } / n
        case .variance, .varianceUnbiased:
            let d = r == .variance ? n : n - 1
            let epsilon = gamma(n) * x.reduce(0) { $0 + $1.magnitude } / n
            let s = exact * d
            b = (gamma(n + 3) * s + n * epsilon * epsilon * (1 + gamma(n + 3))) / d
        case .logsumexp, .softmaxDenominator:
            let m = x.max() ?? 0
            var s = 0.0, delta = 0.0, computed = 0.0
            for v in x where v.isFinite {
                let d = (v - m).magnitude, t = exp(-d)
                let worst = exp(-d * (1 - u)) * (1 + 2 * u)
                s += t
                delta += worst - t
                computed += worst
            }
            delta += gamma(n - 1) * computed
            if r == .softmaxDenominator {
                b = delta
            } else {
                let shift = delta < s ? -log1p(-delta / s) : .infinity
                b = shift + 2 * u * (log(s) + shift) + u * exact.magnitude
            }
        }
        return (b * (1 + uo) + uo * exact.magnitude) * (1 + 1e-9)
    }
}
