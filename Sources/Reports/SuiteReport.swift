/// The Markdown report of a suite and its charts: a pure function of the results and of the header's context.
public enum SuiteReport {
    /// What the header states besides the results.
    public struct Context: Sendable {
        public var suite: String
        public var description: String
        /// Where the suite was read from.
        public var source: String
        /// One line per block: its task, model, hyperparameters and matrix.
        public var blocks: [(name: String, summary: String)]
        public var version: String
        public var date: String
        public var machine: String
        /// A report of the formats and reductions sections (relative link), if there is one.
        public var labReport: String?

        public init(suite: String, description: String, source: String, blocks: [(name: String, summary: String)], version: String,
                    date: String, machine: String, labReport: String? = nil) {
            self.suite = suite
            self.description = description
            self.source = source
            self.blocks = blocks
            self.version = version
            self.date = date
            self.machine = machine
            self.labReport = labReport
        }
    }

    /// A chart file: its name (relative to the report's directory) and its SVG text.
    public struct Chart: Sendable, Equatable {
        public var path: String
        public var svg: String
    }

    /// The report's Markdown and its charts, which go to `<chartDirectory>/` next to it.
    public static func render(_ results: [RunResult], context: Context, chartDirectory: String) -> (markdown: String, charts: [Chart]) {
        let results = results.sorted { $0.index < $1.index }
        let blocks = blockNames(results)
        var charts = [Chart]()
        var chartPath = [Int: String]()
        for r in results {
            let path = "\(chartDirectory)/\(chartName(r))"
            chartPath[r.index] = path
            charts.append(Chart(path: path, svg: chart(r)))
        }
        var md = "# Suite `\(context.suite)`\n\n"
        if !context.description.isEmpty { md += context.description + "\n\n" }
        let seeds = Array(Set(results.map(\.seed))).sorted().map(String.init).joined(separator: ", ")
        md += TextTable(header: ["", ""], rows: [
            ["suite", "`\(context.source)`"],
            ["runs", "\(results.count) in \(blocks.count) blocks, each measured against a fault-free Float64 run with the same seed"],
            ["seeds", seeds],
            ["version", "precision-lab \(context.version)"],
            ["date", context.date],
            ["machine", context.machine],
        ]).markdown
        if let lab = context.labReport {
            md += "\nThe formats, reduction-fixture and benchmark sections are in [\(lab)](\(lab)).\n"
        }
        md += "\n## Configuration\n\n"
        for b in context.blocks { md += "- **\(b.name)**: \(b.summary)\n" }
        md += "\n" + howToRead
        md += "\n## Findings\n\n"
        let found = findings(results)
        md += found.isEmpty ? "Nothing stood out: no run diverged, skipped a step or lost its clipping norm.\n" : found.map { "- \($0)\n" }.joined()
        md += "\n## Ranking\n\n"
        md += "Strategies ranked within each block: fewest diverged runs first, then the smallest mean distance of the final weights "
            + "to the fault-free Float64 run's (‖w − w_ref‖ / ‖w_ref‖), over all fault sets and seeds.\n"
        for block in blocks {
            md += "\n### \(block)\n\n" + ranking(results.filter { $0.block == block }).markdown
        }
        md += "\n## Spike diagnosis\n\n" + spikeRules + "\n"
        let diagnosed = results.filter { !$0.lossSpikes.isEmpty || $0.diverged || !$0.normOverflowSteps.isEmpty }
        md += diagnosed.isEmpty ? "No run had a loss spike, diverged or lost its clipping norm.\n" : spikeTable(diagnosed).markdown
        md += "\n## Clip rate\n\n" + clipRule + "\n"
        let clipped = results.filter { $0.clipper != "none" }
        md += clipped.isEmpty ? "No run clipped.\n" : clipTable(clipped).markdown
        md += "\n## Runs\n\n"
        md += "Final loss and the fault-free Float64 run's; diverged: the step from which the loss stayed non-finite or above 3× its "
            + "first value; spikes: losses above 3× the median of the 20 before; ‖g‖ max: the largest exact gradient norm; norm error: "
            + "the clipper's norm against the exact one, in ulps of its format; underflow: the mean share of gradient elements that are "
            + "zero or subnormal in the compute format at the current scale.\n"
        for block in blocks {
            md += "\n### \(block)\n\n" + runTable(results.filter { $0.block == block }, chartPath: chartPath).markdown
        }
        md += "\n## Charts\n\n"
        md += "Per run, top to bottom: the loss (log scale) against the fault-free Float64 run, with the injected faults as red lines; "
            + "the gradient norm the clipper computed (log scale), with the clip threshold and the clipped steps (orange); the loss scale, "
            + "with skipped steps (red); the fraction of gradient elements lost to underflow.\n"
        for block in blocks {
            md += "\n### \(block)\n"
            for r in results where r.block == block {
                md += "\n\(r.faults) · \(r.strategy) · seed \(r.seed)\n\n![\(r.id)](\(chartPath[r.index]!))\n"
            }
        }
        return (md, charts)
    }

