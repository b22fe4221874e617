import Base
import Formats
import Testing

@Suite("JSONValue")
struct JSONValueTests {
    @Test func keepsMemberOrderDuplicatesAndLiteralNumbers() throws {
        let value = try JSONValue(parsing: #" {"b": [1, -2.5e3, true, null], "a": {"x": "y"}, "b": 0} "#)
        let members = try #require(value.objectValue)
        #expect(members.map(\.key) == ["b", "a", "b"])
        #expect(members[0].value == .array([.number("1"), .number("-2.5e3"), .bool(true), .null]))
        #expect(value["a"]?["x"]?.stringValue == "y")
        #expect(value["b"]?.arrayValue?.count == 4)   // the first of the duplicates
    }

    @Test func integerAccessRejectsFractionsExponentsAndOverflow() throws {
        #expect(try JSONValue(parsing: "123").intValue == 123)
        #expect(try JSONValue(parsing: "-7").intValue == -7)
        #expect(try JSONValue(parsing: "9223372036854775807").intValue == Int.max)
        #expect(try JSONValue(parsing: "9223372036854775808").intValue == nil)
        #expect(try JSONValue(parsing: "1.5").intValue == nil)
        #expect(try JSONValue(parsing: "1e30").intValue == nil)
        #expect(try JSONValue(parsing: "1.0").intValue == nil)
        #expect(try JSONValue(parsing: "1e30").doubleValue == 1e30)
        #expect(try JSONValue(parsing: #""3""#).intValue == nil)
    }

    @Test func decodesEscapes() throws {
        let value = try JSONValue(parsing: #""a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00\u0001""#)
        #expect(value == .string("a\"b\\c/d\u{08}\u{0C}\n\r\té😀\u{01}"))
        #expect(try JSONValue(parsing: "\"ünï 日本\"") == .string("ünï 日本"))
    }

    @Test(arguments: [
        "", " ", "{", "}", "[1,]", #"{"a":1,}"#, #"{"a" 1}"#, #"{a:1}"#, "[1 2]", "01", "-", "1.", ".5", "1e", "+1",
        "tru", "nul", "True", "NaN", "Infinity", "'a'", #""\x""#, #""\ud800""#, #""\ud800\u0041""#, #""\udc00""#,
        #""\u12""#, "\"a\nb\"", "\"abc", "1 2", "[1]]", "{\"a\":1}}", "/* c */ 1",
    ])
    func rejectsInvalidJSON(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: text) }
    }

    @Test func rejectsInvalidUTF8() {
        for bytes: [UInt8] in [[0x22, 0xFF, 0x22], [0x22, 0xC3, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0x5C, 0x6E, 0xC3, 0x22]] {
            #expect(throws: JSONParseError.self) { try bytes.withUnsafeBytes { try JSONValue(parsing: $0) } }
        }
    }

    @Test func limitsNestingDepthWithoutRecursingForever() throws {
        let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(throws: Never.self) { try JSONValue(parsing: ok) }
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        let error = try #require(throws: JSONParseError.self) { try JSONValue(parsing: deep) }
        #expect(error.message.contains("deeper than 64"))
        // A hostile document far deeper than any stack could take must fail fast, not crash.
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: String(repeating: #"{"a":["#, count: 200_000)) }
    }

    @Test func compactTextMatchesSerdeStyleAndRoundTrips() throws {
        let value = JSONValue.object([
            ("q\"\\\n\t\u{01}\u{1F}é", .array([.integer(0), .integer(-5), .bool(false), .null])),
            ("s", .string("/ 😀 \u{7F}")),
        ])
        let text = value.compactText
        #expect(text == #"{"q\"\\\n\t\u0001\u001fé":[0,-5,false,null],"s":"/ 😀 "# + "\u{7F}" + #""}"#)
        #expect(try JSONValue(parsing: text) == value)
    }
}

/// Escapes are decoded in linear time: a hostile header of a million escapes parses at once. (The limit is generous
/// because it counts the time the test waits for a core while the suite's training tests run; a quadratic decoder
/// would need far longer.)
@Suite struct JSONEscapeScalingTests {
    @Test(.timeLimit(.minutes(10))) func millionEscapes() throws {
        let text = "{\"k\":\"" + String(repeating: "\\n", count: 1_000_000) + "\"}"
        let value = try JSONValue(parsing: text)
        #expect(value["k"]?.stringValue?.utf8.count == 1_000_000)
    }
}

/// The non-finite numbers are written and read in one place.
@Suite struct NonFiniteJSONTests {
    @Test func everyDoubleRoundTripsThroughItsJSON() throws {
        var rng = SeededGenerator(seed: 11)
        let special: [Double] = [.infinity, -.infinity, .nan, 0, -0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 0.1]
        for x in special + (0..<10_000).map({ _ in Double(bitPattern: rng.next()) }) {
            let back = try #require(JSONValue(parsing: JSONValue.double(x).compactText).numberValue)
            #expect(back.bitPattern == x.bitPattern || (x.isNaN && back.isNaN), "\(x)")
        }
        #expect(JSONValue.string("Infinity").numberValue == nil && JSONValue.string("1").numberValue == nil && JSONValue.null.numberValue == nil)
    }
}
