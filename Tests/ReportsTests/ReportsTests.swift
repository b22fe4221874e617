import Base
import Foundation
import Formats
import Reports
import Results
import Testing
import TestSupport

/// The renderers on their own: the table, the SVG charts and the lab report's tables, from hand-made results
/// (snapshots plus structural checks).
@Suite struct TextTableTests {
    @Test func markdownAlignsNumbersRightAndEscapesPipes() {
        let t = TextTable(header: ["name", "value"], rows: [["a|b", "1.5"], ["c", "-inf"]], numericColumns: [1])
        #expect(t.markdown == "| name | value |\n|---|---:|\n| a\\|b | 1.5 |\n| c | -inf |\n")
    }

    @Test func plainPadsToTheWidestCellAndDropsTrailingSpaces() {
        let t = TextTable(header: ["x", "n"], rows: [["long name", "1"], ["y", "1000"]], numericColumns: [1])
        #expect(t.plain == "x             n\nlong name     1\ny          1000\n")
        // A short row is padded, not cut or crashed on.
        #expect(TextTable(header: ["a", "b"], rows: [["only"]]).plain == "a     b\nonly\n")
    }
}

@Suite struct SVGChartTests {
    /// A loss curve that diverges (NaN, inf) and a loss-scale curve that backs off from 2^16.
    static func charts() -> [SVGChart] {
        let steps = (0..<40).map(Double.init)
        let loss = steps.map { $0 < 30 ? 2 * exp(-$0 / 10) : ($0 < 35 ? .infinity : .nan) }
        let scale: [Double] = steps.map { $0 < 10 ? 65536 : ($0 < 20 ? 32768 : 16384) }
        var a = SVGChart(title: "loss", xLabel: "step", yLabel: "loss", lines: [.init(label: "run", color: "#1f77b4", x: steps, y: loss)], logY: true)
        a.marks = [([12, 30], "#d62728", "faults")]
        let b = SVGChart(title: "scale", xLabel: "step", yLabel: "scale", lines: [.init(label: "scale", color: "#9467bd", x: steps, y: scale)],
                         logY: true, logBase: 2)
        var c = SVGChart(title: "fraction", xLabel: "step", yLabel: "fraction", lines: [.init(label: "u", color: "#8c564b", x: steps, y: steps.map { $0 / 40 })])
        c.yRange = (0, 1)
        return [a, b, c]
    }

