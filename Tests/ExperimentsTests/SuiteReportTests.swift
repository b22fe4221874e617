import Experiments
import Foundation
import Reports
import Results
import Testing
import TestSupport

/// Rendering is a pure function of the results: snapshots of a committed results file's report and charts.
@Suite struct SuiteReportSnapshotTests {
    static let directory = Repository.url("fixtures/suites/snapshots")

    static func context() throws -> SuiteReport.Context {
        let path = Repository.path("fixtures/suites/smoke.json")
        let spec = try SuiteSpec(json: try String(contentsOfFile: path, encoding: .utf8), path: path)
        return SuiteResultSet.context(spec, source: "fixtures/suites/smoke.json", version: "snapshot", date: "2026-01-01",
                                      machine: "snapshot machine", labReport: "lab.md")
    }

    static func check(_ text: String, _ name: String) throws { try Snapshot.check(text, "fixtures/suites/snapshots/" + name) }

    @Test func reportAndChartMatchTheirSnapshots() throws {
        let results = try ResultsFile.parse(String(contentsOf: Self.directory.appendingPathComponent("smoke.results.jsonl"), encoding: .utf8),
                                            path: "smoke.results.jsonl")
        let report = SuiteReport.render(results, analysis: SuiteAnalysis(results), context: try Self.context(), chartDirectory: "smoke")
        try Self.check(report.markdown, "smoke.md")
        let chart = try #require(report.charts.first { $0.path.contains("rnn_f32_none_none_bad-labels-at-40_seed1") })
        try Self.check(chart.svg, "smoke-rnn-chart.svg")
        let grid = try #require(report.charts.first { $0.path == "smoke/grid-spirals.svg" })
        try Self.check(grid.svg, "smoke-grid.svg")
        try Self.check(report.appendix, "smoke-runs.md")
        // A chart per run, a grid per block, an overlay per block and fault set.
        #expect(report.charts.count == results.count + 2 + 3)
        #expect(report.markdown.contains("## Recommendations") && report.markdown.contains("(smoke/overlay-rnn-bad-labels-at-40.svg)"))
        #expect(ChartSanity.problems(report.charts).isEmpty, "\(ChartSanity.problems(report.charts))")
        // The same results in another order render the same.
        let again = SuiteReport.render(results.reversed(), analysis: SuiteAnalysis(results.reversed()), context: try Self.context(), chartDirectory: "smoke")
        #expect(again.markdown == report.markdown)
    }
}

/// Charts must draw: no coordinate or size in any SVG may be NaN or infinite.
enum ChartSanity {
    static func problems(_ charts: [SuiteReport.Chart]) -> [String] {
        let attribute = /(?:x|y|x1|y1|x2|y2|width|height|points|transform)="[^"]*(?:nan|inf)[^"]*"/
        return charts.compactMap { c in c.svg.firstMatch(of: attribute).map { "\(c.path): \($0.output)" } }
    }
}

@Suite struct SpikeDiagnosisTests {
    static func result(faults: [String] = [], spikes: [Int] = [], referenceSpikes: [Int] = [], nonFinite: String? = nil,
                       normOverflow: [Int] = [], diverged: Int? = nil, steps: Int = 100) -> RunResult {
        let series = RunResult.Series(stride: 1, loss: [], referenceLoss: [], gradNorm: [], threshold: [], scale: [], underflow: [], clipped: [], skipped: [])
        return RunResult(index: 0, suite: "s", id: "b/p/s/c/f/seed1", configuration: "0", block: "b", task: "spirals", model: "mlp", policy: "f16", scaler: "none",
                         clipper: "none", faults: "f", faultList: faults.map { Fault($0)! }, seed: 1, steps: steps, finalLoss: 1,
                         referenceFinalLoss: 1, weightDistance: 0.1, divergedAt: diverged, skippedSteps: 0, clippedSteps: 0, lossSpikes: spikes,
                         referenceSpikes: referenceSpikes, normOverflowSteps: normOverflow, maxGradNorm: 1, maxNormErrorUlps: 0,
                         meanUnderflowFraction: 0, maxUnderflowFraction: 0, firstNonFinite: nonFinite, metricName: "m", metric: 0, series: series)
    }

