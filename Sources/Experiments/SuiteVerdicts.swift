import Results

extension SuiteAnalysis {
    /// Per block and fault set (in the results' order), the strategies judged across their seeds: most seeds
    /// survived first, then the best median of the held-out metric over the surviving runs. Each strategy is
    /// compared with the first: it survives less when the Wilson intervals are apart; it is worse when the paired
    /// differences of the metric (seeds on which both survived, at least three) have an interval above zero;
    /// otherwise the data cannot separate them and they are tied. Divergence is a state: a diverged run counts
    /// against survival and is left out of the metric.
    public static func verdicts(_ results: [RunResult]) -> [FaultSetVerdict] {
        var keys = [String]()
        var groups = [String: [RunResult]]()
        for r in results.sorted(by: { $0.index < $1.index }) {
            let key = "\(r.block)\u{0}\(r.faults)"
            if groups[key] == nil { keys.append(key) }
            groups[key, default: []].append(r)
        }
        return keys.map { verdict(groups[$0]!) }
    }

    static func higherIsBetter(_ metricName: String) -> Bool { metricName.contains("accuracy") }

    /// The trivial predictor's metric: chance on the two balanced spirals (0.5), predicting the adding problem's mean
    /// target 1 (MSE 1/6), the unigram model's cross-entropy (written in the token task's metric name).
    static func baseline(_ metricName: String) -> Double? {
        if metricName.contains("accuracy") { return 0.5 }
        if metricName == "held-out MSE" { return 1.0 / 6 }
        if let open = metricName.range(of: "(unigram "), let close = metricName.range(of: ")", range: open.upperBound..<metricName.endIndex) {
            return Double(metricName[open.upperBound..<close.lowerBound])
        }
        return nil
    }

    /// The verdict of one block under one fault set.
    static func verdict(_ runs: [RunResult]) -> FaultSetVerdict {
        let higher = higherIsBetter(runs[0].metricName)
        let strategies = runs.firstSeen(\.strategy)
        func alive(_ r: RunResult) -> Bool { !r.diverged && r.metric.isFinite }
        let byStrategy = strategies.map { s in runs.filter { $0.strategy == s } }
        var rows: [(runs: [RunResult], verdict: StrategyVerdict)] = byStrategy.map { mine in
            let survivors = mine.filter(alive)
            let metric = survivors.isEmpty ? nil : Statistics.bootstrapMedian(survivors.map(\.metric))
            let precision = survivors.map { $0.metric - $0.referenceMetric }.filter(\.isFinite)
            var perSeed = [Int: Double]()
            for r in mine where r.clipper != "none" { perSeed[r.seed] = r.referenceMetric - r.unclippedReferenceMetric }
            let strategy = perSeed.keys.sorted().map { perSeed[$0]! }.filter(\.isFinite)
            return (mine, StrategyVerdict(strategy: mine[0].strategy, runs: mine.count, survived: survivors.count,
                                          survival: Statistics.wilson(successes: survivors.count, trials: mine.count), metric: metric, comparison: .first,
                                          precisionCost: precision.isEmpty ? nil : Statistics.bootstrapMedian(precision),
                                          strategyCost: strategy.isEmpty ? nil : Statistics.bootstrapMedian(strategy)))
        }
        // Stable: equal survival and metric keep the suite's order.
        rows = rows.enumerated().sorted { a, b in
            let x = a.element.verdict, y = b.element.verdict
            if Double(x.survived) / Double(x.runs) != Double(y.survived) / Double(y.runs) {
                return Double(x.survived) / Double(x.runs) > Double(y.survived) / Double(y.runs)
            }
            let mx = x.metric?.estimate, my = y.metric?.estimate
            if let mx, let my, mx != my { return higher ? mx > my : mx < my }
            if (mx == nil) != (my == nil) { return mx != nil }
            return a.offset < b.offset
        }.map(\.element)
        for k in rows.indices { rows[k].verdict.normOverflowRuns = rows[k].runs.filter { !$0.normOverflowSteps.isEmpty }.count }
        let first = rows[0]
        for k in rows.indices.dropFirst() {
            rows[k].verdict.comparison = compare(rows[k].runs, rows[k].verdict, with: first.runs, first.verdict, higherIsBetter: higher, alive: alive)
        }
        return FaultSetVerdict(block: runs[0].block, faults: runs[0].faults, metricName: runs[0].metricName, higherIsBetter: higher,
                               strategies: rows.map(\.verdict), baseline: baseline(runs[0].metricName))
    }

    static func compare(_ mine: [RunResult], _ v: StrategyVerdict, with best: [RunResult], _ b: StrategyVerdict, higherIsBetter: Bool,
                        alive: (RunResult) -> Bool) -> StrategyVerdict.Comparison {
        if v.survival.high < b.survival.low { return .survivesLess }
        if v.survived * b.runs < b.survived * v.runs { return .fewerSurvivedWithinNoise }
        var pairs = [(Double, Double)]()
        for r in mine where alive(r) {
            if let other = best.first(where: { $0.seed == r.seed }), alive(other) { pairs.append((r.metric, other.metric)) }
        }
        guard pairs.count >= 3 else { return .tooFewSeeds(pairs.count) }
        let p = Statistics.paired(pairs.map(\.0), pairs.map(\.1), higherIsBetter: higherIsBetter)
        switch p.verdict {
        case .worse: return .worse(p.difference)
        case .better: return .better(p.difference)
        case .noMeasurableDifference: return .noMeasurableDifference(p.difference)
        }
    }
}
