import Foundation
import Testing
import TensorIO
import TestSupport

/// One hostile or broken file image and a fragment its error message must contain.
struct MalformedCase: Sendable, CustomTestStringConvertible {
    let label: String
    let format: TensorFileFormat
    let bytes: [UInt8]
    let fragment: String
    var testDescription: String { label }
    var fileName: String { format == .npy ? "bad.npy" : "bad.safetensors" }
}

private let data12 = [UInt8](repeating: 0xAB, count: 12)
private let goodHeader = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[2],"data_offsets":[8,12]}}"#
private let good = safetensorsImage(header: goodHeader, data: data12)
private func entry(_ name: String, _ dtype: String = "F32", _ shape: String = "[2]", _ offsets: String = "[0,8]") -> String {
    #""\#(name)":{"dtype":"\#(dtype)","shape":\#(shape),"data_offsets":\#(offsets)}"#
}
private func st(_ label: String, _ header: String, _ data: [UInt8], _ fragment: String) -> MalformedCase {
    MalformedCase(label: label, format: .safetensors, bytes: safetensorsImage(header: header, data: data), fragment: fragment)
}
private let f32x12 = [UInt8](repeating: 0, count: 48)
private let goodNpy = npyImage(dict: "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", data: f32x12)
private func npy(_ label: String, _ dict: String, _ data: [UInt8] = f32x12, fragment: String) -> MalformedCase {
    MalformedCase(label: label, format: .npy, bytes: npyImage(dict: dict, data: data), fragment: fragment)
}
private func patched(_ bytes: [UInt8], at offset: Int, _ replacement: [UInt8]) -> [UInt8] {
    var out = bytes
    out.replaceSubrange(offset..<(offset + replacement.count), with: replacement)
    return out
}
private func le<T: FixedWidthInteger>(_ value: T) -> [UInt8] { withUnsafeBytes(of: value.littleEndian, Array.init) }

