/// The one error type TensorIO throws for bad files and bad writer arguments.
///
/// It always names the file, because the lab opens many tensor files in one run and an error without a path
/// is useless in a log. `description` is a single line (control characters in the path or message are
/// escaped) so that it can be grepped and printed as one log entry.
public struct TensorIOError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(escapingControlCharacters(path)): \(escapingControlCharacters(message))" }
}

/// Escapes characters that would break a one-line message: C0/C1 controls, DEL and the Unicode line and
/// paragraph separators.
public func escapingControlCharacters(_ text: String) -> String {
    guard text.unicodeScalars.contains(where: needsEscape) else { return text }
    var out = ""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where needsEscape(scalar): out += "\\u{" + String(scalar.value, radix: 16) + "}"
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out
}

private func needsEscape(_ s: Unicode.Scalar) -> Bool {
    s.value < 0x20 || (0x7F...0x9F).contains(s.value) || s.value == 0x2028 || s.value == 0x2029
}

/// Quotes a name taken from a file for an error message: escaped, and cut short so that a hostile 100 MB
/// tensor name cannot produce a 100 MB message.
func quoted(_ text: String, limit: Int = 80) -> String {
    let short = text.count > limit ? String(text.prefix(limit)) + "…" : text
    return "'" + escapingControlCharacters(short) + "'"
}
