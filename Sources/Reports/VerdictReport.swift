import Base
import Results

/// The verdicts of a suite: per block and fault set, a sentence that leads with the answer, and the table behind it.
public enum VerdictReport {
    /// The section: how to read it, then per block its grid and per fault set the sentence, its table and the overlay
    /// chart (`grid` and `overlay` give the charts' paths).
    public static func section(_ verdicts: [FaultSetVerdict], grid: (String) -> String? = { _ in nil },
                               overlay: (FaultSetVerdict) -> String? = { _ in nil }) -> String {
        var md = "## Verdicts\n\n" + rules + "\n"
        var block = ""
        for v in verdicts {
            if v.block != block {
                block = v.block
                if let path = grid(block) { md += "\n![\(block): strategy × fault grid](\(path))\n" }
            }
            md += "\n### \(v.block) · faults `\(v.faults)`\n\n" + sentence(v) + "\n\n" + table(v).markdown
            if let path = overlay(v) { md += "\n![\(v.block) · \(v.faults): every strategy's loss and gradient norm](\(path))\n" }
        }
        return md
    }

    /// The strategies of one block's verdicts that survived and are first or tied with the first under every fault set.
    static func recommended(_ vs: [FaultSetVerdict]) -> [String] {
        vs.first.map { $0.strategies.map(\.strategy) }?.filter { name in
            vs.allSatisfy { v in v.strategies.first { $0.strategy == name }.map { $0.tiedWithFirst && $0.survived > 0 } ?? false }
        } ?? []
    }

    /// The first screen: per block, one recommendation and its evidence.
    public static func recommendations(_ verdicts: [FaultSetVerdict]) -> String {
        verdicts.firstSeen(\.block).map { b in "- " + recommendation(verdicts.filter { $0.block == b }) + "\n" }.joined()
    }

    /// The strategies that are first or tied with the first under every fault set of the block (having survived), the
    /// evidence per fault set, and what the data cannot say.
    static func recommendation(_ vs: [FaultSetVerdict]) -> String {
        let names = vs[0].strategies.map(\.strategy)
        let best = recommended(vs)
        var text = "**\(vs[0].block)**: "
        if best.isEmpty {
            text += "no strategy is among the best under every fault set"
        } else if best.count == names.count {
            text += "the data cannot separate the \(names.count) strategies" + (vs.count > 1 ? " under any fault set" : "")
        } else {
            text += best.prefix(3).joined(separator: ", ") + (best.count > 3 ? " and \(best.count - 3) more" : "")
                + " (first or tied with the first under every fault set)"
        }
        // The evidence of the first recommended strategy under each fault set (of each fault set's leader when none is).
        let evidence = vs.map { v -> String in
            let shown = best.first.flatMap { name in v.strategies.first { $0.strategy == name } } ?? v.strategies.first
            guard let first = shown, first.survived > 0 else {
                return "under `\(v.faults)` every strategy diverged (this fault set tells them nothing apart)"
            }
            var e = "under `\(v.faults)` \(first.strategy) survived \(first.survived)/\(first.runs)"
            if let m = first.metric { e += ", \(v.metricName) \(interval(m))" }
            if first.normOverflowRuns > 0 {
                e += " — but its clipping norm overflowed in \(first.normOverflowRuns) of \(first.runs) runs while the gradients were finite, "
                    + "zeroing those steps: it got through by discarding the bad step, not by computing the norm; do not read this as a "
                    + "recommendation of that norm"
            }
            let behind = v.strategies.filter { $0.comparison == .survivesLess }
            if !behind.isEmpty { e += "; survived less: " + behind.map { "\($0.strategy) \($0.survived)/\($0.runs)" }.joined(separator: ", ") }
            let fewer = v.strategies.filter { $0.comparison == .fewerSurvivedWithinNoise }
            if !fewer.isEmpty {
                e += "; fewer survived, within the noise of \(first.runs) seeds: " + fewer.map { "\($0.strategy) \($0.survived)/\($0.runs)" }.joined(separator: ", ")
            }
            return e
        }
        text += ": " + evidence.joined(separator: "; ") + "."
        if let learned = vs.compactMap(\.learnedShare).max(), let b = vs[0].baseline {
            if learned < 0.1 {
                let how = learned < 0.005 ? "is no better than the trivial predictor's \(Figures.figure(b))"
                    : "gets only \(Figures.percent(learned)) of the way from the trivial predictor's \(Figures.figure(b)) to a perfect score"
                text += " **Nothing learned**: the best \(vs[0].metricName) \(how), so the ranking rests on survival alone (train longer, or "
                    + "change the learning rate, to compare the metric)."
            } else if learned < 0.5 {
                text += " **Little learned**: the best \(vs[0].metricName) gets only \(Figures.percent(learned)) of the way from the trivial "
                    + "predictor's \(Figures.figure(b)) to a perfect score, too little for the metric to tell strategies apart."
            }
        }
        // Too few seeds where both strategies had survivors to compare (not where everything diverged).
        if vs.contains(where: { v in v.strategies.contains { if case .tooFewSeeds = $0.comparison { return $0.survived > 0 } else { return false } } }) {
            text += " Some comparisons have too few seeds to tell."
        }
        return text
    }

