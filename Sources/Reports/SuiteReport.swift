import Base
import Results

/// The Markdown report of a suite and its charts: a pure function of the results and of the header's context.
public enum SuiteReport {
    public typealias Context = SuiteContext

    /// A chart file: its name (relative to the report's directory) and its SVG text.
    public struct Chart: Sendable, Equatable {
        public var path: String
        public var svg: String
    }

    /// The report's Markdown, its appendix (`<suite>-runs.md`: every run's chart) and its charts, which go to
    /// `<chartDirectory>/` next to them.
    /// Long: the report's sections in reading order, each one line or a call.
    public static func render(_ results: [RunResult], analysis: SuiteAnalysis, context: Context, chartDirectory: String)
        -> (markdown: String, appendix: String, charts: [Chart]) {
        let results = results.sorted { $0.index < $1.index }
        let blocks = blockNames(results)
        var charts = [Chart]()
        var chartPath = [Int: String]()
        for r in results {
            let path = "\(chartDirectory)/\(chartName(r))"
            chartPath[r.index] = path
            charts.append(Chart(path: path, svg: chart(r)))
        }
        var gridPath = [String: String](), overlayPath = [String: String]()
        for block in blocks {
            let path = "\(chartDirectory)/grid-\(slug(block)).svg"
            gridPath[block] = path
            charts.append(Chart(path: path, svg: SuiteCharts.heatMap(block: block, analysis.verdicts.filter { $0.block == block })))
        }
        for v in analysis.verdicts {
            let path = "\(chartDirectory)/overlay-\(slug(v.block))-\(slug(v.faults)).svg"
            overlayPath[v.block + "\u{0}" + v.faults] = path
            charts.append(Chart(path: path, svg: SuiteCharts.overlay(results.filter { $0.block == v.block && $0.faults == v.faults })))
        }
        var md = header(results, blocks: blocks, context: context)
        md += "\n## Recommendations\n\nA strategy reads precision policy · loss scaler · clipper (`none`: no scaler, or no clipping); "
            + "the evidence is the first strategy named, under each fault set.\n\n" + VerdictReport.recommendations(analysis.verdicts)
        md += clipRuleChecked(results, blocks: blocks, readings: analysis.clipReadings, verdicts: analysis.verdicts)
        md += "\nPer-run charts (loss, gradient norm, loss scale, underflow) are in [\(context.suite)-runs.md](\(context.suite)-runs.md).\n"
        md += "\n" + VerdictReport.section(analysis.verdicts, grid: { gridPath[$0] }, overlay: { overlayPath[$0.block + "\u{0}" + $0.faults] })
        md += "\n## Configuration\n\n"
        for b in context.blocks { md += "- **\(b.name)**: \(b.summary)\n" }
        md += "\n" + howToRead
        md += "\n## Findings\n\n"
        let found = analysis.findings
        md += found.isEmpty ? "Nothing stood out: no run diverged, skipped a step or lost its clipping norm.\n" : found.map { "- \($0)\n" }.joined()
        md += "\n## Strategy measurements\n\n"
        md += "What each strategy of a block did, over all its fault sets and seeds, listed by diverged runs and then the mean distance of "
            + "the final weights to the fault-free Float64 run of the same strategy (‖w − w_ref‖ / ‖w_ref‖). A description, not a verdict: a clipper that "
            + "changes the trajectory moves the weights without harming the task; the verdicts above judge by survival and the held-out metric.\n"
        for (block, rows) in analysis.rankings {
            md += "\n### \(block)\n\n" + ranking(rows).markdown
        }
        md += "\n## Spike diagnosis\n\n" + spikeRules + "\n"
        md += confusionSection(analysis.confusion)
        let diagnosed = results.filter { analysis.diagnoses[$0.index].map { $0.cause != .noEffect } ?? false }
        md += diagnosed.isEmpty ? "No run had a loss spike, diverged or lost its clipping norm.\n" : spikeTable(diagnosed, analysis.diagnoses).markdown
        md += noEffectLines(results.filter { analysis.diagnoses[$0.index]?.cause == .noEffect })
        md += "\n## Clip rate\n\n" + clipRule + "\n"
        let clipped = results.filter { $0.clipper != "none" }
        md += clipped.isEmpty ? "No run clipped.\n" : clipTable(clipped, analysis.clipReadings).markdown
        md += "\n## Runs\n\n"
        md += "Final loss and that of the fault-free Float64 run of the same strategy (the weight distance is to it too); the held-out metric, "
            + "its Float64 run's and the Float64 run's without clipping; diverged: the step from which the loss stayed non-finite or above 3× its "
            + "first value; spikes: losses above 3× the median of the 20 before; ‖g‖ max: the largest exact gradient norm; norm error: "
            + "the clipper's norm against the exact one, in ulps of its format; lost: the mean share of gradient elements flushed to zero "
            + "in the compute format at the current scale, beyond those that are zero in the Float64 run too; subnormal: the mean share "
            + "kept as subnormals, with the bits of precision they lost on average.\n"
        for block in blocks {
            md += "\n### \(block)\n\n" + runTable(results.filter { $0.block == block }, chartPath: chartPath).markdown
        }
        let appendix = "# Suite `\(context.suite)`: every run's chart\n\nThe report is [\(context.suite).md](\(context.suite).md).\n"
            + chartsSection(results, blocks: blocks, chartPath: chartPath)
        return (md, appendix, charts)
    }