    static let howToRead = """
        Each run trains one strategy (precision policy · loss scaler · clipper) under one set of injected faults. The weight \
        distance and the loss gap compare it with the same model trained in Float64 without faults, scaling or clipping: \
        what the run would have been with exact-enough arithmetic and clean data.

        """

    static let spikeRules = """
        Each run with loss spikes, a divergence or an overflowed clipping norm is diagnosed from its measurements, first rule \
        that applies:
        - **numerics**: the clipping norm overflowed while the gradients were finite, at or before the first spike.
        - **data**: the first spike falls on an injected bad batch (or the step after): reproducible and tied to the batch.
        - **learning rate**: the spikes follow a learning-rate spike.
        - **numerics**: an inf or NaN (skipped steps, or a divergence) where the Float64 reference stayed finite: the \
        precision, not the data, is at fault.
        - **learning rate**: the spikes grow more frequent over the run.
        - **init/normalisation**: the Float64 reference spikes at the same steps: the model itself is unstable there.
        - **unexplained**: none of these.

        """

    static let clipRule = """
        Clipping that fires on fewer than 1% of steps is insurance: it catches the rare bad batch and otherwise stays out of the way. \
        Clipping on most steps (50% or more) is a diagnosis, not a fix: the threshold sits below the typical gradient norm, so the \
        clipper is a smaller learning rate in disguise (or the learning rate is too high). In between, it fires on particular batches: \
        look at which.

        """

    static func blockNames(_ results: [RunResult]) -> [String] {
        var names = [String]()
        for r in results where !names.contains(r.block) { names.append(r.block) }
        return names
    }

    static func chartName(_ r: RunResult) -> String {
        let slug = String(r.id.map { c -> Character in c.isLetter || c.isNumber || c == "-" || c == "." ? c : "_" })
        return "\(r.index)-\(slug).svg"
    }

    // MARK: Tables

    static func ranking(_ results: [RunResult]) -> TextTable {
        var strategies = [String]()
        for r in results where !strategies.contains(r.strategy) { strategies.append(r.strategy) }
        struct Row { var strategy: String; var runs: [RunResult]; var diverged: Int; var distance: Double }
        var rows = strategies.map { s -> Row in
            let runs = results.filter { $0.strategy == s }
            let distances = runs.map { $0.weightDistance.isFinite ? $0.weightDistance : .infinity }
            return Row(strategy: s, runs: runs, diverged: runs.filter(\.diverged).count, distance: distances.reduce(0, +) / Double(distances.count))
        }
        rows.sort { ($0.diverged, $0.distance) < ($1.diverged, $1.distance) }
        var table = TextTable(header: ["rank", "strategy", "runs", "diverged", "skipped steps", "clip rate", "loss spikes", "mean |loss gap|",
                                       "mean weight distance", "max norm error (ulps)", "mean underflow"],
                              numericColumns: [0, 2, 3, 4, 5, 6, 7, 8, 9, 10])
        for (k, row) in rows.enumerated() {
            let runs = row.runs
            let gaps = runs.map { abs($0.lossGap) }
            table.rows.append([
                "\(k + 1)", row.strategy, "\(runs.count)", "\(row.diverged)", "\(runs.map(\.skippedSteps).reduce(0, +))",
                percent(runs.map(\.clipRate).reduce(0, +) / Double(runs.count)), "\(runs.map(\.lossSpikes.count).reduce(0, +))",
                figure(gaps.reduce(0, +) / Double(gaps.count)), figure(row.distance),
                ulps(runs.map(\.maxNormErrorUlps)), percent(runs.map(\.meanUnderflowFraction).reduce(0, +) / Double(runs.count)),
            ])
        }
        return table
    }

