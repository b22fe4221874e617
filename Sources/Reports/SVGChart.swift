import Base
#if canImport(Glibc)
import Glibc
#endif

/// A line chart as a standalone SVG document: axes with ticks, labelled series, optional vertical event marks and a
/// log-scale y axis. Pure: the same input gives the same bytes.
public struct SVGChart: Sendable {
    public struct Line: Sendable {
        public var label: String
        public var color: String
        public var x: [Double]
        public var y: [Double]
        public var dashed: Bool
        public init(label: String, color: String, x: [Double], y: [Double], dashed: Bool = false) {
            self.label = label
            self.color = color
            self.x = x
            self.y = y
            self.dashed = dashed
        }
    }

    /// A shaded range between two curves (min and max over seeds), in a line's color.
    public struct Band: Sendable {
        public var color: String
        public var x: [Double]
        public var low: [Double]
        public var high: [Double]
        public init(color: String, x: [Double], low: [Double], high: [Double]) {
            self.color = color
            self.x = x
            self.low = low
            self.high = high
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var lines: [Line]
    /// Vertical marks (e.g. clip events, injected faults), each with a color and a legend label.
    public var marks: [(x: [Double], color: String, label: String)] = []
    public var bands: [Band] = []
    public var logY = false
    /// The base of a log axis: its ticks are powers of it (2 for loss scales, which are powers of two), labelled
    /// "2^16"; base-10 ticks between 10^-3 and 10^6 are labelled in full ("1000").
    public var logBase = 10
    /// A fixed y range (linear axis), else the data's.
    public var yRange: (Double, Double)? = nil
    /// A fixed x range, else the data's.
    public var xRange: (Double, Double)? = nil
    public var width = 640.0, height = 300.0

    public init(title: String, xLabel: String, yLabel: String, lines: [Line], logY: Bool = false, logBase: Int = 10) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.lines = lines
        self.logY = logY
        self.logBase = logBase
    }

    static let left = 64.0, right = 16.0, top = 30.0, bottom = 58.0

    /// The chart as a standalone SVG document.
    public var svg: String { Self.document([self]) }