    /// The clip-rate rule of thumb checked on the suite: per block and clipping strategy, the median clip rate over its
    /// runs and what it reads as.
    static func clipRuleChecked(_ results: [RunResult], blocks: [String], readings: [Int: ClipReading], verdicts: [FaultSetVerdict]) -> String {
        var lines = [String]()
        for block in blocks {
            let strategies = results.filter { $0.block == block && $0.clipper != "none" }.firstSeen(\.strategy)
            var constant = [String]()
            let parts = strategies.map { s -> String in
                let runs = results.filter { $0.block == block && $0.strategy == s }.sorted { $0.clipRate < $1.clipRate }
                let middle = runs[(runs.count - 1) / 2]
                if readings[middle.index] == .constant { constant.append(s) }
                return "\(s) \(Figures.percent(middle.clipRate)) (\(readings[middle.index]?.rawValue ?? "—"))"
            }
            // A strategy can be recommended for surviving while it clips on every step: say so next to the rule.
            let recommendedConstant = VerdictReport.recommended(verdicts.filter { $0.block == block }).filter(constant.contains)
            let caveat = recommendedConstant.isEmpty ? "" : ". Recommended above yet clipping constantly: "
                + recommendedConstant.joined(separator: ", ") + " (they survive by rescaling nearly every update, which hides a threshold "
                + "below the typical norm or a learning rate too high rather than fixing it: check those before relying on them)"
            if !parts.isEmpty { lines.append("- **\(block)**: " + parts.joined(separator: "; ") + caveat + "\n") }
        }
        guard !lines.isEmpty else { return "" }
        return "\nThe clip-rate rule of thumb (under 1% of steps: insurance; 50% or more: a diagnosis, not a fix), checked on this suite "
            + "(the clip rate of each strategy's median run, the lower one of the middle two for an even count):\n\n" + lines.joined()
    }

    static func slug(_ text: String) -> String {
        String(text.map { c -> Character in c.isLetter || c.isNumber || c == "-" || c == "." ? c : "_" })
    }

    /// The title, the suite's description and its provenance table.
    static func header(_ results: [RunResult], blocks: [String], context: Context) -> String {
        var md = "# Suite `\(context.suite)`\n\n"
        if !context.description.isEmpty { md += context.description + "\n\n" }
        let seeds = Array(Set(results.map(\.seed))).sorted().map(String.init).joined(separator: ", ")
        md += TextTable(header: ["", ""], rows: [
            ["suite", "`\(context.source)`"],
            ["runs", "\(results.count) in \(blocks.count) blocks, each measured against the fault-free Float64 runs with the same seed, of the same strategy and without clipping"],
            ["seeds", seeds],
            ["version", "precision-lab \(context.version)"],
            ["date", context.date],
            ["machine", context.machine],
        ]).markdown
        if let lab = context.labReport {
            md += "\nThe formats' conformance against MPFR and the reduction fixtures are in [\(lab)](\(lab)).\n"
        }
        return md
    }

    /// Every run's chart, by block.
    static func chartsSection(_ results: [RunResult], blocks: [String], chartPath: [Int: String]) -> String {
        var md = ""
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
        return md
    }

