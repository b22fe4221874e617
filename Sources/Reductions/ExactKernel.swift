import Formats
import Reference

/// γ(k) = k u / (1 - k u) for Float64, rounded up (the bound of k successive roundings).
@inline(__always) func gamma64(_ k: Int) -> Double {
    let ku = Double(k) * 0x1p-53
    return (ku / (1 - ku)).nextUp
}

/// The 16 lanes of the exact kernels: running sums s and compensations c, 4 vectors of 4 Float64 each.
struct LaneState {
    var s0 = SIMD4<Double>(), s1 = SIMD4<Double>(), s2 = SIMD4<Double>(), s3 = SIMD4<Double>()
    var c0 = SIMD4<Double>(), c1 = SIMD4<Double>(), c2 = SIMD4<Double>(), c3 = SIMD4<Double>()
    /// Terms added to each lane so far.
    var terms = 0

    var sums: [SIMD4<Double>] { [s0, s1, s2, s3] }
    var compensations: [SIMD4<Double>] { [c0, c1, c2, c3] }
}

/// The term of a reduction: x² or |x|.
protocol TermKind { static func term(_ v: SIMD4<Double>) -> SIMD4<Double> }
enum SquareTerm: TermKind {
    @inline(__always) static func term(_ v: SIMD4<Double>) -> SIMD4<Double> { v * v }
}
enum MagnitudeTerm: TermKind {
    @inline(__always) static func term(_ v: SIMD4<Double>) -> SIMD4<Double> { magnitude(v) }
}

/// s + t = sum + error exactly for any s, t (Knuth's TwoSum); the error is added to the compensation c.
@inline(__always) func twoSum(_ s: inout SIMD4<Double>, _ c: inout SIMD4<Double>, _ t: SIMD4<Double>) {
    let sum = s + t
    let virtualT = sum - s
    c += (s - (sum - virtualT)) + (t - virtualT)
    s = sum
}

/// s + t = sum + error exactly when |s| >= |t| (Dekker's FastTwoSum); the error is added to the compensation c.
/// The kernels start every lane at an offset σ above every term of the chunk, so the condition always holds,
/// and subtract the offsets exactly at the end: three additions per term instead of TwoSum's six.
@inline(__always) func fastTwoSum(_ s: inout SIMD4<Double>, _ c: inout SIMD4<Double>, _ t: SIMD4<Double>) {
    let sum = s + t
    c += t - (sum - s)
    s = sum
}

/// Sum2 over 16-bit inputs (FastTwoSum above the offset σ): 32 elements per step, 2 terms per lane.
@inline(never) func compensatedSteps16<L: WideningLoad, K: TermKind>(
    _: L.Type, _: K.Type, _ base: UnsafeRawPointer, _ start: Int, _ end: Int, _ state: inout LaneState
) where L.Vector == SIMD8<Float> {
    var s0 = state.s0, s1 = state.s1, s2 = state.s2, s3 = state.s3
    var c0 = state.c0, c1 = state.c1, c2 = state.c2, c3 = state.c3
    var i = start
    while i + 32 <= end {
        let (v0, v1) = L.loadPair(base, i), (v2, v3) = L.loadPair(base, i + 16)
        fastTwoSum(&s0, &c0, K.term(SIMD4<Double>(v0.lowHalf))); fastTwoSum(&s1, &c1, K.term(SIMD4<Double>(v0.highHalf)))
        fastTwoSum(&s2, &c2, K.term(SIMD4<Double>(v1.lowHalf))); fastTwoSum(&s3, &c3, K.term(SIMD4<Double>(v1.highHalf)))
        fastTwoSum(&s0, &c0, K.term(SIMD4<Double>(v2.lowHalf))); fastTwoSum(&s1, &c1, K.term(SIMD4<Double>(v2.highHalf)))
        fastTwoSum(&s2, &c2, K.term(SIMD4<Double>(v3.lowHalf))); fastTwoSum(&s3, &c3, K.term(SIMD4<Double>(v3.highHalf)))
        i += 32
        state.terms += 2
    }
    state.s0 = s0; state.s1 = s1; state.s2 = s2; state.s3 = s3
    state.c0 = c0; state.c1 = c1; state.c2 = c2; state.c3 = c3
}

