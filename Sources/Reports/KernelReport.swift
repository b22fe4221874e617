import Base
import Formats
import Results

/// The outputs of `kernels test`: a Markdown report with a histogram of errors (SVG), JSON, and JUnit XML.
public enum KernelReport {
    /// Long: the report's sections in order: the verdict, the table per reduction and family, the failed cases,
    /// the histogram, the bounds of the reductions tested.
    public static func markdown(_ run: KernelTestRun, histogramFile: String?, bounds: [(KernelReduction, String)]) -> String {
        let passed = run.results.count - run.failedCount
        var out = "# Kernel test\n\n"
        out += "**\(passed) of \(run.results.count) cases passed**" + (run.allPassed ? "." : ", \(run.failedCount) failed.") + "\n\n"
        out += TextTable(header: ["", ""], rows: [
            ["kernel", "`\(run.kernel)`"], ["tolerance", run.tolerance.description],
            ["runs per case", run.repeats == 1 ? "1" : "\(run.repeats) (results must be the same bits every time)"],
            ["cases", run.casesDirectory.isEmpty ? "the default cases, exported for this run" : "`\(run.casesDirectory)/manifest.json`"], ["time", "\(Figures.fixed(run.seconds, 1)) s"],
        ]).markdown + "\n"
        out += "## Results by reduction and family\n\n"
        out += "Errors are steps between adjacent values of the case's format (ulps; 0: correctly rounded); a NaN or inf "
            + "matches only the same. The worst case is the one with the largest error among the failed cases, else among all.\n\n"
        out += summaryTable(run.results).markdown + "\n"
        let failed = run.results.filter { !$0.passed }
        if !failed.isEmpty {
            out += "## Failed cases\n\n"
            let shown = failed.prefix(40)
            out += TextTable(header: ["case", "file", "why"], rows: shown.map { [$0.name, $0.file, reason($0)] }).markdown
            if failed.count > shown.count { out += "\n… and \(failed.count - shown.count) more (all are in `--json` and `--junit`).\n" }
            out += "\n"
        }
        out += "## Errors in ulps\n\n"
        if let histogramFile { out += "![errors in ulps](\(histogramFile))\n\n" }
        let buckets = histogram(run.results)
        out += TextTable(header: buckets.map(\.label), rows: [buckets.map { String($0.count) }], numericColumns: Set(buckets.indices)).markdown + "\n"
        out += "## Bounds (`--tolerance bound`)\n\n"
        out += "A-priori bounds of the textbook algorithm in the accumulator format (unit roundoff u, γ(k) = ku/(1 − ku)), "
            + "without underflow or overflow, plus the final rounding into the result's format: B·(1 + u_o) + u_o·|y|; "
            + "a result passes `bound:K` when |v − ref| ≤ K·B + ulp(ref)/2.\n\n"
        out += TextTable(header: ["reduction", "B"], rows: bounds.map { [$0.0.rawValue, $0.1] }).markdown
        return out
    }

    static func reason(_ r: KernelCaseResult) -> String {
        let text = r.failure ?? ""
        return text.hasPrefix(r.name + ": ") ? String(text.dropFirst(r.name.count + 2)) : text
    }

    /// One row per (reduction, family), formats together.
    public static func summaryTable(_ results: [KernelCaseResult]) -> TextTable {
        var order = [String](), groups = [String: [KernelCaseResult]]()
        for r in results {
            let key = r.reduction.rawValue + "\t" + r.family
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(r)
        }
        let rows = order.map { key -> [String] in
            let group = groups[key]!
            let failed = group.filter { !$0.passed }
            let pool = failed.isEmpty ? group : failed
            let worst = pool.max { $0.worstUlps < $1.worstUlps }!
            let parts = key.split(separator: "\t").map(String.init)
            let index = worst.ulps.count > 1 ? " row \(worst.worstIndex)" : ""
            var formats = [String]()
            for r in group where !formats.contains(r.format.shortName) { formats.append(r.format.shortName) }
            return [parts[0], parts[1], formats.joined(separator: " "), String(group.count - failed.count),
                    String(failed.count), Figures.ulps(worst.worstUlps), "\(worst.file)\(index)"]
        }
        return TextTable(header: ["reduction", "family", "formats", "passed", "failed", "worst ulps", "worst case"], rows: rows,
                         numericColumns: [3, 4, 5])
    }

