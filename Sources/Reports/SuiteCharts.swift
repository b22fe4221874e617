import Base
import Results

/// The charts that put a block's strategies side by side: per fault set, every strategy's loss and gradient norm
/// (median over seeds, band from min to max), and the strategy × fault grid of survival and metric.
enum SuiteCharts {
    static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

    /// Per step of the strided series: the (lower) median over seeds, inf when the median seed's value is not finite (so
    /// the curve stops where the typical run diverged), and the min and max of the finite values.
    static func summary(_ series: [[Double]]) -> (median: [Double], low: [Double], high: [Double]) {
        let n = series.map(\.count).min() ?? 0
        var median = [Double](), low = [Double](), high = [Double]()
        for k in 0..<n {
            let values = series.map { $0[k] }
            let finite = values.filter(\.isFinite).sorted()
            // The lower median with every non-finite value ranked above the finite ones.
            let middle = (values.count - 1) / 2
            median.append(middle < finite.count ? finite[middle] : .infinity)
            low.append(finite.first ?? .nan)
            high.append(finite.last ?? .nan)
        }
        return (median, low, high)
    }

    /// Two panels for one block and fault set: loss (log) and the clipper's gradient norm (log), one color per strategy.
    static func overlay(_ runs: [RunResult]) -> String {
        let strategies = runs.firstSeen(\.strategy)
        let first = runs[0]
        var loss = SVGChart(title: "\(first.block) · \(first.faults): loss, median over seeds (band: min to max)", xLabel: "step", yLabel: "loss",
                            lines: [], logY: true)
        var norm = SVGChart(title: "gradient norm the clipper computed, median over seeds", xLabel: "step", yLabel: "‖g‖", lines: [], logY: true)
        for (k, s) in strategies.enumerated() {
            let mine = runs.filter { $0.strategy == s }
            let color = palette[k % palette.count]
            let x = mine[0].series.loss.indices.map { Double($0 * mine[0].series.stride) }
            let l = summary(mine.map(\.series.loss)), g = summary(mine.map(\.series.gradNorm))
            loss.lines.append(.init(label: "\(s) (\(mine.count))", color: color, x: x, y: l.median))
            loss.bands.append(.init(color: color, x: x, low: l.low, high: l.high))
            norm.lines.append(.init(label: s, color: color, x: x, y: g.median))
        }
        loss.marks = [(first.faultSteps.map(Double.init), "#d62728", "faults")]
        norm.marks = loss.marks
        let steps = (0.0, Double(max(first.steps - 1, 1)))
        loss.xRange = steps
        norm.xRange = steps
        loss.width = 760
        norm.width = 760
        loss.height = 330
        norm.height = 300
        return SVGChart.document([loss, norm])
    }
}

extension SuiteCharts {
    /// The strategy × fault-set grid of one block: survival k/n and the metric's median over the survivors written in
    /// each cell, shaded from red (none survived) to green (all did).
    static func heatMap(block: String, _ verdicts: [FaultSetVerdict]) -> String {
        let strategies = verdicts.flatMap(\.strategies).firstSeen(\.strategy)
        let label = 300.0, cell = 150.0, row = 30.0, top = 64.0
        let width = label + cell * Double(verdicts.count) + 16, height = top + row * Double(strategies.count) + 16
        let f = { (x: Double) in SVGChart.number(x) }
        var out = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(f(width))" height="\(f(height))" viewBox="0 0 \(f(width)) \(f(height))" font-family="Helvetica, Arial, sans-serif" font-size="11">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(f(width / 2))" y="18" text-anchor="middle" font-size="13" font-weight="bold">\(escape(block)): survived (k/n) · \(escape(verdicts.first?.metricName ?? "metric")) (median)</text>

        """
        for (c, v) in verdicts.enumerated() {
            out += "<text x=\"\(f(label + cell * (Double(c) + 0.5)))\" y=\"\(f(top - 10))\" text-anchor=\"middle\" font-weight=\"bold\">\(escape(v.faults))</text>\n"
        }
        for (r, s) in strategies.enumerated() {
            let y = top + row * Double(r)
            out += "<text x=\"\(f(label - 8))\" y=\"\(f(y + row / 2 + 4))\" text-anchor=\"end\">\(escape(s))</text>\n"
            for (c, v) in verdicts.enumerated() {
                let x = label + cell * Double(c)
                guard let sv = v.strategies.first(where: { $0.strategy == s }) else { continue }
                let share = Double(sv.survived) / Double(max(sv.runs, 1))
                out += "<rect x=\"\(f(x + 1))\" y=\"\(f(y + 1))\" width=\"\(f(cell - 2))\" height=\"\(f(row - 2))\" fill=\"hsl(\(Int((120 * share).rounded())), 55%, 78%)\"/>\n"
                let metric = sv.metric.map { " · " + Figures.figure($0.estimate) } ?? ""
                out += "<text x=\"\(f(x + cell / 2))\" y=\"\(f(y + row / 2 + 4))\" text-anchor=\"middle\">\(sv.survived)/\(sv.runs)\(escape(metric))</text>\n"
            }
        }
        return out + "</svg>\n"
    }
}
