import Formats
import Foundation
import Testing
import TensorIO
import TestSupport

@Suite("Round trips")
struct RoundTripTests {
    static let shapes: [[Int]] = [[], [0], [5], [3, 4], [2, 3, 4], [2, 0, 3]]

    /// Writes `tensors` to a real file, reopens it and checks that everything comes back identical.
    private func roundTrip(format: TensorFileFormat, tensors: [(TensorSpec, [UInt8])],
                           metadata: [(key: String, value: String)] = [], fileName: String) throws {
        try withTemporaryDirectory { dir in
            let path = dir.appendingPathComponent(fileName).path
            try TensorWriter.write(path: path, format: format, tensors: tensors, metadata: metadata)
            let file = try TensorFile(path: path)
            #expect(file.format == format)
            #expect(file.tensors.count == tensors.count)
            for (view, (spec, bytes)) in zip(file.tensors, tensors) {
                #expect(view.name == (format == .npy ? String(fileName.dropLast(4)) : spec.name))
                #expect(view.dtype == spec.dtype)
                #expect(view.shape == spec.shape)
                #expect(view.count == spec.shape.reduce(1, *))
                #expect(view.fortranOrder == spec.fortranOrder)
                #expect(Array(view.bytes) == bytes)
                #expect(file.tensor(named: view.name)?.shape == spec.shape)
            }
            #expect(file.metadata.map(\.key) == metadata.map(\.key))
            #expect(file.metadata.map(\.value) == metadata.map(\.value))
            // The in-memory encoder must produce the very same bytes as the streaming file writer.
            #expect(try TensorWriter.encode(format: format, tensors: tensors, metadata: metadata) == readFile(path))
            // Alignment promises: safetensors data starts on 8 bytes, npy data on 64.
            let image = try readFile(path)
            if format == .safetensors {
                let headerLength = image.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                #expect((8 + headerLength) % 8 == 0)
            } else {
                #expect((image.count - tensors[0].1.count) % 64 == 0)
            }
        }
    }

    @Test(arguments: TensorDType.allCases.filter(\.isFloatingPoint))
    func safetensorsEveryFloatDType(_ dtype: TensorDType) throws {
        var rng = SeededGenerator(seed: 0x5AFE + UInt64(dtype.byteSize))
        let tensors = Self.shapes.enumerated().map { i, shape in
            let spec = TensorSpec(name: "t\(i)", dtype: dtype, shape: shape)
            return (spec, rng.bytes(spec.byteCount ?? 0))
        }
        for (spec, bytes) in tensors {   // one tensor per file, including a lone empty tensor and a lone scalar
            try roundTrip(format: .safetensors, tensors: [(spec, bytes)], fileName: "one.safetensors")
        }
        try roundTrip(format: .safetensors, tensors: tensors, metadata: [("dtype", dtype.rawValue)], fileName: "all.safetensors")
    }

    @Test func safetensorsAllDTypesWithMetadataAndAwkwardNames() throws {
        var rng = SeededGenerator(seed: 42)
        let names = ["weight", "", "quote\"back\\slash", "new\nline", "ünïcödé 日本", "ctl\u{01}\u{1F}", "a/b.c:d"]
        let tensors = TensorDType.allCases.enumerated().map { i, dtype in
            let spec = TensorSpec(name: "\(names[i % names.count])#\(i)", dtype: dtype, shape: [i % 3 + 1, 3])
            return (spec, rng.bytes(spec.byteCount ?? 0))
        }
        let metadata = [(key: "format", value: "pt"), (key: "quote\"d", value: "line\nbreak ü"), (key: "", value: "")]
        try roundTrip(format: .safetensors, tensors: tensors, metadata: metadata, fileName: "model.safetensors")
        try roundTrip(format: .safetensors, tensors: [], metadata: metadata, fileName: "meta.safetensors")
        try roundTrip(format: .safetensors, tensors: [], fileName: "nothing.safetensors")
    }

    @Test(arguments: [TensorDType.f16, .f32, .f64])
    func npyEveryDTypeAndShape(_ dtype: TensorDType) throws {
        var rng = SeededGenerator(seed: 0xA11 + UInt64(dtype.byteSize))
        for shape in Self.shapes {
            for fortranOrder in shape.count >= 2 ? [false, true] : [false] {
                let spec = TensorSpec(name: "ignored", dtype: dtype, shape: shape, fortranOrder: fortranOrder)
                try roundTrip(format: .npy, tensors: [(spec, rng.bytes(spec.byteCount ?? 0))], fileName: "grads.npy")
            }
        }
        // A dimension wider than numpy's growth-axis padding budget still aligns.
        let wide = TensorSpec(name: "w", dtype: dtype, shape: [1, 123_456_789_012, 0])
        try roundTrip(format: .npy, tensors: [(wide, [])], fileName: "wide.npy")
    }

