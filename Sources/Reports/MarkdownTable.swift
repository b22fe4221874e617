import Base

/// A GitHub-flavoured Markdown table, and the same rows aligned as plain text for the terminal.
public struct TextTable: Sendable {
    public var header: [String]
    public var rows: [[String]]
    /// Columns whose cells are right-aligned (numbers).
    public var numericColumns: Set<Int>

    public init(header: [String], rows: [[String]] = [], numericColumns: Set<Int> = []) {
        self.header = header; self.rows = rows; self.numericColumns = numericColumns
    }

    public var markdown: String {
        func line(_ cells: [String]) -> String {
            // Cells hold names from users' files: control characters are escaped, so a row stays one line.
            "| " + cells.map { escapingControlCharacters($0).replacingPipes }.joined(separator: " | ") + " |"
        }
        let rule = "|" + header.indices.map { numericColumns.contains($0) ? "---:|" : "---|" }.joined()
        return ([line(header), rule] + rows.map(line)).joined(separator: "\n") + "\n"
    }

    /// Columns padded to their widest cell, two spaces apart.
    public var plain: String {
        let all = ([header] + rows).map { $0.map(escapingControlCharacters) }
        let widths = header.indices.map { c in all.map { $0.indices.contains(c) ? $0[c].count : 0 }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { c, cell in
                let pad = String(repeating: " ", count: max(0, widths[c] - cell.count))
                return numericColumns.contains(c) ? pad + cell : cell + pad
            }.joined(separator: "  ").trailingSpacesRemoved
        }
        return all.map(line).joined(separator: "\n") + "\n"
    }
}

extension String {
    var replacingPipes: String { String(flatMap { $0 == "|" ? ["\\", "|"] : [$0] }) }
    var trailingSpacesRemoved: String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
