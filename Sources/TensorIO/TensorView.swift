/// One tensor inside a parsed file. The bytes are not copied: they point into the caller's buffer (for
/// `TensorFile`, the memory map), so opening a 1 GiB file costs a page-table entry, not 1 GiB of RAM.
///
/// A view obtained from a `TensorFile` keeps the file's memory map alive, so a view outliving its file
/// (`try TensorFile(path: p).tensor(named: "w")`) stays valid. A view from `TensorFile.parse(bytes:...)`
/// borrows the caller's buffer and is valid only while that buffer is.
///
/// The bytes are little-endian and may be unaligned (safetensors only pads its header to 8 bytes, and
/// `.npy` data starts wherever the header ends), so read elements with `loadUnaligned(fromByteOffset:as:)`.
public struct TensorView {
    public let name: String
    public let dtype: TensorDType
    public let shape: [Int]
    /// Product of `shape`; 1 for a scalar (shape `[]`), 0 when any dimension is 0.
    public let count: Int
    /// Column-major element order. Only `.npy` files can set it; the bytes are exactly as stored.
    public let fortranOrder: Bool
    /// Exactly `count * dtype.byteSize` bytes; valid while this view, or the `TensorFile` it came from, is
    /// alive (for `TensorFile.parse`, while the parsed buffer is). Do not let the pointer escape the view.
    public let bytes: UnsafeRawBufferPointer
    /// The memory map behind `bytes`, retained so the view cannot dangle; nil for caller-owned buffers.
    let owner: AnyObject?

    init(name: String, dtype: TensorDType, shape: [Int], count: Int, fortranOrder: Bool, bytes: UnsafeRawBufferPointer, owner: AnyObject? = nil) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.count = count
        self.fortranOrder = fortranOrder
        self.bytes = bytes
        self.owner = owner
    }

    /// The spec that would write this tensor back unchanged.
    public var spec: TensorSpec { TensorSpec(name: name, dtype: dtype, shape: shape, fortranOrder: fortranOrder) }
}

/// The result of parsing a file image: its tensors and metadata, borrowing the parsed buffer.
public struct ParsedTensors {
    /// safetensors: in data-offset (file) order; npy: the single tensor, named after the file stem.
    public let tensors: [TensorView]
    /// safetensors `__metadata__` in header order; empty for `.npy`.
    public let metadata: [(key: String, value: String)]
    private let index: [String: Int]

    init(tensors: [TensorView], metadata: [(key: String, value: String)]) {
        self.tensors = tensors
        self.metadata = metadata
        // The parsers reject duplicate names; should one slip through, lookups find the first.
        self.index = Dictionary(tensors.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    public func tensor(named name: String) -> TensorView? {
        index[name].map { tensors[$0] }
    }

    /// The same tensors, each retaining `owner` (the memory map their bytes point into).
    func retaining(_ owner: AnyObject) -> ParsedTensors {
        ParsedTensors(tensors: tensors.map {
            TensorView(name: $0.name, dtype: $0.dtype, shape: $0.shape, count: $0.count, fortranOrder: $0.fortranOrder, bytes: $0.bytes, owner: owner)
        }, metadata: metadata)
    }
}

/// Overflow-checked element count: nil for a negative dimension or a product that does not fit in `Int`.
/// Multiplies left to right like the reference Rust implementation, so `[2^40, 2^40, 0]` overflows.
func elementCount(_ shape: [Int]) -> Int? {
    var count = 1
    for dimension in shape {
        guard dimension >= 0 else { return nil }
        let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
        if overflow { return nil }
        count = product
    }
    return count
}

/// Overflow-checked byte size of a tensor.
func byteCount(_ shape: [Int], _ dtype: TensorDType) -> Int? {
    guard let count = elementCount(shape) else { return nil }
    let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
    return overflow ? nil : bytes
}
