import Foundation
import PrecisionLab
import Testing

/// The training loop with policies, scalers, clippers, the guard and telemetry.
@Suite struct TrainingRunTests {
    static func configuration(policy: String = "mixed-f16", scaler: LossScalerKind? = nil, steps: Int = 120) -> TrainingConfiguration {
        var c = TrainingConfiguration()
        c.policy = PrecisionPolicy(policy)!
        c.scaler = scaler.map(LossScalerChoice.dynamic) ?? .none
        c.steps = steps
        // Gradients ~2000x smaller than the plain task's: below Float16's normal range, as loss scaling exists for.
        c.lossMultiplier = 0.0005
        return c
    }

    @Test func dynamicScalingLiftsGradientsOutOfTheUnderflowRange() throws {
        let plain = try TrainingRun.run(Self.configuration())
        let scaled = try TrainingRun.run(Self.configuration(scaler: .torch))
        func mean(_ r: TrainingSummary) -> Double { r.records.map(\.underflowFraction).reduce(0, +) / Double(r.records.count) }
        // Without scaling nearly every Float16 gradient element is zero or subnormal; with GradScaler's 2^16 only
        // the structural zeros (dead ReLUs, about 40% here, as in Float32) remain.
        #expect(mean(plain) > 0.95)
        #expect(mean(scaled) < 0.6)
        #expect(plain.records.allSatisfy { $0.scale == 1 } && scaled.records.first?.scale == 65536)
        // The telemetry's exact norm is of the unscaled gradients: the two runs see gradients of the same size.
        let ratio = scaled.records[0].exactNorm / plain.records[0].exactNorm
        #expect(ratio > 0.5 && ratio < 2, "\(ratio)")
    }

    @Test func theGuardSkipsAndNamesTheOrigin() throws {
        var c = TrainingConfiguration()
        c.policy = PrecisionPolicy("f16")!
        c.scaler = .fixed(1e5)  // above Float16's largest finite: the seed of backward is inf
        c.steps = 3
        let run = try TrainingRun.run(c)
        #expect(run.skippedSteps == 3)
        let first = try #require(run.firstNonFinite)
        #expect(first.step == 0)
        #expect(first.origin.hasPrefix("backward:") && first.origin.contains("crossEntropy") && first.origin.contains("layer mlp.2"), "\(first.origin)")
        #expect(run.records[0].overflowByLayer.contains { $0.layer == "mlp.2" })
        // Skipped steps leave the weights alone: the loss does not move.
        #expect(run.records.map(\.loss) == [run.records[0].loss, run.records[0].loss, run.records[0].loss])
    }

    @Test func runsAreReproducibleBitForBit() throws {
        var c = Self.configuration(scaler: .deepspeed, steps: 40)
        c.clip = ClipperConfiguration(method: .globalNorm)
        c.clip.maxNorm = 0.1
        let a = try TrainingRun.run(c), b = try TrainingRun.run(c)
        #expect(a.records == b.records)
        #expect(a.records.contains { ($0.clipCoefficient ?? 1) < 1 })
        c.threads = 2
        #expect(try TrainingRun.run(c).records == a.records)
    }

    /// The reproducibility test above compares whole records: each field must count (a new field is caught by the
    /// count of stored properties).
    @Test func stepRecordsAreEqualOnlyWhenEveryFieldIs() throws {
        var c = Self.configuration(steps: 2)
        c.clip = ClipperConfiguration(method: .globalNorm)
        var base = try TrainingRun.run(c).records[1]
        base.overflowByLayer = [("mlp.0", 1)]
        let changes: [(String, (inout StepRecord) -> Void)] = [
            ("step", { $0.step += 1 }), ("loss", { $0.loss = $0.loss.nextUp }), ("scale", { $0.scale *= 2 }), ("skipped", { $0.skipped.toggle() }),
            ("clipCoefficient", { $0.clipCoefficient = $0.clipCoefficient == nil ? 1 : nil }), ("clipped", { $0.clipped.toggle() }),
            ("threshold", { $0.threshold = ($0.threshold ?? 1).nextUp }), ("gradientNorm", { $0.gradientNorm = $0.gradientNorm.nextUp }),
            ("gradientNormFormat", { $0.gradientNormFormat = $0.gradientNormFormat == .float64 ? .float32 : .float64 }),
            ("exactNorm", { $0.exactNorm = $0.exactNorm.nextUp }), ("normErrorUlps", { $0.normErrorUlps += 1 }),
            ("zeroFraction", { $0.zeroFraction = $0.zeroFraction.nextUp }), ("subnormalFraction", { $0.subnormalFraction = $0.subnormalFraction.nextUp }),
            ("subnormalBitsLost", { $0.subnormalBitsLost = $0.subnormalBitsLost.isNaN ? 1 : $0.subnormalBitsLost + 1 }),
            ("headroom", { $0.headroom = $0.headroom.nextUp }), ("overflowByLayer", { $0.overflowByLayer[0].count = 2 }),
            ("nonFiniteOrigin", { $0.nonFiniteOrigin = "x" }),
        ]
        #expect(Mirror(reflecting: base).children.count == changes.count)
        for (field, change) in changes {
            var other = base
            change(&other)
            #expect(other != base, "a change of \(field) went unnoticed")
        }
        var renamed = base
        renamed.overflowByLayer[0].layer = "mlp.1"
        #expect(renamed != base)
        // Numbers compare by their bits: the same NaN is equal, 0 and -0 are not.
        var a = base, b = base
        a.loss = .nan
        b.loss = .nan
        #expect(a == b)
        a.zeroFraction = 0
        b.zeroFraction = -0.0
        #expect(a != b)
    }

