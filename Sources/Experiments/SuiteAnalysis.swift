import Base
import Results

/// The suite's analysis: findings, rankings, diagnoses and clip readings, computed from the results alone.
extension SuiteAnalysis {
    public init(_ results: [RunResult]) {
        let results = results.sorted { $0.index < $1.index }
        let blocks = results.firstSeen(\.block)
        var diagnoses = [Int: Diagnosis]()
        for r in results where !r.faultList.isEmpty || !r.lossSpikes.isEmpty || r.diverged || !r.normOverflowSteps.isEmpty {
            diagnoses[r.index] = Self.diagnose(r, peers: results)
        }
        var cells = [Confusion.Pair: Int]()
        for r in results {
            guard let injected = Self.injectedCause(r), let d = diagnoses[r.index] else { continue }
            cells[Confusion.Pair(injected, d.cause), default: 0] += 1
        }
        var readings = [Int: ClipReading]()
        for r in results where r.clipper != "none" { readings[r.index] = Self.clipReading(r.clipRate) }
        self.init(findings: Self.findings(results), rankings: blocks.map { b in (b, Self.ranking(results.filter { $0.block == b })) },
                  diagnoses: diagnoses, clipReadings: readings, verdicts: Self.verdicts(results), confusion: Confusion(cells: cells))
    }

    /// Strategies ranked within a block: fewest diverged runs first, then the smallest mean weight distance.
    public static func ranking(_ results: [RunResult]) -> [StrategyRank] {
        let strategies = results.firstSeen(\.strategy)
        var rows = strategies.map { s -> StrategyRank in
            let runs = results.filter { $0.strategy == s }
            let n = Double(runs.count)
            let distances = runs.map { $0.weightDistance.isFinite ? $0.weightDistance : .infinity }
            let ulps = runs.map(\.maxNormErrorUlps).filter { !$0.isNaN }
            return StrategyRank(strategy: s, runs: runs.count, diverged: runs.filter(\.diverged).count,
                                skippedSteps: runs.map(\.skippedSteps).reduce(0, +), meanClipRate: runs.map(\.clipRate).reduce(0, +) / n,
                                lossSpikes: runs.map(\.lossSpikes.count).reduce(0, +),
                                meanAbsoluteLossGap: runs.map { abs($0.lossGap) }.reduce(0, +) / n,
                                meanWeightDistance: distances.reduce(0, +) / Double(distances.count),
                                maxNormErrorUlps: ulps.max() ?? .nan,
                                meanUnderflowFraction: runs.map(\.meanUnderflowFraction).reduce(0, +) / n)
        }
        rows.sort { ($0.diverged, $0.meanWeightDistance) < ($1.diverged, $1.meanWeightDistance) }
        return rows
    }

    /// The clip-rate rule.
    public static func clipReading(_ rate: Double) -> ClipReading {
        if rate == 0 { return .never }
        if rate < 0.01 { return .insurance }
        if rate >= 0.5 { return .constant }
        return .particularBatches
    }

    // MARK: Spike diagnosis

    /// The cause an injected fault stands for (the truth the diagnosis is checked against); nil for a clean run.
    public static func injectedCause(_ r: RunResult) -> Diagnosis.Cause? {
        guard let f = r.faultList.first else { return nil }
        switch f.kind {
        case .spikeBatch, .corruptLabels: return .data
        case .learningRateSpike: return .learningRate
        case .gradientInf, .gradientNaN: return .nonFiniteGradient
        case .activationOverflow: return .numerics
        }
    }

    /// Policies by width: a run's spikes that a wider run of the same seed and faults does not have are the precision's.
    static func width(_ policy: String) -> Int {
        switch policy {
        case "f64": return 4
        case "f32": return 3
        case _ where policy.hasPrefix("mixed-"): return 2
        default: return 1
        }
    }

