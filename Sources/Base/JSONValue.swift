/// A JSON document as parsed from (or written into) a safetensors header.
///
/// Objects keep their members in document order and keep duplicate keys, so the caller decides what a
/// duplicate means (safetensors rejects them) and metadata can be reported in file order. Numbers keep their
/// literal text: a safetensors offset must be an integer, and keeping the text lets `1.5` or `1e30` be
/// rejected instead of being silently rounded through a `Double`.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// The literal exactly as written, already checked against the JSON number grammar.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([(key: String, value: JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case let (.bool(a), .bool(b)): a == b
        case let (.number(a), .number(b)): a == b
        case let (.string(a), .string(b)): a == b
        case let (.array(a), .array(b)): a == b
        case let (.object(a), .object(b)): a.elementsEqual(b) { $0.key == $1.key && $0.value == $1.value }
        default: false
        }
    }

    /// A number from an integer (the writer's only kind of number).
    public static func integer(_ value: Int) -> JSONValue { .number(String(value)) }

    /// The value of an integer literal (no fraction, no exponent) that fits in `Int`; nil otherwise.
    public var intValue: Int? {
        guard case .number(let text) = self else { return nil }
        return Int(text)   // nil for "1.5", "1e30" and anything that overflows
    }

    /// The nearest `Double` to a number literal.
    public var doubleValue: Double? {
        guard case .number(let text) = self else { return nil }
        return Double(text)
    }

    /// A number as the lab writes numbers (`double(_:)`): a number literal, or one of the strings "inf",
    /// "-inf" and "nan". The one decoder of non-finite JSON numbers; nil for anything else.
    public var numberValue: Double? {
        switch self {
        case .number(let text): return Double(text)
        case .string("inf"): return .infinity
        case .string("-inf"): return -.infinity
        case .string("nan"): return .nan
        default: return nil
        }
    }

    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public var stringValue: String? {
        guard case .string(let text) = self else { return nil }
        return text
    }

    public var arrayValue: [JSONValue]? {
        guard case .array(let items) = self else { return nil }
        return items
    }

    public var objectValue: [(key: String, value: JSONValue)]? {
        guard case .object(let members) = self else { return nil }
        return members
    }

    /// The first member named `key` of an object.
    public subscript(key: String) -> JSONValue? {
        objectValue?.first { $0.key == key }?.value
    }
}

/// Why a JSON text was rejected, with the byte offset where parsing stopped.
public struct JSONParseError: Error, Sendable, CustomStringConvertible {
    public let offset: Int
    public let message: String
    public var description: String { "\(message) at byte \(offset)" }
}

// MARK: - Parsing

extension JSONValue {
    /// Nesting limit: the parser is recursive, and a hostile header of 100 MB of `[` must not overflow
    /// the stack. Real safetensors headers nest three levels deep.
    public static let defaultMaxDepth = 64

    /// Parses a complete RFC 8259 JSON text (surrounding whitespace allowed). Strict: no comments, no
    /// trailing commas, no leading zeros, no lone surrogates, no raw control characters, valid UTF-8.
    public init(parsing bytes: UnsafeRawBufferPointer, maxDepth: Int = JSONValue.defaultMaxDepth) throws(JSONParseError) {
        var parser = JSONParser(bytes: bytes, maxDepth: maxDepth)
        self = try parser.parseDocument()
    }

    public init(parsing text: String, maxDepth: Int = JSONValue.defaultMaxDepth) throws(JSONParseError) {
        let result = Array(text.utf8).withUnsafeBytes { bytes in
            Result { () throws(JSONParseError) in try JSONValue(parsing: bytes, maxDepth: maxDepth) }
        }
        self = try result.get()
    }
}

private struct JSONParser {
    let bytes: UnsafeRawBufferPointer
    let maxDepth: Int
    var index = 0

    init(bytes: UnsafeRawBufferPointer, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        skipWhitespace()
        let value = try parseValue(depth: 0)
        skipWhitespace()
        guard index == bytes.count else { throw failure("unexpected \(describe(bytes[index])) after the JSON value") }
        return value
    }

    private func failure(_ message: String) -> JSONParseError { JSONParseError(offset: index, message: message) }

    private func describe(_ byte: UInt8) -> String {
        (0x21..<0x7F).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x" + String(byte, radix: 16)
    }

    private mutating func skipWhitespace() {
        while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
    }

    private mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
        guard index < bytes.count else { throw failure("unexpected end of JSON") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectWord("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectWord("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectWord("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        case let byte: throw failure("unexpected \(describe(byte))")
        }
    }

    private mutating func expectWord(_ word: StaticString) throws(JSONParseError) {
        let matches = word.withUTF8Buffer { expected in
            bytes.count - index >= expected.count && expected.indices.allSatisfy { bytes[index + $0] == expected[$0] }
        }
        guard matches else { throw failure("invalid literal (expected \(word))") }
        index += word.utf8CodeUnitCount
    }

    private mutating func expect(_ ascii: Unicode.Scalar, _ what: String) throws(JSONParseError) {
        guard index < bytes.count, bytes[index] == UInt8(ascii: ascii) else {
            throw failure(index < bytes.count ? "expected \(what) but found \(describe(bytes[index]))" : "expected \(what) but the JSON ended")
        }
        index += 1
    }

    private mutating func enter(_ depth: Int) throws(JSONParseError) {
        guard depth <= maxDepth else { throw failure("JSON nested deeper than \(maxDepth) levels") }
        index += 1   // the opening bracket
        skipWhitespace()
    }

    private mutating func parseObject(depth: Int) throws(JSONParseError) -> JSONValue {
        try enter(depth)
        var members: [(key: String, value: JSONValue)] = []
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
        while true {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                throw failure(index < bytes.count ? "expected a string key but found \(describe(bytes[index]))" : "unterminated object")
            }
            let key = try parseString()
            skipWhitespace()
            try expect(":", "':'")
            skipWhitespace()
            members.append((key, try parseValue(depth: depth)))
            skipWhitespace()
            guard index < bytes.count else { throw failure("unterminated object") }
            if bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
            try expect(",", "',' or '}'")
            skipWhitespace()
        }
    }

