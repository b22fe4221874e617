import Base

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

/// Quotes a name taken from a file for an error message: escaped, and cut short so that a hostile 100 MB
/// tensor name cannot produce a 100 MB message.
func quoted(_ text: String, limit: Int = 80) -> String {
    let short = text.count > limit ? String(text.prefix(limit)) + "…" : text
    return "'" + escapingControlCharacters(short) + "'"
}
