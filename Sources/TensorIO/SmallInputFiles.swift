import Base

/// A small JSON input file parsed whole from memory (the fuzzers call `init(parsing:path:)` directly).
public protocol SmallInputFile: Sendable {
    init(parsing bytes: UnsafeRawBufferPointer, path: String) throws(TensorIOError)
}

extension SmallInputFile {
    /// Reads and validates `path`.
    public init(path: String) throws(TensorIOError) {
        let file = try MappedFile(path: path)
        try self.init(parsing: file.bytes, path: path)
    }
}

/// A loss-scaler trace: `{"overflow": [false, true, ...]}`, one flag per step, and for the amax scaler
/// `"amax": [numbers]`, one per step.
public struct ScalerTrace: SmallInputFile, Equatable {
    public var overflow: [Bool]
    public var amax: [Double]?

    /// Parses a trace held in memory; `path` names it in errors. Exposed for the fuzzers and tests.
    public init(parsing bytes: UnsafeRawBufferPointer, path: String) throws(TensorIOError) {
        func fail(_ message: String) -> TensorIOError { TensorIOError(path: path, message: message) }
        let json: JSONValue
        do { json = try JSONValue(parsing: bytes) } catch { throw fail("not JSON: \(error)") }
        guard let members = json.objectValue else { throw fail("expected {\"overflow\": [true/false, ...]}") }
        if let key = json.repeatedKey { throw fail("the key \(quoted(key)) appears twice") }
        for (key, _) in members {
            guard key == "overflow" || key == "amax" else { throw fail("unknown key \(quoted(key)) (a trace has \"overflow\" and, for the amax scaler, \"amax\")") }
        }
        guard let entries = json["overflow"]?.arrayValue else { throw fail("expected {\"overflow\": [true/false, ...]}") }
        guard !entries.isEmpty else { throw fail("\"overflow\" is empty: a trace needs at least one step") }
        var flags = [Bool]()
        flags.reserveCapacity(entries.count)
        for (i, entry) in entries.enumerated() {
            guard case .bool(let flag) = entry else { throw fail("overflow[\(i)] is not true or false") }
            flags.append(flag)
        }
        overflow = flags
        if let values = json["amax"] {
            guard let items = values.arrayValue, items.count == flags.count else {
                throw fail("\"amax\" must be a list of \(flags.count) numbers, one per step")
            }
            var numbers = [Double]()
            numbers.reserveCapacity(items.count)
            for (i, item) in items.enumerated() {
                guard let d = item.numberValue else { throw fail("amax[\(i)] is not a number") }
                // An amax is a largest magnitude: inf or NaN (an overflowed step) can be one, a negative number cannot.
                guard !(d < 0) else { throw fail("amax[\(i)] is \(d); an amax is a magnitude, at least 0") }
                numbers.append(d)
            }
            amax = numbers
        }
    }
}

/// The expected values of `check --expect-file`: a non-empty JSON object `{"tensor name": number, ...}`, in file order.
public struct ExpectedValues: SmallInputFile, Equatable {
    public var entries: [(name: String, value: Double)]

    public static func == (a: Self, b: Self) -> Bool {
        a.entries.count == b.entries.count && zip(a.entries, b.entries).allSatisfy { $0.name == $1.name && $0.value.bitPattern == $1.value.bitPattern }
    }

    /// Parses the object held in memory; `path` names it in errors. Exposed for the fuzzers and tests.
    public init(parsing bytes: UnsafeRawBufferPointer, path: String) throws(TensorIOError) {
        func fail(_ message: String) -> TensorIOError { TensorIOError(path: path, message: message) }
        let value: JSONValue
        do { value = try JSONValue(parsing: bytes) } catch { throw fail("is not JSON: \(error)") }
        guard let members = value.objectValue, !members.isEmpty else {
            throw fail("must be a non-empty JSON object of expected values by tensor name")
        }
        var seen = Set<String>()
        entries = []
        for (key, v) in members {
            guard seen.insert(key).inserted else { throw fail("names tensor \(quoted(key)) twice") }
            guard let d = v.numberValue else { throw fail("the value for \(quoted(key)) is not a number") }
            entries.append((key, d))
        }
    }
}