    /// The cause of a run's spikes, divergence or non-finite values, with the measurements that point to it, read
    /// from the run and its peers (the runs of the same block, seed and faults under other policies); first rule that
    /// applies:
    /// Long: one rule after the other, each with the evidence it prints.
    public static func diagnose(_ r: RunResult, peers: [RunResult] = []) -> Diagnosis {
        let dataFaults = r.faultList.filter { $0.kind == .spikeBatch || $0.kind == .corruptLabels }
        let dataSteps = Set(faultSteps(dataFaults).flatMap { [$0, $0 + 1] })
        let lrSteps = faultSteps(r.faultList.filter { $0.kind == .learningRateSpike })
        let firstEvent = [r.lossSpikes.first, r.divergedAt].compactMap { $0 }.min()
        let overflowNote = r.normOverflowSteps.isEmpty ? ""
            : "; the clipping norm was inf at \(Figures.steps(r.normOverflowSteps)) while every gradient was finite, which the precision of its sum made fatal"
        // No effect: a fault, and from its first step on no spike, divergence or skipped step.
        if let fault = r.faultSteps.first, !r.lossSpikes.contains(where: { $0 >= fault }), (r.divergedAt ?? -1) < fault,
           !r.series.skipped.contains(where: { $0 >= fault }), !r.normOverflowSteps.contains(where: { $0 >= fault }) {
            return Diagnosis(.noEffect, "no spike, divergence or skipped step from step \(fault) on")
        }
        if let first = firstEvent, dataSteps.contains(first) {
            let after = r.lossSpikes.filter { !dataSteps.contains($0) }.count
            return Diagnosis(.data, "the first spike is on a bad batch (\(Figures.steps(faultSteps(dataFaults))))"
                    + (after == 0 ? "" : "; \(after) more follow it: the batch knocked the run off course") + overflowNote)
        }
        let skippedOnData = r.series.skipped.filter(dataSteps.contains)
        if !skippedOnData.isEmpty, firstEvent.map({ $0 >= skippedOnData[0] }) ?? true {
            return Diagnosis(.data, "the bad batch's gradients overflowed and the step was skipped (\(Figures.steps(skippedOnData)))")
        }
        if !lrSteps.isEmpty, let first = firstEvent, lrSteps.contains(where: { first > $0 && first <= $0 + 5 }) {
            return Diagnosis(.learningRate, "spikes within 5 steps after the learning-rate spike at \(Figures.steps(lrSteps))")
        }
        // The first inf/NaN must come at most 5 steps before the trouble it explains (a scaler calibrating at step 0
        // does not explain a divergence at step 150).
        let firstBad = firstEvent ?? Int.max
        if let origin = r.firstNonFinite, let at = Self.step(of: origin), at <= firstBad, firstEvent.map({ $0 - at <= 5 }) ?? true,
           r.diverged || r.series.skipped.contains(at) {
            if origin.contains("in the gradient of parameter") {
                return Diagnosis(.nonFiniteGradient, "first inf/NaN at \(origin): in a parameter's gradient while every op's value and gradient "
                                 + "was finite, so not the model's arithmetic (a kernel, a collective or memory wrote it)")
            }
            if r.diverged || r.lossSpikes.contains(where: r.series.skipped.contains), r.referenceFinalLoss.isFinite,
               !r.referenceSpikes.contains(where: r.lossSpikes.contains) {
                return Diagnosis(.numerics, "first inf/NaN at \(origin); the Float64 reference stayed finite")
            }
        }
        if let overflow = r.normOverflowSteps.first, overflow <= firstBad {
            return Diagnosis(.numerics, "the clipping norm was inf at \(Figures.steps(r.normOverflowSteps)) while every gradient and the exact norm were finite")
        }
        let wider = peers.filter { $0.block == r.block && $0.seed == r.seed && $0.faults == r.faults && $0.scaler == r.scaler
            && $0.clipper == r.clipper && width($0.policy) > width(r.policy) }
        if !r.lossSpikes.isEmpty, let clean = wider.first(where: { w in !w.diverged && !r.lossSpikes.contains(where: w.lossSpikes.contains) }) {
            return Diagnosis(.numerics, "spikes at \(Figures.steps(r.lossSpikes)) that the \(clean.policy) run of the same seed and faults does not have: "
                             + "they depend on the precision")
        }
        let half = r.steps / 2
        let early = r.lossSpikes.filter { $0 < half }.count, late = r.lossSpikes.count - early
        if r.lossSpikes.count >= 3, late >= 2 * max(early, 1) {
            return Diagnosis(.learningRate, "spikes grow more frequent: \(early) in the first half, \(late) in the second")
        }
        let shared = r.lossSpikes.filter(r.referenceSpikes.contains)
        if !shared.isEmpty {
            return Diagnosis(.initialisation, "the fault-free Float64 run spikes too, at \(Figures.steps(shared))")
        }
        return Diagnosis(.unexplained, "spikes at \(Figures.steps(r.lossSpikes)), no fault or reference spike there")
    }