    static let howToRead = """
        Each run trains one strategy (precision policy · loss scaler · clipper) under one set of injected faults, and is \
        compared with two fault-free Float64 runs of the same seed: the same strategy (clipper and optimizer; Float64 needs no \
        loss scaler), which shows what precision and faults cost it, and the same model without clipping, which shows what \
        the strategy itself costs with exact-enough arithmetic and clean data.

        """

    static let spikeRules = """
        Each run with an injected fault, loss spikes, a divergence or an overflowed clipping norm is diagnosed from its \
        measurements and those of its peers (the same block, seed and faults under a wider policy), first rule that applies:
        - **no effect**: a fault was injected and from its step on there was no spike, divergence or skipped step.
        - **data**: the first spike (or a skipped step) falls on a bad batch (or the step after): tied to the batch.
        - **learning rate**: the spikes follow a learning-rate spike within 5 steps.
        - **inf/NaN gradient**: the first inf or NaN is in a parameter's gradient while every op's value and gradient was \
        finite: not the model's arithmetic (a kernel, a collective or memory wrote it).
        - **numerics**: an inf or NaN (skipped steps, or a divergence) in an op where the Float64 reference stayed finite; or \
        the clipping norm overflowed while the gradients were finite; or spikes that the run of a wider policy with the same \
        seed and faults does not have.
        - **learning rate**: the spikes grow more frequent over the run.
        - **init/normalisation**: the fault-free Float64 reference spikes at the same steps: the model itself is unstable there.
        - **unexplained**: none of these.

        """

    /// The diagnosis against the injected faults: agreement, then injected cause × diagnosis.
    static func confusionSection(_ c: Confusion) -> String {
        guard !c.cells.isEmpty else { return "" }
        let injected = Diagnosis.Cause.allCases.filter { i in c.cells.keys.contains { $0.injected == i } }
        let diagnosed = Diagnosis.Cause.allCases.filter { d in c.cells.keys.contains { $0.diagnosed == d } }
        var md = "### Checked against the injected faults\n\n"
        md += "Every injected fault stands for a cause (a bad batch: data; a learning-rate spike: learning rate; an inf/NaN written into a "
            + "gradient: inf/NaN gradient; activations past Float16's range: numerics). Of the \(c.judged) runs whose fault had an effect, the "
            + "diagnosis, made from the measurements alone, names the injected cause in \(c.agreeing): **\(Figures.percent(c.agreement)) agreement**. "
            + "\(c.noEffect) run(s) showed no effect of their fault.\n\n"
        var table = TextTable(header: ["injected ↓ · diagnosed →"] + diagnosed.map(\.rawValue), numericColumns: Set(1...diagnosed.count))
        for i in injected {
            table.rows.append([i.rawValue] + diagnosed.map { d in c.cells[Confusion.Pair(i, d)].map(String.init) ?? "" })
        }
        return md + table.markdown + "\n"
    }

    /// The runs whose fault had no effect, one line per block, fault set and strategy with its seeds.
    static func noEffectLines(_ runs: [RunResult]) -> String {
        guard !runs.isEmpty else { return "" }
        var order = [String](), seeds = [String: [Int]]()
        for r in runs {
            let key = "**\(r.block)** · `\(r.faults)` · \(r.strategy)"
            if seeds[key] == nil { order.append(key) }
            seeds[key, default: []].append(r.seed)
        }
        return "\nNo effect (no spike, divergence or skipped step from the fault on):\n\n"
            + order.map { "- \($0): seed(s) \(seeds[$0]!.map(String.init).joined(separator: ", "))\n" }.joined()
    }

    static let clipRule = """
        Clipping that fires on fewer than 1% of steps is insurance: it catches the rare bad batch and otherwise stays out of the way. \
        Clipping on most steps (50% or more) is a diagnosis, not a fix: the threshold sits below the typical gradient norm, so the \
        clipper is a smaller learning rate in disguise (or the learning rate is too high). In between, it fires on particular batches: \
        look at which. A clip is a step on which the clipper changed finite gradients of a live run: skipped steps, steps \
        with inf/NaN gradients and the steps after a divergence do not count, in the numerator or the denominator.

        """

    static func blockNames(_ results: [RunResult]) -> [String] { results.firstSeen(\.block) }

    static func chartName(_ r: RunResult) -> String { "\(r.index)-\(slug(r.id)).svg" }

    // MARK: Tables

