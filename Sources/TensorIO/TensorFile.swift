#if canImport(Glibc)
import Glibc
#endif

/// A tensor file opened for reading: memory-mapped, validated up front, then browsed without copies.
///
/// All validation happens in `init`, so every `TensorView` handed out is known to lie inside the file and to
/// have exactly `count * dtype.byteSize` bytes. The class is immutable and the map is read-only, which is
/// why it is safe to share across threads.
public final class TensorFile: @unchecked Sendable {
    public let path: String
    public let format: TensorFileFormat
    public let tensors: [TensorView]
    public let metadata: [(key: String, value: String)]
    private let parsed: ParsedTensors
    /// The map the views point into (they retain it too, so it lives as long as the last of them).
    private let mapping: MappedFile

    /// Opens `path`, choosing the format from its extension.
    public convenience init(path: String) throws(TensorIOError) {
        try self.init(path: path, format: TensorFileFormat(path: path))
    }

    /// Opens `path` as `format` regardless of its extension.
    public init(path: String, format: TensorFileFormat) throws(TensorIOError) {
        let mapping = try MappedFile(path: path)
        let parsed = try TensorFile.parse(bytes: mapping.bytes, path: path, format: format).retaining(mapping)
        self.path = path
        self.format = format
        self.mapping = mapping
        self.parsed = parsed
        self.tensors = parsed.tensors
        self.metadata = parsed.metadata
    }

    /// Parses a whole file image held in memory, without copying tensor data: the views point into
    /// `bytes` and are valid only while it is. `path` is used in error messages and, for `.npy`, to name
    /// the tensor after the file stem. Exposed so that fuzzers and tests can parse from memory.
    public static func parse(bytes: UnsafeRawBufferPointer, path: String, format: TensorFileFormat) throws(TensorIOError) -> ParsedTensors {
        switch format {
        case .safetensors: try Safetensors.parse(bytes, path: path)
        case .npy: try Npy.parse(bytes, path: path)
        }
    }

    public func tensor(named name: String) -> TensorView? { parsed.tensor(named: name) }

    /// Tells the kernel that the pages holding `elements` of `view` will not be read again soon, so that one
    /// sequential pass over a file larger than memory keeps only a window of it resident. Only whole pages
    /// inside the range are released, and only when they belong to this file's read-only map (where reading
    /// them again maps them back in from the file; on anonymous memory MADV_DONTNEED would zero them).
    public func releasePages(of view: TensorView, elements: Range<Int>) {
        guard let base = view.bytes.baseAddress, !elements.isEmpty else { return }
        releasePages(UnsafeRawBufferPointer(start: base + elements.lowerBound * view.dtype.byteSize, count: elements.count * view.dtype.byteSize))
    }

    /// The same for any bytes: only whole pages inside `bytes` that lie in this file's map are released.
    public func releasePages(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, let mapBase = mapping.bytes.baseAddress, !bytes.isEmpty else { return }
        let start = Int(bitPattern: base), end = start + bytes.count
        let mapStart = Int(bitPattern: mapBase)
        guard start >= mapStart, end <= mapStart + mapping.bytes.count else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let alignedStart = (start + page - 1) / page * page, alignedEnd = end / page * page
        guard alignedEnd > alignedStart, let pointer = UnsafeMutableRawPointer(bitPattern: alignedStart) else { return }
        _ = madvise(pointer, alignedEnd - alignedStart, MADV_DONTNEED)
    }
}
