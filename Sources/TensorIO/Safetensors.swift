import Base
/// Reading and header writing for the safetensors format:
///
///     [u64 little-endian N] [N bytes of UTF-8 JSON header] [tensor data]
///
/// The header maps each tensor name to `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets relative
/// to the first data byte) plus an optional `"__metadata__"` object of strings. Validation mirrors the
/// reference Rust crate (`read_metadata` / `Metadata::validate`) so that a file TensorIO accepts is one that
/// every other safetensors reader accepts too, and adds the checks the crate gets from serde for free
/// (exact key sets, duplicate keys, value types).
enum Safetensors {
    /// The Rust crate's `MAX_HEADER_SIZE`: bounds the memory a hostile header can make us allocate.
    static let maxHeaderLength = 100_000_000
    static let metadataKey = "__metadata__"

    static func parse(_ bytes: UnsafeRawBufferPointer, path: String) throws(TensorIOError) -> ParsedTensors {
        func fail(_ message: String) -> TensorIOError { TensorIOError(path: path, message: message) }

        guard bytes.count >= 8 else {
            throw fail("file is \(bytes.count) bytes, too short for the 8-byte safetensors header length")
        }
        let declared = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
        guard declared <= UInt64(maxHeaderLength) else {
            throw fail("header length \(declared) exceeds the safetensors limit of \(maxHeaderLength) bytes")
        }
        let headerLength = Int(declared)   // <= 100_000_000, cannot trap
        guard headerLength <= bytes.count - 8 else {
            throw fail("header length \(headerLength) runs past the end of the file (\(bytes.count) bytes)")
        }
        let dataStart = 8 + headerLength
        let header = UnsafeRawBufferPointer(rebasing: bytes[8..<dataStart])
        guard header.first == UInt8(ascii: "{") else { throw fail("header does not start with '{'") }

        let json: JSONValue
        do { json = try JSONValue(parsing: header) } catch { throw fail("header is not valid JSON: \(error)") }
        guard let members = json.objectValue else { throw fail("header is not a JSON object") }

        var entries: [Entry] = []
        var metadata: [(key: String, value: String)] = []
        var seen = Set<String>()
        var sawMetadata = false
        for (name, value) in members {
            if name == metadataKey {
                guard !sawMetadata else { throw fail("duplicate \(metadataKey) in header") }
                sawMetadata = true
                metadata = try parseMetadata(value, fail: fail)
                continue
            }
            guard seen.insert(name).inserted else { throw fail("duplicate tensor name \(quoted(name)) in header") }
            let (dtype, shape, begin, end) = try parseEntry(name: name, value, fail: fail)
            entries.append(Entry(name: name, dtype: dtype, shape: shape, begin: begin, end: end))
        }

        // Older writers emitted entries in name order, so, like the Rust crate, validate in offset order.
        let ordered = entries.enumerated()
            .sorted { ($0.element.begin, $0.element.end, $0.offset) < ($1.element.begin, $1.element.end, $1.offset) }
            .map(\.element)
        try checkLayout(ordered, dataLength: bytes.count - dataStart, fail: fail)

        // Every range is now inside [dataStart, bytes.count], so the views cannot point outside the buffer.
        let views = ordered.map { entry in
            TensorView(name: entry.name, dtype: entry.dtype, shape: entry.shape, count: elementCount(entry.shape) ?? 0,
                       fortranOrder: false,
                       bytes: UnsafeRawBufferPointer(rebasing: bytes[(dataStart + entry.begin)..<(dataStart + entry.end)]))
        }
        return ParsedTensors(tensors: views, metadata: metadata)
    }

    struct Entry { let name: String; let dtype: TensorDType; let shape: [Int]; let begin: Int; let end: Int }

    /// The entries, in offset order, tile the data section exactly: no gap, no overlap, each its shape's size.
    private static func checkLayout(_ ordered: [Entry], dataLength: Int, fail: (String) -> TensorIOError) throws(TensorIOError) {
        var position = 0
        for entry in ordered {
            let name = quoted(entry.name)
            if entry.begin > position {
                throw fail("gap before tensor \(name): its data starts at offset \(entry.begin) but the previous tensor ends at \(position)")
            }
            if entry.begin < position {
                throw fail("tensor \(name) overlaps the previous tensor: its data starts at offset \(entry.begin) but the previous tensor ends at \(position)")
            }
            guard entry.end >= entry.begin else {
                throw fail("tensor \(name) has data_offsets [\(entry.begin), \(entry.end)] with end before begin")
            }
            guard let needed = byteCount(entry.shape, entry.dtype) else {
                throw fail("tensor \(name) with shape \(entry.shape) of \(entry.dtype.rawValue) overflows the byte count")
            }
            guard entry.end - entry.begin == needed else {
                throw fail("tensor \(name) has data_offsets [\(entry.begin), \(entry.end)] (\(entry.end - entry.begin) bytes) but shape \(entry.shape) of \(entry.dtype.rawValue) needs \(needed) bytes")
            }
            position = entry.end
        }
        if position < dataLength {
            throw fail("\(dataLength - position) trailing bytes after the last tensor (tensor data ends at \(position), the file has \(dataLength) data bytes)")
        }
        if position > dataLength {
            throw fail("tensor data needs \(position) bytes but the file has only \(dataLength) after the header (truncated?)")
        }

    }