/// 16-bit terms summed plainly in Float64 (FMA for squares) on 16 lanes, 32 elements per step: exact when the
/// caller has checked that every lane sum stays below 2^53 times the granularity of the terms (see
/// `certifiedBlock`), since every partial sum is then a Double.
@inline(never) func certifiedSteps16<L: WideningLoad, K: TermKind>(
    _: L.Type, _: K.Type, _ base: UnsafeRawPointer, _ start: Int, _ end: Int, _ state: inout LaneState
) where L.Vector == SIMD8<Float> {
    var s0 = state.s0, s1 = state.s1, s2 = state.s2, s3 = state.s3
    var i = start
    let squares = K.self == SquareTerm.self
    while i + 32 <= end {
        let (v0, v1) = L.loadPair(base, i), (v2, v3) = L.loadPair(base, i + 16)
        let a0 = SIMD4<Double>(v0.lowHalf), a1 = SIMD4<Double>(v0.highHalf), a2 = SIMD4<Double>(v1.lowHalf), a3 = SIMD4<Double>(v1.highHalf)
        let b0 = SIMD4<Double>(v2.lowHalf), b1 = SIMD4<Double>(v2.highHalf), b2 = SIMD4<Double>(v3.lowHalf), b3 = SIMD4<Double>(v3.highHalf)
        if squares {
            s0 = s0.addingProduct(a0, a0); s1 = s1.addingProduct(a1, a1); s2 = s2.addingProduct(a2, a2); s3 = s3.addingProduct(a3, a3)
            s0 = s0.addingProduct(b0, b0); s1 = s1.addingProduct(b1, b1); s2 = s2.addingProduct(b2, b2); s3 = s3.addingProduct(b3, b3)
        } else {
            s0 += K.term(a0); s1 += K.term(a1); s2 += K.term(a2); s3 += K.term(a3)
            s0 += K.term(b0); s1 += K.term(b1); s2 += K.term(b2); s3 += K.term(b3)
        }
        i += 32
    }
    state.s0 = s0; state.s1 = s1; state.s2 = s2; state.s3 = s3
}

/// The largest and the smallest nonzero bit pattern (sign cleared) of 16-bit elements: the order of their
/// magnitudes. The smallest is 0x10000 when all are zero.
func extremes16(_ base: UnsafeRawPointer, _ range: Range<Int>) -> (largest: UInt32, smallestNonzero: UInt32) {
    var top = SIMD16<UInt16>(), bottom = SIMD16<UInt16>(repeating: .max)
    let mask = SIMD16<UInt16>(repeating: 0x7FFF), one = SIMD16<UInt16>(repeating: 1)
    var i = range.lowerBound
    while i + 16 <= range.upperBound {
        let v = base.loadUnaligned(fromByteOffset: 2 * i, as: SIMD16<UInt16>.self) & mask
        let w = v &- one  // zero wraps to the top
        top = top.replacing(with: v, where: v .> top)
        bottom = bottom.replacing(with: w, where: w .< bottom)
        i += 16
    }
    var largest = top.max(), smallest = bottom.min()
    while i < range.upperBound {
        let v = base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self) & 0x7FFF
        largest = max(largest, v)
        smallest = min(smallest, v &- 1)
        i += 1
    }
    return (UInt32(largest), UInt32(smallest) + 1)
}

/// Whether a plain Float64 sum of a block of 16-bit elements is exact: every term (x² or |x|) is a multiple of
/// the square (or the value) of the smallest element's last-bit weight, and each lane adds at most `perLane`
/// terms no larger than the largest element's, so the lane sums stay below 2^53 times that granularity.
func certifiedBlock(format: FloatFormat, largest: UInt32, smallestNonzero: UInt32, perLane: Int, squares: Bool) -> Bool {
    guard smallestNonzero <= 0x7FFF else { return true }  // all zeros
    let fractionBits = format.precision - 1
    let field = max(Int(smallestNonzero >> UInt32(fractionBits)), 1)
    let lastBit = field - format.exponentBias - fractionBits  // weight exponent of x's last bit
    let granularity = squares ? 2 * lastBit : lastBit
    let top = format.decode(UInt64(largest))
    let largestTerm = squares ? top * top : top
    let bound = Double(perLane) * largestTerm
    return bound.isFinite && bound < Double(sign: .plus, exponent: 53 + granularity, significand: 1)
}