    static let rules = """
        Per block and fault set, the strategies are judged across their seeds: first by survival (runs that did not \
        diverge, k of n, with Wilson's 95% interval), then by the held-out metric over the surviving runs (median, \
        seeded bootstrap 95% interval). Each strategy is compared with the first one: it survives less only when the \
        survival intervals are apart; it is worse only when the interval of the paired differences of the metric \
        (the same seeds, both survived, at least three) lies on the worse side of zero. Otherwise the data cannot \
        tell them apart, and they are tied; with fewer than three such seeds the report says that it cannot tell. \
        Two references: "Δ vs Float64 of this strategy" is the run's metric minus that of the fault-free Float64 run \
        with the same clipper and optimizer (what precision and faults cost the strategy); "Float64: strategy − no \
        clipping" compares that Float64 run with the fault-free Float64 run without clipping (what the strategy \
        itself costs, with exact-enough arithmetic and clean data).

        """

    /// "global-norm survived 5/5 seeds ...": the first strategy, what ties with it, and what is measurably worse.
    static func sentence(_ v: FaultSetVerdict) -> String {
        let first = v.strategies[0]
        guard first.survived > 0 else { return "Every strategy diverged on every seed (\(first.runs) per strategy)." }
        var text = "**\(first.strategy)** survived \(first.survived)/\(first.runs) seed(s)"
        if let m = first.metric { text += ", \(v.metricName) \(interval(m))" }
        text += "."
        let rest = v.strategies.dropFirst()
        let tied = rest.filter(\.tiedWithFirst), apart = rest.filter { !$0.tiedWithFirst }
        if !tied.isEmpty {
            let measured = tied.allSatisfy { if case .noMeasurableDifference = $0.comparison { return true } else { return false } }
            text += " The data cannot separate it from \(tied.map { "\($0.strategy) (\($0.survived)/\($0.runs))" }.joined(separator: ", "))"
            text += measured ? ": no measurable difference." : ": too few seeds to tell (add seeds to the block)."
        }
        if !apart.isEmpty { text += " Measurably behind: \(apart.map { "\($0.strategy) (\(comparison($0.comparison)))" }.joined(separator: "; "))." }
        return text
    }

    static func table(_ v: FaultSetVerdict) -> TextTable {
        TextTable(header: ["strategy", "survived", "survival 95%", "\(v.metricName) (median, 95%)", "over", "against the first",
                           "Δ vs Float64 of this strategy", "Float64: strategy − no clipping"],
                  rows: v.strategies.map { s in
                      [s.strategy, "\(s.survived)/\(s.runs)", "[\(Figures.figure(s.survival.low)), \(Figures.figure(s.survival.high))]",
                       s.metric.map(interval) ?? "— (none survived)", "\(s.survived) run(s)", comparison(s.comparison),
                       s.precisionCost.map(interval) ?? "—", s.strategyCost.map(interval) ?? "—"]
                  },
                  numericColumns: [1, 4])
    }

    static func interval(_ i: Interval) -> String {
        "\(Figures.figure(i.estimate)) [\(Figures.figure(i.low)), \(Figures.figure(i.high))]"
    }

    static func comparison(_ c: StrategyVerdict.Comparison) -> String {
        switch c {
        case .first: return "—"
        case .survivesLess: return "survives less"
        case .fewerSurvivedWithinNoise: return "fewer survived, within the noise of so few seeds"
        case .worse(let d): return "worse: paired Δ \(interval(d))"
        case .better(let d): return "better on the paired seeds: Δ \(interval(d))"
        case .noMeasurableDifference(let d): return "no measurable difference" + (d.map { ": paired Δ \(interval($0))" } ?? "")
        case .tooFewSeeds(let k): return "cannot tell: \(k) seed(s) survived in both"
        }
    }
}