    /// Chunks must be whole elements, at most `chunkSize`, consecutive, and cover every tensor exactly.
    @Test(arguments: [TensorFileFormat.safetensors, .npy])
    func chunkedStreamingWrite(_ format: TensorFileFormat) throws {
        let big = TensorSpec(name: "big", dtype: format == .npy ? .f64 : .f32, shape: [(3 << 20) / 4 + 3])   // > 3 MiB
        let specs = format == .npy ? [big] : [
            TensorSpec(name: "small", dtype: .f16, shape: [7]), big,
            TensorSpec(name: "empty", dtype: .bf16, shape: [0]), TensorSpec(name: "odd", dtype: .u8, shape: [1 << 20 | 1]),
        ]
        var calls: [(tensor: Int, offset: Int, bytes: Int)] = []
        func pattern(_ tensor: Int, _ element: Int) -> UInt8 { UInt8(truncatingIfNeeded: element &* 31 &+ tensor &* 7 &+ element >> 8) }
        try withTemporaryDirectory { dir in
            let path = dir.appendingPathComponent("chunked.\(format == .npy ? "npy" : "safetensors")").path
            try TensorWriter.write(path: path, format: format, tensors: specs) { tensor, offset, chunk in
                calls.append((tensor, offset, chunk.count))
                let size = specs[tensor].dtype.byteSize
                for byte in 0..<chunk.count { chunk[byte] = pattern(tensor, offset + byte / size) ^ UInt8(byte % size) }
            }
            var expectedOffset = Array(repeating: 0, count: specs.count)
            var lastTensor = -1
            for call in calls {
                let size = specs[call.tensor].dtype.byteSize
                #expect(call.tensor >= lastTensor)
                #expect(call.bytes > 0 && call.bytes <= TensorWriter.chunkSize && call.bytes % size == 0)
                #expect(call.offset == expectedOffset[call.tensor])
                expectedOffset[call.tensor] += call.bytes / size
                lastTensor = call.tensor
            }
            #expect(expectedOffset == specs.map { $0.count ?? -1 })
            #expect(calls.count > 4)

            let file = try TensorFile(path: path)
            #expect(file.tensors.map(\.shape) == specs.map(\.shape))
            for (index, view) in file.tensors.enumerated() {
                let size = view.dtype.byteSize
                let mismatch = (0..<view.bytes.count).first { view.bytes[$0] != pattern(index, $0 / size) ^ UInt8($0 % size) }
                #expect(mismatch == nil, "tensor \(index) differs at byte \(mismatch ?? -1)")
            }
        }
    }

    /// A 1 GiB tensor is opened through the memory map without reading it: the file is sparse, so reading
    /// it into memory would allocate (and zero) a gigabyte, while mapping it only touches the pages used.
    @Test func opensOneGibibyteFileByMapping() throws {
        try withTemporaryDirectory { dir in
            let path = dir.appendingPathComponent("huge.safetensors").path
            let spec = TensorSpec(name: "huge", dtype: .f32, shape: [1 << 28])
            // Exactly the header TensorWriter would write; the data is one 0x7F byte then a 1 GiB hole.
            let realHeader = Array(#"{"huge":{"dtype":"F32","shape":[268435456],"data_offsets":[0,1073741824]}}"#.utf8)
            let padded = realHeader + [UInt8](repeating: 0x20, count: (8 - realHeader.count % 8) % 8)
            try writeFile(path, withUnsafeBytes(of: UInt64(padded.count).littleEndian, Array.init) + padded + [0x7F])
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try handle.truncate(atOffset: UInt64(8 + padded.count) + (1 << 30))
            try handle.close()

            let start = ContinuousClock.now
            let file = try TensorFile(path: path)
            let view = try #require(file.tensor(named: "huge"))
            #expect(view.shape == spec.shape && view.bytes.count == 1 << 30)
            #expect(view.bytes[0] == 0x7F && view.bytes[(1 << 30) - 1] == 0)
            #expect(ContinuousClock.now - start < .seconds(5))
        }
    }
}

@Suite("Writer errors and atomicity")
struct WriterErrorTests {
    struct Boom: Error {}

    @Test func failedWriteLeavesDestinationUntouchedAndNoTemporaryFile() throws {
        try withTemporaryDirectory { dir in
            let path = dir.appendingPathComponent("keep.safetensors").path
            try writeFile(path, Array("old contents".utf8))
            let specs = [TensorSpec(name: "a", dtype: .f32, shape: [3 << 20])]
            var calls = 0
            #expect(throws: Boom.self) {   // the caller's own error comes back unchanged
                try TensorWriter.write(path: path, format: .safetensors, tensors: specs) { _, _, _ in
                    calls += 1
                    if calls == 2 { throw Boom() }
                }
            }
            #expect(try readFile(path) == Array("old contents".utf8))
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["keep.safetensors"])