/// Sum2 over Float32 or Float64 inputs widened to Float64 (FastTwoSum above the offset σ): 16 elements per
/// step, 1 term per lane.
@inline(never) func compensatedSteps<L: WideningLoad, K: TermKind>(
    _: L.Type, _: K.Type, _ base: UnsafeRawPointer, _ start: Int, _ end: Int, _ state: inout LaneState
) where L.Vector == SIMD4<Double> {
    var s0 = state.s0, s1 = state.s1, s2 = state.s2, s3 = state.s3
    var c0 = state.c0, c1 = state.c1, c2 = state.c2, c3 = state.c3
    var i = start
    while i + 16 <= end {
        fastTwoSum(&s0, &c0, K.term(L.load(base, i)))
        fastTwoSum(&s1, &c1, K.term(L.load(base, i + 4)))
        fastTwoSum(&s2, &c2, K.term(L.load(base, i + 8)))
        fastTwoSum(&s3, &c3, K.term(L.load(base, i + 12)))
        i += 16
        state.terms += 1
    }
    state.s0 = s0; state.s1 = s1; state.s2 = s2; state.s3 = s3
    state.c0 = c0; state.c1 = c1; state.c2 = c2; state.c3 = c3
}

/// Dot2 over Float64 inputs: the square split exactly by an FMA (TwoProduct), 16 elements per step, FastTwoSum
/// above the offset σ.
@inline(never) func dotSteps(_ base: UnsafeRawPointer, _ start: Int, _ end: Int, _ state: inout LaneState) {
    @inline(__always) func dot(_ s: inout SIMD4<Double>, _ c: inout SIMD4<Double>, _ v: SIMD4<Double>) {
        let product = v * v
        let productError = (-product).addingProduct(v, v)
        let sum = s + product
        c += (product - (sum - s)) + productError
        s = sum
    }
    var s0 = state.s0, s1 = state.s1, s2 = state.s2, s3 = state.s3
    var c0 = state.c0, c1 = state.c1, c2 = state.c2, c3 = state.c3
    var i = start
    while i + 16 <= end {
        dot(&s0, &c0, DoubleLoad.load(base, i)); dot(&s1, &c1, DoubleLoad.load(base, i + 4))
        dot(&s2, &c2, DoubleLoad.load(base, i + 8)); dot(&s3, &c3, DoubleLoad.load(base, i + 12))
        i += 16
        state.terms += 1
    }
    state.s0 = s0; state.s1 = s1; state.s2 = s2; state.s3 = s3
    state.c0 = c0; state.c1 = c1; state.c2 = c2; state.c3 = c3
}

/// Runs `steps(base, start, end)` over whole steps of the range, then once more over a zero-padded copy of the
/// rest (zeros add nothing to a sum of squares or magnitudes, exactly).
@inline(__always) func withPaddedTail(_ base: UnsafeRawPointer, _ range: Range<Int>, step: Int, elementSize: Int,
                                      _ steps: (UnsafeRawPointer, Int, Int) -> Void) {
    let whole = range.lowerBound + (range.count / step) * step
    steps(base, range.lowerBound, whole)
    if whole < range.upperBound {
        withUnsafeTemporaryAllocation(byteCount: step * elementSize, alignment: 64) { tail in
            tail.initializeMemory(as: UInt8.self, repeating: 0)
            tail.copyMemory(from: UnsafeRawBufferPointer(start: base + whole * elementSize, count: (range.upperBound - whole) * elementSize))
            steps(UnsafeRawPointer(tail.baseAddress!), 0, step)
        }
    }
}

/// The largest |x| of the range (NaN or inf when the range holds a NaN or an infinity), by integer maxima of
/// the bit patterns with the sign cleared (the order of non-negative floats).
func largestMagnitude(_ x: FloatBuffer, _ range: Range<Int>) -> Double {
    var i = range.lowerBound
    switch x.format.bitWidth {
    case 16:
        var m = SIMD16<UInt16>()
        let mask = SIMD16<UInt16>(repeating: 0x7FFF)
        while i + 16 <= range.upperBound {
            let v = x.base.loadUnaligned(fromByteOffset: 2 * i, as: SIMD16<UInt16>.self) & mask
            m = m.replacing(with: v, where: v .> m)
            i += 16
        }
        var top = m.max()
        while i < range.upperBound { top = max(top, x.base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self) & 0x7FFF); i += 1 }
        return x.format.decode(UInt64(top))
    case 32:
        var m = SIMD8<UInt32>()
        let mask = SIMD8<UInt32>(repeating: 0x7FFF_FFFF)
        while i + 8 <= range.upperBound {
            let v = x.base.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<UInt32>.self) & mask
            m = m.replacing(with: v, where: v .> m)
            i += 8
        }
        var top = m.max()
        while i < range.upperBound { top = max(top, x.base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self) & 0x7FFF_FFFF); i += 1 }
        return Double(Float(bitPattern: top))
    default:
        var m = SIMD4<Int64>()
        let mask = SIMD4<Int64>(repeating: Int64.max)
        while i + 4 <= range.upperBound {
            let v = x.base.loadUnaligned(fromByteOffset: 8 * i, as: SIMD4<Int64>.self) & mask
            m = m.replacing(with: v, where: v .> m)
            i += 4
        }
        var top = m.max()
        while i < range.upperBound { top = max(top, x.base.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self) & Int64.max); i += 1 }
        return Double(bitPattern: UInt64(top))
    }
}

