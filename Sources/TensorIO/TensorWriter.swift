/// Writes safetensors and `.npy` files in a streaming, atomic way.
///
/// Streaming: tensor bytes are pulled from the caller in chunks of at most `chunkSize` bytes through one
/// reusable buffer, so writing a 1 GiB tensor needs 1 MiB of memory, not 1 GiB. Atomic: the file is built
/// under a temporary name in the destination directory and renamed over the destination only when
/// complete; on any error the temporary file is removed and an existing destination is left untouched.
public enum TensorWriter {
    /// The largest chunk handed to `fill`. A power of two, so every chunk is whole elements.
    public static let chunkSize = 1 << 20

    /// Writes `tensors` in order (safetensors data offsets are contiguous in this order).
    ///
    /// `fill(i, elementOffset, chunk)` is called for tensor `i` with consecutive chunks of its bytes
    /// (each whole elements, at most `chunkSize` bytes, zeroed beforehand) and must store the elements
    /// starting at `elementOffset` into `chunk`, little-endian. It is not called for empty tensors. Errors
    /// thrown by `fill` abort the write and are rethrown unchanged; all other errors are `TensorIOError`.
    ///
    /// `.npy` takes exactly one f16/f32/f64 tensor and no metadata; its tensor name is not stored (a `.npy`
    /// tensor is named after its file). `fortranOrder` is only valid for `.npy`.
    public static func write(path: String, format: TensorFileFormat, tensors: [TensorSpec],
                             metadata: [(key: String, value: String)] = [],
                             fill: (_ tensorIndex: Int, _ elementOffset: Int, _ chunk: UnsafeMutableRawBufferPointer) throws -> Void) throws {
        let layout = try Layout(path: path, format: format, specs: tensors, metadata: metadata)
        try AtomicFile.create(path: path) { file in
            try layout.header.withUnsafeBytes { try file.append($0) }
            let largest = layout.byteCounts.max() ?? 0
            guard largest > 0 else { return }
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: min(chunkSize, largest), alignment: 16)
            defer { buffer.deallocate() }
            for (index, size) in layout.byteCounts.enumerated() {
                let elementSize = tensors[index].dtype.byteSize
                var done = 0
                while done < size {
                    let chunk = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<min(buffer.count, size - done)])
                    chunk.initializeMemory(as: UInt8.self, repeating: 0)
                    try fill(index, done / elementSize, chunk)
                    try file.append(UnsafeRawBufferPointer(chunk))
                    done += chunk.count
                }
            }
        }
    }

    /// Convenience for tensors already in memory: each byte array must be exactly the spec's byte size.
    public static func write(path: String, format: TensorFileFormat, tensors: [(TensorSpec, [UInt8])],
                             metadata: [(key: String, value: String)] = []) throws {
        try checkSizes(tensors, path: path)
        try write(path: path, format: format, tensors: tensors.map(\.0), metadata: metadata) { index, elementOffset, chunk in
            let start = elementOffset * tensors[index].0.dtype.byteSize
            tensors[index].1.withUnsafeBytes { chunk.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[start..<(start + chunk.count)])) }
        }
    }

    /// The exact bytes `write` would put in a file, built in memory (for small files, tests and fuzzing).
    /// `path` only names the target in error messages.
    public static func encode(format: TensorFileFormat, tensors: [(TensorSpec, [UInt8])],
                              metadata: [(key: String, value: String)] = [], path: String = "<memory>") throws(TensorIOError) -> [UInt8] {
        try checkSizes(tensors, path: path)
        let layout = try Layout(path: path, format: format, specs: tensors.map(\.0), metadata: metadata)
        var out = layout.header
        out.reserveCapacity(out.count + layout.byteCounts.reduce(0, +))
        for (_, bytes) in tensors { out += bytes }
        return out
    }

    private static func checkSizes(_ tensors: [(TensorSpec, [UInt8])], path: String) throws(TensorIOError) {
        for (spec, bytes) in tensors {
            if let needed = spec.byteCount, needed != bytes.count {
                throw TensorIOError(path: path, message: "tensor \(quoted(spec.name)) has \(bytes.count) bytes but shape \(spec.shape) of \(spec.dtype.rawValue) needs \(needed)")
            }
        }
    }

    /// Everything decided before the first byte is written: validation, byte sizes and the header. Doing it
    /// all up front means bad arguments never create a temporary file.
    private struct Layout {
        let header: [UInt8]
        let byteCounts: [Int]

        init(path: String, format: TensorFileFormat, specs: [TensorSpec], metadata: [(key: String, value: String)]) throws(TensorIOError) {
            func fail(_ message: String) -> TensorIOError { TensorIOError(path: path, message: message) }
            var byteCounts: [Int] = []
            for spec in specs {
                guard spec.shape.allSatisfy({ $0 >= 0 }) else { throw fail("tensor \(quoted(spec.name)) has a negative dimension in shape \(spec.shape)") }
                guard let size = spec.byteCount else { throw fail("tensor \(quoted(spec.name)) with shape \(spec.shape) of \(spec.dtype.rawValue) is too large") }
                byteCounts.append(size)
            }
            self.byteCounts = byteCounts
            switch format {
            case .safetensors:
                var names = Set<String>()
                var total = 0
                for (spec, size) in zip(specs, byteCounts) {
                    guard spec.name != Safetensors.metadataKey else { throw fail("'\(Safetensors.metadataKey)' is reserved and cannot name a tensor") }
                    guard names.insert(spec.name).inserted else { throw fail("duplicate tensor name \(quoted(spec.name))") }
                    guard !spec.fortranOrder else { throw fail("tensor \(quoted(spec.name)) has fortranOrder set, but .safetensors stores only row-major data") }
                    let (sum, overflow) = total.addingReportingOverflow(size)
                    guard !overflow else { throw fail("total tensor data is too large") }
                    total = sum
                }
                var keys = Set<String>()
                for (key, _) in metadata where !keys.insert(key).inserted { throw fail("duplicate metadata key \(quoted(key))") }
                let json = Safetensors.header(specs: specs, byteCounts: byteCounts, metadata: metadata)
                header = withUnsafeBytes(of: UInt64(json.count).littleEndian, Array.init) + json
            case .npy:
                guard specs.count == 1, let spec = specs.first else { throw fail("a .npy file holds exactly one tensor, got \(specs.count)") }
                guard metadata.isEmpty else { throw fail(".npy files cannot store metadata; use .safetensors") }
                guard let descr = spec.dtype.npyDescr else { throw fail("\(spec.dtype) cannot be stored in .npy; use .safetensors") }
                header = Npy.preamble(descr: descr, shape: spec.shape, fortranOrder: spec.fortranOrder)
            }
        }
    }
}
