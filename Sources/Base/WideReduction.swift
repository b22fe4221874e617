import Formats

/// Loads of one accumulator vector's worth of elements, widened to the accumulator format.
@usableFromInline protocol WideningLoad {
    associatedtype Vector: SIMD where Vector.Scalar: BinaryFloatingPoint
    /// Elements per vector.
    static var width: Int { get }
    /// Bytes per element.
    static var elementSize: Int { get }
    static func load(_ base: UnsafeRawPointer, _ index: Int) -> Vector
    /// Elements index..<index + 2 width as two vectors, in an order fixed by the format (a sum does not care).
    static func loadPair(_ base: UnsafeRawPointer, _ index: Int) -> (Vector, Vector)
    /// Σ of the lanes by a fixed binary tree (halves added lane-wise, recursively).
    static func treeSum(_ v: Vector) -> Vector.Scalar
}

/// Float16 → Float32 (8 lanes; F16C's vcvtph2ps).
@usableFromInline enum HalfLoad: WideningLoad {
    @usableFromInline static var width: Int { 8 }
    @usableFromInline static var elementSize: Int { 2 }
    @inline(__always) @usableFromInline static func load(_ base: UnsafeRawPointer, _ index: Int) -> SIMD8<Float> {
        // Lane by lane, which LLVM turns into one vcvtph2ps (the generic SIMD conversion is not always inlined).
        let h = base.loadUnaligned(fromByteOffset: 2 * index, as: SIMD8<Float16>.self)
        return SIMD8<Float>(Float(h[0]), Float(h[1]), Float(h[2]), Float(h[3]), Float(h[4]), Float(h[5]), Float(h[6]), Float(h[7]))
    }
    @inline(__always) @usableFromInline static func loadPair(_ base: UnsafeRawPointer, _ index: Int) -> (SIMD8<Float>, SIMD8<Float>) {
        (load(base, index), load(base, index + 8))
    }
    @inline(__always) @usableFromInline static func treeSum(_ v: SIMD8<Float>) -> Float { floatTree(v) }
}

/// BFloat16 → Float32 (8 lanes): the bits shifted into the top half of a Float, which is exact. A pair of
/// vectors comes from one 32-byte load read as 8 words of two BFloat16 each: the odd elements are the words'
/// top halves already (mask the bottom), the even ones their bottom halves shifted up.
@usableFromInline enum BFloat16Load: WideningLoad {
    @usableFromInline static var width: Int { 8 }
    @usableFromInline static var elementSize: Int { 2 }
    @inline(__always) @usableFromInline static func load(_ base: UnsafeRawPointer, _ index: Int) -> SIMD8<Float> {
        let bits = base.loadUnaligned(fromByteOffset: 2 * index, as: SIMD8<UInt16>.self)
        return unsafeBitCast(SIMD8<UInt32>(truncatingIfNeeded: bits) &<< 16, to: SIMD8<Float>.self)
    }
    @inline(__always) @usableFromInline static func loadPair(_ base: UnsafeRawPointer, _ index: Int) -> (SIMD8<Float>, SIMD8<Float>) {
        let words = base.loadUnaligned(fromByteOffset: 2 * index, as: SIMD8<UInt32>.self)
        return (unsafeBitCast(words &<< 16, to: SIMD8<Float>.self),
                unsafeBitCast(words & SIMD8(repeating: 0xFFFF_0000), to: SIMD8<Float>.self))
    }
    @inline(__always) @usableFromInline static func treeSum(_ v: SIMD8<Float>) -> Float { floatTree(v) }
}

