import Base
import Formats
import Reference

// MARK: - Helpers over a block

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
    var largest = horizontalMax(top), smallest = horizontalMin(bottom)
    while i < range.upperBound {
        let v = base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self) & 0x7FFF
        largest = max(largest, v)
        smallest = min(smallest, v &- 1)
        i += 1
    }
    return (UInt32(largest), UInt32(smallest) + 1)
}

@inline(__always) func horizontalMin(_ v: SIMD16<UInt16>) -> UInt16 {
    var m = v[0]
    for k in 1..<16 { m = min(m, v[k]) }
    return m
}
@inline(__always) func horizontalMax(_ v: SIMD16<UInt16>) -> UInt16 {
    var m = v[0]
    for k in 1..<16 { m = max(m, v[k]) }
    return m
}

/// The smallest nonzero and the largest finite |x| of the range, as Doubles (both 0 when no element is finite and
/// nonzero).
func finiteMagnitudeRange(_ x: FloatBuffer, _ range: Range<Int>) -> (smallest: Double, largest: Double) {
    switch x.format.bitWidth {
    case 16:
        let infinity: UInt16 = x.format == .float16 ? 0x7C00 : 0x7F80
        let (low, high) = finiteExtremes(SIMD16<UInt16>.self, x.base, range, infinity: infinity)
        return high == 0 ? (0, 0) : (x.format.decode(UInt64(low)), x.format.decode(UInt64(high)))
    case 32:
        let (low, high) = finiteExtremes(SIMD8<UInt32>.self, x.base, range, infinity: 0x7F80_0000)
        return high == 0 ? (0, 0) : (Double(Float(bitPattern: low)), Double(Float(bitPattern: high)))
    default:
        let (low, high) = finiteExtremes(SIMD4<UInt64>.self, x.base, range, infinity: 0x7FF0_0000_0000_0000)
        return high == 0 ? (0, 0) : (Double(bitPattern: low), Double(bitPattern: high))
    }
}

/// One vector step of `finiteExtremes`, written for each concrete vector type (the SIMD protocol's generic
/// operators are scalar loops unless the type is known).
protocol FiniteExtremesLanes: SIMD where Scalar: FixedWidthInteger & UnsignedInteger {
    /// Folds the finite magnitudes of raw bit patterns `bits` (sign cleared inside, compared with `inf`) into the
    /// running maximum `top` and the running minimum `bottom` of (magnitude - 1), where zero wraps to the top.
    static func fold(_ top: inout Self, _ bottom: inout Self, _ bits: Self, inf: Self)
}

extension SIMD16<UInt16>: FiniteExtremesLanes {
    @inline(__always) static func fold(_ top: inout Self, _ bottom: inout Self, _ bits: Self, inf: Self) {
        let v = bits & Self(repeating: 0x7FFF), finite = v .< inf, w = v &- Self(repeating: 1)
        top = top.replacing(with: v, where: finite .& (v .> top))
        bottom = bottom.replacing(with: w, where: finite .& (w .< bottom))
    }
}

extension SIMD8<UInt32>: FiniteExtremesLanes {
    @inline(__always) static func fold(_ top: inout Self, _ bottom: inout Self, _ bits: Self, inf: Self) {
        let v = bits & Self(repeating: 0x7FFF_FFFF), finite = v .< inf, w = v &- Self(repeating: 1)
        top = top.replacing(with: v, where: finite .& (v .> top))
        bottom = bottom.replacing(with: w, where: finite .& (w .< bottom))
    }
}

extension SIMD4<UInt64>: FiniteExtremesLanes {
    @inline(__always) static func fold(_ top: inout Self, _ bottom: inout Self, _ bits: Self, inf: Self) {
        let v = bits & Self(repeating: 0x7FFF_FFFF_FFFF_FFFF), finite = v .< inf, w = v &- Self(repeating: 1)
        top = top.replacing(with: v, where: finite .& (v .> top))
        bottom = bottom.replacing(with: w, where: finite .& (w .< bottom))
    }
}

