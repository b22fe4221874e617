import Foundation
import Testing
import Experiments
import Reports
import Results
import TestSupport

/// The default suite, run once per test process, and what its results must show. A suite that cannot be read or
/// run fails the tests that use it (with the error), not the test process.
enum DefaultSuite {
    struct Loaded {
        var spec: SuiteSpec
        var runs: [SuiteRun]
        var results: [RunResult]
    }

    static let loaded = Result { () throws -> Loaded in
        let path = Repository.path("fixtures/suites/default.json")
        let spec = try SuiteSpec(json: try String(contentsOfFile: path, encoding: .utf8), path: path)
        let runs = SuiteRun.expand(spec)
        return Loaded(spec: spec, runs: runs, results: try SuiteRunner.run(SuiteRunner.shard(runs, index: 0, count: 1), threads: 2) { _, _ in })
    }

    static func runs() throws -> [SuiteRun] { try loaded.get().runs }
    static func results() throws -> [RunResult] { try loaded.get().results }

    static func run(_ id: String) throws -> RunResult {
        try #require(try results().first { $0.id == id }, "no run \(id)")
    }

    static func context() throws -> SuiteContext {
        SuiteResultSet.context(try loaded.get().spec, source: "fixtures/suites/default.json", version: "test", date: "2026-01-01",
                               machine: "test machine", labReport: nil)
    }
}

@Suite(.serialized) struct DefaultSuiteTests {
    /// Without clipping the RNN at sequence length 20 diverges (or spikes more) after the bad batch; global-norm clipping
    /// keeps it training.
    @Test func clippingSavesTheRNN() throws {
        for policy in ["f32", "mixed-bf16"] {
            let none = try DefaultSuite.run("rnn-clipping/\(policy)/none/none/bad-batch/seed1")
            let clipped = try DefaultSuite.run("rnn-clipping/\(policy)/none/global-norm/bad-batch/seed1")
            #expect(none.diverged || none.lossSpikes.count > clipped.lossSpikes.count, "\(policy): \(none.lossSpikes)")
            #expect(!clipped.diverged && clipped.weightDistance < 1, "\(policy): \(clipped.weightDistance)")
            #expect(clipped.clippedSteps > 0 && clipped.maxGradNorm.isFinite)
        }
        // Float32 without clipping is fine on clean data: the bad batch is what breaks it.
        #expect(try !DefaultSuite.run("rnn-clipping/f32/none/none/clean/seed1").diverged)
        #expect(try DefaultSuite.run("rnn-clipping/f32/none/none/bad-batch/seed1").divergedAt == 150)
    }

