import Formats
import Reference

/// s + t = sum + error exactly (Knuth's TwoSum); the error is added to the compensation c.
@inline(__always) func twoSumAccumulate(_ s: inout SIMD4<Double>, _ c: inout SIMD4<Double>, _ t: SIMD4<Double>) {
    let sum = s + t
    let virtualT = sum - s
    let virtualS = sum - virtualT
    c += (s - virtualS) + (t - virtualT)
    s = sum
}

/// γ(k) = k u / (1 - k u) for Float64, rounded up (the bound of k successive roundings).
@inline(__always) func gamma64(_ k: Int) -> Double {
    let ku = Double(k) * 0x1p-53
    return (ku / (1 - ku)).nextUp
}

/// One chunk's enclosure of Σx² or Σ|x|, by compensated summation in Float64 (Ogita, Rump and Oishi's Sum2 and
/// Dot2) on 16 lanes. Every term of a 16-bit or Float32 input is exact in Float64; a Float64 square is split
/// exactly by an FMA (TwoProduct). For a lane of m terms with final running sum s ≥ 0 (the terms are
/// non-negative, so the running sums grow and each TwoSum error is at most u s), the exact lane sum is s plus
/// the exact sum of the errors, which the compensation c holds to within γ(m) u m s (Float64 squares: twice the
/// terms, plus 2^-1074 per underflowing product).
func exactChunk(_ x: FloatBuffer, _ range: Range<Int>, squares: Bool) -> ReductionEnclosure {
    var s0 = SIMD4<Double>(), s1 = SIMD4<Double>(), s2 = SIMD4<Double>(), s3 = SIMD4<Double>()
    var c0 = SIMD4<Double>(), c1 = SIMD4<Double>(), c2 = SIMD4<Double>(), c3 = SIMD4<Double>()
    var steps = 0
    @inline(__always) func term(_ v: SIMD4<Double>) -> SIMD4<Double> { squares ? v * v : magnitude(v) }
    switch x.format {
    case .float16, .bfloat16:
        let isHalf = x.format == .float16
        forEachStep(x.base, range, step: 32, elementSize: 2) { p, i in
            for k in 0..<4 {
                let v = isHalf ? HalfLoad.load(p, i + 8 * k) : BFloat16Load.load(p, i + 8 * k)
                let low = term(SIMD4<Double>(v.lowHalf)), high = term(SIMD4<Double>(v.highHalf))
                switch k {
                case 0: twoSumAccumulate(&s0, &c0, low); twoSumAccumulate(&s0, &c0, high)
                case 1: twoSumAccumulate(&s1, &c1, low); twoSumAccumulate(&s1, &c1, high)
                case 2: twoSumAccumulate(&s2, &c2, low); twoSumAccumulate(&s2, &c2, high)
                default: twoSumAccumulate(&s3, &c3, low); twoSumAccumulate(&s3, &c3, high)
                }
            }
            steps += 2
        }
    case .float32:
        steps = sumSteps(FloatLoad.self, x.base, range, &s0, &s1, &s2, &s3, &c0, &c1, &c2, &c3, term)
    default:
        if squares {
            @inline(__always) func dot(_ s: inout SIMD4<Double>, _ c: inout SIMD4<Double>, _ v: SIMD4<Double>) {
                let product = v * v
                let productError = (-product).addingProduct(v, v)
                let sum = s + product
                let virtualT = sum - s
                let virtualS = sum - virtualT
                c += ((s - virtualS) + (product - virtualT)) + productError
                s = sum
            }
            forEachStep(x.base, range, step: 16, elementSize: 8) { p, i in
                dot(&s0, &c0, DoubleLoad.load(p, i)); dot(&s1, &c1, DoubleLoad.load(p, i + 4))
                dot(&s2, &c2, DoubleLoad.load(p, i + 8)); dot(&s3, &c3, DoubleLoad.load(p, i + 12))
                steps += 1
            }
        } else {
            steps = sumSteps(DoubleLoad.self, x.base, range, &s0, &s1, &s2, &s3, &c0, &c1, &c2, &c3, term)
        }
    }
    var partials = [Double]()
    partials.reserveCapacity(32)
    var total = 0.0
    for v in [s0, s1, s2, s3] { for lane in 0..<4 { partials.append(v[lane]); total += v[lane] } }
    for v in [c0, c1, c2, c3] { for lane in 0..<4 { partials.append(v[lane]) } }
    let m = max(steps, 1)
    let u = 0x1p-53
    let bound: Double
    if x.format == .float64 && squares {
        bound = gamma64(2 * m) * u * (Double(m) + 2) * total * (1 + 0x1p-30) + Double(16 * m) * 0x1p-1074
    } else {
        bound = gamma64(m) * u * Double(m) * total * (1 + 0x1p-30)
    }
    return ReductionEnclosure(partials: partials, bound: bound.nextUp)
}

/// TwoSum accumulation of term(x) over 4 lanes × 4 vectors of a Float64-widened input; returns the steps taken.
@inline(__always) func sumSteps<L: WideningLoad>(
    _: L.Type, _ base: UnsafeRawPointer, _ range: Range<Int>,
    _ s0: inout SIMD4<Double>, _ s1: inout SIMD4<Double>, _ s2: inout SIMD4<Double>, _ s3: inout SIMD4<Double>,
    _ c0: inout SIMD4<Double>, _ c1: inout SIMD4<Double>, _ c2: inout SIMD4<Double>, _ c3: inout SIMD4<Double>,
    _ term: (SIMD4<Double>) -> SIMD4<Double>
) -> Int where L.Vector == SIMD4<Double> {
    var steps = 0
    forEachStep(base, range, step: 16, elementSize: L.elementSize) { p, i in
        twoSumAccumulate(&s0, &c0, term(L.load(p, i)))
        twoSumAccumulate(&s1, &c1, term(L.load(p, i + 4)))
        twoSumAccumulate(&s2, &c2, term(L.load(p, i + 8)))
        twoSumAccumulate(&s3, &c3, term(L.load(p, i + 12)))
        steps += 1
    }
    return steps
}