/// One chunk's enclosure of Σx² or Σ|x|.
///
/// The chunk is read in blocks of 1024 elements. A 16-bit block whose dynamic range passes `certifiedBlock` is
/// summed plainly (`certifiedSteps16`, exact) and its lane sums join the lanes by TwoSum. Other blocks, and the
/// other formats, use compensated summation in Float64 (Ogita, Rump and Oishi's Sum2 and Dot2) on 16 lanes.
/// Every term of a 16-bit or Float32 input is exact in Float64; a Float64 square is split exactly by an FMA
/// (TwoProduct). Each lane runs above an offset σ, a power of two above twice every term so far (raised block
/// by block), so FastTwoSum is exact. For a lane of m additions with final running sum s, each error is at most
/// u s, and the compensation c holds their exact sum to within γ(m) u m s (Float64 squares: twice the terms,
/// plus 2^-1074 per underflowing product). The lane values and the offsets -16σ are then added by Sum2 into
/// two partials, which adds γ(k) u k Σ|values| to the bound for k values. A NaN or inf in the chunk, or a
/// Float64 square beyond Double's range, gives a non-finite enclosure, which the caller resolves exactly.
func exactChunk(_ x: FloatBuffer, _ range: Range<Int>, squares: Bool) -> ReductionEnclosure {
    var state = LaneState()
    // Blocks small enough for L1: the extremes pass and the summing pass read the same cache lines, and the
    // memory stream overlaps with the arithmetic.
    var offsets = [Double]()
    var extraAdditions = 0
    let block = 1024
    // The format as a small integer, once: comparing FloatFormat values costs a lazy-global access per block.
    let kind = x.format == .float16 ? 0 : x.format == .bfloat16 ? 1 : x.format == .float32 ? 2 : 3
    let is16 = kind < 2
    var start = range.lowerBound
    while start < range.upperBound {
        let blockRange = start..<min(range.upperBound, start + block)
        start = blockRange.upperBound
        let largest: Double
        if is16 {
            let (top, bottom) = extremes16(x.base, blockRange)
            guard top < (kind == 0 ? 0x7C00 : 0x7F80) else { return ReductionEnclosure(partials: [.nan], bound: .infinity) }
            if certifiedBlock(format: x.format, largest: top, smallestNonzero: bottom, perLane: 2 * ((blockRange.count + 31) / 32), squares: squares) {
                var plain = LaneState()
                switch (kind, squares) {
                case (0, true):
                    withPaddedTail(x.base, blockRange, step: 32, elementSize: 2) { certifiedSteps16(HalfLoad.self, SquareTerm.self, $0, $1, $2, &plain) }
                case (0, false):
                    withPaddedTail(x.base, blockRange, step: 32, elementSize: 2) { certifiedSteps16(HalfLoad.self, MagnitudeTerm.self, $0, $1, $2, &plain) }
                case (_, true):
                    withPaddedTail(x.base, blockRange, step: 32, elementSize: 2) { certifiedSteps16(BFloat16Load.self, SquareTerm.self, $0, $1, $2, &plain) }
                case (_, false):
                    withPaddedTail(x.base, blockRange, step: 32, elementSize: 2) { certifiedSteps16(BFloat16Load.self, MagnitudeTerm.self, $0, $1, $2, &plain) }
                }
                // The exact block sums join the lanes by TwoSum (exact; the errors go to c).
                twoSum(&state.s0, &state.c0, plain.s0); twoSum(&state.s1, &state.c1, plain.s1)
                twoSum(&state.s2, &state.c2, plain.s2); twoSum(&state.s3, &state.c3, plain.s3)
                extraAdditions += 1
                continue
            }
            largest = x.format.decode(UInt64(top))
        } else {
            largest = largestMagnitude(x, blockRange)
        }
        let largestTerm = squares ? largest * largest : largest
        guard largestTerm.isFinite else { return ReductionEnclosure(partials: [.nan], bound: .infinity) }
        // FastTwoSum needs every running sum above the terms: raise the lanes by an offset σ (exactly, by TwoSum
        // into c) when this block holds a term above the smallest running sum; offsets are subtracted at the end.
        let smallestSum = min(min(state.s0.min(), state.s1.min()), min(state.s2.min(), state.s3.min()))
        if largestTerm > smallestSum || (offsets.isEmpty && smallestSum == 0) {
            let sigma = largestTerm == 0 ? 1 : Double(sign: .plus, exponent: largestTerm.exponent + 2, significand: 1)
            guard sigma.isFinite else { return ReductionEnclosure(partials: [.nan], bound: .infinity) }
            let offset = SIMD4(repeating: sigma)
            twoSum(&state.s0, &state.c0, offset); twoSum(&state.s1, &state.c1, offset)
            twoSum(&state.s2, &state.c2, offset); twoSum(&state.s3, &state.c3, offset)
            offsets.append(sigma)
            extraAdditions += 1
        }
        switch (kind, squares) {
        case (0, true):
            withPaddedTail(x.base, blockRange, step: 32, elementSize: 2) { compensatedSteps16(HalfLoad.self, SquareTerm.self, $0, $1, $2, &state) }
        case (0, false):
            withPaddedTail(x.base, blockRange, step: 32, elementSize: 2) { compensatedSteps16(HalfLoad.self, MagnitudeTerm.self, $0, $1, $2, &state) }
        case (1, true):
            withPaddedTail(x.base, blockRange, step: 32, elementSize: 2) { compensatedSteps16(BFloat16Load.self, SquareTerm.self, $0, $1, $2, &state) }
        case (1, false):
            withPaddedTail(x.base, blockRange, step: 32, elementSize: 2) { compensatedSteps16(BFloat16Load.self, MagnitudeTerm.self, $0, $1, $2, &state) }
        case (2, true):
            withPaddedTail(x.base, blockRange, step: 16, elementSize: 4) { compensatedSteps(FloatLoad.self, SquareTerm.self, $0, $1, $2, &state) }
        case (2, false):
            withPaddedTail(x.base, blockRange, step: 16, elementSize: 4) { compensatedSteps(FloatLoad.self, MagnitudeTerm.self, $0, $1, $2, &state) }
        case (_, true):
            withPaddedTail(x.base, blockRange, step: 16, elementSize: 8) { dotSteps($0, $1, $2, &state) }
        case (_, false):
            withPaddedTail(x.base, blockRange, step: 16, elementSize: 8) { compensatedSteps(DoubleLoad.self, MagnitudeTerm.self, $0, $1, $2, &state) }
        }
    }
    var values = [Double]()
    values.reserveCapacity(32 + offsets.count)
    var laneTotal = 0.0
    for v in state.sums { for lane in 0..<4 { values.append(v[lane]); laneTotal += v[lane] } }
    for sigma in offsets { values.append(-16 * sigma) }
    for v in state.compensations { for lane in 0..<4 { values.append(v[lane]) } }
    let m = max(state.terms + extraAdditions, 1)
    let u = 0x1p-53
    var bound: Double
    if x.format == .float64 && squares {
        bound = gamma64(2 * m) * u * (Double(m) + 2) * laneTotal + Double(16 * m) * 0x1p-1074
    } else {
        bound = gamma64(m) * u * Double(m) * laneTotal
    }
    // Sum2 of the 33 values into (sum, compensation).
    var sum = 0.0, compensation = 0.0, magnitudes = 0.0
    for v in values {
        let t = sum + v
        let virtualV = t - sum
        compensation += (sum - (t - virtualV)) + (v - virtualV)
        sum = t
        magnitudes += v.magnitude
    }
    bound += gamma64(values.count) * u * Double(values.count) * magnitudes
    guard sum.isFinite, compensation.isFinite, bound.isFinite else { return ReductionEnclosure(partials: [.nan], bound: .infinity) }
    return ReductionEnclosure(partials: [sum, compensation], bound: (bound * (1 + 0x1p-30)).nextUp)
}
