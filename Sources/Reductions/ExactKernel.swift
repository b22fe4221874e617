import Base
import Formats
import Reference

// The kernels of the exact norms: one chunk of Σx² or Σ|x| enclosed by floating-point partials and a proven
// error bound, read once from memory in blocks small enough for L1.
//
// 16-bit inputs: a block is summed plainly in Float64 (one FMA per element for squares) on 32 lanes. The sum
// is exact when every lane sum stays below 2^53 times the granularity of the block's terms, and that can be
// checked after the fact: for non-negative multiples of g, a plain sum that rounds once ends at or above
// 2^53 g (rounding is monotone and 2^53 g is a Double), so a final lane sum below it had no rounding at all.
// The granularity is the square (or the value) of the last-bit weight of the block's smallest nonzero
// element, which the summing loop tracks as an integer minimum of the bit patterns; for Float16 squares the
// weight of the smallest subnormal, 2^-48, serves without tracking whenever the lane sums stay below 2^5.
// A block that fails the check is summed again by compensated summation.
//
// Float32 and Float64 inputs, and 16-bit blocks that fail the check: Ogita, Rump and Oishi's Sum2 (Dot2 for
// Float64 squares) with FastTwoSum, exact because every lane runs above an offset σ larger than every term.
// The loop tracks the block's largest element; if it turns out larger than the smallest lane sum at the
// start of the block (so FastTwoSum could have erred), the block is undone, σ raised, and the block redone.

/// γ(k) = k u / (1 - k u) for Float64, rounded up (the bound of k successive roundings).
@inline(__always) func gamma64(_ k: Int) -> Double {
    let ku = Double(k) * 0x1p-53
    return (ku / (1 - ku)).nextUp
}

typealias Lanes = SIMD4<Double>

/// 16 running sums s and compensations c, 4 vectors of 4 Float64 each. The kernels take and return them by
/// value: through an inout parameter, LLVM stores them to memory on every iteration.
struct SumLanes {
    var s0 = Lanes(), s1 = Lanes(), s2 = Lanes(), s3 = Lanes()
    var c0 = Lanes(), c1 = Lanes(), c2 = Lanes(), c3 = Lanes()
}

/// The lanes of a chunk and the count of additions into each.
struct LaneState {
    var lanes = SumLanes()
    /// Additions into each lane so far (terms, folded block sums, offsets): the m of the error bound.
    var additions = 0

    var sums: [Lanes] { [lanes.s0, lanes.s1, lanes.s2, lanes.s3] }
    var compensations: [Lanes] { [lanes.c0, lanes.c1, lanes.c2, lanes.c3] }
    var smallestSum: Double { min(min(lanes.s0.min(), lanes.s1.min()), min(lanes.s2.min(), lanes.s3.min())) }

    /// Adds the same value to every lane by TwoSum (exact; the errors go to the compensations).
    mutating func addToEveryLane(_ value: Double) {
        let v = Lanes(repeating: value)
        twoSum(&lanes.s0, &lanes.c0, v); twoSum(&lanes.s1, &lanes.c1, v)
        twoSum(&lanes.s2, &lanes.c2, v); twoSum(&lanes.s3, &lanes.c3, v)
        additions += 1
    }

    /// Folds a block's 32 exact lane sums into the 16 lanes by TwoSum (exact; the errors go to c).
    mutating func fold(_ b: BlockSums) {
        twoSum(&lanes.s0, &lanes.c0, b.a0); twoSum(&lanes.s1, &lanes.c1, b.a1)
        twoSum(&lanes.s2, &lanes.c2, b.a2); twoSum(&lanes.s3, &lanes.c3, b.a3)
        twoSum(&lanes.s0, &lanes.c0, b.a4); twoSum(&lanes.s1, &lanes.c1, b.a5)
        twoSum(&lanes.s2, &lanes.c2, b.a6); twoSum(&lanes.s3, &lanes.c3, b.a7)
        additions += 2
    }
}

