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
    /// Injected cause × diagnosis over every run with a fault.
    public var confusion: Confusion

    public init(findings: [String], rankings: [(block: String, rows: [StrategyRank])], diagnoses: [Int: Diagnosis],
                clipReadings: [Int: ClipReading], verdicts: [FaultSetVerdict] = [], confusion: Confusion = Confusion(cells: [:])) {
        self.verdicts = verdicts
        self.confusion = confusion
        self.findings = findings
        self.rankings = rankings
        self.diagnoses = diagnoses
        self.clipReadings = clipReadings
    }

    public static func == (a: SuiteAnalysis, b: SuiteAnalysis) -> Bool {
        a.findings == b.findings && a.diagnoses == b.diagnoses && a.clipReadings == b.clipReadings && a.verdicts == b.verdicts && a.confusion == b.confusion
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
        /// An inf/NaN that appeared in a parameter's gradient with every op's value and gradient finite: not the
        /// model's arithmetic (a kernel, a collective or memory wrote it).
        case nonFiniteGradient = "inf/NaN gradient"
        /// A fault was injected and nothing happened from its step on: no spike, no divergence, no skipped step.
        case noEffect = "no effect"
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

/// The diagnosis checked against the truth: for every run with an injected fault, the cause the fault stands for
/// (a bad batch: data; a learning-rate spike: learning rate; an inf/NaN written into a gradient: inf/NaN gradient;
/// activations past Float16's range: numerics) against the cause the lab diagnosed from the measurements alone.
public struct Confusion: Sendable, Equatable {
    /// Runs per (injected cause, diagnosed cause).
    public var cells: [Pair: Int]

    public struct Pair: Hashable, Sendable {
        public var injected: Diagnosis.Cause
        public var diagnosed: Diagnosis.Cause
        public init(_ injected: Diagnosis.Cause, _ diagnosed: Diagnosis.Cause) {
            self.injected = injected
            self.diagnosed = diagnosed
        }
    }

    public init(cells: [Pair: Int]) { self.cells = cells }

    /// Runs whose fault had an effect (the diagnosis is not "no effect").
    public var judged: Int { cells.filter { $0.key.diagnosed != .noEffect }.values.reduce(0, +) }
    /// Of those, the runs whose diagnosis names the injected cause.
    public var agreeing: Int { cells.filter { $0.key.diagnosed == $0.key.injected }.values.reduce(0, +) }
    public var noEffect: Int { cells.filter { $0.key.diagnosed == .noEffect }.values.reduce(0, +) }
    /// agreeing / judged (1 when nothing was judged).
    public var agreement: Double { judged == 0 ? 1 : Double(agreeing) / Double(judged) }
}