/// Float32 → Float64 (4 lanes).
@usableFromInline enum FloatLoad: WideningLoad {
    @usableFromInline static var width: Int { 4 }
    @usableFromInline static var elementSize: Int { 4 }
    @inline(__always) @usableFromInline static func load(_ base: UnsafeRawPointer, _ index: Int) -> SIMD4<Double> {
        SIMD4<Double>(base.loadUnaligned(fromByteOffset: 4 * index, as: SIMD4<Float>.self))
    }
    @inline(__always) @usableFromInline static func loadPair(_ base: UnsafeRawPointer, _ index: Int) -> (SIMD4<Double>, SIMD4<Double>) {
        (load(base, index), load(base, index + 4))
    }
    @inline(__always) @usableFromInline static func treeSum(_ v: SIMD4<Double>) -> Double { doubleTree(v) }
}

/// Float64 as it is (4 lanes).
@usableFromInline enum DoubleLoad: WideningLoad {
    @usableFromInline static var width: Int { 4 }
    @usableFromInline static var elementSize: Int { 8 }
    @inline(__always) @usableFromInline static func load(_ base: UnsafeRawPointer, _ index: Int) -> SIMD4<Double> {
        base.loadUnaligned(fromByteOffset: 8 * index, as: SIMD4<Double>.self)
    }
    @inline(__always) @usableFromInline static func loadPair(_ base: UnsafeRawPointer, _ index: Int) -> (SIMD4<Double>, SIMD4<Double>) {
        (load(base, index), load(base, index + 4))
    }
    @inline(__always) @usableFromInline static func treeSum(_ v: SIMD4<Double>) -> Double { doubleTree(v) }
}

@inline(__always) @usableFromInline func floatTree(_ v: SIMD8<Float>) -> Float {
    let four = v.lowHalf + v.highHalf, two = four.lowHalf + four.highHalf
    return two[0] + two[1]
}
@inline(__always) @usableFromInline func doubleTree(_ v: SIMD4<Double>) -> Double {
    let two = v.lowHalf + v.highHalf
    return two[0] + two[1]
}

@inline(__always) func magnitude<V: SIMD>(_ x: V) -> V where V.Scalar: FloatingPoint {
    x.replacing(with: -x, where: x .< V.zero)
}

/// Runs `body(pointer, index)` over the range in steps of `step` elements, the last partial step on a
/// zero-padded copy (zeros add nothing to a sum of squares or magnitudes, exactly).
@inline(__always) func forEachStep(_ base: UnsafeRawPointer, _ range: Range<Int>, step: Int, elementSize: Int,
                                   _ body: (UnsafeRawPointer, Int) -> Void) {
    var i = range.lowerBound
    while i + step <= range.upperBound {
        body(base, i)
        i += step
    }
    if i < range.upperBound {
        // A fixed buffer on the stack (withUnsafeTemporaryAllocation may take the heap for a size it cannot see).
        var storage = SIMD32<UInt64>()
        precondition(step * elementSize <= MemoryLayout.size(ofValue: storage), "step of \(step * elementSize) bytes")
        withUnsafeMutableBytes(of: &storage) { tail in
            tail.copyMemory(from: UnsafeRawBufferPointer(start: base + i * elementSize, count: (range.upperBound - i) * elementSize))
            body(UnsafeRawPointer(tail.baseAddress!), 0)
        }
    }
}

/// Σx² (or Σ|x|) of one chunk in the wide accumulator: 4 vectors of lanes, each element going to a lane fixed
/// by its position (j mod 4w, except that BFloat16 pairs even and odd elements, see `BFloat16Load`), each lane a
/// running fused multiply-add; the lanes are then added by a fixed tree.
@inline(__always) func wideChunk<L: WideningLoad>(_: L.Type, _ base: UnsafeRawPointer, _ range: Range<Int>, squares: Bool) -> L.Vector.Scalar {
    var a0 = L.Vector(), a1 = L.Vector(), a2 = L.Vector(), a3 = L.Vector()
    let w = L.width
    forEachStep(base, range, step: 4 * w, elementSize: L.elementSize) { p, i in
        let (x0, x1) = L.loadPair(p, i), (x2, x3) = L.loadPair(p, i + 2 * w)
        if squares {
            a0 = a0.addingProduct(x0, x0); a1 = a1.addingProduct(x1, x1)
            a2 = a2.addingProduct(x2, x2); a3 = a3.addingProduct(x3, x3)
        } else {
            a0 += magnitude(x0); a1 += magnitude(x1); a2 += magnitude(x2); a3 += magnitude(x3)
        }
    }
    return L.treeSum((a0 + a1) + (a2 + a3))
}