    /// N of "step N: ...".
    static func step(of origin: String) -> Int? {
        guard origin.hasPrefix("step "), let colon = origin.firstIndex(of: ":") else { return nil }
        return Int(origin[origin.index(origin.startIndex, offsetBy: 5)..<colon])
    }

    static func faultSteps(_ faults: [Fault]) -> [Int] { faults.flatMap(\.steps).sorted() }

    // MARK: Findings

    /// Plain-language findings, each read off the results by comparing runs that differ in one thing.
    public static func findings(_ results: [RunResult]) -> [String] {
        mergedAcrossSeeds(merged(divergenceFindings(results) + underflowFindings(results) + normOverflowFindings(results) + skipFindings(results)))
    }

    /// Findings that differ only in their seed and their figures become one line: "seeds 1, 2, 3", and each figure that
    /// differs shown as its range over the seeds ("weight distance 0.0132–0.0234"), in first-seen order.
    public static func mergedAcrossSeeds(_ findings: [String]) -> [String] {
        let seedPattern = /, seed (\d+)/
        let number = /\d+(?:\.\d+)?(?:e[-+]?\d+)?/
        var order = [String](), members = [String: [(seed: String, text: String)]]()
        for f in findings {
            guard let seed = f.firstMatch(of: seedPattern) else { order.append(f); members[f] = []; continue }
            let text = f.replacingCharacters(in: seed.range, with: ", seed #")
            let skeleton = text.replacing(number, with: "#")
            if members[skeleton] == nil { order.append(skeleton) }
            members[skeleton, default: []].append((String(seed.output.1), text))
        }
        return order.flatMap { skeleton -> [String] in
            guard let group = members[skeleton], !group.isEmpty else { return [skeleton] }
            // One line per seed or none: findings of one seed that differ in a figure differ in what they say.
            if group.count == 1 || Set(group.map(\.seed)).count < group.count {
                return group.map { $0.text.replacingOccurrences(of: ", seed #", with: ", seed \($0.seed)") }
            }
            // The figures of every member, position by position (the skeletons match, so the counts do), written into
            // the first member's text in place of its own.
            let text = group[0].text, places = text.matches(of: number).map(\.range)
            let figures = group.map { $0.text.matches(of: number).map { String($0.output) } }
            var merged = "", from = text.startIndex
            for (k, place) in places.enumerated() {
                let values = figures.map { $0[k] }
                let sorted = values.sorted { (Double($0) ?? 0) < (Double($1) ?? 0) }
                merged += text[from..<place.lowerBound] + (Double(sorted.first!) == Double(sorted.last!) ? values[0] : "\(sorted.first!)–\(sorted.last!)")
                from = place.upperBound
            }
            merged += text[from...]
            return [merged.replacingOccurrences(of: ", seed #", with: ", seeds " + group.map(\.seed).joined(separator: ", "))]
        }
    }

    /// Between a finding's where ("**block**, policy · scaler") and its what.
    static let split = "\u{1F}"

    /// Findings that say the same thing in several places become one line listing the places, in first-seen order:
    /// "**block**, place 1; place 2: what".
    static func merged(_ findings: [String]) -> [String] {
        var order = [String](), places = [String: [String]]()
        for f in findings {
            let parts = f.components(separatedBy: split)
            guard parts.count == 2, let comma = parts[0].range(of: "**, ") else { order.append(f); continue }
            let block = String(parts[0][..<comma.upperBound].dropLast(2)), place = String(parts[0][comma.upperBound...])
            let key = block + split + parts[1]
            if places[key] == nil { order.append(key) }
            places[key, default: []].append(place)
        }
        return order.map { key in
            guard let where_ = places[key] else { return key }
            let parts = key.components(separatedBy: split)
            return "\(parts[0]), \(where_.joined(separator: "; ")): \(parts[1])"
        }
    }

