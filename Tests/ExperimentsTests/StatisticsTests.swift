import Experiments
import Formats
import Results
import Testing

/// The statistics of seeds, against published values and known truths.
@Suite struct StatisticsTests {
    /// Newcombe (1998), "Two-sided confidence intervals for the single proportion", Statistics in Medicine 17,
    /// Table II, method 3 (the score interval without continuity correction), to four decimals.
    @Test(arguments: [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)])
    func wilsonMatchesNewcombesTable(k: Int, n: Int, low: Double, high: Double) {
        let w = Statistics.wilson(successes: k, trials: n)
        #expect(abs(w.low - low) < 5e-5 && abs(w.high - high) < 5e-5, "\(k)/\(n): \(w)")
        #expect(w.estimate == Double(k) / Double(n))
    }

    @Test func wilsonStaysInsideZeroAndOne() {
        let all = Statistics.wilson(successes: 5, trials: 5), none = Statistics.wilson(successes: 0, trials: 5)
        #expect(all.high == 1 && all.low > 0.5 && none.low == 0 && none.high < 0.5)
        #expect(abs(all.low - (1 - none.high)) < 1e-15)   // symmetric in k and n - k
    }

    @Test func quantilesInterpolateAsNumpy() {
        // numpy.quantile([1, 2, 4, 8], q) with the default linear method.
        let s: [Double] = [1, 2, 4, 8]
        #expect(Statistics.quantile(sorted: s, 0) == 1 && Statistics.quantile(sorted: s, 1) == 8)
        #expect(Statistics.quantile(sorted: s, 0.5) == 3 && Statistics.quantile(sorted: s, 0.25) == 1.75)
        #expect(Statistics.median([3, 1, 2]) == 2 && Statistics.median([4, 1, 3, 2]) == 2.5)
    }

    /// The bootstrap interval of a median covers the true median of its population about 95% of the time.
    @Test func bootstrapMedianCoversTheTrueMedian() {
        var rng = SeededGenerator(seed: 17)
        var covered = 0
        let trials = 200
        for t in 0..<trials {
            let sample = (0..<31).map { _ in rng.nextNormal() * 3 + 10 }   // population median 10
            if Statistics.bootstrapMedian(sample, resamples: 2000, seed: UInt64(t)).contains(10) { covered += 1 }
        }
        // Binomial(200, 0.95): 99.9% of coverage counts fall in [179, 198]; the percentile bootstrap of a median
        // runs a little conservative on small samples.
        #expect(covered >= 179 && covered <= 200, "\(covered) of \(trials)")
    }

    @Test func bootstrapIsDeterministicAndExactOnConstants() {
        let x: [Double] = [0.3, 0.1, 0.7, 0.2, 0.5]
        #expect(Statistics.bootstrapMedian(x) == Statistics.bootstrapMedian(x))
        #expect(Statistics.bootstrapMedian([2, 2, 2]) == Interval(estimate: 2, low: 2, high: 2))
        let i = Statistics.bootstrapMedian(x)
        #expect(i.estimate == 0.3 && i.low >= 0.1 && i.high <= 0.7 && i.low < 0.3 && i.high > 0.3)
    }

    @Test func identicalStrategiesShowNoMeasurableDifference() {
        let a: [Double] = [0.159, 0.161, 0.158, 0.162, 0.160]
        let p = Statistics.paired(a, a, higherIsBetter: false)
        #expect(p.verdict == .noMeasurableDifference && p.difference == Interval(estimate: 0, low: 0, high: 0) && p.pairs == 5)
        // Differences of both signs around zero cannot be told from none.
        let mixed = Statistics.paired([1, 3, 0, 4, 2], [2, 2, 2, 2, 2], higherIsBetter: true)
        #expect(mixed.verdict == .noMeasurableDifference)
    }

    @Test func aPlantedTwofoldEffectIsFound() {
        var rng = SeededGenerator(seed: 3)
        let base = (0..<5).map { _ in 0.1 + 0.1 * rng.nextUnit() }   // per-seed losses in [0.1, 0.2]
        let doubled = base.map { 2 * $0 }
        // Lower is better for a loss: doubling it is worse, halving it better, whichever side is A.
        #expect(Statistics.paired(doubled, base, higherIsBetter: false).verdict == .worse)
        #expect(Statistics.paired(base, doubled, higherIsBetter: false).verdict == .better)
        // For accuracy, higher is better.
        #expect(Statistics.paired(doubled, base, higherIsBetter: true).verdict == .better)
        let d = Statistics.paired(doubled, base, higherIsBetter: false).difference
        #expect(d.low > 0 && d.contains(Statistics.median(base)))
    }
}

