import Foundation
import Testing
import Experiments
import Reports

/// The default suite, run once per test process, and what its results must show.
enum DefaultSuite {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let spec: SuiteSpec = {
        let path = root.appendingPathComponent("fixtures/suites/default.json").path
        return try! SuiteSpec(json: try! String(contentsOfFile: path, encoding: .utf8), path: path)
    }()
    static let runs = SuiteRun.expand(spec)
    static let results: [RunResult] = try! SuiteRunner.run(SuiteRunner.shard(runs, index: 0, count: 1), threads: 2) { _, _ in }

    static func run(_ id: String) -> RunResult {
        guard let r = results.first(where: { $0.id == id }) else { fatalError("no run \(id)") }
        return r
    }

    static let context = SuiteResultSet.context(spec, source: "fixtures/suites/default.json", version: "test", date: "2026-01-01",
                                                machine: "test machine", labReport: nil)
}

@Suite(.serialized) struct DefaultSuiteTests {
    /// Without clipping the RNN at sequence length 50 diverges (or spikes more) after the bad batch; global-norm clipping
    /// keeps it training.
    @Test func clippingSavesTheRNN() {
        for policy in ["f32", "mixed-bf16"] {
            let none = DefaultSuite.run("rnn-clipping/\(policy)/none/none/bad-batch/seed1")
            let clipped = DefaultSuite.run("rnn-clipping/\(policy)/none/global-norm/bad-batch/seed1")
            #expect(none.diverged || none.lossSpikes.count > clipped.lossSpikes.count, "\(policy): \(none.lossSpikes)")
            #expect(!clipped.diverged && clipped.weightDistance < 1, "\(policy): \(clipped.weightDistance)")
            #expect(clipped.clippedSteps > 0 && clipped.maxGradNorm.isFinite)
        }
        // Float32 without clipping is fine on clean data: the bad batch is what breaks it.
        #expect(!DefaultSuite.run("rnn-clipping/f32/none/none/clean/seed1").diverged)
        #expect(DefaultSuite.run("rnn-clipping/f32/none/none/bad-batch/seed1").divergedAt == 150)
    }

    /// Float16 gradients underflow without loss scaling; dynamic scaling lifts them out.
    @Test func dynamicScalingPreventsUnderflow() {
        for policy in ["f16", "mixed-f16"] {
            let none = DefaultSuite.run("underflow/\(policy)/none/global-norm/clean/seed1")
            let dynamic = DefaultSuite.run("underflow/\(policy)/deepspeed/global-norm/clean/seed1")
            #expect(none.meanUnderflowFraction > 0.95, "\(policy): \(none.meanUnderflowFraction)")
            #expect(dynamic.meanUnderflowFraction < 0.6 && none.meanUnderflowFraction - dynamic.meanUnderflowFraction > 0.3,
                    "\(policy): \(dynamic.meanUnderflowFraction)")
            // And training follows the Float64 run more closely.
            #expect(dynamic.weightDistance < none.weightDistance / 5)
        }
        // BFloat16 has Float32's exponent range: scaling changes nothing.
        let bf16 = ["none", "static:4096", "deepspeed"].map { DefaultSuite.run("underflow/bf16/\($0)/global-norm/clean/seed1") }
        #expect(Set(bf16.map(\.meanUnderflowFraction)).count == 1 && bf16[0].meanUnderflowFraction < 0.6)
    }

    /// The Float16-accumulated clipping norm overflows on the spike batch while every gradient is finite; PyTorch's
    /// Float32 accumulation does not.
    @Test func float16AccumulatedNormOverflowsOnTheSpike() {
        let fp16 = DefaultSuite.run("fp16-clip-norm/f16/none/global-norm(fp16-acc)/spike/seed1")
        let fp32 = DefaultSuite.run("fp16-clip-norm/f16/none/global-norm(fp32-acc)/spike/seed1")
        #expect(fp16.normOverflowSteps == [100])
        #expect(fp32.normOverflowSteps.isEmpty)
        #expect(fp16.maxGradNorm > 256 && fp16.maxGradNorm < 65504, "the exact norm: finite, its square is not")
        #expect(SuiteReport.diagnose(fp16).cause == "numerics")
    }

    /// An injected NaN gradient: applied without a scaler it ruins the run; the scalers skip it.
    @Test func scalersSkipTheNaNGradient() {
        for policy in ["f16", "mixed-f16", "bf16"] {
            #expect(DefaultSuite.run("underflow/\(policy)/none/global-norm/nan-gradient/seed1").divergedAt == 151)
            for scaler in ["static:4096", "deepspeed"] {
                let r = DefaultSuite.run("underflow/\(policy)/\(scaler)/global-norm/nan-gradient/seed1")
                #expect(!r.diverged && r.series.skipped == [150])
            }
        }
    }

    /// The runs of 3 shards, merged, are the unsharded run's results byte for byte, and give the same report. This also
    /// shows two runs of the suite produce identical results files.
    @Test func threeShardsMergeIntoTheUnshardedRun() throws {
        var shards = [(path: String, results: [RunResult])]()
        for k in 0..<3 {
            let mine = SuiteRunner.shard(DefaultSuite.runs, index: k, count: 3)
            #expect(mine.allSatisfy { $0.index % 3 == k })
            // Shards ran with different parallelism than the unsharded run: results don't depend on it.
            let results = try SuiteRunner.run(mine, threads: k == 0 ? 1 : 2) { _, _ in }
            shards.append(("shard\(k)", try ResultsFile.parse(ResultsFile.text(results), path: "shard\(k)")))
        }
        let merged = try SuiteResultSet.merge(shards, runs: DefaultSuite.runs, suite: "default")
        #expect(ResultsFile.text(merged) == ResultsFile.text(DefaultSuite.results))
        let a = SuiteReport.render(merged, context: DefaultSuite.context, chartDirectory: "default")
        let b = SuiteReport.render(DefaultSuite.results, context: DefaultSuite.context, chartDirectory: "default")
        #expect(a.markdown == b.markdown && a.charts == b.charts)
        // A missing shard is named.
        #expect(throws: SuiteError.self) { try SuiteResultSet.merge(Array(shards.prefix(2)), runs: DefaultSuite.runs, suite: "default") }
    }

    /// The results file reads back as the same results.
    @Test func resultsRoundTrip() throws {
        let text = ResultsFile.text(DefaultSuite.results)
        let back = try ResultsFile.parse(text, path: "x")
        #expect(back == DefaultSuite.results && ResultsFile.text(back) == text)
        #expect(DefaultSuite.results.contains { !$0.weightDistance.isFinite }, "diverged runs carry NaN, which must round-trip")
    }

    /// The report names the physics it measured.
    @Test func reportFindings() {
        let findings = SuiteReport.findings(DefaultSuite.results)
        #expect(findings.contains { $0.contains("**rnn-clipping**, f32 · no loss scaling") && $0.contains("no clipping diverged at step 150") })
        #expect(findings.contains { $0.contains("global-norm(fp16-acc) was inf at step 100") })
        #expect(findings.contains { $0.contains("with no loss scaling 100% of the gradient elements") })
    }
}
