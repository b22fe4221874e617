import Formats

/// Memory of a tensor: 64-byte aligned, zero-initialized, freed with the last tensor that uses it.
public final class TensorStorage<Scalar: TensorScalar>: @unchecked Sendable {
    public let base: UnsafeMutablePointer<Scalar>
    public let capacity: Int

    public init(capacity: Int) {
        self.capacity = capacity
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(1, capacity) * MemoryLayout<Scalar>.stride, alignment: 64)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: max(1, capacity) * MemoryLayout<Scalar>.stride)
        base = raw.bindMemory(to: Scalar.self, capacity: max(1, capacity))
    }

    deinit { UnsafeMutableRawPointer(base).deallocate() }
}

/// A dense, row-major (C order) tensor of one of the lab's formats.
///
/// A tensor is a view of storage: copying a `Tensor` shares its elements, and writes through one view are
/// seen by the others (as with a PyTorch tensor). `copy()` makes independent storage.
public struct Tensor<Scalar: TensorScalar>: @unchecked Sendable, CustomStringConvertible {
    public let storage: TensorStorage<Scalar>
    public let offset: Int
    public let shape: Shape

    /// A view of `storage` from `offset`.
    @inlinable public init(storage: TensorStorage<Scalar>, offset: Int = 0, shape: Shape) {
        precondition(offset >= 0 && offset + shape.count <= storage.capacity, "view of \(shape) at \(offset) exceeds storage of \(storage.capacity)")
        self.storage = storage
        self.offset = offset
        self.shape = shape
    }

    /// A new tensor of zeros.
    public init(zeros shape: Shape) {
        self.init(storage: TensorStorage(capacity: shape.count), shape: shape)
    }

    /// A new tensor holding `values` (row-major), which must have `shape.count` elements.
    public init(shape: Shape, _ values: [Scalar]) {
        precondition(values.count == shape.count, "\(values.count) values for shape \(shape)")
        self.init(zeros: shape)
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: values.count) }
    }

    /// A new tensor of `values` rounded to this format.
    /// Float64 and Float32 convert in hardware (to nearest, ties to even, overflowing to inf: the rounding
    /// `LabScalar.init(rounding:saturating:)` computes in software); NaNs take the software path.
    public init(shape: Shape, rounding values: [Double]) {
        precondition(values.count == shape.count, "\(values.count) values for shape \(shape)")
        self.init(zeros: shape)
        let raw = UnsafeMutableRawPointer(pointer)
        values.withUnsafeBufferPointer { v in
            switch Scalar.kind {
            case .float64:
                let y = raw.assumingMemoryBound(to: Double.self)
                for i in 0..<v.count { y[i] = v[i].isNaN ? Double(rounding: v[i], saturating: false) : v[i] }
            case .float32:
                let y = raw.assumingMemoryBound(to: Float.self)
                for i in 0..<v.count { y[i] = v[i].isNaN ? Float(rounding: v[i], saturating: false) : Float(v[i]) }
            case .float16, .bfloat16:
                for i in 0..<v.count { pointer[i] = Scalar(rounding: v[i], saturating: false) }
            }
        }
    }

    /// A new tensor with every element `value`.
    public init(shape: Shape, repeating value: Scalar) {
        self.init(zeros: shape)
        pointer.update(repeating: value, count: shape.count)
    }

    @inlinable public var count: Int { shape.count }
    @inlinable public var pointer: UnsafeMutablePointer<Scalar> { storage.base + offset }

    /// Element `i` in row-major order.
    @inlinable public subscript(flat i: Int) -> Scalar {
        get { pointer[i] }
        nonmutating set { pointer[i] = newValue }
    }

    /// The element at a multi-index.
    public subscript(_ index: Int...) -> Scalar {
        get { pointer[flatIndex(index)] }
        nonmutating set { pointer[flatIndex(index)] = newValue }
    }

    func flatIndex(_ index: [Int]) -> Int {
        precondition(index.count == shape.rank, "index \(index) for shape \(shape)")
        var flat = 0
        for (axis, i) in index.enumerated() {
            precondition(i >= 0 && i < shape[axis], "index \(index) out of range for shape \(shape)")
            flat = flat * shape[axis] + i
        }
        return flat
    }

    /// The same elements with another shape of the same count (a view, no copy).
    @inlinable public func reshaped(_ newShape: Shape) -> Tensor {
        precondition(newShape.count == count, "cannot reshape \(shape) to \(newShape)")
        return Tensor(storage: storage, offset: offset, shape: newShape)
    }

    /// Rows [start, start + n) of the first axis (a view, no copy).
    @inlinable public func rows(_ start: Int, _ n: Int) -> Tensor {
        precondition(shape.rank >= 1 && start >= 0 && start + n <= shape[0], "rows \(start)..<\(start + n) of \(shape)")
        return Tensor(storage: storage, offset: offset + start * shape.inner(0), shape: shape.replacing(axis: 0, with: n))
    }

    /// An independent copy.
    public func copy() -> Tensor {
        let c = Tensor(zeros: shape)
        c.pointer.update(from: pointer, count: count)
        return c
    }

    /// Copies `other`'s elements (same count) into this tensor's.
    @inlinable public func assign(_ other: Tensor) {
        precondition(other.count == count, "assigning \(other.shape) to \(shape)")
        pointer.update(from: other.pointer, count: count)
    }

    /// Sets every element to zero.
    @inlinable public func zero() {
        UnsafeMutableRawPointer(pointer).initializeMemory(as: UInt8.self, repeating: 0, count: count * MemoryLayout<Scalar>.stride)
    }

    /// The elements, row-major.
    public var scalars: [Scalar] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
    /// The elements as Doubles (exact).
    public var doubles: [Double] { scalars.map { Double($0.compute) } }

    public var description: String {
        let shown = doubles.prefix(8).map { "\($0)" }.joined(separator: ", ")
        return "Tensor<\(Scalar.kind.rawValue)>\(shape) [\(shown)\(count > 8 ? ", …" : "")]"
    }
}

extension Tensor {
    /// A new tensor with the same shape and the elements of `other` rounded once to this format, counting the
    /// values that overflowed, underflowed or became subnormal (see `ConversionEvents`).
    public init<Other: TensorScalar>(converting other: Tensor<Other>, events: inout ConversionEvents) {
        self.init(zeros: other.shape)
        convert(other, into: self, events: &events)
    }

    /// A new tensor with the elements of `other` rounded once to this format.
    public init<Other: TensorScalar>(converting other: Tensor<Other>) {
        var events = ConversionEvents()
        self.init(converting: other, events: &events)
    }
}
