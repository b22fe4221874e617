/// What the lab concluded from a suite's results: computed by `Experiments`, rendered by `Reports`.
public struct SuiteAnalysis: Sendable, Equatable {
    /// Plain-language findings, each read off the results by comparing runs that differ in one thing.
    public var findings: [String]
    /// Per block, in the results' order: its strategies, best first.
    public var rankings: [(block: String, rows: [StrategyRank])]
    /// The diagnosis of every run with loss spikes, a divergence or an overflowed clipping norm, by run index.
    public var diagnoses: [Int: Diagnosis]
    /// How often each clipping run's clipper fired, by run index.
    public var clipReadings: [Int: ClipReading]
    /// Per block and fault set, the strategies judged across seeds: survival, then the held-out metric.
    public var verdicts: [FaultSetVerdict]

    public init(findings: [String], rankings: [(block: String, rows: [StrategyRank])], diagnoses: [Int: Diagnosis],
                clipReadings: [Int: ClipReading], verdicts: [FaultSetVerdict] = []) {
        self.verdicts = verdicts
        self.findings = findings
        self.rankings = rankings
        self.diagnoses = diagnoses
        self.clipReadings = clipReadings
    }

    public static func == (a: SuiteAnalysis, b: SuiteAnalysis) -> Bool {
        a.findings == b.findings && a.diagnoses == b.diagnoses && a.clipReadings == b.clipReadings && a.verdicts == b.verdicts
            && a.rankings.elementsEqual(b.rankings) { $0.block == $1.block && $0.rows == $1.rows }
    }
}

/// The cause of a run's spikes or non-finite values, with the measurements that point to it.
public struct Diagnosis: Sendable, Equatable {
    public enum Cause: String, Sendable, CaseIterable {
        case numerics
        case data
        case learningRate = "learning rate"
        case initialisation = "init/normalisation"
        case unexplained
    }

    public var cause: Cause
    public var evidence: String

    public init(_ cause: Cause, _ evidence: String) {
        self.cause = cause
        self.evidence = evidence
    }
}

/// One strategy's standing within a block, over all its fault sets and seeds.
public struct StrategyRank: Sendable, Equatable {
    public var strategy: String
    public var runs: Int
    public var diverged: Int
    public var skippedSteps: Int
    public var meanClipRate: Double
    public var lossSpikes: Int
    public var meanAbsoluteLossGap: Double
    /// Infinite when a run's distance is not finite.
    public var meanWeightDistance: Double
    /// NaN where the clipper has no global norm.
    public var maxNormErrorUlps: Double
    public var meanUnderflowFraction: Double

    public init(strategy: String, runs: Int, diverged: Int, skippedSteps: Int, meanClipRate: Double, lossSpikes: Int,
                meanAbsoluteLossGap: Double, meanWeightDistance: Double, maxNormErrorUlps: Double, meanUnderflowFraction: Double) {
        self.strategy = strategy
        self.runs = runs
        self.diverged = diverged
        self.skippedSteps = skippedSteps
        self.meanClipRate = meanClipRate
        self.lossSpikes = lossSpikes
        self.meanAbsoluteLossGap = meanAbsoluteLossGap
        self.meanWeightDistance = meanWeightDistance
        self.maxNormErrorUlps = maxNormErrorUlps
        self.meanUnderflowFraction = meanUnderflowFraction
    }

    /// NaN-safe equality: the same bits in every figure.
    public static func == (a: StrategyRank, b: StrategyRank) -> Bool {
        let x = [a.meanClipRate, a.meanAbsoluteLossGap, a.meanWeightDistance, a.maxNormErrorUlps, a.meanUnderflowFraction]
        let y = [b.meanClipRate, b.meanAbsoluteLossGap, b.meanWeightDistance, b.maxNormErrorUlps, b.meanUnderflowFraction]
        return (a.strategy, a.runs, a.diverged, a.skippedSteps, a.lossSpikes) == (b.strategy, b.runs, b.diverged, b.skippedSteps, b.lossSpikes)
            && x.map(\.bitPattern) == y.map(\.bitPattern)
    }
}

/// How often a clipper fired, read as a rule of thumb.
public enum ClipReading: String, Sendable, CaseIterable {
    case never = "never fired"
    case insurance
    case particularBatches = "fires on particular batches"
    case constant = "constant: a diagnosis (threshold below the typical norm, or learning rate too high)"
}