/// The 32 plain lane sums of one block of 16-bit elements.
struct BlockSums {
    var a0 = Lanes(), a1 = Lanes(), a2 = Lanes(), a3 = Lanes(), a4 = Lanes(), a5 = Lanes(), a6 = Lanes(), a7 = Lanes()

    /// Every lane sum is below `limit` (false if any is NaN).
    func allBelow(_ limit: Double) -> Bool {
        let t = Lanes(repeating: limit)
        let low = (a0 .< t) .& (a1 .< t) .& (a2 .< t) .& (a3 .< t)
        let high = (a4 .< t) .& (a5 .< t) .& (a6 .< t) .& (a7 .< t)
        return all(low .& high)
    }
}

/// s + t = sum + error exactly for any s, t (Knuth's TwoSum); the error is added to the compensation c.
@inline(__always) func twoSum(_ s: inout Lanes, _ c: inout Lanes, _ t: Lanes) {
    let sum = s + t
    let virtualT = sum - s
    c += (s - (sum - virtualT)) + (t - virtualT)
    s = sum
}

/// s + t = sum + error exactly when |s| >= |t| (Dekker's FastTwoSum); the error is added to the compensation c.
@inline(__always) func fastTwoSum(_ s: inout Lanes, _ c: inout Lanes, _ t: Lanes) {
    let sum = s + t
    c += t - (sum - s)
    s = sum
}

// MARK: - Loads of 8 elements as two vectors of Float64 (exact)

protocol ExactLoad {
    /// Elements i..<i+8 as two vectors, in an order fixed by the format (a sum does not care).
    static func load8(_ base: UnsafeRawPointer, _ i: Int) -> (Lanes, Lanes)
}

/// A format loaded 4 elements at a time.
protocol ExactLoad4: ExactLoad {
    static func load4(_ base: UnsafeRawPointer, _ i: Int) -> Lanes
}

extension ExactLoad4 {
    @inline(__always) static func load8(_ base: UnsafeRawPointer, _ i: Int) -> (Lanes, Lanes) {
        (load4(base, i), load4(base, i &+ 4))
    }
}

/// Float to Double lane by lane, which LLVM turns into one vcvtps2pd (the generic SIMD conversions are not
/// always inlined).
@inline(__always) func widen(_ f: SIMD4<Float>) -> Lanes {
    Lanes(Double(f[0]), Double(f[1]), Double(f[2]), Double(f[3]))
}

/// Float16: F16C's vcvtph2ps from memory, then vcvtps2pd.
enum HalfExactLoad: ExactLoad4 {
    @inline(__always) static func load4(_ base: UnsafeRawPointer, _ i: Int) -> Lanes {
        let h = base.loadUnaligned(fromByteOffset: 2 &* i, as: SIMD4<Float16>.self)
        return widen(SIMD4<Float>(Float(h[0]), Float(h[1]), Float(h[2]), Float(h[3])))
    }
}

/// BFloat16: one 16-byte load read as 4 words of two elements each; the odd elements are the words' top
/// halves already (mask the bottom), the even ones their bottom halves shifted up. Exact.
enum BFloat16ExactLoad: ExactLoad {
    @inline(__always) static func load8(_ base: UnsafeRawPointer, _ i: Int) -> (Lanes, Lanes) {
        let words = base.loadUnaligned(fromByteOffset: 2 &* i, as: SIMD4<UInt32>.self)
        return (widen(unsafeBitCast(words &<< 16, to: SIMD4<Float>.self)),
                widen(unsafeBitCast(words & SIMD4(repeating: 0xFFFF_0000), to: SIMD4<Float>.self)))
    }
}

enum FloatExactLoad: ExactLoad4 {
    @inline(__always) static func load4(_ base: UnsafeRawPointer, _ i: Int) -> Lanes {
        widen(base.loadUnaligned(fromByteOffset: 4 &* i, as: SIMD4<Float>.self))
    }
}

