import Base
import Formats
import Reference

// The exact reduction of 16- and 32-bit inputs at memory speed: an element is m × 2^(E - bias - f) with an
// integer significand m of at most f + 1 bits (f fraction bits, E the biased exponent, 1 for subnormals), so its
// square is m² × 2^(2(E - bias - f)), and all elements of one exponent can be summed as integers: bin[E] += m² (or
// m). A UInt64 bin holds 2^(64 - 2(f + 1)) squares without overflow (2^16 for Float32), after which the bins are
// flushed into the superaccumulator, one addition per nonzero bin. Four sets of bins take turns, so consecutive
// elements of the same exponent do not wait on each other's store. Inf and NaN (the all-ones exponent) are
// counted in their own bin and, when it is nonzero, the block is scanned again for them.

protocol BinnedLayout {
    static var fractionBits: Int { get }
    static var exponentBits: Int { get }
    static var bias: Int { get }
    static func bits(_ base: UnsafeRawPointer, _ i: Int) -> UInt32
}

enum BinnedFloat32: BinnedLayout {
    static var fractionBits: Int { 23 }
    static var exponentBits: Int { 8 }
    static var bias: Int { 127 }
    @inline(__always) static func bits(_ base: UnsafeRawPointer, _ i: Int) -> UInt32 { base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self) }
}

enum BinnedFloat16: BinnedLayout {
    static var fractionBits: Int { 10 }
    static var exponentBits: Int { 5 }
    static var bias: Int { 15 }
    @inline(__always) static func bits(_ base: UnsafeRawPointer, _ i: Int) -> UInt32 { UInt32(base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
}

enum BinnedBFloat16: BinnedLayout {
    static var fractionBits: Int { 7 }
    static var exponentBits: Int { 8 }
    static var bias: Int { 127 }
    @inline(__always) static func bits(_ base: UnsafeRawPointer, _ i: Int) -> UInt32 { UInt32(base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
}

/// Σx² (or Σ|x|) of `range` exactly, for Float32, Float16 and BFloat16 buffers; nil for Float64 (its squares need
/// 106 bits: `ExactAccumulator.addSquare` does them).
func binnedReduction(_ x: FloatBuffer, _ range: Range<Int>, squares: Bool) -> ExactAccumulator? {
    switch x.format {
    case .float32: return binnedReduction(BinnedFloat32.self, x, range, squares: squares)
    case .float16: return binnedReduction(BinnedFloat16.self, x, range, squares: squares)
    case .bfloat16: return binnedReduction(BinnedBFloat16.self, x, range, squares: squares)
    default: return nil
    }
}

/// Long: the four-set binning loop, its flush into the superaccumulator and the rescan for inf and NaN.
@inline(__always)
func binnedReduction<L: BinnedLayout>(_: L.Type, _ x: FloatBuffer, _ range: Range<Int>, squares: Bool) -> ExactAccumulator {
    let f = L.fractionBits, special = (1 << L.exponentBits) - 1, bins = special + 1
    let fractionMask = UInt32((1 << f) - 1), hidden = UInt64(1) << UInt64(f)
    let termBits = squares ? 2 * (f + 1) : f + 1
    // Each set takes every fourth element, so a block of 4 × 2^(64 - termBits) elements cannot overflow a bin.
    let block = min(1 << 20, 4 << (64 - termBits))
    var accumulator = ExactAccumulator()
    let table = UnsafeMutablePointer<UInt64>.allocate(capacity: 4 * bins)
    table.initialize(repeating: 0, count: 4 * bins)
    defer { table.deallocate() }
    @inline(__always) func add(_ set: Int, _ bits: UInt32) {
        let e = Int((bits >> UInt32(f)) & UInt32(special))
        let m = UInt64(bits & fractionMask) | (e != 0 ? hidden : 0)
        table[set * bins + e] &+= squares ? m &* m : m
    }
    var start = range.lowerBound
    while start < range.upperBound {
        let end = min(range.upperBound, start + block)
        var i = start
        while i + 4 <= end {
            add(0, L.bits(x.base, i)); add(1, L.bits(x.base, i + 1)); add(2, L.bits(x.base, i + 2)); add(3, L.bits(x.base, i + 3))
            i += 4
        }
        while i < end { add(0, L.bits(x.base, i)); i += 1 }
        for set in 0..<4 {
            for e in 0..<special where table[set * bins + e] != 0 {
                let scale = max(e, 1) - L.bias - f
                accumulator.add(significand: UInt128(table[set * bins + e]), exponent: squares ? 2 * scale : scale)
                table[set * bins + e] = 0
            }
        }
        if (0..<4).contains(where: { table[$0 * bins + special] != 0 }) {
            for k in start..<end where Int((L.bits(x.base, k) >> UInt32(f)) & UInt32(special)) == special {
                if squares { accumulator.addSquare(x.value(at: k)) } else { accumulator.addMagnitude(x.value(at: k)) }
            }
            for set in 0..<4 { table[set * bins + special] = 0 }
        }
        start = end
    }
    return accumulator
}
