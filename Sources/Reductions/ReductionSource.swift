import Base
import Formats

/// The elements an algorithm reduces, in order: one buffer, or several concatenated (the flattened gradient
/// list of a global norm).
public struct ReductionSource: Sendable {
    public let buffers: [FloatBuffer]
    public let count: Int
    let starts: [Int]

    public init(_ buffers: [FloatBuffer]) {
        self.buffers = buffers
        var starts = [Int](), total = 0
        for b in buffers { starts.append(total); total += b.count }
        self.starts = starts
        self.count = total
    }

    /// The format values are stored in: the buffers' common format, or the promoted one of mixed buffers as
    /// PyTorch promotes (Float16 with BFloat16 gives Float32; otherwise the wider).
    public var storageFormat: FloatFormat {
        let formats = Set(buffers.map(\.format))
        if formats.count <= 1 { return buffers.first?.format ?? .float32 }
        if formats.contains(.float64) { return .float64 }
        return .float32
    }

    /// Calls body with every element, in order.
    @inline(__always) public func forEach(_ body: (Double) -> Void) {
        for b in buffers {
            switch b.format {
            case .float16:
                for i in 0..<b.count { body(Double(Float16(bitPattern: b.base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))) }
            case .bfloat16:
                for i in 0..<b.count {
                    body(Double(Float(bitPattern: UInt32(b.base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16)))
                }
            case .float32:
                for i in 0..<b.count { body(Double(Float(bitPattern: b.base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))) }
            default:
                for i in 0..<b.count { body(Double(bitPattern: b.base.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))) }
            }
        }
    }

    /// Element i.
    @inline(__always) public subscript(i: Int) -> Double {
        var k = buffers.count - 1
        while starts[k] > i { k -= 1 }
        return buffers[k].value(at: i - starts[k])
    }

    /// The smallest nonzero and the largest magnitude among the finite elements (0 when there are none), from
    /// integer minima and maxima of the bit patterns with the sign cleared (the order of non-negative floats).
    public func magnitudeRange(threads: Int = ChunkedParallel.defaultThreadCount) -> (smallest: Double, largest: Double) {
        var smallest = Double.infinity, largest = 0.0
        for b in buffers {
            for (low, high) in ChunkedParallel.map(count: b.count, threads: threads, { finiteMagnitudeRange(b, $0) }) where high > 0 {
                smallest = Swift.min(smallest, low)
                largest = Swift.max(largest, high)
            }
        }
        return (smallest.isFinite ? smallest : 0, largest)
    }
}
