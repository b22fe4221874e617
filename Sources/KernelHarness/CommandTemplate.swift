/// A kernel's command line with placeholders, run without a shell: the template is split into words once (on
/// blanks, with '…' and "…" quoting and \ escaping as a shell would), then each placeholder is replaced inside
/// its word, so a path with spaces stays one argument. `{{` and `}}` are literal braces.
public struct CommandTemplate: Sendable, Equatable {
    /// Per case: the .safetensors input, its x and y as .npy (when exported with --npy), the output path, the
    /// reduction, dtype, axis ("none" or "-1"), the rows and the length of each, and the case's name.
    public static let casePlaceholders = ["input", "x", "y", "output", "reduction", "dtype", "axis", "rows", "length", "name"]
    /// With --batch: a manifest of the selected cases and the directory to write `<name>.npy|.json|.safetensors` into.
    public static let batchPlaceholders = ["manifest", "outdir"]

    enum Piece: Sendable, Equatable {
        case text(String)
        case placeholder(String)
    }

    let words: [[Piece]]
    public let source: String

    /// Parses `text`, allowing only `placeholders`.
    public init(_ text: String, placeholders: [String]) throws(KernelHarnessError) {
        source = text
        var words = [[Piece]](), word = [Piece](), literal = "", inWord = false
        var quote: Character?
        var chars = Array(text)[...]
        func flushLiteral() { if !literal.isEmpty { word.append(.text(literal)); literal = "" } }
        func brace(_ c: Character) throws(KernelHarnessError) {
            if chars.first == c { chars.removeFirst(); literal.append(c); return }
            guard c == "{" else { throw KernelHarnessError("--command", "has a lone '}' (write '}}' for a brace)") }
            guard let end = chars.firstIndex(of: "}") else { throw KernelHarnessError("--command", "has an unclosed '{'") }
            let name = String(chars[chars.startIndex..<end])
            guard placeholders.contains(name) else {
                throw KernelHarnessError("--command", "unknown placeholder {\(name)}; use \(placeholders.map { "{\($0)}" }.joined(separator: " "))")
            }
            flushLiteral()
            word.append(.placeholder(name))
            chars = chars[chars.index(after: end)...]
        }
        while let c = chars.popFirst() {
            if c == "\\" && quote != "'" {
                guard let next = chars.popFirst() else { throw KernelHarnessError("--command", "ends with a lone backslash") }
                literal.append(next); inWord = true
            } else if let q = quote {
                if c == q { quote = nil } else if c == "{" || c == "}" { try brace(c) } else { literal.append(c) }
            } else if c == "'" || c == "\"" {
                quote = c; inWord = true
            } else if c == " " || c == "\t" || c == "\n" {
                if inWord { flushLiteral(); words.append(word); word = []; inWord = false }
            } else if c == "{" || c == "}" {
                try brace(c); inWord = true
            } else {
                literal.append(c); inWord = true
            }
        }
        guard quote == nil else { throw KernelHarnessError("--command", "has an unclosed quote") }
        if inWord { flushLiteral(); words.append(word) }
        guard !words.isEmpty else { throw KernelHarnessError("--command", "is empty") }
        self.words = words
    }

    /// The placeholders the template uses.
    public var placeholders: Set<String> {
        Set(words.flatMap { $0 }.compactMap { if case .placeholder(let name) = $0 { return name } else { return nil } })
    }

    /// The argument vector with every placeholder replaced by `values[name]` (empty when missing).
    public func arguments(_ values: [String: String]) -> [String] {
        words.map { pieces in
            pieces.map { piece in
                switch piece {
                case .text(let text): return text
                case .placeholder(let name): return values[name] ?? ""
                }
            }.joined()
        }
    }
}