private let safetensorsCases: [MalformedCase] = [
    MalformedCase(label: "truncated to 0 bytes", format: .safetensors, bytes: [], fragment: "too short for the 8-byte"),
    MalformedCase(label: "truncated to 5 bytes", format: .safetensors, bytes: Array(good.prefix(5)), fragment: "file is 5 bytes, too short"),
    MalformedCase(label: "truncated in the header", format: .safetensors, bytes: Array(good.prefix(30)),
                  fragment: "header length \(goodHeader.utf8.count) runs past the end of the file (30 bytes)"),
    MalformedCase(label: "truncated at the end of the header", format: .safetensors, bytes: Array(good.dropLast(12)),
                  fragment: "tensor data needs 12 bytes but the file has only 0"),
    MalformedCase(label: "truncated in the data", format: .safetensors, bytes: Array(good.dropLast(3)),
                  fragment: "needs 12 bytes but the file has only 9"),
    MalformedCase(label: "header length past the end", format: .safetensors, bytes: le(UInt64(4096)) + [UInt8](repeating: 0x20, count: 92),
                  fragment: "header length 4096 runs past the end of the file (100 bytes)"),
    MalformedCase(label: "header length over 100,000,000", format: .safetensors, bytes: patched(good, at: 0, le(UInt64(100_000_001))),
                  fragment: "header length 100000001 exceeds the safetensors limit of 100000000 bytes"),
    MalformedCase(label: "header length UInt64.max", format: .safetensors, bytes: patched(good, at: 0, le(UInt64.max)),
                  fragment: "header length 18446744073709551615 exceeds"),
    MalformedCase(label: "header length zero", format: .safetensors, bytes: patched(good, at: 0, le(UInt64(0))), fragment: "does not start with '{'"),
    st("offsets out of range", "{\(entry("w", "F32", "[1024]", "[0,4096]"))}", [UInt8](repeating: 0, count: 16),
       "tensor data needs 4096 bytes but the file has only 16"),
    st("overlapping offsets", "{\(entry("a")),\(entry("b", "F32", "[2]", "[4,12]"))}", data12,
       "tensor 'b' overlaps the previous tensor: its data starts at offset 4 but the previous tensor ends at 8"),
    st("gap between tensors", "{\(entry("a")),\(entry("b", "F32", "[2]", "[12,20]"))}", [UInt8](repeating: 0, count: 20),
       "gap before tensor 'b': its data starts at offset 12 but the previous tensor ends at 8"),
    st("first tensor not at 0", "{\(entry("a", "F32", "[2]", "[4,12]"))}", data12, "gap before tensor 'a'"),
    MalformedCase(label: "trailing bytes", format: .safetensors, bytes: good + [1, 2, 3, 4],
                  fragment: "4 trailing bytes after the last tensor (tensor data ends at 12, the file has 16 data bytes)"),
    st("shape × dtype size mismatch", "{\(entry("w", "F32", "[3]", "[0,8]"))}", [UInt8](repeating: 0, count: 8),
       "tensor 'w' has data_offsets [0, 8] (8 bytes) but shape [3] of F32 needs 12 bytes"),
    st("end before begin", "{\(entry("a")),\(entry("b", "F32", "[0]", "[8,4]"))}", [UInt8](repeating: 0, count: 8), "end before begin"),
    st("unknown dtype", "{\(entry("w", "F4"))}", [UInt8](repeating: 0, count: 8), "unknown dtype 'F4' for tensor 'w'"),
    st("lower-case dtype", "{\(entry("w", "f32"))}", [UInt8](repeating: 0, count: 8), "unknown dtype 'f32' for tensor 'w'"),
    st("non-JSON header", "{not json}", [], "header is not valid JSON"),
    st("header not an object", "[1,2]", [], "header does not start with '{'"),
    st("leading space before '{'", " {}", [], "header does not start with '{'"),
    st("trailing garbage after JSON", "{}x", [], "header is not valid JSON"),
    MalformedCase(label: "invalid UTF-8 in header", format: .safetensors,
                  bytes: le(UInt64(8)) + [0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D, 0x20], fragment: "not valid UTF-8"),
    st("fractional offset", "{\(entry("w", "F32", "[2]", "[0,8.0]"))}", [UInt8](repeating: 0, count: 8), "must be non-negative integers"),
    st("exponent offset", "{\(entry("w", "F32", "[2]", "[0,1e30]"))}", [UInt8](repeating: 0, count: 8), "must be non-negative integers"),
    st("negative offset", "{\(entry("w", "F32", "[2]", "[-8,0]"))}", [UInt8](repeating: 0, count: 8), "must be non-negative integers"),
    st("offset beyond Int", "{\(entry("w", "F32", "[2]", "[0,99999999999999999999]"))}", [UInt8](repeating: 0, count: 8), "non-negative integers"),
    st("three offsets", "{\(entry("w", "F32", "[2]", "[0,8,8]"))}", [UInt8](repeating: 0, count: 8), "must be an array of two integers"),
    st("offsets as a string", "{\(entry("w", "F32", "[2]", "\"0,8\""))}", [UInt8](repeating: 0, count: 8), "array of two integers"),
    st("negative dimension", "{\(entry("w", "F32", "[-2]"))}", [UInt8](repeating: 0, count: 8), "non-negative integers, found -2"),
    st("fractional dimension", "{\(entry("w", "F32", "[2.5]"))}", [UInt8](repeating: 0, count: 8), "non-negative integers, found 2.5"),
    st("shape not an array", "{\(entry("w", "F32", "2"))}", [UInt8](repeating: 0, count: 8), "shape of tensor 'w' is not a JSON array"),
    st("shape product overflows", "{\(entry("w", "F32", "[4611686018427387904,4]", "[0,0]"))}", [], "overflows the byte count"),
    st("byte count overflows", "{\(entry("w", "F64", "[2305843009213693952]", "[0,0]"))}", [], "overflows the byte count"),
    st("duplicate tensor name", "{\(entry("a")),\(entry("a", "F32", "[1]", "[8,12]"))}", data12, "duplicate tensor name 'a'"),
    st("duplicate field", #"{"w":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, [UInt8](repeating: 0, count: 8),
       "duplicate key 'dtype' in tensor 'w'"),
    st("extra field", #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":1}}"#, [UInt8](repeating: 0, count: 8),
       "unexpected key 'extra' in tensor 'w'"),
    st("missing data_offsets", #"{"w":{"dtype":"F32","shape":[2]}}"#, [], "tensor 'w' has no data_offsets"),
    st("entry not an object", #"{"w":[1]}"#, [], "entry for tensor 'w' is not a JSON object"),
    st("dtype not a string", #"{"w":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}"#, [0, 0, 0, 0], "dtype of tensor 'w' is not a string"),
    st("metadata value not a string", #"{"__metadata__":{"k":1}}"#, [], "__metadata__ value for 'k' is not a string"),
    st("metadata null", #"{"__metadata__":null}"#, [], "__metadata__ is not a JSON object"),
    st("duplicate metadata", #"{"__metadata__":{},"__metadata__":{}}"#, [], "duplicate __metadata__"),
    st("duplicate metadata key", #"{"__metadata__":{"k":"a","k":"b"}}"#, [], "duplicate key 'k' in __metadata__"),
    st("nesting bomb", "{\"w\":" + String(repeating: "[", count: 10_000), [], "nested deeper than 64"),
    st("name with a newline", "{\(entry("bad\\nname", "X"))}", [UInt8](repeating: 0, count: 8), #"unknown dtype 'X' for tensor 'bad\nname'"#),
]

private let npyCases: [MalformedCase] = [
    MalformedCase(label: "empty", format: .npy, bytes: [], fragment: "file is 0 bytes, too short for a .npy preamble"),
    MalformedCase(label: "bad magic", format: .npy, bytes: patched(goodNpy, at: 1, Array("NUMPZ".utf8)), fragment: "not a .npy file (bad magic)"),
    MalformedCase(label: "a safetensors file", format: .npy, bytes: good, fragment: "bad magic"),
    MalformedCase(label: "truncated to 9 bytes", format: .npy, bytes: Array(goodNpy.prefix(9)), fragment: "too short for a .npy preamble"),
    MalformedCase(label: "truncated in the header", format: .npy, bytes: Array(goodNpy.prefix(40)),
                  fragment: "header length 118 runs past the end of the file (40 bytes)"),
    MalformedCase(label: "truncated in the data", format: .npy, bytes: Array(goodNpy.dropLast(5)),
                  fragment: "data is 43 bytes but shape (3, 4) of <f4 needs 48 bytes"),
    MalformedCase(label: "header length past the end", format: .npy, bytes: patched(goodNpy, at: 8, le(UInt16(1000))),
                  fragment: "header length 1000 runs past the end of the file (176 bytes)"),
    MalformedCase(label: "v2 header length past the end", format: .npy,
                  bytes: patched(npyImage(dict: "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", data: [0, 0, 0, 0], major: 2),
                                 at: 8, le(UInt32.max)), fragment: "header length 4294967295 runs past the end"),
    MalformedCase(label: "version 4.0", format: .npy, bytes: patched(goodNpy, at: 6, [4, 0]), fragment: "unsupported .npy format version 4.0"),
    MalformedCase(label: "version 1.1", format: .npy, bytes: patched(goodNpy, at: 6, [1, 1]), fragment: "unsupported .npy format version 1.1"),
    npy("shape/size mismatch", "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }", [UInt8](repeating: 0, count: 12),
        fragment: "data is 12 bytes but shape (5,) of <f4 needs 20 bytes"),
    npy("trailing data", "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", [UInt8](repeating: 0, count: 12),
        fragment: "data is 12 bytes but shape (2,) of <f4 needs 8 bytes"),
    npy("unsupported descr", "{'descr': '<i8', 'fortran_order': False, 'shape': (3, 4), }", [UInt8](repeating: 0, count: 96),
        fragment: "dtype '<i8' is not supported (only <f2, <f4, <f8)"),
    npy("native-order descr", "{'descr': '=f4', 'fortran_order': False, 'shape': (3, 4), }", fragment: "dtype '=f4' is not supported"),
    npy("big-endian", "{'descr': '>f4', 'fortran_order': False, 'shape': (3, 4), }", fragment: "big-endian '>f4' is not supported"),
    npy("structured dtype", "{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (3, 4), }", fragment: "structured dtypes are not supported"),
    npy("missing key", "{'descr': '<f4', 'shape': (3, 4), }", fragment: "missing key 'fortran_order'"),
    npy("extra key", "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), 'x': 1}", fragment: "unexpected key 'x'"),
    npy("duplicate key", "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (3, 4)}", fragment: "duplicate key 'descr'"),
    npy("shape not a tuple", "{'descr': '<f4', 'fortran_order': False, 'shape': (12), }", fragment: "shape (12) is not a tuple"),
    npy("shape as a list", "{'descr': '<f4', 'fortran_order': False, 'shape': [3, 4], }", fragment: "expected '('"),
    npy("negative dimension", "{'descr': '<f4', 'fortran_order': False, 'shape': (-3, 4), }", fragment: "non-negative integer dimension"),
    npy("huge dimension", "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", fragment: "dimension too large"),
    npy("shape overflows", "{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 4), }", fragment: "overflows the byte count"),
    npy("bad fortran_order", "{'descr': '<f4', 'fortran_order': 0, 'shape': (3, 4), }", fragment: "fortran_order is not True or False"),
    npy("text after the dict", "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), } x", fragment: "unexpected text after the header dict"),
    npy("unterminated dict", "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4)", fragment: "expected '}'"),
    npy("not a dict", "('<f4', False, (3, 4))", fragment: "expected '{'"),
]

@Suite("Malformed inputs")
struct MalformedInputTests {
    /// Every broken image must throw a one-line TensorIOError naming the path, both when parsed from memory
    /// and when opened from disk.
    @Test(arguments: safetensorsCases + npyCases)
    func rejects(_ testCase: MalformedCase) throws {
        let memoryPath = "data/\(testCase.fileName)"
        let error = try #require(parseError(testCase.bytes, path: memoryPath, format: testCase.format), "parsed without error")
        #expect(error.path == memoryPath)
        #expect(error.description.hasPrefix(memoryPath + ": "))
        #expect(error.description.contains(testCase.fragment), "\(error)")
        #expect(isOneLine(error.description))

        guard !testCase.bytes.isEmpty else { return }   // an empty file on disk is covered below
        try withTemporaryDirectory { dir in
            let path = dir.appendingPathComponent(testCase.fileName).path
            try writeFile(path, testCase.bytes)
            let diskError = try #require(throws: TensorIOError.self) { try TensorFile(path: path) }
            #expect(diskError.description == "\(path): \(error.description.dropFirst(memoryPath.count + 2))")
        }
    }

    @Test func theBriefsExampleMessage() {
        let bytes = le(UInt64(4096)) + [UInt8](repeating: 0x20, count: 92)
        #expect(parseError(bytes, path: "data/x.safetensors", format: .safetensors)?.description
                == "data/x.safetensors: header length 4096 runs past the end of the file (100 bytes)")
    }

    @Test func cutAtEveryPointOfValidFiles() throws {
        // Every proper prefix of a valid file is an error (never a crash, never a silent success).
        for (image, format) in [(good, TensorFileFormat.safetensors), (goodNpy, .npy)] {
            #expect(parseError(image, path: "x", format: format) == nil)
            for cut in 0..<image.count {
                let error = parseError(Array(image.prefix(cut)), path: "cut", format: format)
                #expect(error != nil, "prefix of \(cut) bytes parsed")
            }
        }
    }

    @Test func fileSystemProblems() throws {
        try withTemporaryDirectory { dir in
            func openError(_ path: String) throws -> String {
                try #require(throws: TensorIOError.self) { try TensorFile(path: path) }.description
            }
            let empty = dir.appendingPathComponent("empty.safetensors").path
            try writeFile(empty, [])
            #expect(try openError(empty) == "\(empty): file is empty")
            let missing = dir.appendingPathComponent("missing.npy").path
            #expect(try openError(missing) == "\(missing): cannot open: No such file or directory")
            let directory = dir.appendingPathComponent("folder.safetensors")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
            #expect(try openError(directory.path) == "\(directory.path): is a directory, not a file")
            let fifo = dir.appendingPathComponent("pipe.npy").path
            #expect(mkfifo(fifo, 0o600) == 0)
            #expect(try openError(fifo) == "\(fifo): is not a regular file")
            let wrongExtension = dir.appendingPathComponent("weights.bin").path
            try writeFile(wrongExtension, good)
            #expect(try openError(wrongExtension).hasSuffix("unsupported extension (expected .safetensors or .npy)"))
            // The explicit-format initializer ignores the extension.
            #expect(try TensorFile(path: wrongExtension, format: .safetensors).tensors.map(\.name) == ["a", "b"])
        }
    }
}