    private static func parseMetadata(_ value: JSONValue, fail: (String) -> TensorIOError) throws(TensorIOError) -> [(key: String, value: String)] {
        guard let members = value.objectValue else { throw fail("\(metadataKey) is not a JSON object") }
        var seen = Set<String>()
        var result: [(key: String, value: String)] = []
        for (key, value) in members {
            guard seen.insert(key).inserted else { throw fail("duplicate key \(quoted(key)) in \(metadataKey)") }
            guard let text = value.stringValue else { throw fail("\(metadataKey) value for \(quoted(key)) is not a string") }
            result.append((key, text))
        }
        return result
    }

    private static func parseEntry(name: String, _ value: JSONValue, fail: (String) -> TensorIOError)
        throws(TensorIOError) -> (TensorDType, [Int], Int, Int) {
        let tensor = quoted(name)
        guard let fields = value.objectValue else { throw fail("entry for tensor \(tensor) is not a JSON object") }
        var dtypeValue: JSONValue?, shapeValue: JSONValue?, offsetsValue: JSONValue?
        for (key, value) in fields {
            switch key {
            case "dtype" where dtypeValue == nil: dtypeValue = value
            case "shape" where shapeValue == nil: shapeValue = value
            case "data_offsets" where offsetsValue == nil: offsetsValue = value
            case "dtype", "shape", "data_offsets": throw fail("duplicate key '\(key)' in tensor \(tensor)")
            default: throw fail("unexpected key \(quoted(key)) in tensor \(tensor)")
            }
        }
        guard let dtypeValue else { throw fail("tensor \(tensor) has no dtype") }
        guard let shapeValue else { throw fail("tensor \(tensor) has no shape") }
        guard let offsetsValue else { throw fail("tensor \(tensor) has no data_offsets") }

        guard let dtypeName = dtypeValue.stringValue else { throw fail("dtype of tensor \(tensor) is not a string") }
        guard let dtype = TensorDType(rawValue: dtypeName) else { throw fail("unknown dtype \(quoted(dtypeName)) for tensor \(tensor)") }
        guard let shapeItems = shapeValue.arrayValue else { throw fail("shape of tensor \(tensor) is not a JSON array") }
        var shape: [Int] = []
        shape.reserveCapacity(shapeItems.count)
        for item in shapeItems {
            guard let dimension = item.intValue, dimension >= 0 else {
                throw fail("shape of tensor \(tensor) must hold non-negative integers, found \(describe(item))")
            }
            shape.append(dimension)
        }
        guard let offsets = offsetsValue.arrayValue, offsets.count == 2 else {
            throw fail("data_offsets of tensor \(tensor) must be an array of two integers")
        }
        guard let begin = offsets[0].intValue, begin >= 0, let end = offsets[1].intValue, end >= 0 else {
            throw fail("data_offsets of tensor \(tensor) must be non-negative integers, found [\(describe(offsets[0])), \(describe(offsets[1]))]")
        }
        return (dtype, shape, begin, end)
    }

    /// A short rendering of an offending JSON value for an error message.
    private static func describe(_ value: JSONValue) -> String {
        let text = value.compactText
        return text.count > 40 ? String(text.prefix(40)) + "…" : text
    }

    /// The padded header (without the 8-byte length) for tensors stored contiguously in the given order.
    /// Compact JSON with `__metadata__` first only when present, padded with spaces to a multiple of 8
    /// bytes, exactly as the reference writer does, so the data section starts 8-byte aligned.
    static func header(specs: [TensorSpec], byteCounts: [Int], metadata: [(key: String, value: String)]) -> [UInt8] {
        var members: [(key: String, value: JSONValue)] = []
        if !metadata.isEmpty {
            members.append((metadataKey, .object(metadata.map { ($0.key, .string($0.value)) })))
        }
        var offset = 0
        for (spec, size) in zip(specs, byteCounts) {
            members.append((spec.name, .object([
                ("dtype", .string(spec.dtype.rawValue)),
                ("shape", .array(spec.shape.map(JSONValue.integer))),
                ("data_offsets", .array([.integer(offset), .integer(offset + size)])),
            ])))
            offset += size   // the caller checked that the total fits
        }
        var text = Array(JSONValue.object(members).compactText.utf8)
        text.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - text.count % 8) % 8))
        return text
    }
}