    static func runTable(_ results: [RunResult], chartPath: [Int: String]) -> TextTable {
        var table = TextTable(header: ["faults", "strategy", "seed", "final loss", "Float64 ref", "weight distance", "diverged", "skipped",
                                       "clip rate", "spikes", "‖g‖ max", "norm error (ulps)", "underflow", "chart"],
                              numericColumns: [2, 3, 4, 5, 7, 8, 9, 10, 11, 12])
        for r in results {
            table.rows.append([
                r.faultList.isEmpty ? r.faults : "\(r.faults) (\(r.faultList.joined(separator: ", ")))", r.strategy, "\(r.seed)",
                figure(r.finalLoss), figure(r.referenceFinalLoss), figure(r.weightDistance), r.divergedAt.map { "step \($0)" } ?? "",
                "\(r.skippedSteps)", percent(r.clipRate), "\(r.lossSpikes.count)", figure(r.maxGradNorm), ulps([r.maxNormErrorUlps]),
                percent(r.meanUnderflowFraction), "[svg](\(chartPath[r.index]!))",
            ])
        }
        return table
    }

    static func spikeTable(_ results: [RunResult]) -> TextTable {
        var table = TextTable(header: ["run", "spikes at", "diagnosis", "evidence"])
        for r in results {
            let d = diagnose(r)
            table.rows.append([r.id, steps(r.lossSpikes), d.cause, d.evidence])
        }
        return table
    }

    static func clipTable(_ results: [RunResult]) -> TextTable {
        var table = TextTable(header: ["run", "clipped steps", "clip rate", "reading"], numericColumns: [1, 2])
        for r in results {
            table.rows.append([r.id, "\(r.clippedSteps) of \(r.steps)", percent(r.clipRate), clipReading(r.clipRate)])
        }
        return table
    }

    /// The clip-rate rule.
    public static func clipReading(_ rate: Double) -> String {
        if rate == 0 { return "never fired" }
        if rate < 0.01 { return "insurance" }
        if rate >= 0.5 { return "constant: a diagnosis (threshold below the typical norm, or learning rate too high)" }
        return "fires on particular batches"
    }

    // MARK: Spike diagnosis

    /// The cause of a run's spikes or non-finite values, with the measurements that point to it.
    public static func diagnose(_ r: RunResult) -> (cause: String, evidence: String) {
        let dataFaults = r.faultList.filter { $0.hasPrefix("spike-batch") || $0.hasPrefix("corrupt-labels") }
        let dataSteps = Set(faultSteps(dataFaults).flatMap { [$0, $0 + 1] })
        let lrSteps = faultSteps(r.faultList.filter { $0.hasPrefix("lr-spike") })
        if let overflow = r.normOverflowSteps.first, overflow <= r.lossSpikes.first ?? overflow {
            return ("numerics", "the clipping norm was inf at \(steps(r.normOverflowSteps)) while every gradient and the exact norm were finite")
        }
        if let first = r.lossSpikes.first, dataSteps.contains(first) {
            let after = r.lossSpikes.filter { !dataSteps.contains($0) }.count
            return ("data", "the first spike is on a bad batch (\(steps(faultSteps(dataFaults))))"
                    + (after == 0 ? "" : "; \(after) more follow it: the batch knocked the run off course"))
        }
        if !lrSteps.isEmpty, r.lossSpikes.contains(where: { s in lrSteps.contains { s > $0 && s <= $0 + 5 } }) {
            return ("learning rate", "spikes within 5 steps after the learning-rate spike at \(steps(lrSteps))")
        }
        // The first inf/NaN must come no later than the trouble it explains (a scaler calibrating at step 0 does not
        // explain a divergence at step 150), and the reference must have stayed finite.
        let firstBad = [r.lossSpikes.first, r.divergedAt].compactMap { $0 }.min() ?? 0
        if let origin = r.firstNonFinite, let at = Self.step(of: origin), at <= firstBad,
           r.diverged || r.lossSpikes.contains(where: r.series.skipped.contains),
           r.referenceFinalLoss.isFinite, !r.referenceSpikes.contains(where: r.lossSpikes.contains) {
            let injected = r.faultList.contains { $0.hasPrefix("gradient-inf") || $0.hasPrefix("gradient-nan") }
            let note = injected ? "; an inf/NaN gradient was injected" : ""
            return ("numerics", "first inf/NaN at \(origin)\(note); the Float64 reference stayed finite")
        }
        let half = r.steps / 2
        let early = r.lossSpikes.filter { $0 < half }.count, late = r.lossSpikes.count - early
        if r.lossSpikes.count >= 3, late >= 2 * max(early, 1) {
            return ("learning rate", "spikes grow more frequent: \(early) in the first half, \(late) in the second")
        }
        let shared = r.lossSpikes.filter(r.referenceSpikes.contains)
        if !shared.isEmpty {
            return ("init/normalisation", "the fault-free Float64 run spikes too, at \(steps(shared))")
        }
        return ("unexplained", "spikes at \(steps(r.lossSpikes)), no fault or reference spike there")
    }

