/// An interval estimate: a point value and a 95% interval around it.
public struct Interval: Sendable, Equatable, CustomStringConvertible {
    public var estimate: Double
    public var low: Double
    public var high: Double

    public init(estimate: Double, low: Double, high: Double) {
        self.estimate = estimate
        self.low = low
        self.high = high
    }

    public func contains(_ x: Double) -> Bool { low <= x && x <= high }

    public var description: String { "\(estimate) [\(low), \(high)]" }
}

/// What the seeds say about one strategy under one fault set of a block.
public struct StrategyVerdict: Sendable, Equatable {
    /// How the strategy compares with the block's first strategy under the same faults.
    public enum Comparison: Sendable, Equatable {
        /// This is the first strategy.
        case first
        /// Survived on fewer seeds, with the survival intervals apart.
        case survivesLess
        /// Survived on fewer seeds, but within what so few seeds can tell (the intervals overlap).
        case fewerSurvivedWithinNoise
        /// The paired metric (same seeds, both survived) is worse, its interval excluding zero.
        case worse(Interval)
        /// The paired metric is better though the medians over all survivors ranked it lower (other seeds survived).
        case better(Interval)
        /// Neither survival nor the paired metric tells them apart: a tie.
        case noMeasurableDifference(Interval?)
        /// Fewer than three seeds on which both survived: the data cannot tell.
        case tooFewSeeds(Int)
    }

    public var strategy: String
    public var runs: Int
    public var survived: Int
    /// Wilson's 95% interval of the survival rate.
    public var survival: Interval
    /// The held-out metric over the surviving runs (median, bootstrap 95%), nil when none survived.
    public var metric: Interval?
    public var comparison: Comparison
    /// What precision and faults cost the strategy: the metric minus that of the fault-free Float64 run of the same
    /// strategy, per surviving run (median, bootstrap 95%); nil when none survived.
    public var precisionCost: Interval?
    /// What the strategy itself costs: the fault-free Float64 run of the strategy against the one without clipping, per
    /// seed (median, bootstrap 95%); nil for the unclipped strategies (zero by definition) or where either diverged.
    public var strategyCost: Interval?
    /// Runs whose clipping norm was inf or NaN while the gradients were finite (the clipper zeroed those steps).
    public var normOverflowRuns = 0

    public init(strategy: String, runs: Int, survived: Int, survival: Interval, metric: Interval?, comparison: Comparison,
                precisionCost: Interval? = nil, strategyCost: Interval? = nil) {
        self.strategy = strategy
        self.runs = runs
        self.survived = survived
        self.survival = survival
        self.metric = metric
        self.comparison = comparison
        self.precisionCost = precisionCost
        self.strategyCost = strategyCost
    }

    /// Tied with the first strategy: the data cannot separate them.
    public var tiedWithFirst: Bool {
        switch comparison {
        case .first, .noMeasurableDifference, .tooFewSeeds, .better, .fewerSurvivedWithinNoise: return true
        case .survivesLess, .worse: return false
        }
    }
}

/// The strategies of one block under one fault set, best first, with the metric they are judged by.
public struct FaultSetVerdict: Sendable, Equatable {
    public var block: String
    public var faults: String
    public var metricName: String
    public var higherIsBetter: Bool
    public var strategies: [StrategyVerdict]
    /// The metric of the task's trivial predictor (chance accuracy, the adding problem's mean predictor, the unigram
    /// model's cross-entropy), when known: a model no better than it learned nothing.
    public var baseline: Double?

    public init(block: String, faults: String, metricName: String, higherIsBetter: Bool, strategies: [StrategyVerdict], baseline: Double? = nil) {
        self.block = block
        self.faults = faults
        self.metricName = metricName
        self.higherIsBetter = higherIsBetter
        self.strategies = strategies
        self.baseline = baseline
    }

    /// How far the best strategy got from the trivial baseline towards a perfect score (1 for accuracy, 0 for a loss
    /// or an error): 0 is nothing learned. Nil without a baseline or a survivor.
    public var learnedShare: Double? {
        guard let b = baseline, let m = strategies.first?.metric?.estimate else { return nil }
        return higherIsBetter ? (m - b) / (1 - b) : (b - m) / b
    }
}
