import Foundation
import Testing

/// Every kind of malformed tensor file the issue names reaches the user as exit code 2 and one line naming the file.
@Suite struct MalformedFileTests {
    static func safetensors(header: String, data: Int, declaredLength: UInt64? = nil) -> Data {
        let json = Array(header.utf8)
        var bytes = withUnsafeBytes(of: (declaredLength ?? UInt64(json.count)).littleEndian, Array.init)
        bytes += json + [UInt8](repeating: 0, count: data)
        return Data(bytes)
    }

    static let cases: [(String, Data)] = [
        ("header-past-end", safetensors(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: 4, declaredLength: 4096)),
        ("out-of-range", safetensors(header: #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: 8)),
        ("overlapping", safetensors(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, data: 12)),
        ("shape-mismatch", safetensors(header: #"{"a":{"dtype":"F64","shape":[3],"data_offsets":[0,16]}}"#, data: 16)),
        ("unknown-dtype", safetensors(header: #"{"a":{"dtype":"F4","shape":[2],"data_offsets":[0,1]}}"#, data: 1)),
        ("not-json", safetensors(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]"#, data: 4)),
        ("empty", Data()),
        ("short", Data([1, 2, 3])),
    ]

    @Test(arguments: cases.map(\.0))
    func malformedSafetensorsExitsTwo(name: String) throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("\(name).safetensors")
        try Self.cases.first { $0.0 == name }!.1.write(to: input)
        let out = dir.appendingPathComponent("out.safetensors").path
        try CLI.run(["cast", input.path, "--format", "bf16", "--out", out]).expectUsageError(naming: input.path)
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test func malformedNpyExitsTwo() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let valid = try Data(contentsOf: URL(fileURLWithPath: CLI.fixture("tensorio/f32_matrix.npy")))
        let variants: [(String, Data)] = [
            ("truncated", valid.prefix(valid.count - 3)),
            ("bad-magic", Data([0x93]) + Data("NUMPZ".utf8) + valid.dropFirst(6)),
            ("int64", { var d = valid; d.replaceSubrange(d.range(of: Data("<f4".utf8))!, with: Data("<i8".utf8)); return d }()),
        ]
        for (name, bytes) in variants {
            let input = dir.appendingPathComponent("\(name).npy")
            try bytes.write(to: input)
            try CLI.run(["cast", input.path, "--format", "f16", "--out", dir.appendingPathComponent("o.npy").path]).expectUsageError(naming: input.path)
        }
    }
}