    private mutating func parseArray(depth: Int) throws(JSONParseError) -> JSONValue {
        try enter(depth)
        var items: [JSONValue] = []
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return .array(items) }
        while true {
            items.append(try parseValue(depth: depth))
            skipWhitespace()
            guard index < bytes.count else { throw failure("unterminated array") }
            if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(items) }
            try expect(",", "',' or ']'")
            skipWhitespace()
        }
    }

    /// Number grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    private mutating func parseNumber() throws(JSONParseError) -> String {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else { throw failure("invalid number") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count, isDigit(bytes[index]) { throw failure("invalid number (leading zero)") }
        } else {
            skipDigits()
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw failure("invalid number (no digit after '.')") }
            skipDigits()
        }
        if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { throw failure("invalid number (empty exponent)") }
            skipDigits()
        }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }
    private mutating func skipDigits() { while index < bytes.count, isDigit(bytes[index]) { index += 1 } }

    /// Parses a string starting at its opening quote. Raw runs are copied only when escapes force it.
    private mutating func parseString() throws(JSONParseError) -> String {
        index += 1
        let start = index
        var runStart = index
        // One buffer appended in place: copying it per escape would make hostile headers quadratic.
        var decoded: [UInt8] = []
        var escaped = false
        while true {
            guard index < bytes.count else { throw failure("unterminated string") }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") { break }
            if byte < 0x20 { throw failure("raw control character \(describe(byte)) in string") }
            guard byte == UInt8(ascii: "\\") else { index += 1; continue }
            escaped = true
            decoded.append(contentsOf: bytes[runStart..<index])
            index += 1
            guard index < bytes.count else { throw failure("unterminated string") }
            let escape = bytes[index]
            index += 1
            switch escape {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): decoded.append(escape)
            case UInt8(ascii: "b"): decoded.append(0x08)
            case UInt8(ascii: "f"): decoded.append(0x0C)
            case UInt8(ascii: "n"): decoded.append(0x0A)
            case UInt8(ascii: "r"): decoded.append(0x0D)
            case UInt8(ascii: "t"): decoded.append(0x09)
            case UInt8(ascii: "u"):
                var value = try parseHex4()
                if (0xD800...0xDBFF).contains(value) {
                    guard bytes.count - index >= 2, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                        throw failure("lone high surrogate in \\u escape")
                    }
                    index += 2
                    let low = try parseHex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw failure("invalid low surrogate in \\u escape") }
                    value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(value) {
                    throw failure("lone low surrogate in \\u escape")
                }
                guard let scalar = Unicode.Scalar(value) else { throw failure("invalid \\u escape") }
                UTF8.encode(scalar) { decoded.append($0) }
            default:
                index -= 1
                throw failure("invalid escape \\\(describe(escape))")
            }
            runStart = index
        }
        let end = index
        index += 1   // closing quote
        let text: String?
        if escaped {
            decoded.append(contentsOf: bytes[runStart..<end])
            text = String(validating: decoded, as: UTF8.self)
        } else {
            text = String(validating: UnsafeRawBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
        }
        guard let text else { index = start; throw failure("string is not valid UTF-8") }
        return text
    }

    private mutating func parseHex4() throws(JSONParseError) -> UInt32 {
        guard bytes.count - index >= 4 else { throw failure("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure("invalid hex digit in \\u escape")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }
}

// MARK: - Writing

extension JSONValue {
    /// Compact JSON text with no insignificant whitespace, escaping like serde_json (the Rust safetensors
    /// writer), so TensorIO's headers match the reference implementation byte for byte.
    public var compactText: String {
        var out = ""
        write(into: &out, indent: nil, level: 0)
        return out
    }

    /// The same document with `indent` spaces per nesting level and `": "` after keys, for people to read.
    public func prettyText(indent: Int = 2) -> String {
        var out = ""
        write(into: &out, indent: indent, level: 0)
        return out
    }

    /// A Double with the shortest text that reads back as the same value; JSON has no inf or NaN, so those
    /// become the strings "inf", "-inf" and "nan" (the lab's convention for every --json output).
    public static func double(_ value: Double) -> JSONValue {
        if value.isNaN { return .string("nan") }
        if value.isInfinite { return .string(value < 0 ? "-inf" : "inf") }
        return .number(value.description)
    }

    private func write(into out: inout String, indent: Int?, level: Int) {
        let newline = indent.map { "\n" + String(repeating: " ", count: $0 * (level + 1)) } ?? ""
        let closing = indent.map { "\n" + String(repeating: " ", count: $0 * level) } ?? ""
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .number(let text): out += text
        case .string(let text): JSONValue.writeString(text, into: &out)
        case .array(let items):
            guard !items.isEmpty else { out += "[]"; return }
            out += "["
            for (i, item) in items.enumerated() {
                out += (i > 0 ? "," : "") + newline
                item.write(into: &out, indent: indent, level: level + 1)
            }
            out += closing + "]"
        case .object(let members):
            guard !members.isEmpty else { out += "{}"; return }
            out += "{"
            for (i, member) in members.enumerated() {
                out += (i > 0 ? "," : "") + newline
                JSONValue.writeString(member.key, into: &out)
                out += indent == nil ? ":" : ": "
                member.value.write(into: &out, indent: indent, level: level + 1)
            }
            out += closing + "}"
        }
    }

    private static func writeString(_ text: String, into out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