    /// Divergence: runs that differ in one thing only (clipper, scaler or policy), some diverged and some did not.
    static func divergenceFindings(_ results: [RunResult]) -> [String] {
        var out = [String]()
        let dimensions: [(name: String, value: (RunResult) -> String, rest: (RunResult) -> String)] = [
            ("clipper", { name($0.clipper) }, { "\($0.block)|\($0.policy)|\($0.scaler)|\($0.faults)|\($0.seed)" }),
            ("scaler", { scalerName($0.scaler) }, { "\($0.block)|\($0.policy)|\($0.clipper)|\($0.faults)|\($0.seed)" }),
            ("policy", { $0.policy }, { "\($0.block)|\($0.scaler)|\($0.clipper)|\($0.faults)|\($0.seed)" }),
        ]
        for dimension in dimensions {
            for group in groups(results, by: dimension.rest) where Set(group.map(dimension.value)).count == group.count {
                let diverged = group.filter(\.diverged), kept = group.filter { !$0.diverged }
                guard !diverged.isEmpty, !kept.isEmpty else { continue }
                let r = group[0]
                let fixed: String
                switch dimension.name {
                case "clipper": fixed = "\(r.policy) · \(scalerName(r.scaler))"
                case "scaler": fixed = "\(r.policy) · \(name(r.clipper))"
                default: fixed = "\(scalerName(r.scaler)) · \(name(r.clipper))"
                }
                let lost = diverged.map { d -> String in
                    var text = "\(dimension.value(d)) diverged at step \(d.divergedAt!)"
                    if d.firstNonFinite != nil || !d.normOverflowSteps.isEmpty {
                        text += d.firstNonFinite.map { " (first inf/NaN at \($0))" } ?? " (its gradient norm overflowed at \(Figures.steps(d.normOverflowSteps)))"
                    } else if d.maxGradNorm.isFinite {
                        text += " (‖g‖ up to \(Figures.figure(d.maxGradNorm)))"
                    }
                    return text
                }
                let survived = kept.map { "\(dimension.value($0)) (weight distance \(Figures.figure($0.weightDistance)))" }
                out.append("**\(r.block)**, \(fixed), faults \(describe(r))\(split)\(lost.joined(separator: "; ")). "
                           + "\(survived.joined(separator: ", ")) kept training.")
            }
        }
        return out
    }

    /// Underflow: runs that differ only in the scaler, told apart by the share of gradient elements flushed to zero
    /// (lost: zero beyond the Float64 run's structural zeros) and the share kept as subnormals.
    static func underflowFindings(_ results: [RunResult]) -> [String] {
        var out = [String]()
        for group in groups(results, by: { "\($0.block)|\($0.policy)|\($0.clipper)|\($0.faults)|\($0.seed)" }) where Set(group.map(\.scaler)).count > 1 {
            let sorted = group.filter { $0.lostFraction.isFinite }.sorted { $0.lostFraction > $1.lostFraction }
            guard let worst = sorted.first, let best = sorted.last, worst.lostFraction - best.lostFraction >= 0.1 else { continue }
            func shares(_ r: RunResult) -> String {
                var text = "\(Figures.percent(r.lostFraction)) flushed to zero (lost) and \(Figures.percent(r.meanSubnormalFraction)) subnormal"
                if r.meanSubnormalBitsLost.isFinite { text += " (kept, \(Figures.figure(r.meanSubnormalBitsLost)) bits of precision fewer on average)" }
                return text
            }
            out.append("**\(worst.block)**, \(worst.policy) · \(name(worst.clipper)), faults \(describe(worst))\(split)with \(scalerName(worst.scaler)) "
                       + "\(shares(worst)) of the gradient elements on average; with \(scalerName(best.scaler)) \(shares(best)). Lost counts the zeros beyond "
                       + "the \(Figures.percent(worst.referenceZeroFraction)) that are zero in the Float64 run too (inactive ReLUs). Loss scaling exists to lift "
                       + "gradients out of the underflow range.")
        }
        return out
    }