            // A TensorIOError (bad arguments) also leaves no trace and keeps the old file.
            let spec = TensorSpec(name: "a", dtype: .bf16, shape: [2])
            #expect(throws: TensorIOError.self) { try TensorWriter.write(path: path, format: .npy, tensors: [(spec, [0, 0, 0, 0])]) }
            #expect(try readFile(path) == Array("old contents".utf8))
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["keep.safetensors"])

            // A successful write replaces it.
            try TensorWriter.write(path: path, format: .safetensors, tensors: [(TensorSpec(name: "x", dtype: .u8, shape: [1]), [9])])
            // The view outlives its TensorFile here: views keep the memory map alive.
            let view = try #require(try TensorFile(path: path).tensor(named: "x"))
            #expect(Array(view.bytes) == [9])
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["keep.safetensors"])
        }
    }

    @Test(arguments: [
        ("bf16 cannot be stored in .npy; use .safetensors", TensorFileFormat.npy, [TensorSpec(name: "a", dtype: .bf16, shape: [2])], false),
        ("i32 cannot be stored in .npy", .npy, [TensorSpec(name: "a", dtype: .i32, shape: [2])], false),
        ("exactly one tensor, got 2", .npy, [TensorSpec(name: "a", dtype: .f32, shape: [2]), TensorSpec(name: "b", dtype: .f32, shape: [2])], false),
        ("exactly one tensor, got 0", .npy, [], false),
        ("cannot store metadata", .npy, [TensorSpec(name: "a", dtype: .f32, shape: [2])], true),
        ("only row-major", .safetensors, [TensorSpec(name: "a", dtype: .f32, shape: [2, 2], fortranOrder: true)], false),
        ("duplicate tensor name 'a'", .safetensors, [TensorSpec(name: "a", dtype: .f32, shape: [1]), TensorSpec(name: "a", dtype: .f16, shape: [1])], false),
        ("'__metadata__' is reserved", .safetensors, [TensorSpec(name: "__metadata__", dtype: .f32, shape: [1])], false),
        ("negative dimension", .safetensors, [TensorSpec(name: "a", dtype: .f32, shape: [2, -1])], false),
        ("too large", .safetensors, [TensorSpec(name: "a", dtype: .f64, shape: [1 << 40, 1 << 30])], false),
    ] as [(String, TensorFileFormat, [TensorSpec], Bool)])
    func rejectsBadArguments(_ expected: String, _ format: TensorFileFormat, _ specs: [TensorSpec], _ withMetadata: Bool) throws {
        try withTemporaryDirectory { dir in
            let path = dir.appendingPathComponent("out.\(format == .npy ? "npy" : "safetensors")").path
            let error = try #require(throws: TensorIOError.self) {
                try TensorWriter.write(path: path, format: format, tensors: specs, metadata: withMetadata ? [("k", "v")] : []) { _, _, _ in }
            }
            #expect(error.path == path)
            #expect(error.description.hasPrefix(path + ": ") && error.description.contains(expected), "\(error)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
        }
    }

    @Test func rejectsMismatchedBytesDuplicateMetadataAndMissingDirectory() throws {
        try withTemporaryDirectory { dir in
            let path = dir.appendingPathComponent("x.safetensors").path
            let spec = TensorSpec(name: "w", dtype: .f32, shape: [3])
            var error = try #require(throws: TensorIOError.self) {
                try TensorWriter.write(path: path, format: .safetensors, tensors: [(spec, [1, 2, 3])])
            }
            #expect(error.description == "\(path): tensor 'w' has 3 bytes but shape [3] of F32 needs 12")
            error = try #require(throws: TensorIOError.self) {
                try TensorWriter.write(path: path, format: .safetensors, tensors: [], metadata: [("k", "1"), ("k", "2")])
            }
            #expect(error.description.contains("duplicate metadata key 'k'"))
            let missing = dir.appendingPathComponent("no/such/dir/x.npy").path
            error = try #require(throws: TensorIOError.self) {
                try TensorWriter.write(path: missing, format: .npy, tensors: [(TensorSpec(name: "x", dtype: .f32, shape: []), [0, 0, 0, 0])])
            }
            #expect(error.description.hasPrefix(missing + ": cannot create a temporary file"))
            // Destination is a directory: the rename fails and the temporary file is cleaned up.
            let sub = dir.appendingPathComponent("sub.npy")
            try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: false)
            error = try #require(throws: TensorIOError.self) {
                try TensorWriter.write(path: sub.path, format: .npy, tensors: [(TensorSpec(name: "x", dtype: .f32, shape: []), [0, 0, 0, 0])])
            }
            #expect(error.description.contains("cannot move"))
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["sub.npy"])
        }
    }
}