/// Pairwise (binary tree) sum of chunk partials, in a fixed shape for a given count.
@usableFromInline func treeSum<T: FloatingPoint>(_ values: ArraySlice<T>) -> T {
    switch values.count {
    case 0: return 0
    case 1: return values.first!
    default:
        let middle = values.startIndex + values.count / 2
        return treeSum(values[..<middle]) + treeSum(values[middle...])
    }
}

/// Lanes of the fast wide-accumulator kernel, per input format.
public func wideLaneCount(_ format: FloatFormat) -> Int { format.bitWidth == 16 ? 32 : 16 }

/// The fast wide-accumulator reduction (the `blocked-simd` algorithm): Σx² or Σ|x| in Float32 for 16-bit
/// inputs and in Float64 for Float32 and Float64 inputs, chunks on all threads, the same bits for any thread count.
public func wideReduction(_ x: FloatBuffer, squares: Bool, threads: Int = ChunkedParallel.defaultThreadCount) -> Double {
    if x.count <= ChunkedParallel.chunkSize {
        // One chunk: the same value as below, without the array of partials (a training step allocates nothing).
        let all = 0..<x.count
        switch x.format {
        case .float16: return Double(wideChunk(HalfLoad.self, x.base, all, squares: squares))
        case .bfloat16: return Double(wideChunk(BFloat16Load.self, x.base, all, squares: squares))
        case .float32: return wideChunk(FloatLoad.self, x.base, all, squares: squares)
        default: return wideChunk(DoubleLoad.self, x.base, all, squares: squares)
        }
    }
    switch x.format {
    case .float16:
        let parts = ChunkedParallel.map(count: x.count, threads: threads) { wideChunk(HalfLoad.self, x.base, $0, squares: squares) }
        return Double(treeSum(parts[...]))
    case .bfloat16:
        let parts = ChunkedParallel.map(count: x.count, threads: threads) { wideChunk(BFloat16Load.self, x.base, $0, squares: squares) }
        return Double(treeSum(parts[...]))
    case .float32:
        let parts = ChunkedParallel.map(count: x.count, threads: threads) { wideChunk(FloatLoad.self, x.base, $0, squares: squares) }
        return treeSum(parts[...])
    default:
        let parts = ChunkedParallel.map(count: x.count, threads: threads) { wideChunk(DoubleLoad.self, x.base, $0, squares: squares) }
        return treeSum(parts[...])
    }
}

/// A streaming read of the buffer's bytes on all threads (the bandwidth baseline of the benchmarks): 32-byte
/// loads summed as integers, so the result depends on every byte and the loop cannot be removed.
public func streamingRead(_ x: FloatBuffer, threads: Int = ChunkedParallel.defaultThreadCount) -> UInt64 {
    let words = x.byteCount / 8
    let parts = ChunkedParallel.map(count: words, chunkSize: ChunkedParallel.chunkSize, threads: threads) { range -> UInt64 in
        var a0 = SIMD4<UInt64>(), a1 = SIMD4<UInt64>()
        var i = range.lowerBound
        while i + 8 <= range.upperBound {
            a0 &+= x.base.loadUnaligned(fromByteOffset: 8 * i, as: SIMD4<UInt64>.self)
            a1 &+= x.base.loadUnaligned(fromByteOffset: 8 * i + 32, as: SIMD4<UInt64>.self)
            i += 8
        }
        while i < range.upperBound { a0[0] &+= x.base.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self); i += 1 }
        return (a0 &+ a1).wrappedSum()
    }
    return parts.reduce(0, &+)
}