enum DoubleExactLoad: ExactLoad4 {
    @inline(__always) static func load4(_ base: UnsafeRawPointer, _ i: Int) -> Lanes {
        base.loadUnaligned(fromByteOffset: 8 &* i, as: Lanes.self)
    }
}

// MARK: - Terms

/// |x| lane-wise by clearing the sign bits (one AND; a compare-and-select costs three instructions).
@inline(__always) func absolute(_ x: Lanes) -> Lanes {
    unsafeBitCast(unsafeBitCast(x, to: SIMD4<UInt64>.self) & SIMD4(repeating: 0x7FFF_FFFF_FFFF_FFFF), to: Lanes.self)
}

/// The term of a reduction, x² or |x|, added plainly or compensated.
protocol TermKind {
    static var squares: Bool { get }
    /// a += term(x), rounded once (an FMA for squares).
    static func addPlain(_ a: inout Lanes, _ x: Lanes)
    /// s + term(x) = new s + error, the error added to c; exact when s >= term(x) and term(x) is a Double
    /// (x of a 16- or 32-bit format).
    static func addCompensated(_ s: inout Lanes, _ c: inout Lanes, _ x: Lanes)
}

enum SquareTerm: TermKind {
    static var squares: Bool { true }
    @inline(__always) static func addPlain(_ a: inout Lanes, _ x: Lanes) { a = a.addingProduct(x, x) }
    /// FastTwoSum with the square inside FMAs: t = fl(s + x²); z = t - s is exact (Sterbenz: s <= t <= 2s);
    /// x² - z, the rounding error of t, is a Double, and the second FMA computes it exactly.
    @inline(__always) static func addCompensated(_ s: inout Lanes, _ c: inout Lanes, _ x: Lanes) {
        let t = s.addingProduct(x, x)
        c += (s - t).addingProduct(x, x)  // s - t = -z exactly; its zero's sign does not matter to a sum
        s = t
    }
}

enum MagnitudeTerm: TermKind {
    static var squares: Bool { false }
    @inline(__always) static func addPlain(_ a: inout Lanes, _ x: Lanes) { a += absolute(x) }
    @inline(__always) static func addCompensated(_ s: inout Lanes, _ c: inout Lanes, _ x: Lanes) { fastTwoSum(&s, &c, absolute(x)) }
}

// MARK: - Block kernels

/// Plain sums of 16-bit terms, 32 elements per step on 32 lanes; `range` a whole number of steps.
@inline(never) func plainSteps<L: ExactLoad, K: TermKind>(_: L.Type, _: K.Type, _ base: UnsafeRawPointer, _ start: Int, _ end: Int,
                                                         _ b: BlockSums) -> BlockSums {
    var a0 = b.a0, a1 = b.a1, a2 = b.a2, a3 = b.a3, a4 = b.a4, a5 = b.a5, a6 = b.a6, a7 = b.a7
    var i = start
    while i < end {
        let (x0, x1) = L.load8(base, i), (x2, x3) = L.load8(base, i &+ 8)
        let (x4, x5) = L.load8(base, i &+ 16), (x6, x7) = L.load8(base, i &+ 24)
        K.addPlain(&a0, x0); K.addPlain(&a1, x1); K.addPlain(&a2, x2); K.addPlain(&a3, x3)
        K.addPlain(&a4, x4); K.addPlain(&a5, x5); K.addPlain(&a6, x6); K.addPlain(&a7, x7)
        i &+= 32
    }
    return BlockSums(a0: a0, a1: a1, a2: a2, a3: a3, a4: a4, a5: a5, a6: a6, a7: a7)
}