    /// Errors of every result, in buckets 0, 1, 2-3, 4-7, …, 2^20 and more, and non-finite mismatches.
    public static func histogram(_ results: [KernelCaseResult]) -> [(label: String, count: Int)] {
        var counts = [Int](repeating: 0, count: 23)
        for u in results.flatMap(\.ulps) {
            if !u.isFinite { counts[22] += 1 } else if u == 0 { counts[0] += 1 } else {
                counts[min(Int(u.exponent) + 1, 21)] += 1
            }
        }
        let labels = (0..<23).map { i -> String in
            switch i {
            case 0: return "0"
            case 1: return "1"
            case 21: return "≥2^20"
            case 22: return "inf/NaN"
            default: return "\(1 << (i - 1))–\((1 << i) - 1)"
            }
        }
        let used = counts.indices.filter { counts[$0] > 0 || $0 <= 1 }
        return used.map { (labels[$0], counts[$0]) }
    }

    /// The histogram as an SVG bar chart with the counts written on the bars.
    public static func histogramSVG(_ results: [KernelCaseResult]) -> String {
        let buckets = histogram(results)
        let width = 74 * buckets.count + 80, height = 260, top = 30, bottom = 200
        let largest = max(buckets.map(\.count).max() ?? 1, 1)
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" font-family=\"sans-serif\" font-size=\"12\">\n"
        svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        svg += "<text x=\"\(width / 2)\" y=\"18\" text-anchor=\"middle\" font-size=\"14\">Errors of the kernel's results in ulps (\(results.flatMap(\.ulps).count) results)</text>\n"
        for (i, b) in buckets.enumerated() {
            let h = Int((Double(b.count) / Double(largest) * Double(bottom - top)).rounded())
            let x = 50 + 74 * i
            let color = b.label == "0" ? "#2a9d8f" : b.label == "inf/NaN" ? "#d62828" : "#e9c46a"
            svg += "<rect x=\"\(x)\" y=\"\(bottom - h)\" width=\"60\" height=\"\(h)\" fill=\"\(color)\"/>\n"
            svg += "<text x=\"\(x + 30)\" y=\"\(bottom - h - 4)\" text-anchor=\"middle\">\(b.count)</text>\n"
            svg += "<text x=\"\(x + 30)\" y=\"\(bottom + 16)\" text-anchor=\"middle\">\(escape(b.label))</text>\n"
        }
        svg += "<line x1=\"45\" y1=\"\(bottom)\" x2=\"\(width - 20)\" y2=\"\(bottom)\" stroke=\"black\"/>\n"
        svg += "<text x=\"\(width / 2)\" y=\"\(bottom + 40)\" text-anchor=\"middle\">error in ulps of the result's format</text>\n"
        return svg + "</svg>\n"
    }

    /// Text for XML: control characters escaped as the lab prints them (XML 1.0 allows none but tab and newlines).
    static func xml(_ text: String) -> String { escape(escapingControlCharacters(text)) }

    /// JUnit XML: one testsuite per reduction, one testcase per case, a failure element with the reason.
    public static func junit(_ run: KernelTestRun) -> String {
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<testsuites name=\"precision-lab kernels\" tests=\"\(run.results.count)\" failures=\"\(run.failedCount)\" time=\"\(Figures.fixed(run.seconds, 3))\">\n"
        for reduction in KernelReduction.allCases {
            let cases = run.results.filter { $0.reduction == reduction }
            guard !cases.isEmpty else { continue }
            out += "  <testsuite name=\"\(reduction.rawValue)\" tests=\"\(cases.count)\" failures=\"\(cases.filter { !$0.passed }.count)\">\n"
            for c in cases {
                let head = "    <testcase classname=\"\(xml(reduction.rawValue + "." + c.family))\" name=\"\(xml(c.name))\""
                if c.passed {
                    out += head + "/>\n"
                } else {
                    out += head + ">\n      <failure message=\"\(xml(reason(c)))\">\(xml(c.failure ?? ""))&#10;input: \(xml(c.file))</failure>\n    </testcase>\n"
                }
            }
            out += "  </testsuite>\n"
        }
        return out + "</testsuites>\n"
    }

    /// The whole run as one JSON document.
    public static func json(_ run: KernelTestRun) -> JSONValue {
        .object([
            ("kernel", .string(run.kernel)), ("tolerance", .string(run.tolerance.description)), ("repeats", .integer(run.repeats)),
            ("cases", .integer(run.results.count)), ("failed", .integer(run.failedCount)), ("seconds", .double(run.seconds)),
            ("results", .array(run.results.map { r in
                .object([
                    ("name", .string(r.name)), ("reduction", .string(r.reduction.rawValue)), ("family", .string(r.family)),
                    ("dtype", .string(r.format.shortName)), ("file", .string(r.file)), ("passed", .bool(r.passed)),
                    ("failure", r.failure.map { .string($0) } ?? .null), ("worst_index", .integer(r.worstIndex)),
                    ("worst_ulps", .double(r.worstUlps)), ("value", r.worstValue.map { .double($0) } ?? .null),
                    ("expected", .double(r.worstExpected)), ("allowed", r.allowed.map { .double($0) } ?? .null),
                ])
            })),
        ])
    }
}
