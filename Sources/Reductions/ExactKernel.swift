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

/// s + t = sum + error exactly (Knuth's TwoSum); the error is added to the compensation c.
@inline(__always) func twoSum(_ s: inout SIMD4<Double>, _ c: inout SIMD4<Double>, _ t: SIMD4<Double>) {
    let sum = s + t
    let virtualT = sum - s
    let virtualS = sum - virtualT
    c += (s - virtualS) + (t - virtualT)
    s = sum
}

/// Sum2 over 16-bit inputs: 32 elements per step, 2 terms per lane.
@inline(never) func compensatedSteps16<L: WideningLoad, K: TermKind>(
    _: L.Type, _: K.Type, _ base: UnsafeRawPointer, _ start: Int, _ end: Int, _ state: inout LaneState
) where L.Vector == SIMD8<Float> {
    var s0 = state.s0, s1 = state.s1, s2 = state.s2, s3 = state.s3
    var c0 = state.c0, c1 = state.c1, c2 = state.c2, c3 = state.c3
    var i = start
    while i + 32 <= end {
        let v0 = L.load(base, i), v1 = L.load(base, i + 8), v2 = L.load(base, i + 16), v3 = L.load(base, i + 24)
        twoSum(&s0, &c0, K.term(SIMD4<Double>(v0.lowHalf))); twoSum(&s1, &c1, K.term(SIMD4<Double>(v0.highHalf)))
        twoSum(&s2, &c2, K.term(SIMD4<Double>(v1.lowHalf))); twoSum(&s3, &c3, K.term(SIMD4<Double>(v1.highHalf)))
        twoSum(&s0, &c0, K.term(SIMD4<Double>(v2.lowHalf))); twoSum(&s1, &c1, K.term(SIMD4<Double>(v2.highHalf)))
        twoSum(&s2, &c2, K.term(SIMD4<Double>(v3.lowHalf))); twoSum(&s3, &c3, K.term(SIMD4<Double>(v3.highHalf)))
        i += 32
        state.terms += 2
    }
    state.s0 = s0; state.s1 = s1; state.s2 = s2; state.s3 = s3
    state.c0 = c0; state.c1 = c1; state.c2 = c2; state.c3 = c3
}

/// Float16 terms summed plainly in Float64 (FMA for squares), which is exact while every partial sum stays
/// below 2^53 times the terms' granularity: squares of Float16 values are multiples of 2^-48 and magnitudes
/// multiples of 2^-24, so lane sums up to 2^5 (squares) or 2^29 (magnitudes) carry no rounding error at all.
/// The caller checks that certificate on the final sums (running sums of non-negative terms only grow).
@inline(never) func certifiedHalfSteps<K: TermKind>(_: K.Type, _ base: UnsafeRawPointer, _ start: Int, _ end: Int,
                                                   _ state: inout LaneState) {
    var s0 = state.s0, s1 = state.s1, s2 = state.s2, s3 = state.s3
    var i = start
    let squares = K.self == SquareTerm.self
    while i + 32 <= end {
        let v0 = HalfLoad.load(base, i), v1 = HalfLoad.load(base, i + 8), v2 = HalfLoad.load(base, i + 16), v3 = HalfLoad.load(base, i + 24)
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
        state.terms += 2
    }
    state.s0 = s0; state.s1 = s1; state.s2 = s2; state.s3 = s3
}

/// Sum2 over Float32 or Float64 inputs (widened to Float64): 16 elements per step, 1 term per lane.
@inline(never) func compensatedSteps<L: WideningLoad, K: TermKind>(
    _: L.Type, _: K.Type, _ base: UnsafeRawPointer, _ start: Int, _ end: Int, _ state: inout LaneState
) where L.Vector == SIMD4<Double> {
    var s0 = state.s0, s1 = state.s1, s2 = state.s2, s3 = state.s3
    var c0 = state.c0, c1 = state.c1, c2 = state.c2, c3 = state.c3
    var i = start
    while i + 16 <= end {
        twoSum(&s0, &c0, K.term(L.load(base, i)))
        twoSum(&s1, &c1, K.term(L.load(base, i + 4)))
        twoSum(&s2, &c2, K.term(L.load(base, i + 8)))
        twoSum(&s3, &c3, K.term(L.load(base, i + 12)))
        i += 16
        state.terms += 1
    }
    state.s0 = s0; state.s1 = s1; state.s2 = s2; state.s3 = s3
    state.c0 = c0; state.c1 = c1; state.c2 = c2; state.c3 = c3
}