/// The suite's verdicts from hand-made results whose truth is known.
@Suite struct VerdictTests {
    static func run(_ index: Int, clipper: String, seed: Int, metric: Double, diverged: Bool = false, faults: String = "bad") -> RunResult {
        let series = RunResult.Series(stride: 1, loss: [], referenceLoss: [], gradNorm: [], threshold: [], scale: [], underflow: [], clipped: [], skipped: [])
        return RunResult(index: index, suite: "s", id: "b/f32/none/\(clipper)/\(faults)/seed\(seed)", configuration: "0", block: "b", task: "adding",
                         model: "rnn", policy: "f32", scaler: "none", clipper: clipper, faults: faults, faultList: [], seed: seed, steps: 10,
                         finalLoss: 1, referenceFinalLoss: 1, weightDistance: 0, divergedAt: diverged ? 5 : nil, skippedSteps: 0,
                         clippedSteps: 0, lossSpikes: [], referenceSpikes: [], normOverflowSteps: [], maxGradNorm: 1, maxNormErrorUlps: 0,
                         meanUnderflowFraction: 0, maxUnderflowFraction: 0, firstNonFinite: nil, metricName: "held-out MSE", metric: metric,
                         series: series)
    }

    @Test func aStrategyThatDivergesOnMostSeedsSurvivesLess() throws {
        var results = [RunResult]()
        for seed in 1...8 {
            results.append(Self.run(results.count, clipper: "none", seed: seed, metric: 0.2, diverged: seed > 1))
            results.append(Self.run(results.count, clipper: "global-norm", seed: seed, metric: 0.16 + 0.001 * Double(seed)))
        }
        let v = try #require(SuiteAnalysis.verdicts(results).first)
        #expect(v.strategies.map(\.strategy) == ["f32 · none · global-norm", "f32 · none · none"])
        #expect(v.strategies[0].survived == 8 && v.strategies[1].survived == 1 && v.strategies[1].comparison == .survivesLess)
        #expect(v.strategies[0].metric?.estimate == 0.1645 && v.higherIsBetter == false)
    }

    @Test func identicalStrategiesTieAndAPlantedEffectIsWorse() throws {
        var results = [RunResult]()
        for seed in 1...5 {
            let base = 0.15 + 0.002 * Double(seed * seed % 7)
            results.append(Self.run(results.count, clipper: "a", seed: seed, metric: base))
            results.append(Self.run(results.count, clipper: "same-as-a", seed: seed, metric: base))
            results.append(Self.run(results.count, clipper: "twice", seed: seed, metric: 2 * base))
        }
        let v = try #require(SuiteAnalysis.verdicts(results).first)
        #expect(v.strategies[0].strategy == "f32 · none · a")
        #expect(v.strategies[1].comparison == .noMeasurableDifference(Interval(estimate: 0, low: 0, high: 0)))
        guard case .worse(let d) = v.strategies[2].comparison else { Issue.record("\(v.strategies[2].comparison)"); return }
        #expect(d.low > 0)
        // Two seeds only: the report cannot tell, and says so rather than ranking.
        let few = try #require(SuiteAnalysis.verdicts(results.filter { $0.seed <= 2 }).first)
        #expect(few.strategies[2].comparison == .tooFewSeeds(2) && few.strategies[2].tiedWithFirst)
    }
}