    /// N of "step N: ...".
    static func step(of origin: String) -> Int? {
        guard origin.hasPrefix("step "), let colon = origin.firstIndex(of: ":") else { return nil }
        return Int(origin[origin.index(origin.startIndex, offsetBy: 5)..<colon])
    }

    /// The steps of faults written `KIND@STEP,STEP[xMAGNITUDE]`.
    static func faultSteps(_ faults: [String]) -> [Int] {
        faults.flatMap { f -> [Int] in
            guard let at = f.firstIndex(of: "@") else { return [] }
            let rest = f[f.index(after: at)...].split(separator: "x", maxSplits: 1).first ?? ""
            return rest.split(separator: ",").compactMap { Int($0) }
        }.sorted()
    }

    // MARK: Findings

    /// Plain-language findings, each read off the results by comparing runs that differ in one thing.
    public static func findings(_ results: [RunResult]) -> [String] {
        var out = [String]()
        // Divergence: runs that differ in one thing only (clipper, scaler or policy), some diverged and some did not.
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
                        text += d.firstNonFinite.map { " (first inf/NaN at \($0))" } ?? " (its gradient norm overflowed at \(steps(d.normOverflowSteps)))"
                    } else if d.maxGradNorm.isFinite {
                        text += " (‖g‖ up to \(figure(d.maxGradNorm)))"
                    }
                    return text
                }
                let survived = kept.map { "\(dimension.value($0)) (weight distance \(figure($0.weightDistance)))" }
                out.append("**\(r.block)**, \(fixed), faults \(describe(r)): \(lost.joined(separator: "; ")). "
                           + "\(survived.joined(separator: ", ")) kept training.")
            }
        }
        // Underflow: runs that differ only in the scaler.
        for group in groups(results, by: { "\($0.block)|\($0.policy)|\($0.clipper)|\($0.faults)|\($0.seed)" }) where Set(group.map(\.scaler)).count > 1 {
            let sorted = group.filter { $0.meanUnderflowFraction.isFinite }.sorted { $0.meanUnderflowFraction > $1.meanUnderflowFraction }
            guard let worst = sorted.first, let best = sorted.last, worst.meanUnderflowFraction - best.meanUnderflowFraction >= 0.1 else { continue }
            out.append("**\(worst.block)**, \(worst.policy) · \(name(worst.clipper)), faults \(describe(worst)): with \(scalerName(worst.scaler)) \(percent(worst.meanUnderflowFraction)) of "
                       + "the gradient elements were zero or subnormal in the compute format on average; with \(scalerName(best.scaler)) "
                       + "\(percent(best.meanUnderflowFraction)) (the rest are exact zeros, e.g. of inactive ReLUs). Loss scaling exists to lift "
                       + "gradients out of the underflow range.")
        }
        // Clipping norms that overflowed while the gradients were finite.
        for r in results where !r.normOverflowSteps.isEmpty && r.clipper != "none" {
            let peers = results.filter { $0.block == r.block && $0.policy == r.policy && $0.scaler == r.scaler && $0.faults == r.faults
                && $0.seed == r.seed && $0.clipper != r.clipper && $0.clipper != "none" }
            let fine = peers.filter { $0.normOverflowSteps.isEmpty }.map { name($0.clipper) }
            out.append("**\(r.block)**, \(r.policy), faults \(describe(r)): the clipping norm of \(name(r.clipper)) was inf at "
                       + "\(steps(r.normOverflowSteps)) while every gradient was finite (exact ‖g‖ up to \(figure(r.maxGradNorm))): the clip "
                       + "coefficient became 0 and zeroed the step's gradients."
                       + (fine.isEmpty ? "" : " \(fine.joined(separator: ", ")) computed it without overflow."))
        }
        // Skipped steps, per block, policy and scaler.
        for group in groups(results, by: { "\($0.block)|\($0.policy)|\($0.scaler)" }, keepSingles: true) {
            let skipping = group.filter { $0.skippedSteps > 0 }
            guard let r = skipping.first else { continue }
            let counts = skipping.map(\.skippedSteps)
            let range = counts.min() == counts.max() ? "\(counts[0])" : "\(counts.min()!)-\(counts.max()!)"
            var text = "**\(r.block)**, \(r.policy) · \(scalerName(r.scaler)): \(range) step(s) skipped on inf/NaN gradients in \(skipping.count) of "
                + "\(group.count) runs"
            if let origin = r.firstNonFinite { text += "; the first inf/NaN: \(origin)" }
            if r.series.skipped.first == 0 && r.series.scale.first.map({ $0 > 1 }) == true {
                text += " (the initial scale \(figure(r.series.scale[0])) overflowed and was lowered: the scaler calibrating, as designed)"
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
        (r.faultList.isEmpty ? "none" : "\(r.faults) (\(r.faultList.joined(separator: ", ")))") + ", seed \(r.seed)"
    }

    static func name(_ clipper: String) -> String { clipper == "none" ? "no clipping" : clipper }
    static func scalerName(_ scaler: String) -> String { scaler == "none" ? "no loss scaling" : "scaler \(scaler)" }

    // MARK: Charts

    /// Four panels: loss against the reference, the clipper's gradient norm with its threshold and clip events, the
    /// loss scale with skipped steps, and the underflow fraction.
    public static func chart(_ r: RunResult) -> String {
        let s = r.series
        let x = s.loss.indices.map { Double($0 * s.stride) }
        let xr = s.referenceLoss.indices.map { Double($0 * s.stride) }
        var loss = SVGChart(title: "\(r.id): loss", xLabel: "step", yLabel: "loss",
                            lines: [.init(label: "run", color: "#1f77b4", x: x, y: s.loss),
                                    .init(label: "Float64, no faults", color: "#555555", x: xr, y: s.referenceLoss, dashed: true)], logY: true)
        loss.height = 220
        loss.marks = [(r.faultSteps.map(Double.init), "#d62728", "faults")]
        var norm = SVGChart(title: "gradient norm (\(r.clipper))", xLabel: "step", yLabel: "‖g‖",
                            lines: [.init(label: "clipper's norm", color: "#2ca02c", x: x, y: s.gradNorm)], logY: true)
        if s.threshold.contains(where: \.isFinite) {
            norm.lines.append(.init(label: "threshold", color: "#ff7f0e", x: x, y: s.threshold, dashed: true))
        }
        norm.height = 220
        norm.marks = [(s.clipped.map(Double.init), "#ff7f0e", "clipped"), (r.normOverflowSteps.map(Double.init), "#d62728", "norm inf")]
        var scale = SVGChart(title: "loss scale (\(r.scaler))", xLabel: "step", yLabel: "scale",
                             lines: [.init(label: "scale", color: "#9467bd", x: x, y: s.scale)], logY: true)
        scale.height = 200
        scale.marks = [(s.skipped.map(Double.init), "#d62728", "skipped")]
        var underflow = SVGChart(title: "gradient elements zero or subnormal (\(r.policy))", xLabel: "step", yLabel: "fraction",
                                 lines: [.init(label: "underflow fraction", color: "#8c564b", x: x, y: s.underflow)])
        underflow.height = 200
        underflow.yRange = (0, 1)
        let steps = (0.0, Double(max(r.steps - 1, 1)))
        loss.xRange = steps
        norm.xRange = steps
        scale.xRange = steps
        underflow.xRange = steps
        return SVGChart.document([loss, norm, scale, underflow])
    }

    // MARK: Numbers

    static func figure(_ x: Double) -> String {
        guard x.isFinite else { return ReductionReport.figure(x) }
        return x < 0 ? "-" + ReductionReport.figure(-x) : ReductionReport.figure(x)
    }

    /// The largest norm error, "—" where the clipper has no global norm.
    static func ulps(_ xs: [Double]) -> String {
        let known = xs.filter { !$0.isNaN }
        return known.isEmpty ? "—" : figure(known.max()!)
    }

    static func percent(_ x: Double) -> String {
        guard x.isFinite else { return "—" }
        return BenchmarkReport.fixed(x * 100, x * 100 >= 10 || x == 0 ? 0 : 1) + "%"
    }

    static func steps(_ s: [Int]) -> String {
        if s.isEmpty { return "—" }
        let shown = s.prefix(6).map(String.init).joined(separator: ", ")
        return (s.count == 1 ? "step " : "steps ") + shown + (s.count > 6 ? " and \(s.count - 6) more" : "")
    }
}