    /// Clipping norms that overflowed while the gradients were finite.
    static func normOverflowFindings(_ results: [RunResult]) -> [String] {
        var out = [String]()
        for r in results where !r.normOverflowSteps.isEmpty && r.clipper != "none" {
            let peers = results.filter { $0.block == r.block && $0.policy == r.policy && $0.scaler == r.scaler && $0.faults == r.faults
                && $0.seed == r.seed && $0.clipper != r.clipper && $0.clipper != "none" }
            let fine = peers.filter { $0.normOverflowSteps.isEmpty }.map { name($0.clipper) }
            out.append("**\(r.block)**, \(r.policy), faults \(describe(r))\(split)the clipping norm of \(name(r.clipper)) was inf at "
                       + "\(Figures.steps(r.normOverflowSteps)) while every gradient was finite (exact ‖g‖ up to \(Figures.figure(r.maxGradNorm))): the clip "
                       + "coefficient became 0 and zeroed the step's gradients."
                       + (fine.isEmpty ? "" : " \(fine.joined(separator: ", ")) computed it without overflow."))
        }
        return out
    }

    /// Skipped steps, per block, policy and scaler.
    static func skipFindings(_ results: [RunResult]) -> [String] {
        var out = [String]()
        for group in groups(results, by: { "\($0.block)|\($0.policy)|\($0.scaler)" }, keepSingles: true) {
            let skipping = group.filter { $0.skippedSteps > 0 }
            guard let r = skipping.first else { continue }
            let counts = skipping.map(\.skippedSteps)
            let range = counts.min() == counts.max() ? "\(counts[0])" : "\(counts.min()!)-\(counts.max()!)"
            var text = "**\(r.block)**, \(r.policy) · \(scalerName(r.scaler))\(split)\(range) step(s) skipped on inf/NaN gradients in \(skipping.count) of "
                + "\(group.count) runs"
            if let origin = r.firstNonFinite { text += "; the first inf/NaN: \(origin)" }
            // Calibration: the initial scale overflowed and skipping stopped within the first few steps. A scale that kept
            // falling (to a tiny value or 0) is a collapsed scaler.
            let smallest = group.compactMap { $0.series.scale.filter(\.isFinite).min() }.min() ?? 1
            if smallest < 1 {
                let worst = group.max { $0.skippedSteps < $1.skippedSteps }!
                text += "; the scale collapsed to \(Figures.figure(smallest)) (\(worst.id) skipped \(worst.skippedSteps) of \(worst.steps) steps): "
                    + "the gradients overflow at any scale, which is the run diverging, not the scaler calibrating"
            } else if r.series.skipped.first == 0 && r.series.scale.first.map({ $0 > 1 }) == true
                        && skipping.allSatisfy({ $0.series.skipped.allSatisfy { $0 < 20 } }) {
                text += " (the initial scale \(Figures.figure(r.series.scale[0])) overflowed and was lowered: the scaler calibrating, as designed)"
            }
            out.append(text + ".")
        }
        return out
    }

    static func groups(_ results: [RunResult], by key: (RunResult) -> String, keepSingles: Bool = false) -> [[RunResult]] {
        var order = [String](), members = [String: [RunResult]]()
        for r in results {
            let k = key(r)
            if members[k] == nil { order.append(k) }
            members[k, default: []].append(r)
        }
        return order.map { members[$0]! }.filter { keepSingles || $0.count > 1 }
    }

    static func describe(_ r: RunResult) -> String {
        (r.faultList.isEmpty ? "none" : "\(r.faults) (\(r.faultList.map(\.description).joined(separator: ", ")))") + ", seed \(r.seed)"
    }

    static func name(_ clipper: String) -> String { clipper == "none" ? "no clipping" : clipper }
    static func scalerName(_ scaler: String) -> String { scaler == "none" ? "no loss scaling" : "scaler \(scaler)" }
}
