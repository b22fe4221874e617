/// Tensors handed out in order and taken back all at once: the k-th tensor taken after a `reset` reuses the
/// k-th buffer of the previous round when it is large enough. A training step that takes the same shapes in
/// the same order every time allocates nothing once warm.
public final class TensorArena<Scalar: TensorScalar>: @unchecked Sendable {
    var buffers: [TensorStorage<Scalar>] = []
    var next = 0

    public init() {}

    /// Starts a new round; tensors taken before must no longer be used.
    public func reset() { next = 0 }

    /// A tensor of `shape`, zeroed if `zeroed` (otherwise its contents are whatever was there).
    public func take(_ shape: Shape, zeroed: Bool = true) -> Tensor<Scalar> {
        let n = shape.count
        if next == buffers.count {
            buffers.append(TensorStorage(capacity: n))
        } else if buffers[next].capacity < n {
            buffers[next] = TensorStorage(capacity: n)
        }
        let t = Tensor(storage: buffers[next], shape: shape)
        next += 1
        if zeroed { t.zero() }
        return t
    }

    /// Bytes held.
    public var capacityInBytes: Int { buffers.reduce(0) { $0 + $1.capacity * MemoryLayout<Scalar>.stride } }
}