    /// Charts stacked top to bottom in one SVG document (as wide as the widest).
    public static func document(_ charts: [SVGChart]) -> String {
        let width = charts.map(\.width).max() ?? 0, height = charts.map(\.height).reduce(0, +)
        let f = { (x: Double) in SVGChart.number(x) }
        var out = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(f(width))" height="\(f(height))" viewBox="0 0 \(f(width)) \(f(height))" font-family="Helvetica, Arial, sans-serif" font-size="11">
        <rect width="100%" height="100%" fill="white"/>

        """
        var y = 0.0
        for chart in charts {
            out += "<g transform=\"translate(0 \(f(y)))\">\n" + chart.elements + "</g>\n"
            y += chart.height
        }
        return out + "</svg>\n"
    }

    /// The chart's elements, in a box of `width` × `height` at the origin.
    var elements: String {
        // The legend wraps onto as many rows as its entries need; the plot gives up the room.
        let entryWidths = lines.map { 30 + Double($0.label.count) * 6.2 } + marks.filter { !$0.x.isEmpty }.map { 16 + Double($0.label.count) * 6.2 }
        var rows = 1, used = Self.left
        for w in entryWidths {
            if used + w > width - Self.right && used > Self.left { rows += 1; used = Self.left }
            used += w
        }
        let legendExtra = Double(rows - 1) * 14
        let plotW = width - Self.left - Self.right, plotH = height - Self.top - Self.bottom - legendExtra
        func t(_ y: Double) -> Double? {
            guard y.isFinite else { return nil }
            if logY { return y > 0 ? log(y) / log(Double(logBase)) : nil }
            return y
        }
        let xs = lines.flatMap(\.x) + marks.flatMap(\.x)
        // The range is the finite data's (a log axis also leaves out zeros): an inf or NaN is marked, not scaled to.
        let ys = lines.flatMap { $0.y.compactMap(t) } + bands.flatMap { $0.low.compactMap(t) + $0.high.compactMap(t) }
        let x0 = xRange?.0 ?? xs.min() ?? 0, x1 = max(xRange?.1 ?? xs.max() ?? 1, x0 + 1)
        var y0 = ys.min() ?? 0, y1 = ys.max() ?? 1
        if let (a, b) = yRange, !logY { y0 = min(a, y0); y1 = max(b, y1) }
        if y1 - y0 < 1e-12 { y0 -= 0.5; y1 += 0.5 }
        let pad = (y1 - y0) * 0.05
        y0 -= pad; y1 += pad
        func px(_ x: Double) -> Double { Self.left + (x - x0) / (x1 - x0) * plotW }
        func py(_ y: Double) -> Double { Self.top + (1 - (y - y0) / (y1 - y0)) * plotH }
        var out = """
        <text x="\(f(width / 2))" y="18" text-anchor="middle" font-size="13" font-weight="bold">\(escape(title))</text>

        """
        // Grid and ticks: powers of ten on a log axis spanning at least a decade, else five even steps.
        var yTicks = Self.niceTicks(y0, y1, about: 5)
        let base = Double(logBase)
        if logY, y1 - y0 < 1 {
            yTicks = Self.niceTicks(pow(base, y0), pow(base, y1), about: 4).filter { $0 > 0 }.map { log($0) / log(base) }
        } else if logY {
            let stepSize = max(1, ((y1 - y0) / 6).rounded(.up))
            yTicks = Swift.stride(from: (y0 / stepSize).rounded(.up) * stepSize, through: y1, by: stepSize).map { $0 }
        }
        for v in yTicks {
            let y = py(v)
            out += "<line x1=\"\(f(Self.left))\" y1=\"\(f(y))\" x2=\"\(f(width - Self.right))\" y2=\"\(f(y))\" stroke=\"#e4e4e4\"/>\n"
            out += "<text x=\"\(f(Self.left - 4))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(logY ? logTick(v) : Figures.tick(v))</text>\n"
        }
        for v in Self.niceTicks(x0, x1, about: 6) {
            let axis = Self.top + plotH
            out += "<text x=\"\(f(px(v)))\" y=\"\(f(axis + 14))\" text-anchor=\"middle\">\(Figures.tick(v))</text>\n"
            out += "<line x1=\"\(f(px(v)))\" y1=\"\(f(axis))\" x2=\"\(f(px(v)))\" y2=\"\(f(axis + 4))\" stroke=\"#888\"/>\n"
        }
        out += "<rect x=\"\(f(Self.left))\" y=\"\(f(Self.top))\" width=\"\(f(plotW))\" height=\"\(f(plotH))\" fill=\"none\" stroke=\"#888\"/>\n"
        out += "<text x=\"\(f(Self.left + plotW / 2))\" y=\"\(f(Self.top + plotH + 28))\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        out += "<text transform=\"translate(14 \(f(Self.top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\">\(escape(yLabel + (logY ? " (log)" : "")))</text>\n"
        for mark in marks {
            for x in mark.x {
                out += "<line x1=\"\(f(px(x)))\" y1=\"\(f(Self.top))\" x2=\"\(f(px(x)))\" y2=\"\(f(Self.top + plotH))\" stroke=\"\(mark.color)\" stroke-opacity=\"0.45\"/>\n"
            }
        }
        for band in bands {
            // Only where both edges are finite.
            var upper = [(Double, Double)](), lower = [(Double, Double)]()
            for (k, x) in band.x.enumerated() where k < band.low.count && k < band.high.count {
                if let lo = t(band.low[k]), let hi = t(band.high[k]) {
                    upper.append((px(x), py(hi)))
                    lower.append((px(x), py(lo)))
                }
            }
            guard !upper.isEmpty else { continue }
            let points = (upper + lower.reversed()).map { "\(f($0.0)),\(f($0.1))" }.joined(separator: " ")
            out += "<polygon fill=\"\(band.color)\" fill-opacity=\"0.15\" stroke=\"none\" points=\"\(points)\"/>\n"
        }
        var nonFinite = false
        for line in lines {
            // Break the polyline at non-finite points (a run that diverged stops drawing), and mark where a finite
            // curve became inf or NaN with a red × on the top edge.
            var segments: [[(Double, Double)]] = [[]]
            for (x, y) in zip(line.x, line.y) {
                if let ty = t(y) { segments[segments.count - 1].append((px(x), py(ty))) } else if !segments[segments.count - 1].isEmpty {
                    segments.append([])
                    if !y.isFinite {
                        nonFinite = true
                        out += "<text x=\"\(f(px(x)))\" y=\"\(f(Self.top + 9))\" text-anchor=\"middle\" fill=\"#d62728\" font-weight=\"bold\">×</text>\n"
                    }
                }
            }
            for segment in segments where !segment.isEmpty {
                let points = segment.map { "\(f($0.0)),\(f($0.1))" }.joined(separator: " ")
                out += "<polyline fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"1.6\"\(line.dashed ? " stroke-dasharray=\"5 3\"" : "") points=\"\(points)\"/>\n"
            }
        }
        // Legend under the plot.
        var lx = Self.left, ly = height - 12 - legendExtra
        func place(_ w: Double) {
            if lx + w > width - Self.right && lx > Self.left { lx = Self.left; ly += 14 }
        }
        for line in lines {
            place(30 + Double(line.label.count) * 6.2)
            out += "<line x1=\"\(f(lx))\" y1=\"\(f(ly - 4))\" x2=\"\(f(lx + 18))\" y2=\"\(f(ly - 4))\" stroke=\"\(line.color)\" stroke-width=\"2\"\(line.dashed ? " stroke-dasharray=\"5 3\"" : "")/>\n"
            out += "<text x=\"\(f(lx + 22))\" y=\"\(f(ly))\">\(escape(line.label))</text>\n"
            lx += 30 + Double(line.label.count) * 6.2
        }
        for mark in marks where !mark.x.isEmpty {
            place(16 + Double(mark.label.count) * 6.2)
            out += "<line x1=\"\(f(lx))\" y1=\"\(f(ly - 10))\" x2=\"\(f(lx))\" y2=\"\(f(ly + 2))\" stroke=\"\(mark.color)\" stroke-width=\"2\"/>\n"
            out += "<text x=\"\(f(lx + 5))\" y=\"\(f(ly))\">\(escape(mark.label))</text>\n"
            lx += 16 + Double(mark.label.count) * 6.2
        }
        if nonFinite {
            out += "<text x=\"\(f(lx))\" y=\"\(f(ly))\" fill=\"#d62728\" font-weight=\"bold\">×</text><text x=\"\(f(lx + 9))\" y=\"\(f(ly))\">became inf/NaN</text>\n"
        }
        return out
    }

    func f(_ x: Double) -> String { Self.number(x) }

    /// A coordinate with one decimal at most.
    static func number(_ x: Double) -> String {
        let r = (x * 10).rounded() / 10
        return r == r.rounded() ? String(Int(r)) : String(r)
    }

    /// Ticks at multiples of 1, 2 or 5 times a power of ten, about `count` of them, inside [a, b].
    static func niceTicks(_ a: Double, _ b: Double, about count: Int) -> [Double] {
        guard b > a, a.isFinite, b.isFinite else { return [a] }
        let raw = (b - a) / Double(count)
        let power = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= raw } ?? 10 * power
        var ticks = [Double]()
        var k = (a / step).rounded(.up)
        while k * step <= b + step * 1e-9 {
            let v = k * step
            ticks.append(abs(v) < step * 1e-9 ? 0 : v)
            k += 1
        }
        return ticks
    }

    /// The label of a log-axis tick at exponent `v` (an integer when the axis spans a unit or more).
    func logTick(_ v: Double) -> String {
        let value = pow(Double(logBase), v)
        guard v == v.rounded(), abs(v) < 1000 else { return Figures.tick(value) }
        if logBase == 10 && value >= 1e-3 && value < 1e6 { return Figures.tick(value) }
        if logBase == 2 { return Figures.constant(value, plain: -9...9) }   // 512, 2^16, 2^-24
        return "\(logBase)^\(Int(v))"
    }
}

func escape(_ s: String) -> String {
    var out = ""
    for c in s {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        default: out.append(c)
        }
    }
    return out
}
