import Formats
import Tensors
import Autograd
import Base

/// One gradient (or parameter) a clipper reads and rewrites in place: its elements in their own format, its
/// shape, and its name. The memory belongs to someone else (a `Parameter`'s gradient, or `OwnedTensors`).
public struct GradientTensor: @unchecked Sendable {
    public enum Values {
        case float16(UnsafeMutableBufferPointer<Float16>)
        case bfloat16(UnsafeMutableBufferPointer<BFloat16>)
        case float32(UnsafeMutableBufferPointer<Float>)
        case float64(UnsafeMutableBufferPointer<Double>)
    }

    public let name: String
    public let shape: [Int]
    public let values: Values

    public init<S: TensorScalar>(name: String, shape: [Int], _ buffer: UnsafeMutableBufferPointer<S>) {
        self.name = name
        self.shape = shape
        switch S.kind {
        case .float16: values = .float16(unsafeBitCast(buffer, to: UnsafeMutableBufferPointer<Float16>.self))
        case .bfloat16: values = .bfloat16(unsafeBitCast(buffer, to: UnsafeMutableBufferPointer<BFloat16>.self))
        case .float32: values = .float32(unsafeBitCast(buffer, to: UnsafeMutableBufferPointer<Float>.self))
        case .float64: values = .float64(unsafeBitCast(buffer, to: UnsafeMutableBufferPointer<Double>.self))
        }
    }

    /// The gradient of a parameter.
    public init<S: TensorScalar>(_ parameter: Parameter<S>) {
        self.init(name: parameter.name, shape: parameter.shape.dims,
                  UnsafeMutableBufferPointer(start: parameter.grad.pointer, count: parameter.grad.count))
    }

    /// The value of a parameter (AGC reads parameters' norms).
    public init<S: TensorScalar>(valueOf parameter: Parameter<S>) {
        self.init(name: parameter.name, shape: parameter.shape.dims,
                  UnsafeMutableBufferPointer(start: parameter.value.pointer, count: parameter.value.count))
    }

    public var format: FloatFormat {
        switch values {
        case .float16: return .float16
        case .bfloat16: return .bfloat16
        case .float32: return .float32
        case .float64: return .float64
        }
    }

    public var count: Int { visit(CountVisitor()) }

    /// The elements as a read-only buffer for the Reductions algorithms.
    public var floatBuffer: FloatBuffer { visit(FloatBufferOf()) }

    /// Calls the visitor with the elements typed as their Swift scalar.
    public func visit<V: GradientVisitor>(_ visitor: V) -> V.Result {
        switch values {
        case .float16(let b): return visitor.visit(b)
        case .bfloat16(let b): return visitor.visit(b)
        case .float32(let b): return visitor.visit(b)
        case .float64(let b): return visitor.visit(b)
        }
    }
}

/// A computation generic over the element type of a `GradientTensor`.
public protocol GradientVisitor {
    associatedtype Result
    func visit<S: TensorScalar>(_ values: UnsafeMutableBufferPointer<S>) -> Result
}

private struct CountVisitor: GradientVisitor {
    func visit<S: TensorScalar>(_ values: UnsafeMutableBufferPointer<S>) -> Int { values.count }
}

private struct FloatBufferOf: GradientVisitor {
    func visit<S: TensorScalar>(_ values: UnsafeMutableBufferPointer<S>) -> FloatBuffer {
        FloatBuffer(format: S.format, base: UnsafeRawPointer(values.baseAddress ?? UnsafeMutablePointer(bitPattern: 64)!), count: values.count)
    }
}

/// Memory for tensors read from a file: one aligned allocation per tensor, freed with the object.
public final class OwnedTensors: @unchecked Sendable {
    public private(set) var tensors: [GradientTensor] = []
    private var allocations: [UnsafeMutableRawPointer] = []

    public init() {}

    /// Adds a tensor of `format` (one of the four arithmetic formats) whose little-endian bytes are copied from `bytes`,
    /// 16 MiB at a time; `copied` is told each piece once it is copied (a mapped file gives back its pages, so that
    /// the copy does not hold the file resident twice).
    public func append(name: String, shape: [Int], format: FloatFormat, bytes: UnsafeRawBufferPointer,
                       copied: ((UnsafeRawBufferPointer) -> Void)? = nil) {
        let width = format.bitWidth / 8
        let count = bytes.count / width
        let memory = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 8), alignment: 64)
        if let source = bytes.baseAddress, bytes.count > 0 {
            let piece = 16 << 20
            for offset in stride(from: 0, to: bytes.count, by: piece) {
                let n = min(piece, bytes.count - offset)
                (memory + offset).copyMemory(from: source + offset, byteCount: n)
                copied?(UnsafeRawBufferPointer(start: source + offset, count: n))
            }
        }
        allocations.append(memory)
        switch format {
        case .float16: tensors.append(GradientTensor(name: name, shape: shape, UnsafeMutableBufferPointer(start: memory.assumingMemoryBound(to: Float16.self), count: count)))
        case .bfloat16: tensors.append(GradientTensor(name: name, shape: shape, UnsafeMutableBufferPointer(start: memory.assumingMemoryBound(to: BFloat16.self), count: count)))
        case .float32: tensors.append(GradientTensor(name: name, shape: shape, UnsafeMutableBufferPointer(start: memory.assumingMemoryBound(to: Float.self), count: count)))
        case .float64: tensors.append(GradientTensor(name: name, shape: shape, UnsafeMutableBufferPointer(start: memory.assumingMemoryBound(to: Double.self), count: count)))
        default: preconditionFailure("\(format) is not an arithmetic format")
        }
    }

    deinit { for memory in allocations { memory.deallocate() } }
}