/// `plainSteps` that also tracks min((bits & 0x7FFF) - 1) of the elements: the smallest nonzero magnitude's
/// bit pattern minus one (zero wraps to 0xFFFF, out of the way).
@inline(never) func trackedSteps<L: ExactLoad, K: TermKind>(_: L.Type, _: K.Type, _ base: UnsafeRawPointer, _ start: Int, _ end: Int,
                                                           _ b: BlockSums, _ low: SIMD16<UInt16>) -> (BlockSums, SIMD16<UInt16>) {
    var a0 = b.a0, a1 = b.a1, a2 = b.a2, a3 = b.a3, a4 = b.a4, a5 = b.a5, a6 = b.a6, a7 = b.a7
    var m = low
    let mask = SIMD16<UInt16>(repeating: 0x7FFF), one = SIMD16<UInt16>(repeating: 1)
    var i = start
    while i < end {
        let w0 = (base.loadUnaligned(fromByteOffset: 2 &* i, as: SIMD16<UInt16>.self) & mask) &- one
        let w1 = (base.loadUnaligned(fromByteOffset: 2 &* i &+ 32, as: SIMD16<UInt16>.self) & mask) &- one
        m = m.replacing(with: w0, where: w0 .< m)
        m = m.replacing(with: w1, where: w1 .< m)
        let (x0, x1) = L.load8(base, i), (x2, x3) = L.load8(base, i &+ 8)
        let (x4, x5) = L.load8(base, i &+ 16), (x6, x7) = L.load8(base, i &+ 24)
        K.addPlain(&a0, x0); K.addPlain(&a1, x1); K.addPlain(&a2, x2); K.addPlain(&a3, x3)
        K.addPlain(&a4, x4); K.addPlain(&a5, x5); K.addPlain(&a6, x6); K.addPlain(&a7, x7)
        i &+= 32
    }
    return (BlockSums(a0: a0, a1: a1, a2: a2, a3: a3, a4: a4, a5: a5, a6: a6, a7: a7), m)
}

/// Sum2 of 16- or 32-bit terms above the offset, 16 elements per step (one term per lane).
@inline(never) func compensatedSteps<L: ExactLoad, K: TermKind>(_: L.Type, _: K.Type, _ base: UnsafeRawPointer, _ start: Int, _ end: Int,
                                                               _ l: SumLanes) -> SumLanes {
    var s0 = l.s0, s1 = l.s1, s2 = l.s2, s3 = l.s3
    var c0 = l.c0, c1 = l.c1, c2 = l.c2, c3 = l.c3
    var i = start
    while i < end {
        let (x0, x1) = L.load8(base, i), (x2, x3) = L.load8(base, i &+ 8)
        K.addCompensated(&s0, &c0, x0); K.addCompensated(&s1, &c1, x1)
        K.addCompensated(&s2, &c2, x2); K.addCompensated(&s3, &c3, x3)
        i &+= 16
    }
    return SumLanes(s0: s0, s1: s1, s2: s2, s3: s3, c0: c0, c1: c1, c2: c2, c3: c3)
}

/// `compensatedSteps` over Float32 elements that also tracks the largest magnitude's bit pattern.
@inline(never) func float32Steps<K: TermKind>(_: K.Type, _ base: UnsafeRawPointer, _ start: Int, _ end: Int,
                                             _ l: SumLanes, _ top: SIMD8<UInt32>) -> (SumLanes, SIMD8<UInt32>) {
    var s0 = l.s0, s1 = l.s1, s2 = l.s2, s3 = l.s3
    var c0 = l.c0, c1 = l.c1, c2 = l.c2, c3 = l.c3
    var m = top
    let mask = SIMD8<UInt32>(repeating: 0x7FFF_FFFF)
    var i = start
    while i < end {
        let w0 = base.loadUnaligned(fromByteOffset: 4 &* i, as: SIMD8<UInt32>.self) & mask
        let w1 = base.loadUnaligned(fromByteOffset: 4 &* i &+ 32, as: SIMD8<UInt32>.self) & mask
        m = m.replacing(with: w0, where: w0 .> m)
        m = m.replacing(with: w1, where: w1 .> m)
        let (x0, x1) = FloatExactLoad.load8(base, i), (x2, x3) = FloatExactLoad.load8(base, i &+ 8)
        K.addCompensated(&s0, &c0, x0); K.addCompensated(&s1, &c1, x1)
        K.addCompensated(&s2, &c2, x2); K.addCompensated(&s3, &c3, x3)
        i &+= 16
    }
    return (SumLanes(s0: s0, s1: s1, s2: s2, s3: s3, c0: c0, c1: c1, c2: c2, c3: c3), m)
}