/// The smallest nonzero and the largest bit pattern (sign cleared) below `infinity` (the finite magnitudes) of
/// the range; (max, 0) when there is none.
@inline(__always)
func finiteExtremes<V: FiniteExtremesLanes>(_: V.Type, _ base: UnsafeRawPointer, _ range: Range<Int>, infinity: V.Scalar) -> (V.Scalar, V.Scalar) {
    let width = MemoryLayout<V.Scalar>.size
    let inf = V(repeating: infinity)
    var top = V(), bottom = V(repeating: .max)
    var i = range.lowerBound
    while i + V.scalarCount <= range.upperBound {
        V.fold(&top, &bottom, base.loadUnaligned(fromByteOffset: width * i, as: V.self), inf: inf)
        i += V.scalarCount
    }
    var largest = V.Scalar.zero, smallest = V.Scalar.max
    for k in 0..<V.scalarCount {
        largest = max(largest, top[k])
        smallest = min(smallest, bottom[k])
    }
    while i < range.upperBound {
        let v = base.loadUnaligned(fromByteOffset: width * i, as: V.Scalar.self) & (V.Scalar.max >> 1)
        if v < infinity {
            largest = max(largest, v)
            smallest = min(smallest, v &- 1)
        }
        i += 1
    }
    return (smallest &+ 1, largest)
}

/// The largest |x| of the range (NaN or inf when the range holds a NaN or an infinity), by integer maxima of
/// the bit patterns with the sign cleared (the order of non-negative floats).
func largestMagnitude(_ x: FloatBuffer, _ range: Range<Int>) -> Double {
    var i = range.lowerBound
    switch x.format.bitWidth {
    case 16:
        return x.format.decode(UInt64(extremes16(x.base, range).largest))
    case 32:
        var m = SIMD8<UInt32>()
        let mask = SIMD8<UInt32>(repeating: 0x7FFF_FFFF)
        while i + 8 <= range.upperBound {
            let v = x.base.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<UInt32>.self) & mask
            m = m.replacing(with: v, where: v .> m)
            i += 8
        }
        var top = (0..<8).reduce(UInt32(0)) { max($0, m[$1]) }
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
        var top = max(max(m[0], m[1]), max(m[2], m[3]))
        while i < range.upperBound { top = max(top, x.base.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self) & Int64.max); i += 1 }
        return Double(bitPattern: UInt64(top))
    }
}

/// The limit below which plain lane sums of a 16-bit block are exact: 2^53 times the granularity of its terms,
/// the square (or the value) of the last-bit weight of the smallest nonzero element (bit pattern
/// `smallestNonzero`, sign cleared; 0x10000 or more when all are zero).
func exactnessLimit(fractionBits: Int, exponentBias: Int, smallestNonzero: UInt32, squares: Bool) -> Double {
    guard smallestNonzero <= 0x7FFF else { return .infinity }  // all zeros: every sum is 0
    let field = max(Int(smallestNonzero >> UInt32(fractionBits)), 1)
    let lastBit = field - exponentBias - fractionBits  // weight exponent of the element's last bit
    return Double(sign: .plus, exponent: 53 + (squares ? 2 * lastBit : lastBit), significand: 1)
}

/// Raises every lane above `largestTerm` when some lane is not already at or above it: adds σ, a power of
/// two above twice the term, to every lane (exactly) and records it. False when σ is not finite.
func raiseOffset(_ state: inout LaneState, _ offsets: inout [Double], largestTerm: Double) -> Bool {
    guard largestTerm.isFinite else { return false }
    guard largestTerm > state.smallestSum || (offsets.isEmpty && state.smallestSum == 0) else { return true }
    let sigma = largestTerm == 0 ? 1 : Double(sign: .plus, exponent: largestTerm.exponent + 2, significand: 1)
    guard sigma.isFinite else { return false }
    state.addToEveryLane(sigma)
    offsets.append(sigma)
    return true
}

// MARK: - Chunks

/// Elements per block: small enough that a block read again (a failed check, an undone block) comes from L1 or
/// L2. Measured best: 2048 for 16-bit inputs (longer blocks fail the check more often), 4096 for the others.
let exactBlockSize16 = 2048, exactBlockSize = 4096

