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

extension ReductionReport {
    /// One table per fixture family: a row per algorithm, a column per format with "error / bound" in ulps of
    /// the algorithm's output format (O overflow, U underflow, ! above the bound).
    public static func fixtureTables(_ results: [(fixture: ReductionFixture, evaluation: NormEvaluation)]) -> String {
        var out = ""
        for family in ReductionFixture.Family.allCases {
            let mine = results.filter { $0.fixture.family == family }
            guard let first = mine.first else { continue }
            out += "### \(family.rawValue)\n\n"
            out += mine.map { "\($0.fixture.format.shortName): \($0.fixture.count) values, exact \(first.evaluation.order)-norm "
                + "\(number($0.evaluation.exact)) (\(number($0.evaluation.exactInStorage)) in \($0.fixture.format.shortName))" }
                .joined(separator: "; ") + ".\n\n"
            let algorithms = first.evaluation.algorithms.map(\.algorithm)
            let table = TextTable(
                header: ["algorithm"] + mine.map { "\($0.fixture.format.shortName) ulps / bound" },
                rows: algorithms.map { algorithm in
                    [algorithm.rawValue] + mine.map { r in
                        guard let a = r.evaluation.algorithms.first(where: { $0.algorithm == algorithm }) else { return "" }
                        let bound = a.boundNote != nil ? "none" : figure(a.boundUlps)
                        let flags = flags(a)
                        return "\(figure(a.ulps)) / \(bound)" + (flags.isEmpty ? "" : " \(flags)")
                    }
                },
                numericColumns: Set(1...mine.count)
            )
            out += table.markdown + "\n"
        }
        return out
    }

    /// The algorithms and their definitions.
    public static func algorithmList() -> String {
        ReductionAlgorithm.allCases.map { a in
            let accumulators = FloatFormat.arithmetic.map { "\($0.shortName)→\(a.accumulator(for: $0).name)" }.joined(separator: ", ")
            return "- `\(a.rawValue)`: \(a.summary) (\(accumulators))."
        }.joined(separator: "\n") + "\n"
    }

    /// Fixtures where an algorithm's error exceeds its bound (a failure of the lab's analysis or code).
    public static func boundViolations(_ results: [(fixture: ReductionFixture, evaluation: NormEvaluation)]) -> [String] {
        results.flatMap { r in
            r.evaluation.algorithms.filter { $0.withinBound == false }.map {
                "\(r.fixture.name) \($0.algorithm.rawValue): \(figure($0.ulps)) ulps > bound \(figure($0.boundUlps))"
            }
        }
    }
}