    static func attributes(_ svg: String) throws -> [String] {
        let pattern = try NSRegularExpression(pattern: #"\b(x|y|x1|x2|y1|y2|width|height|points)="([^"]*)""#)
        return pattern.matches(in: svg, range: NSRange(svg.startIndex..., in: svg)).map { String(svg[Range($0.range(at: 2), in: svg)!]) }
    }

    static func tickLabels(_ svg: String, anchor: String) throws -> [String] {
        let pattern = try NSRegularExpression(pattern: #"<text x="[^"]*" y="[^"]*" text-anchor="\#(anchor)">([^<]*)</text>"#)
        return pattern.matches(in: svg, range: NSRange(svg.startIndex..., in: svg)).map { String(svg[Range($0.range(at: 1), in: svg)!]) }
    }

    @Test func everyCoordinateIsFiniteAndTheAxesAreLabelled() throws {
        for chart in Self.charts() {
            let svg = chart.svg
            let values = try Self.attributes(svg).filter { $0 != "100%" }.flatMap { $0.split(whereSeparator: { $0 == " " || $0 == "," }) }
            #expect(!values.isEmpty)
            for v in values { #expect(Double(v)?.isFinite == true, "\(chart.title): coordinate \(v)") }
            #expect(svg.contains(">step</text>") && svg.contains(">\(chart.yLabel)\(chart.logY ? " (log)" : "")</text>"))
            #expect(svg.hasPrefix("<svg") || svg.hasPrefix("<?xml"))
        }
    }

    @Test func ticksReadAsTheNumbersTheyMark() throws {
        let (loss, scale, fraction) = (Self.charts()[0].svg, Self.charts()[1].svg, Self.charts()[2].svg)
        // The loss scale's axis is in powers of two: 2^14 ... 2^16, never "6.6e4" or "1e5".
        let scaleTicks = try Self.tickLabels(scale, anchor: "end")
        #expect(scaleTicks.contains("2^16") && scaleTicks.contains("2^14"), "\(scaleTicks)")
        #expect(!scaleTicks.contains { $0.contains("e") })
        // Every y tick is a number (or b^k) and x ticks are whole steps.
        for label in try Self.tickLabels(loss, anchor: "end") + Self.tickLabels(fraction, anchor: "end") {
            #expect(Double(label) != nil || label.contains("^"), "\(label)")
        }
        let xTicks = try Self.tickLabels(fraction, anchor: "middle").compactMap(Double.init)
        #expect(xTicks == [0, 10, 20, 30], "\(xTicks)")
        #expect(try Self.tickLabels(fraction, anchor: "end").compactMap(Double.init) == [0, 0.5, 1])
        // The diverged tail is not drawn: one polyline segment, 30 points.
        let polylines = loss.components(separatedBy: "<polyline").count - 1
        #expect(polylines == 1)
        // Where it became inf/NaN is marked, with a legend entry; the axis spans the finite values only.
        #expect(loss.contains(">×</text>") && loss.contains("became inf/NaN"))
    }

    /// A band is one polygon over the steps where both edges are finite; a legend of many entries wraps inside the
    /// chart's width and the plot makes room for it.
    @Test func bandsAndAWrappingLegend() throws {
        let steps = (0..<20).map(Double.init)
        var chart = SVGChart(title: "t", xLabel: "step", yLabel: "loss", lines: (0..<10).map { k in
            .init(label: "a strategy with a long name \(k)", color: "#123456", x: steps, y: steps.map { $0 + Double(k) + 1 })
        }, logY: true)
        chart.bands = [.init(color: "#123456", x: steps, low: steps.map { $0 == 5 ? .nan : $0 + 1 }, high: steps.map { $0 + 3 })]
        let svg = chart.svg
        #expect(svg.components(separatedBy: "<polygon").count - 1 == 1)
        let polygon = try #require(svg.firstMatch(of: /<polygon[^>]*points="([^"]*)"/)?.output.1)
        #expect(polygon.split(separator: " ").count == 2 * 19, "the step with a NaN edge is left out")
        let xs = svg.matches(of: /<text x="([0-9.]+)" y="[0-9.]+">a strategy/).compactMap { Double($0.output.1) }
        #expect(xs.count == 10 && xs.allSatisfy { $0 < chart.width })
        let rows = Set(svg.matches(of: /<text x="[0-9.]+" y="([0-9.]+)">a strategy/).map { String($0.output.1) })
        #expect(rows.count >= 3, "\(rows)")
    }

    @Test func aChartMatchesItsSnapshot() throws {
        try Snapshot.check(SVGChart.document(Self.charts()), "fixtures/reports/snapshots/charts.svg")
    }
}

@Suite struct LabReportTableTests {
    static func evaluation() -> NormEvaluation {
        let naive = AlgorithmEvaluation(algorithm: "naive", value: .infinity, accumulator: .float16, output: .float16, error: .infinity, ulps: .infinity,
                                        relative: .infinity, bitsLost: 11, overflowed: true, underflowed: false, bound: .infinity, boundUlps: .infinity,
                                        boundNote: "overflow", withinBound: nil)
        let kahan = AlgorithmEvaluation(algorithm: "kahan", value: 9486.8330, accumulator: .float32, output: .float32, error: 1e-4, ulps: 0.25,
                                        relative: 1e-8, bitsLost: 0, overflowed: false, underflowed: false, bound: 2e-3, boundUlps: 2,
                                        boundNote: nil, withinBound: true)
        return NormEvaluation(order: .two, count: 1000, storage: .float16, exact: 9486.832980505138, exactInStorage: 9488,
                              exactPath: "enclosure", algorithms: [naive, kahan])
    }

    @Test func reductionAndBenchmarkAndConformanceTables() throws {
        var text = ReductionReport.algorithmTable(Self.evaluation()).markdown + "\n"
        let fixture = ReductionFixture(family: .overflowSquares, format: .float16, count: 1000, seed: 1)
        text += ReductionReport.fixtureTables([(fixture, Self.evaluation())])
        text += ReductionReport.algorithmList([AlgorithmDescription(name: "naive", summary: "a running sum", accumulators: [(.float16, .float16)])]) + "\n"
        let rows = [BenchmarkRow(format: .float32, algorithm: "read", seconds: 0.01, count: 1 << 24, bytes: 1 << 26),
                    BenchmarkRow(format: .float32, algorithm: "naive", seconds: 0.02, count: 1 << 24, bytes: 1 << 26),
                    BenchmarkRow(format: .float32, algorithm: "exact", seconds: 0.022, count: 1 << 24, bytes: 1 << 26)]
        text += BenchmarkReport.table(rows).markdown + "\n" + BenchmarkReport.summary(rows).markdown + "\n"
        let checks = [ConformanceResult(check: "decode", format: .float16, cases: 65536, mismatches: 0, examples: []),
                      ConformanceResult(check: "Swift fma", format: .float16, cases: 10, mismatches: 2, examples: ["x"], testsLab: false),
                      ConformanceResult(check: "cast", format: .bfloat16, cases: 10, mismatches: 1, examples: ["y"])]
        text += FormatReport.conformanceTable(checks).markdown
        #expect(text.contains("| naive | float16 | inf | inf |") && text.contains("| O"))
        #expect(text.contains("| pass |") && text.contains("| finding |") && text.contains("| FAIL |"))
        try Snapshot.check(text, "fixtures/reports/snapshots/tables.md")
    }
}

/// Table cells hold names from users' files: a newline or an escape code in a tensor name stays escaped, one row per line.
@Suite struct TableEscapingTests {
    @Test func controlCharactersInCellsAreEscaped() {
        let table = TextTable(header: ["tensor", "norm"], rows: [["bad\nname\u{1B}[31m|x", "1"]])
        #expect(table.markdown == "| tensor | norm |\n|---|---|\n| bad\\nname\\u{1b}[31m\\|x | 1 |\n")
        #expect(table.plain.split(separator: "\n").count == 2 && !table.plain.contains("\u{1B}"))
    }
}