/// Dot2 over Float64 inputs: the square split exactly by an FMA (TwoProduct), 16 elements per step.
@inline(never) func dotSteps(_ base: UnsafeRawPointer, _ start: Int, _ end: Int, _ state: inout LaneState) {
    @inline(__always) func dot(_ s: inout SIMD4<Double>, _ c: inout SIMD4<Double>, _ v: SIMD4<Double>) {
        let product = v * v
        let productError = (-product).addingProduct(v, v)
        let sum = s + product
        let virtualT = sum - s
        let virtualS = sum - virtualT
        c += ((s - virtualS) + (product - virtualT)) + productError
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

/// One chunk's enclosure of Σx² or Σ|x|.
///
/// Float16 first tries the certified plain sum (`certifiedHalfSteps`, exact, bound 0). Otherwise, and for the
/// other formats: compensated summation in Float64 (Ogita, Rump and Oishi's Sum2 and Dot2) on 16 lanes. Every
/// term of a 16-bit or Float32 input is exact in Float64; a Float64 square is split exactly by an FMA
/// (TwoProduct). For a lane of m terms with final running sum s ≥ 0 (the terms are non-negative, so the running
/// sums grow and each TwoSum error is at most u s), the exact lane sum is s plus the exact sum of the errors,
/// which the compensation c holds to within γ(m) u m s (Float64 squares: twice the terms, plus 2^-1074 per
/// underflowing product).
func exactChunk(_ x: FloatBuffer, _ range: Range<Int>, squares: Bool) -> ReductionEnclosure {
    var state = LaneState()
    if x.format == .float16 {
        let limit: Double = squares ? 0x1p5 : 0x1p29
        if squares {
            withPaddedTail(x.base, range, step: 32, elementSize: 2) { certifiedHalfSteps(SquareTerm.self, $0, $1, $2, &state) }
        } else {
            withPaddedTail(x.base, range, step: 32, elementSize: 2) { certifiedHalfSteps(MagnitudeTerm.self, $0, $1, $2, &state) }
        }
        if state.sums.allSatisfy({ ($0 .<= SIMD4(repeating: limit)) == SIMDMask(repeating: true) }) {
            return ReductionEnclosure(partials: state.sums.flatMap { [$0[0], $0[1], $0[2], $0[3]] }, bound: 0)
        }
        state = LaneState()
    }
    switch (x.format, squares) {
    case (.float16, true):
        withPaddedTail(x.base, range, step: 32, elementSize: 2) { compensatedSteps16(HalfLoad.self, SquareTerm.self, $0, $1, $2, &state) }
    case (.float16, false):
        withPaddedTail(x.base, range, step: 32, elementSize: 2) { compensatedSteps16(HalfLoad.self, MagnitudeTerm.self, $0, $1, $2, &state) }
    case (.bfloat16, true):
        withPaddedTail(x.base, range, step: 32, elementSize: 2) { compensatedSteps16(BFloat16Load.self, SquareTerm.self, $0, $1, $2, &state) }
    case (.bfloat16, false):
        withPaddedTail(x.base, range, step: 32, elementSize: 2) { compensatedSteps16(BFloat16Load.self, MagnitudeTerm.self, $0, $1, $2, &state) }
    case (.float32, true):
        withPaddedTail(x.base, range, step: 16, elementSize: 4) { compensatedSteps(FloatLoad.self, SquareTerm.self, $0, $1, $2, &state) }
    case (.float32, false):
        withPaddedTail(x.base, range, step: 16, elementSize: 4) { compensatedSteps(FloatLoad.self, MagnitudeTerm.self, $0, $1, $2, &state) }
    case (_, true):
        withPaddedTail(x.base, range, step: 16, elementSize: 8) { dotSteps($0, $1, $2, &state) }
    case (_, false):
        withPaddedTail(x.base, range, step: 16, elementSize: 8) { compensatedSteps(DoubleLoad.self, MagnitudeTerm.self, $0, $1, $2, &state) }
    }
    var partials = [Double]()
    partials.reserveCapacity(32)
    var total = 0.0
    for v in state.sums { for lane in 0..<4 { partials.append(v[lane]); total += v[lane] } }
    for v in state.compensations { for lane in 0..<4 { partials.append(v[lane]) } }
    let m = max(state.terms, 1)
    let u = 0x1p-53
    let bound: Double
    if x.format == .float64 && squares {
        bound = gamma64(2 * m) * u * (Double(m) + 2) * total * (1 + 0x1p-30) + Double(16 * m) * 0x1p-1074
    } else {
        bound = gamma64(m) * u * Double(m) * total * (1 + 0x1p-30)
    }
    return ReductionEnclosure(partials: partials, bound: bound.nextUp)
}