    @Test func eachRuleOnItsCase() {
        #expect(SuiteAnalysis.diagnose(Self.result(faults: ["spike-batch@40x100"], spikes: [40])).cause == .data)
        #expect(SuiteAnalysis.diagnose(Self.result(faults: ["corrupt-labels@40,70"], spikes: [41, 70])).cause == .data)
        // A spike away from the bad batch is not the batch's.
        #expect(SuiteAnalysis.diagnose(Self.result(faults: ["corrupt-labels@40"], spikes: [30, 40])).cause != .data)
        #expect(SuiteAnalysis.diagnose(Self.result(faults: ["lr-spike@30x50"], spikes: [32])).cause == .learningRate)
        #expect(SuiteAnalysis.diagnose(Self.result(spikes: [20, 60, 70, 80, 90])).cause == .learningRate)
        // An inf/NaN first seen in a parameter's gradient, every op finite: not the arithmetic (the injected NaN).
        let nan = "step 10: backward: 1 NaN first in the gradient of parameter mlp.0.weight (node 1, layer mlp.0)"
        #expect(SuiteAnalysis.diagnose(Self.result(faults: ["gradient-nan@10"], spikes: [11], nonFinite: nan, diverged: 11)).cause == .nonFiniteGradient)
        // One that an op made, where the Float64 reference stayed finite: the precision.
        let op = "step 10: forward: 3 inf first in the value of matmul (node 4, layer mlp.0)"
        #expect(SuiteAnalysis.diagnose(Self.result(faults: ["activation-overflow@10"], spikes: [10], nonFinite: op, diverged: 10)).cause == .numerics)
        // A fault after which nothing happened.
        #expect(SuiteAnalysis.diagnose(Self.result(faults: ["lr-spike@30x50"], spikes: [25])).cause == .noEffect)
        // Spikes that the Float32 run of the same seed and faults does not have depend on the precision.
        var low = Self.result(spikes: [40, 60]), wide = Self.result(spikes: [40])
        low.policy = "bf16"
        wide.policy = "f32"
        #expect(SuiteAnalysis.diagnose(low, peers: [low, wide]).cause == .unexplained, "the f32 run has the spike at 40 too")
        wide.lossSpikes = []
        #expect(SuiteAnalysis.diagnose(low, peers: [low, wide]).cause == .numerics)
        // An inf/NaN that was skipped (a scaler calibrating) does not explain a later spike, nor a later divergence.
        #expect(SuiteAnalysis.diagnose(Self.result(spikes: [50], nonFinite: "step 0: backward")).cause == .unexplained)
        #expect(SuiteAnalysis.diagnose(Self.result(spikes: [50], nonFinite: "step 0: backward", diverged: 60)).cause == .unexplained)
        #expect(SuiteAnalysis.diagnose(Self.result(spikes: [50], normOverflow: [50])).cause == .numerics)
        #expect(SuiteAnalysis.diagnose(Self.result(spikes: [25], referenceSpikes: [25])).cause == .initialisation)
        #expect(SuiteAnalysis.diagnose(Self.result(spikes: [25])).cause == .unexplained)
        // Spikes after divergence belong to it.
        #expect(SuiteAnalysis.diagnose(Self.result(faults: ["spike-batch@40"], spikes: [40, 41, 42, 60], diverged: 40)).cause == .data)
    }

    @Test func clipRateRule() {
        #expect(SuiteAnalysis.clipReading(0) == .never)
        #expect(SuiteAnalysis.clipReading(0.009) == .insurance)
        #expect(SuiteAnalysis.clipReading(0.2) == .particularBatches)
        #expect(SuiteAnalysis.clipReading(0.5) == .constant)
    }
}

