import Formats

/// Elements of one of the four arithmetic formats in memory (a tensor's bytes, little-endian, possibly
/// unaligned): what the reductions read. The memory must outlive the buffer.
public struct FloatBuffer: @unchecked Sendable {
    public let format: FloatFormat
    public let base: UnsafeRawPointer
    public let count: Int

    /// Requires `format` to be Float16, BFloat16, Float32 or Float64.
    public init(format: FloatFormat, base: UnsafeRawPointer, count: Int) {
        precondition(FloatFormat.arithmetic.contains(format), "\(format) is not an arithmetic format")
        self.format = format
        self.base = base
        self.count = count
    }

    public var byteCount: Int { count * format.bitWidth / 8 }

    /// Element i as its exact Double value.
    @inlinable public func value(at i: Int) -> Double {
        switch format.bitWidth {
        case 64: return Double(bitPattern: base.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))
        case 32: return Double(Float(bitPattern: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
        default:
            let bits = base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)
            return format == .float16 ? Double(Float16(bitPattern: bits)) : Double(BFloat16(bitPattern: bits))
        }
    }

    /// Elements [range] as a buffer of their own.
    public func slice(_ range: Range<Int>) -> FloatBuffer {
        FloatBuffer(format: format, base: base + range.lowerBound * format.bitWidth / 8, count: range.count)
    }

    /// Calls the visitor with the elements typed as their Swift scalar (copied when the memory is unaligned).
    public func visit<V: FloatBufferVisitor>(_ visitor: V) -> V.Result {
        switch format {
        case .float16: return typed(Float16.self, visitor)
        case .bfloat16: return typed(BFloat16.self, visitor)
        case .float32: return typed(Float.self, visitor)
        default: return typed(Double.self, visitor)
        }
    }

    private func typed<T: LabScalar, V: FloatBufferVisitor>(_: T.Type, _ visitor: V) -> V.Result {
        if Int(bitPattern: base) % MemoryLayout<T>.alignment == 0 {
            return visitor.visit(UnsafeBufferPointer(start: base.assumingMemoryBound(to: T.self), count: count))
        }
        let copy = (0..<count).map { T(bitPattern: base.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.stride, as: T.BitPattern.self)) }
        return copy.withUnsafeBufferPointer { visitor.visit($0) }
    }
}

/// A computation generic over the element type of a `FloatBuffer`.
public protocol FloatBufferVisitor {
    associatedtype Result
    func visit<T: LabScalar>(_ values: UnsafeBufferPointer<T>) -> Result
}

extension Array where Element: LabScalar {
    /// The array's elements as a `FloatBuffer`, for the duration of `body`.
    public func withFloatBuffer<R>(_ body: (FloatBuffer) throws -> R) rethrows -> R {
        try withUnsafeBytes { try body(FloatBuffer(format: Element.format, base: $0.baseAddress ?? UnsafeRawPointer(bitPattern: 16)!, count: count)) }
    }
}
