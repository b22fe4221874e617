import ArgumentParser
import Foundation
import PrecisionLab

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "The main job: check the formats against MPFR, run the reduction fixtures and the benchmark, write one Markdown report.",
        discussion: """
        Sections: the formats and their conformance (as `formats --report`); the reduction fixtures (every \
        adversarial family in every format: each algorithm's 2-norm error in ulps against its a-priori bound); \
        the reductions benchmark (as `bench reductions`, at --bench-size). Exits 1 if a conformance check of \
        the lab fails or an algorithm exceeds its stated bound on a fixture.
        """
    )

    @Option(help: "The report to write.")
    var out = "reports/lab.md"

    @Option(help: "Random cases per conformance check.")
    var samples: Int = 1_000_000

    @Option(help: "Seed of the conformance cases.")
    var seed: UInt64 = 20261122

    @Option(name: .customLong("bench-size"), help: "Elements per benchmark array (0 skips the benchmark).")
    var benchSize = 1 << 26

    func validate() throws {
        guard (1...100_000_000).contains(samples) else { throw ValidationError("--samples must be between 1 and 100000000") }
        guard benchSize >= 0 && benchSize <= 1 << 31 else { throw ValidationError("--bench-size must be between 0 and 2^31") }
    }

    func run() throws {
        try checkOutputPath(out)
        let started = ContinuousClock.now
        let conformance = FormatConformance.standardSuite(samples: samples, seed: seed) { Terminal.progress("formats: \($0)...") }
        var fixtures = [(fixture: ReductionFixture, evaluation: NormEvaluation)]()
        for fixture in ReductionFixture.standard {
            Terminal.progress("reductions: \(fixture.name)...")
            fixtures.append((fixture, fixture.withBuffer { NormEvaluator.evaluate([$0], order: .two, algorithms: ReductionAlgorithm.allCases) }))
        }
        let bench = benchSize == 0 ? [] : ReductionBenchmark.run(
            count: benchSize, formats: FloatFormat.arithmetic, algorithms: ReductionAlgorithm.allCases,
            progress: { Terminal.progress("bench: \($0)...") })
        Terminal.endProgress()
        let elapsed = ContinuousClock.now - started
        let header = MachineInfo.reportHeader(
            command: "precision-lab report --out \(out) --samples \(samples) --seed \(seed) --bench-size \(benchSize)", elapsed: elapsed)
        var markdown = "# PrecisionLab report\n\n"
        for (key, value) in header { markdown += "- **\(key)**: \(value)\n" }
        // The formats report, one heading level down.
        let formats = FormatReport.markdown(results: conformance, samples: samples, seed: seed, header: [])
        markdown += "\n" + formats.replacingOccurrences(of: "\n## ", with: "\n### ").replacingOccurrences(of: "# Number formats", with: "## Number formats")
        markdown += """

        ## Reductions

        Exact norms are computed exactly and rounded once (compensated Float64 sums with a proven error bound decide \
        the rounding; when they cannot, Neal's superaccumulator and MPFR do), and agree bit for bit with an \
        MPFR-only computation (tested on 10,000 random vectors per format). Each algorithm is deterministic, with \
        the accumulation order and accumulator format below; its error is in ulps of the format it returns its \
        result in, next to its a-priori bound (Higham's analysis of its summation order; `none` where the \
        analysis needs n·u small). Flags: O overflowed (inf or NaN where the norm is finite), U squares below \
        the accumulator's normal range, ! error above the bound.

        \(ReductionReport.algorithmList(ReductionAlgorithm.descriptions))
        ### Fixtures: 2-norm errors (ulps / bound)

        Generated from `ReductionFixture.standard` (family, format, length, seed); their exact norms and recorded \
        errors are in `fixtures/reductions/references.json`, which the test suite checks.

        \(ReductionReport.fixtureTables(fixtures).replacingOccurrences(of: "### ", with: "#### "))
        """
        if !bench.isEmpty {
            markdown += """

            ### Benchmark: 2-norm of \(benchSize) elements, \(Parallel.defaultThreads) threads

            Medians; "× read time" is the time over a streaming read of the same array measured in the same run.

            \(BenchmarkReport.table(bench).markdown)
            \(BenchmarkReport.summary(bench).markdown)
            """
        }
        try writeAtomically(markdown, to: out)
        print("report written to \(out)")
        let failed = conformance.filter { $0.testsLab && !$0.passed }
        let violations = ReductionReport.boundViolations(fixtures)
        if !failed.isEmpty || !violations.isEmpty {
            throw CheckFailed(description: "\(failed.count) conformance check(s) disagree with MPFR, \(violations.count) bound violation(s); see \(out)")
        }
    }
}