@Suite struct SuiteSpecTests {
    static let block = #"{"name": "b", "task": "spirals", "steps": 5, "policies": ["f16", "bf16"], "scalers": ["none", "static:8", "torch"], "#
        + #""clippers": [{"method": "none"}, {"method": "global-norm", "max_norm": 2, "norm": "naive"}], "seeds": [1, 2], "#
        + #""faults": {"clean": [], "spike": ["spike-batch@3x10"]}}"#

    @Test func expandsTheMatrixInAFixedOrder() throws {
        let spec = try SuiteSpec(json: #"{"name": "t", "blocks": [\#(Self.block.replacingOccurrences(of: "\"f16\", ", with: ""))]}"#, path: "t.json")
        let runs = SuiteRun.expand(spec)
        #expect(runs.count == 2 * 1 * 3 * 2 * 2)
        #expect(runs[0].id == "b/bf16/none/none/clean/seed1" && runs[1].id == "b/bf16/none/none/clean/seed2")
        #expect(runs.last!.id == "b/bf16/torch/global-norm(naive)/spike/seed2")
        #expect(runs.last!.configuration.faults == [Fault(.spikeBatch, steps: [3], magnitude: 10)])
        #expect(runs[2].configuration.scaler == .none && runs[4].configuration.scaler == .fixed(8))
        #expect(Set(runs.map(\.id)).count == runs.count)
        // Shards partition the matrix.
        let shards = (0..<3).flatMap { SuiteRunner.shard(runs, index: $0, count: 3).map(\.index) }
        #expect(shards.sorted() == Array(runs.indices))
    }

    @Test func errorsNameTheFileAndThePlace() {
        func problem(_ text: String) -> String? {
            do { _ = try SuiteSpec(json: text, path: "x.json"); return nil } catch { return "\(error)" }
        }
        #expect(problem("{")?.hasPrefix("x.json: not JSON") == true)
        #expect(problem(#"{"name": "t", "blocks": []}"#)?.contains("non-empty \"blocks\"") == true)
        #expect(problem(#"{"name": "t", "blocks": [{"name": "b", "task": "mnist"}]}"#)?.contains("block 0: \"task\"") == true)
        #expect(problem(#"{"name": "t", "blocks": [{"name": "b", "task": "spirals", "policies": ["f8"]}]}"#)?.contains("unknown policy") == true)
        #expect(problem(#"{"name": "t", "blocks": [{"name": "b", "task": "spirals", "scalers": ["static:nan"]}]}"#)?.contains("unknown scaler") == true)
        #expect(problem(#"{"name": "t", "blocks": [{"name": "b", "task": "spirals", "faults": {"x": ["boom@3"]}}]}"#)?.contains("KIND@STEP") == true)
        // GradScaler refuses pure Float16 gradients: caught when the suite is read, not mid-run.
        #expect(problem(#"{"name": "t", "blocks": [\#(Self.block)]}"#)?.contains("run b/f16/torch") == true)
        #expect(problem(#"{"name": "t", "blocks": [{"name": "b", "task": "spirals"}, {"name": "b", "task": "adding"}]}"#)?.contains("two blocks") == true)
        // Wrong types, unknown keys, empty lists, faults that would never fire, and runs that would share an id.
        #expect(problem(#"{"name": "t", "blocks": [{"name": "b", "task": "spirals", "steps": "30"}]}"#)?.contains("\"steps\" must be an integer") == true)
        #expect(problem(#"{"name": "t", "blocks": [{"name": "b", "task": "spirals", "learning_rate": 0.1}]}"#)?.contains("unknown key \"learning_rate\"") == true)
        #expect(problem(#"{"name": "t", "blocks": [{"name": "b", "task": "spirals", "seeds": []}]}"#)?.contains("non-empty list") == true)
        #expect(problem(#"{"name": "t", "blocks": [{"name": "b", "task": "spirals", "faults": {"x": "lr-spike@3"}}]}"#)?.contains("must be a list") == true)
        #expect(problem(#"{"name": "t", "blocks": [{"name": "b", "task": "spirals", "steps": 10, "faults": {"x": ["lr-spike@10"]}}]}"#)?.contains("past the block's 10 steps") == true)
        #expect(problem(#"{"name": "t", "blocks": [{"name": "b", "task": "spirals", "clippers": [{"method": "value", "max_norm": 1}, {"method": "value", "max_norm": 2}]}]}"#)?.contains("two runs are both b/f32/none/value/clean/seed1") == true)
        #expect(problem(#"{"name": "t", "blocks": [{"name": "b", "task": "spirals", "clippers": [{"method": "value", "maxnorm": 1}]}]}"#)?.contains("unknown key \"maxnorm\"") == true)
        #expect(problem(#"{"name": "../t", "blocks": [{"name": "b", "task": "spirals"}]}"#)?.contains("letters, digits") == true)
    }

    @Test func shardsFromJobArrays() throws {
        #expect(try SuiteShard.fromEnvironment([:]) == nil)
        #expect(try SuiteShard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "3"]) == SuiteShard(index: 2, count: 3))
        #expect(try SuiteShard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_MIN": "1"])
                == SuiteShard(index: 2, count: 3))
        #expect(try SuiteShard.fromEnvironment(["JOB_COMPLETION_INDEX": "0", "PRECISIONLAB_SHARDS": "4"]) == SuiteShard(index: 0, count: 4))
        #expect(throws: SuiteError.self) { try SuiteShard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "3"]) }
        #expect(throws: SuiteError.self) { try SuiteShard.fromEnvironment(["JOB_COMPLETION_INDEX": "0"]) }
        #expect(throws: SuiteError.self) { try SuiteShard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "x", "SLURM_ARRAY_TASK_COUNT": "3"]) }
        #expect(SuiteShard("1/3") == SuiteShard(index: 1, count: 3) && SuiteShard("3/3") == nil && SuiteShard("-1/3") == nil && SuiteShard("1") == nil)
    }

