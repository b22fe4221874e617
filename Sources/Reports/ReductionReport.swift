import Formats
import Reductions
#if canImport(Glibc)
import Glibc
#endif

/// Tables of norm evaluations and of the reduction fixtures.
public enum ReductionReport {
    /// A Double with 17 significant digits at most (shortest round-trip text), or inf/nan.
    public static func number(_ x: Double) -> String {
        if x.isNaN { return "nan" }
        if x.isInfinite { return x < 0 ? "-inf" : "inf" }
        return "\(x)"
    }

    /// A non-negative error figure with 3 significant digits.
    public static func figure(_ x: Double) -> String {
        if x.isNaN { return "nan" }
        if x.isInfinite { return "inf" }
        if x == 0 { return "0" }
        if x >= 1e6 || x < 1e-3 {
            let e = Int(floor(log10(x)))
            let m = x / pow(10, Double(e))
            return "\(BenchmarkReport.fixed(m, 2))e\(e)"
        }
        let digits = max(0, 2 - Int(floor(log10(x))))
        return BenchmarkReport.fixed(x, digits)
    }

    public static func flags(_ a: AlgorithmEvaluation) -> String {
        (a.overflowed ? "O" : "") + (a.underflowed ? "U" : "") + (a.withinBound == false ? "!" : "")
    }

    public static func algorithmTable(_ e: NormEvaluation) -> TextTable {
        TextTable(
            header: ["algorithm", "accumulator", "value", "ulps", "relative", "bits lost", "bound (ulps)", "flags"],
            rows: e.algorithms.map { a in
                [a.algorithm.rawValue, a.accumulator.name + (a.output == a.accumulator ? "" : " → " + a.output.name), number(a.value),
                 figure(a.ulps), figure(a.relative), BenchmarkReport.fixed(a.bitsLost, 1),
                 a.boundNote.map { "none (\($0))" } ?? figure(a.boundUlps), flags(a)]
            },
            numericColumns: [2, 3, 4, 5, 6]
        )
    }
}
