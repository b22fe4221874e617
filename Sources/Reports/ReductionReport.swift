import Base
import Formats
import Results
#if canImport(Glibc)
import Glibc
#endif

/// Tables of norm evaluations and of the reduction fixtures.
public enum ReductionReport {
    public static func flags(_ a: AlgorithmEvaluation) -> String {
        (a.overflowed ? "O" : "") + (a.underflowed ? "U" : "") + (a.withinBound == false ? "!" : "")
    }

    public static func algorithmTable(_ e: NormEvaluation) -> TextTable {
        TextTable(
            header: ["algorithm", "accumulator", "value", "ulps", "relative", "bits lost", "bound (ulps)", "flags"],
            rows: e.algorithms.map { a in
                [a.algorithm, a.accumulator.name + (a.output == a.accumulator ? "" : " → " + a.output.name), Figures.exact(a.value),
                 Figures.figure(a.ulps), Figures.figure(a.relative), Figures.fixed(a.bitsLost, 1),
                 a.boundNote.map { "none (\($0))" } ?? Figures.figure(a.boundUlps), flags(a)]
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
                + "\(Figures.exact($0.evaluation.exact)) (\(Figures.exact($0.evaluation.exactInStorage)) in \($0.fixture.format.shortName))" }
                .joined(separator: "; ") + ".\n\n"
            let algorithms = first.evaluation.algorithms.map(\.algorithm)
            let table = TextTable(
                header: ["algorithm"] + mine.map { "\($0.fixture.format.shortName) ulps / bound" },
                rows: algorithms.map { algorithm in
                    [algorithm] + mine.map { r in
                        guard let a = r.evaluation.algorithms.first(where: { $0.algorithm == algorithm }) else { return "" }
                        let bound = a.boundNote != nil ? "none" : Figures.figure(a.boundUlps)
                        let flags = flags(a)
                        return "\(Figures.figure(a.ulps)) / \(bound)" + (flags.isEmpty ? "" : " \(flags)")
                    }
                },
                numericColumns: Set(1...mine.count)
            )
            out += table.markdown + "\n"
        }
        return out
    }

    /// The algorithms and their definitions.
    public static func algorithmList(_ algorithms: [AlgorithmDescription]) -> String {
        algorithms.map { a in
            let accumulators = a.accumulators.map { "\($0.input.shortName)→\($0.accumulator.name)" }.joined(separator: ", ")
            return "- `\(a.name)`: \(a.summary) (\(accumulators))."
        }.joined(separator: "\n") + "\n"
    }

    /// Fixtures where an algorithm's error exceeds its bound (a failure of the lab's analysis or code).
    public static func boundViolations(_ results: [(fixture: ReductionFixture, evaluation: NormEvaluation)]) -> [String] {
        results.flatMap { r in
            r.evaluation.algorithms.filter { $0.withinBound == false }.map {
                "\(r.fixture.name) \($0.algorithm): \(Figures.figure($0.ulps)) ulps > bound \(Figures.figure($0.boundUlps))"
            }
        }
    }
}