/// A compensated term of Float64 elements that also tracks the largest term added.
protocol Float64Term {
    static func add(_ s: inout Lanes, _ c: inout Lanes, _ v: Lanes, _ top: inout Lanes)
}

/// Dot2: the square split exactly by an FMA (TwoProduct), the rounded square added by FastTwoSum, both errors
/// into c. Tracks the largest rounded square.
enum Float64Square: Float64Term {
    @inline(__always) static func add(_ s: inout Lanes, _ c: inout Lanes, _ v: Lanes, _ top: inout Lanes) {
        let product = v * v
        let productError = (-product).addingProduct(v, v)
        top = top.replacing(with: product, where: product .> top)
        let sum = s + product
        c += (product - (sum - s)) + productError
        s = sum
    }
}

/// Sum2 of |x|. Tracks the largest |x|.
enum Float64Magnitude: Float64Term {
    @inline(__always) static func add(_ s: inout Lanes, _ c: inout Lanes, _ v: Lanes, _ top: inout Lanes) {
        let t = absolute(v)
        top = top.replacing(with: t, where: t .> top)
        fastTwoSum(&s, &c, t)
    }
}

/// Compensated sums of Float64 elements above the offset, 16 per step, tracking the largest term.
@inline(never) func float64Steps<T: Float64Term>(_: T.Type, _ base: UnsafeRawPointer, _ start: Int, _ end: Int,
                                                _ l: SumLanes, _ top: Lanes) -> (SumLanes, Lanes) {
    var m = top
    var s0 = l.s0, s1 = l.s1, s2 = l.s2, s3 = l.s3
    var c0 = l.c0, c1 = l.c1, c2 = l.c2, c3 = l.c3
    var i = start
    while i < end {
        let (x0, x1) = DoubleExactLoad.load8(base, i), (x2, x3) = DoubleExactLoad.load8(base, i &+ 8)
        T.add(&s0, &c0, x0, &m); T.add(&s1, &c1, x1, &m); T.add(&s2, &c2, x2, &m); T.add(&s3, &c3, x3, &m)
        i &+= 16
    }
    return (SumLanes(s0: s0, s1: s1, s2: s2, s3: s3, c0: c0, c1: c1, c2: c2, c3: c3), m)
}

/// Runs `steps(base, start, end)` over the whole steps of the range, then once more over a zero-padded copy of
/// the rest (zeros add nothing to a sum of squares or magnitudes, exactly, and are no element's extreme).
/// Returns the number of steps.
@discardableResult
@inline(__always) func withPaddedTail(_ base: UnsafeRawPointer, _ range: Range<Int>, step: Int, elementSize: Int,
                                      _ steps: (UnsafeRawPointer, Int, Int) -> Void) -> Int {
    let whole = range.lowerBound + (range.count / step) * step
    if whole > range.lowerBound { steps(base, range.lowerBound, whole) }
    if whole < range.upperBound {
        withUnsafeTemporaryAllocation(byteCount: step * elementSize, alignment: 64) { tail in
            tail.initializeMemory(as: UInt8.self, repeating: 0)
            tail.copyMemory(from: UnsafeRawBufferPointer(start: base + whole * elementSize, count: (range.upperBound - whole) * elementSize))
            steps(UnsafeRawPointer(tail.baseAddress!), 0, step)
        }
    }
    return (range.count + step - 1) / step
}