/// The blocks of a chunk, in order.
func exactBlocks(_ range: Range<Int>, size: Int) -> LazyMapSequence<StrideTo<Int>, Range<Int>> {
    stride(from: range.lowerBound, to: range.upperBound, by: size).lazy.map { $0..<min(range.upperBound, $0 + size) }
}

/// An enclosure that tells the caller to compute exactly (inf or NaN in the input, or arithmetic out of range).
let unresolvedEnclosure = ReductionEnclosure(partials: [.nan], bound: .infinity)

/// One chunk's enclosure of Σx² or Σ|x|.
func exactChunk(_ x: FloatBuffer, _ range: Range<Int>, squares: Bool) -> ReductionEnclosure {
    switch (x.format.bitWidth, x.format == .float16, squares) {
    case (16, true, true): return chunk16(HalfExactLoad.self, SquareTerm.self, x, range)
    case (16, true, false): return chunk16(HalfExactLoad.self, MagnitudeTerm.self, x, range)
    case (16, false, true): return chunk16(BFloat16ExactLoad.self, SquareTerm.self, x, range)
    case (16, false, false): return chunk16(BFloat16ExactLoad.self, MagnitudeTerm.self, x, range)
    case (_, _, true): return chunkCompensated(SquareTerm.self, x, range)
    case (_, _, false): return chunkCompensated(MagnitudeTerm.self, x, range)
    }
}

/// 16-bit inputs: certified plain blocks, compensated summation for blocks that fail the check.
func chunk16<L: ExactLoad, K: TermKind>(_: L.Type, _: K.Type, _ x: FloatBuffer, _ range: Range<Int>) -> ReductionEnclosure {
    let fractionBits = x.format.precision - 1, bias = x.format.exponentBias
    let infinityBits: UInt32 = x.format == .float16 ? 0x7C00 : 0x7F80
    // Float16 terms are all multiples of the smallest subnormal's weight (squared): lane sums below 2^53 times
    // it need no tracking. For BFloat16 that limit is too small to be worth trying.
    let untrackedLimit = x.format == .float16
        ? exactnessLimit(fractionBits: fractionBits, exponentBias: bias, smallestNonzero: 1, squares: K.squares) : 0
    var tryUntracked = untrackedLimit > 0
    var state = LaneState()
    var offsets = [Double]()
    for block in exactBlocks(range, size: exactBlockSize16) {
        var sums = BlockSums()
        if tryUntracked {
            withPaddedTail(x.base, block, step: 32, elementSize: 2) { sums = plainSteps(L.self, K.self, $0, $1, $2, sums) }
            if sums.allBelow(untrackedLimit) { state.fold(sums); continue }
            // Larger values: track from now on (the data decide, so the choice is the same for any thread count).
            tryUntracked = false
            sums = BlockSums()
        }
        var low = SIMD16<UInt16>(repeating: .max)
        withPaddedTail(x.base, block, step: 32, elementSize: 2) { (sums, low) = trackedSteps(L.self, K.self, $0, $1, $2, sums, low) }
        let smallest = UInt32(horizontalMin(low)) + 1
        if sums.allBelow(exactnessLimit(fractionBits: fractionBits, exponentBias: bias, smallestNonzero: smallest, squares: K.squares)) {
            state.fold(sums)
            continue
        }
        // Too wide a range for a plain sum, or an inf or NaN: compensated summation above an offset.
        let top = extremes16(x.base, block).largest
        guard top < infinityBits else { return unresolvedEnclosure }
        let largest = x.format.decode(UInt64(top))
        guard raiseOffset(&state, &offsets, largestTerm: K.squares ? largest * largest : largest) else { return unresolvedEnclosure }
        let steps = withPaddedTail(x.base, block, step: 16, elementSize: 2) { state.lanes = compensatedSteps(L.self, K.self, $0, $1, $2, state.lanes) }
        state.additions += steps
    }
    return finish(state, offsets: offsets, dot: false)
}