    static func ranking(_ rows: [StrategyRank]) -> TextTable {
        var table = TextTable(header: ["rank", "strategy", "runs", "diverged", "skipped steps", "clip rate", "loss spikes", "mean |loss gap|",
                                       "mean weight distance", "max norm error (ulps)", "mean underflow"],
                              numericColumns: [0, 2, 3, 4, 5, 6, 7, 8, 9, 10])
        for (k, row) in rows.enumerated() {
            table.rows.append([
                "\(k + 1)", row.strategy, "\(row.runs)", "\(row.diverged)", "\(row.skippedSteps)", Figures.percent(row.meanClipRate),
                "\(row.lossSpikes)", Figures.figure(row.meanAbsoluteLossGap), Figures.figure(row.meanWeightDistance),
                row.maxNormErrorUlps.isNaN ? "—" : Figures.figure(row.maxNormErrorUlps), Figures.percent(row.meanUnderflowFraction),
            ])
        }
        return table
    }

    static func runTable(_ results: [RunResult], chartPath: [Int: String]) -> TextTable {
        var table = TextTable(header: ["faults", "strategy", "seed", "final loss", "Float64 ref", "weight distance", "held-out", "Float64 ref",
                                       "Float64 unclipped", "diverged", "skipped", "clip rate", "spikes", "‖g‖ max", "norm error (ulps)", "lost",
                                       "subnormal (bits lost)", "chart"],
                              numericColumns: [2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16])
        for r in results {
            table.rows.append([
                r.faultList.isEmpty ? r.faults : "\(r.faults) (\(r.faultList.map(\.description).joined(separator: ", ")))", r.strategy, "\(r.seed)",
                Figures.figure(r.finalLoss), Figures.figure(r.referenceFinalLoss), Figures.figure(r.weightDistance),
                Figures.figure(r.metric), Figures.figure(r.referenceMetric), Figures.figure(r.unclippedReferenceMetric), r.divergedAt.map { "step \($0)" } ?? "",
                "\(r.skippedSteps)", Figures.percent(r.clipRate), "\(r.lossSpikes.count)", Figures.figure(r.maxGradNorm), ulps([r.maxNormErrorUlps]),
                Figures.percent(r.lostFraction),
                Figures.percent(r.meanSubnormalFraction) + (r.meanSubnormalBitsLost.isFinite ? " (\(Figures.figure(r.meanSubnormalBitsLost)))" : ""),
                "[svg](\(chartPath[r.index]!))",
            ])
        }
        return table
    }

    static func spikeTable(_ results: [RunResult], _ diagnoses: [Int: Diagnosis]) -> TextTable {
        var table = TextTable(header: ["run", "spikes at", "diagnosis", "evidence"])
        for r in results {
            let d = diagnoses[r.index]
            table.rows.append([r.id, Figures.steps(r.lossSpikes), d?.cause.rawValue ?? "—", d?.evidence ?? ""])
        }
        return table
    }

    static func clipTable(_ results: [RunResult], _ readings: [Int: ClipReading]) -> TextTable {
        var table = TextTable(header: ["run", "clipped steps", "clip rate", "reading"], numericColumns: [1, 2])
        for r in results {
            table.rows.append([r.id, "\(r.clippedSteps) of \(r.steps)", Figures.percent(r.clipRate), readings[r.index]?.rawValue ?? "—"])
        }
        return table
    }

    // MARK: Charts

    /// Four panels: loss against the reference, the clipper's gradient norm with its threshold and clip events, the
    /// loss scale with skipped steps, and the underflow fraction.
    public static func chart(_ r: RunResult) -> String {
        let s = r.series
        let x = s.loss.indices.map { Double($0 * s.stride) }
        let xr = s.referenceLoss.indices.map { Double($0 * s.stride) }
        var loss = SVGChart(title: "\(r.id): loss", xLabel: "step", yLabel: "loss",
                            lines: [.init(label: "run", color: "#1f77b4", x: x, y: s.loss),
                                    .init(label: "Float64, same strategy, no faults", color: "#555555", x: xr, y: s.referenceLoss, dashed: true)], logY: true)
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
                             lines: [.init(label: "scale", color: "#9467bd", x: x, y: s.scale)], logY: true, logBase: 2)
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

    /// The largest norm error, "—" where the clipper has no global norm.
    static func ulps(_ xs: [Double]) -> String {
        let known = xs.filter { !$0.isNaN }
        return known.isEmpty ? "—" : Figures.figure(known.max()!)
    }
}