    /// Float16 gradients underflow without loss scaling; dynamic scaling lifts them out. Underflow told apart: without a
    /// scaler a tenth or more of the elements are flushed to zero beyond the Float64 run's zeros and about 40% are
    /// subnormal with most of their bits gone; with DeepSpeed's scaler almost none are lost and few are subnormal.
    @Test func dynamicScalingPreventsUnderflow() throws {
        for policy in ["f16", "mixed-f16"] {
            let none = try DefaultSuite.run("underflow/\(policy)/none/global-norm/clean/seed1")
            let dynamic = try DefaultSuite.run("underflow/\(policy)/deepspeed/global-norm/clean/seed1")
            #expect(none.meanUnderflowFraction > 0.95, "\(policy): \(none.meanUnderflowFraction)")
            #expect(none.lostFraction > 0.05 && none.meanSubnormalFraction > 0.3 && none.meanSubnormalBitsLost > 5,
                    "\(policy): lost \(none.lostFraction), subnormal \(none.meanSubnormalFraction), \(none.meanSubnormalBitsLost) bits")
            #expect(dynamic.lostFraction < 0.01 && dynamic.meanSubnormalFraction < 0.05 && dynamic.meanSubnormalBitsLost < none.meanSubnormalBitsLost,
                    "\(policy): lost \(dynamic.lostFraction), subnormal \(dynamic.meanSubnormalFraction)")
            // The rest are the Float64 run's zeros too (inactive ReLUs).
            #expect(abs(dynamic.meanZeroFraction - dynamic.referenceZeroFraction) < 0.01)
            // And training follows the Float64 run more closely.
            #expect(dynamic.weightDistance < none.weightDistance / 5)
        }
        // BFloat16 has Float32's exponent range: scaling changes nothing, and nothing is lost or subnormal.
        let bf16 = try ["none", "static:4096", "deepspeed"].map { try DefaultSuite.run("underflow/bf16/\($0)/global-norm/clean/seed1") }
        #expect(Set(bf16.map(\.meanUnderflowFraction)).count == 1 && bf16.allSatisfy { $0.lostFraction == 0 && $0.meanSubnormalFraction == 0 })
    }

    /// The Float16-accumulated clipping norm overflows on the spike batch while every gradient is finite; PyTorch's
    /// Float32 accumulation does not.
    @Test func float16AccumulatedNormOverflowsOnTheSpike() throws {
        let fp16 = try DefaultSuite.run("fp16-clip-norm/f16/none/global-norm(fp16-acc)/spike/seed1")
        let fp32 = try DefaultSuite.run("fp16-clip-norm/f16/none/global-norm(fp32-acc)/spike/seed1")
        #expect(fp16.normOverflowSteps == [100])
        #expect(fp32.normOverflowSteps.isEmpty)
        #expect(fp16.maxGradNorm > 256 && fp16.maxGradNorm < 65504, "the exact norm: finite, its square is not")
        // The spike batch is the cause; the overflowed norm, which the precision of its sum made fatal, is named with it.
        let d = SuiteAnalysis.diagnose(fp16, peers: try DefaultSuite.results())
        #expect(d.cause == .data && d.evidence.contains("the clipping norm was inf at step 100"), "\(d)")
    }

    /// An injected NaN gradient: applied without a scaler it ruins the run; the scalers skip it.
    @Test func scalersSkipTheNaNGradient() throws {
        for policy in ["f16", "mixed-f16", "bf16"] {
            let dead = try DefaultSuite.run("underflow/\(policy)/none/global-norm/nan-gradient/seed1")
            #expect(dead.divergedAt == 151)
            // Its clipper "clipped" NaN gradients on every later step: those are not clips (it was 50%).
            #expect(dead.clippedSteps == 0 && dead.clipRate == 0)
            for scaler in ["static:4096", "deepspeed"] {
                let r = try DefaultSuite.run("underflow/\(policy)/\(scaler)/global-norm/nan-gradient/seed1")
                #expect(!r.diverged && r.series.skipped == [150])
            }
        }
    }

    /// The runs of 3 shards, merged, are the unsharded run's results byte for byte, and give the same report. This also
    /// shows two runs of the suite produce identical results files. (On seed 1 of every block, to keep the test short:
    /// the same matrix with one seed, 56 runs over 3 shards; each run's result must equal the full run's, index aside.)
    @Test func threeShardsMergeIntoTheUnshardedRun() throws {
        var spec = try DefaultSuite.loaded.get().spec
        for b in spec.blocks.indices { spec.blocks[b].seeds = [1] }
        let runs = SuiteRun.expand(spec)
        var shards = [(path: String, results: [RunResult])]()
        for k in 0..<3 {
            let mine = SuiteRunner.shard(runs, index: k, count: 3)
            #expect(mine.allSatisfy { $0.index % 3 == k })
            // Shards ran with different parallelism than the unsharded run: results don't depend on it.
            let results = try SuiteRunner.run(mine, threads: k == 0 ? 1 : 2) { _, _ in }
            shards.append(("shard\(k)", try ResultsFile.parse(ResultsFile.text(results), path: "shard\(k)")))
        }
        let merged = try SuiteResultSet.merge(shards, runs: runs, suite: "default")
        let full = Dictionary(uniqueKeysWithValues: try DefaultSuite.results().map { ($0.id, $0) })
        let unsharded = try merged.map { r -> RunResult in
            var u = try #require(full[r.id], "no run \(r.id) in the full suite")
            u.index = r.index
            return u
        }
        #expect(ResultsFile.text(merged) == ResultsFile.text(unsharded))
        let a = SuiteReport.render(merged, analysis: SuiteAnalysis(merged), context: try DefaultSuite.context(), chartDirectory: "default")
        let b = SuiteReport.render(unsharded, analysis: SuiteAnalysis(unsharded), context: try DefaultSuite.context(), chartDirectory: "default")
        #expect(a.markdown == b.markdown && a.appendix == b.appendix && a.charts == b.charts)
        // A missing shard is named.
        #expect(throws: SuiteError.self) { try SuiteResultSet.merge(Array(shards.prefix(2)), runs: runs, suite: "default") }
    }

    /// The results file reads back as the same results.
    @Test func resultsRoundTrip() throws {
        let text = ResultsFile.text(try DefaultSuite.results())
        let back = try ResultsFile.parse(text, path: "x")
        #expect(try back == DefaultSuite.results() && ResultsFile.text(back) == text)
        #expect(try DefaultSuite.results().contains { !$0.weightDistance.isFinite }, "diverged runs carry NaN, which must round-trip")
    }

    /// The diagnosis, made from the measurements alone, agrees with the injected faults on at least 90% of the runs
    /// whose fault had an effect; an injected NaN gradient is not called the precision; a learning-rate spike that
    /// changed nothing is "no effect"; every fault's cause appears in the table.
    @Test func diagnosisAgreesWithTheInjectedFaults() throws {
        let results = try DefaultSuite.results()
        let analysis = SuiteAnalysis(results)
        let c = analysis.confusion
        #expect(c.judged >= 100 && c.agreement >= 0.9, "\(c.agreeing) of \(c.judged)")
        #expect(Set(c.cells.keys.map(\.injected)) == [.data, .learningRate, .nonFiniteGradient, .numerics])
        for r in results where r.faults == "nan-gradient" {
            #expect(analysis.diagnoses[r.index]?.cause == .nonFiniteGradient, "\(r.id): \(String(describing: analysis.diagnoses[r.index]))")
        }
        let lr = results.filter { $0.faults == "lr-spike" }
        #expect(lr.contains { analysis.diagnoses[$0.index]?.cause == .noEffect })
        for r in lr where analysis.diagnoses[r.index]?.cause == .noEffect {
            #expect(!r.diverged && !r.lossSpikes.contains { $0 >= 150 })
        }
        // Every run with a fault is diagnosed.
        #expect(results.filter { !$0.faultList.isEmpty }.allSatisfy { analysis.diagnoses[$0.index] != nil })
    }

    /// The default report leads with a recommendation per block, has a grid per block and an overlay per fault set, and
    /// every chart draws (no NaN or infinite coordinate, though runs diverge).
    @Test func reportLeadsWithTheAnswerAndItsChartsDraw() throws {
        let results = try DefaultSuite.results()
        let report = SuiteReport.render(results, analysis: SuiteAnalysis(results), context: try DefaultSuite.context(), chartDirectory: "default")
        let recommendations = try #require(report.markdown.range(of: "## Recommendations"))
        let verdicts = try #require(report.markdown.range(of: "## Verdicts"))
        #expect(recommendations.lowerBound < verdicts.lowerBound)
        for block in ["rnn-clipping", "rnn-clipping-fp16", "underflow", "fp16-clip-norm", "transformer-rare-tokens"] {
            #expect(report.markdown.contains("- **\(block)**: "), "\(block)")
            #expect(report.charts.contains { $0.path == "default/grid-\(block).svg" })
        }
        #expect(report.charts.filter { $0.path.contains("/overlay-") }.count == 9)
        #expect(ChartSanity.problems(report.charts).isEmpty, "\(ChartSanity.problems(report.charts).prefix(3))")
        // The per-run charts are in the appendix, not in the report.
        #expect(!report.markdown.contains("## Charts") && report.appendix.contains("## Charts"))
        // The adding problem at length 20 is not learned in 300 steps of SGD: the report says so.
        #expect(report.markdown.contains("**rnn-clipping**") && report.markdown.contains("**Nothing learned**"))
        // AGC survives the bad batch by clipping every step: the clip-rate rule says so next to the recommendation.
        #expect(report.markdown.contains("Recommended above yet clipping constantly: f32 · none · agc"))
    }

    /// The report names the physics it measured.
    @Test func reportFindings() throws {
        let findings = SuiteAnalysis.findings(try DefaultSuite.results())
        #expect(findings.contains { $0.contains("**rnn-clipping**, f32 · no loss scaling") && $0.contains("no clipping diverged at step 150") })
        #expect(findings.contains { $0.contains("global-norm(fp16-acc) was inf at step 100") })
        #expect(findings.contains { $0.contains("with no loss scaling") && $0.contains("flushed to zero (lost)") })
        // No finding is repeated, not even for another seed with other figures: each says something of its own.
        let skeletons = findings.map { $0.replacing(/seeds? [\d, ]+/, with: "").replacing(/\d+(?:\.\d+)?(?:e[-+]?\d+)?/, with: "#") }
        #expect(Set(skeletons).count == skeletons.count, "\(skeletons)")
        #expect(findings.count < 25, "\(findings.count) findings")
    }
}
