/// What to write for one tensor: everything except its bytes, which `TensorWriter` pulls in chunks.
public struct TensorSpec: Sendable, Equatable {
    public var name: String
    public var dtype: TensorDType
    public var shape: [Int]
    /// Column-major data; only `.npy` can record it (safetensors is row-major by definition).
    public var fortranOrder: Bool = false

    public init(name: String, dtype: TensorDType, shape: [Int], fortranOrder: Bool = false) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.fortranOrder = fortranOrder
    }

    /// Elements in the tensor, or nil if a dimension is negative or the product overflows.
    public var count: Int? { elementCount(shape) }

    /// Bytes in the tensor, or nil if a dimension is negative or the size overflows.
    public var byteCount: Int? { TensorIO.byteCount(shape, dtype) }
}