    @Test func telemetryMeasuresTheClipNormAgainstTheExactNorm() throws {
        var c = TrainingConfiguration()
        c.policy = PrecisionPolicy("f16")!
        c.steps = 30
        c.clip = ClipperConfiguration(method: .globalNorm)
        c.clip.norm = .external(AlgorithmGradientNorm(.naive))  // a Float16 sum of squares
        let run = try TrainingRun.run(c)
        for r in run.records where r.exactNorm.isFinite && r.exactNorm > 0 {
            #expect(r.gradientNormFormat == .float16)
            // Recursive Float16 summation of ~4600 squares: far from exact, and the telemetry says by how much.
            #expect(abs(r.gradientNorm - r.exactNorm) / FloatFormat.float16.ulp(of: r.exactNorm) == abs(r.normErrorUlps))
        }
        #expect(run.records.contains { abs($0.normErrorUlps) > 2 })
    }
}

/// Faults injected at chosen steps.
@Suite struct FaultTests {
    static func run(_ faults: [String], policy: String = "f32", steps: Int = 12) throws -> TrainingSummary {
        var c = TrainingConfiguration()
        c.policy = PrecisionPolicy(policy)!
        c.steps = steps
        c.faults = faults.map { Fault($0)! }
        return try TrainingRun.run(c)
    }

    @Test func parsing() {
        #expect(Fault("spike-batch@150,400x50") == Fault(.spikeBatch, steps: [150, 400], magnitude: 50))
        #expect(Fault("gradient-nan@3")?.magnitude == 1)
        for bad in ["spike@3", "spike-batch", "spike-batch@", "spike-batch@x2", "lr-spike@3x0", "lr-spike@3xnan", "lr-spike@-1"] {
            #expect(Fault(bad) == nil, "\(bad)")
        }
    }

    @Test func gradientNaNIsSkippedAndTraced() throws {
        let clean = try Self.run([])
        let faulty = try Self.run(["gradient-nan@5"])
        #expect(faulty.records.map(\.skipped) == (0..<12).map { $0 == 5 })
        let origin = try #require(faulty.records[5].nonFiniteOrigin)
        #expect(origin.hasPrefix("backward: 1 NaN") && origin.contains("mlp.0"), "\(origin)")
        // Up to the fault the runs are identical; the skipped step makes them part.
        #expect(Array(faulty.records.prefix(6).map(\.loss)) == Array(clean.records.prefix(6).map(\.loss)))
        #expect(faulty.records[7].loss != clean.records[7].loss)
    }

    /// The transformer's causal mask holds -inf on purpose (softmax makes it an exact 0): the first inf of a pure
    /// Float16 step whose scaled loss overflows is in backward, not in the mask or the masked scores.
    @Test func attentionMaskIsNotWhereTheInfCameFrom() throws {
        var c = TrainingConfiguration()
        c.task = .zipf
        c.model = .transformer
        c.policy = PrecisionPolicy("f16")!
        c.scaler = .dynamic(.deepspeed)
        c.optimizer = .adam
        c.learningRate = 0.003
        c.steps = 1
        let origin = try #require(try TrainingRun.run(c).records[0].nonFiniteOrigin)
        #expect(origin.hasPrefix("backward: 1 inf first in the gradient of crossEntropy"), "\(origin)")
    }

    @Test func activationOverflowIsForwardInFloat16Only() throws {
        let f16 = try Self.run(["activation-overflow@2"], policy: "f16")
        #expect(f16.records[2].skipped && f16.records[2].nonFiniteOrigin?.hasPrefix("forward:") == true, "\(String(describing: f16.records[2].nonFiniteOrigin))")
        let f32 = try Self.run(["activation-overflow@2"], policy: "f32")
        #expect(!f32.records[2].skipped && f32.records[2].nonFiniteOrigin == nil)
    }

    @Test func batchAndLearningRateFaultsChangeTheStep() throws {
        let clean = try Self.run([])
        for fault in ["spike-batch@4", "corrupt-labels@4", "lr-spike@4"] {
            let r = try Self.run([fault])
            #expect(Array(r.records.prefix(4).map(\.loss)) == Array(clean.records.prefix(4).map(\.loss)), "\(fault)")
            let changedAt = fault.hasPrefix("lr") ? 5 : 4  // the learning rate shows in the next step's loss
            #expect(r.records[changedAt].loss != clean.records[changedAt].loss, "\(fault)")
        }
        var c = TrainingConfiguration()
        c.task = .zipf
        c.model = .transformer
        c.faults = [Fault(.activationOverflow, steps: [1])]
        #expect(c.problem != nil)
    }
}