/// Float32 and Float64 inputs: compensated summation above offsets, blocks undone and redone when a term
/// turns out larger than the smallest lane sum at the start of its block.
func chunkCompensated<K: TermKind>(_: K.Type, _ x: FloatBuffer, _ range: Range<Int>) -> ReductionEnclosure {
    let is32 = x.format.bitWidth == 32
    let size = is32 ? 4 : 8
    /// Sums the block into `state` and returns its largest term (NaN if it held a NaN, for Float32).
    func run(_ block: Range<Int>, _ state: inout LaneState) -> Double {
        if is32 {
            var top = SIMD8<UInt32>()
            state.additions += withPaddedTail(x.base, block, step: 16, elementSize: size) { (state.lanes, top) = float32Steps(K.self, $0, $1, $2, state.lanes, top) }
            let largest = Double(Float(bitPattern: (0..<8).reduce(UInt32(0)) { max($0, top[$1]) }))
            return K.squares ? largest * largest : largest
        }
        var top = Lanes()
        if K.squares {
            state.additions += withPaddedTail(x.base, block, step: 16, elementSize: size) { (state.lanes, top) = float64Steps(Float64Square.self, $0, $1, $2, state.lanes, top) }
        } else {
            state.additions += withPaddedTail(x.base, block, step: 16, elementSize: size) { (state.lanes, top) = float64Steps(Float64Magnitude.self, $0, $1, $2, state.lanes, top) }
        }
        return max(max(top[0], top[1]), max(top[2], top[3]))
    }
    var state = LaneState()
    var offsets = [Double]()
    for block in exactBlocks(range, size: exactBlockSize) {
        if offsets.isEmpty {
            let largest = largestMagnitude(x, block)
            guard raiseOffset(&state, &offsets, largestTerm: K.squares ? largest * largest : largest) else { return unresolvedEnclosure }
        }
        let floor = state.smallestSum
        let saved = state
        let largestTerm = run(block, &state)
        if largestTerm <= floor { continue }
        // A term above a lane sum (or a NaN): undo the block, raise the lanes above it, and sum it again.
        state = saved
        guard raiseOffset(&state, &offsets, largestTerm: largestTerm) else { return unresolvedEnclosure }
        _ = run(block, &state)
    }
    return finish(state, offsets: offsets, dot: x.format == .float64 && K.squares)
}

/// The chunk's partials and bound from its lanes.
///
/// For a lane of m additions with final running sum s, each FastTwoSum or TwoSum error is at most u s, and
/// the compensation c holds their exact sum to within γ(m) u m s (Float64 squares: twice the terms, since the
/// TwoProduct errors join c too, plus 2^-1074 per product that can underflow). The lane values, the offsets
/// -16σ and the compensations are then added by Sum2 into two partials, which adds γ(k) u k Σ|values| for k
/// values. A non-finite result tells the caller to compute exactly.
func finish(_ state: LaneState, offsets: [Double], dot: Bool) -> ReductionEnclosure {
    var values = [Double]()
    values.reserveCapacity(32 + offsets.count)
    var laneTotal = 0.0
    for v in state.sums { for lane in 0..<4 { values.append(v[lane]); laneTotal += v[lane] } }
    for sigma in offsets { values.append(-16 * sigma) }
    for v in state.compensations { for lane in 0..<4 { values.append(v[lane]) } }
    let m = max(state.additions, 1)
    let u = 0x1p-53
    var bound: Double
    if dot {
        bound = gamma64(2 * m) * u * (Double(m) + 2) * laneTotal + Double(16 * m) * 0x1p-1074
    } else {
        bound = gamma64(m) * u * Double(m) * laneTotal
    }
    var sum = 0.0, compensation = 0.0, magnitudes = 0.0
    for v in values {
        let t = sum + v
        let virtualV = t - sum
        compensation += (sum - (t - virtualV)) + (v - virtualV)
        sum = t
        magnitudes += v.magnitude
    }
    bound += gamma64(values.count) * u * Double(values.count) * magnitudes
    guard sum.isFinite, compensation.isFinite, bound.isFinite else { return unresolvedEnclosure }
    return ReductionEnclosure(partials: [sum, compensation], bound: (bound * (1 + 0x1p-30)).nextUp)
}