    /// Results of an edited suite are refused even where the run's id is unchanged.
    @Test func resultsOfAnEditedSuiteAreRefused() throws {
        let path = Repository.path("fixtures/suites/smoke.json")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let spec = try SuiteSpec(json: text, path: path)
        let results = try ResultsFile.parse(String(contentsOf: SuiteReportSnapshotTests.directory.appendingPathComponent("smoke.results.jsonl"), encoding: .utf8), path: "r")
        try SuiteResultSet.check(results, against: SuiteRun.expand(spec), suite: "smoke", path: "r")
        let edited = try SuiteSpec(json: text.replacingOccurrences(of: "\"steps\": 40", with: "\"steps\": 50"), path: path)
        #expect(SuiteRun.expand(edited).map(\.id) == SuiteRun.expand(spec).map(\.id))
        #expect(throws: SuiteError.self) { try SuiteResultSet.check(results, against: SuiteRun.expand(edited), suite: "smoke", path: "r") }
    }

    @Test func partialResultsDropACutOffLine() throws {
        let text = try String(contentsOf: SuiteReportSnapshotTests.directory.appendingPathComponent("smoke.results.jsonl"), encoding: .utf8)
        let lines = text.split(separator: "\n")
        let cut = lines.prefix(3).joined(separator: "\n") + "\n" + lines[3].prefix(100)
        let partial = try SuiteResultSet.parsePartial(cut, path: "p")
        #expect(partial.map(\.index) == [0, 1, 2])
        // A complete but broken line is an error naming the line.
        #expect(throws: ResultsError.self) { try SuiteResultSet.parsePartial(lines[0] + "\n{\"index\": 1}\n", path: "p") }
        // CRLF line ends (a file that passed through Windows) keep every finished run; a cut-off last line is dropped.
        let crlf = lines.prefix(3).joined(separator: "\r\n") + "\r\n" + lines[3].prefix(100)
        #expect(try SuiteResultSet.parsePartial(crlf, path: "p").map(\.index) == [0, 1, 2])
        #expect(try SuiteResultSet.parsePartial(lines.prefix(4).joined(separator: "\r\n") + "\r\n", path: "p").map(\.index) == [0, 1, 2, 3])
        #expect(try ResultsFile.parse(lines.prefix(2).joined(separator: "\r\n"), path: "p").count == 2)
    }
}
