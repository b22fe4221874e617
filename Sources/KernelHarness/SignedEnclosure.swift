import Base
import Formats
import Reference

/// A rigorous enclosure of a signed sum Σx_i or dot product Σx_i·y_i from one vectorized pass: eight lanes of
/// cascaded compensated summation in Float64 (Ogita, Rump and Oishi's Sum2 and Dot2: TwoSum of the running sum
/// and each term, TwoProduct by fma), whose unrounded result s + c is within γ(m)²·Σ|term| of the exact one for
/// m terms per lane (γ(k) = ku/(1 − ku), u = 2^-53); for Float64 products, which can underflow, plus m·2^-1074
/// per lane. The exact sum of the lanes' s and c, ± the bound, encloses the exact value; when both ends round to
/// the same value of a format, that is the correctly rounded result, else the caller computes it exactly. The
/// result is a `ReductionEnclosure` (partials and bound), as the norms' enclosures are.
enum SignedEnclosure {
    /// Σx (y nil) or Σx·y over all of `x`, in parallel chunks.
    static func of(_ x: FloatBuffer, _ y: FloatBuffer?, threads: Int) -> ReductionEnclosure {
        var total = ReductionEnclosure()
        // Chunks of 2^20: few partials for the exact sum at the end, and a bound still far below a Float64 ulp.
        for part in ChunkedParallel.map(count: x.count, chunkSize: 1 << 20, threads: threads, { range in chunk(x, y, range) }) { total.merge(part) }
        return total
    }

    /// One chunk: sixteen lanes (two independent sets of eight, so that the additions of one hide the latency of the
    /// other), specialized per format; the loads convert each format to Float64 exactly.
    static func chunk(_ x: FloatBuffer, _ y: FloatBuffer?, _ range: Range<Int>) -> ReductionEnclosure {
        if x.format == .float16 && y == nil { return exactFloat16Sum(x, range) }
        let end = range.lowerBound + (range.count / 16) * 16
        let lanes: Lanes
        switch x.format.shortName {
        case "f64": lanes = run(LoadF64.self, x.base, y?.base, range.lowerBound, end)
        case "f32": lanes = run(LoadF32.self, x.base, y?.base, range.lowerBound, end)
        case "f16": lanes = run(LoadF16.self, x.base, y?.base, range.lowerBound, end)
        default: lanes = run(LoadBF16.self, x.base, y?.base, range.lowerBound, end)
        }
        // The last (fewer than sixteen) terms go in exactly: each product as its two exact parts.
        var tail = [Double]()
        for k in end..<range.upperBound {
            let term = y.map { x.value(at: k) * $0.value(at: k) } ?? x.value(at: k)
            tail.append(term)
            if let y { tail.append((-term).addingProduct(x.value(at: k), y.value(at: k))) }
        }
        let m = Double(range.count / 16 + 1), u = 0x1p-53
        let gamma = m * u / (1 - m * u)
        // Σ|term| in Float64 is itself within γ(m)·Σ of the true sum: enlarge it by that before using it. The factor 4
        // covers Dot2's two additions per step into c (its error terms q and e) with room to spare.
        let magnitude = lanes.a.sum() * (1 + 2 * gamma) * (1 + 0x1p-50)
        var bound = 4 * gamma * gamma * magnitude
        if y != nil && x.format == .float64 { bound += 2 * Double(range.count) * 0x1p-1074 }  // products below the subnormals
        var out = ReductionEnclosure()
        for lane in 0..<8 { out.partials += [lanes.s0[lane], lanes.c0[lane], lanes.s1[lane], lanes.c1[lane]] }
        out.partials += tail
        out.bound = magnitude.isFinite ? bound.nextUp : .infinity  // a non-finite partial or bound: `interval` is nil
        return out
    }

    /// Float16 sums need no compensation: every Float16 value is a multiple of 2^-24 below 2^16, so a plain Float64
    /// sum of up to 2^13 of them per lane (below 2^53 · 2^-24) is exact. Blocks of 8 lanes × 8192 elements, each lane
    /// sum a partial; bound 0, unless a NaN or inf made a lane non-finite.
    static func exactFloat16Sum(_ x: FloatBuffer, _ range: Range<Int>) -> ReductionEnclosure {
        var out = ReductionEnclosure()
        let block = 8 * 8192
        var start = range.lowerBound
        while start < range.upperBound {
            let stop = min(start + block, range.upperBound), end = start + (stop - start) / 8 * 8
            var s = SIMD8<Double>()
            var i = start
            while i < end { s += LoadF16.load(x.base, i); i += 8 }
            for lane in 0..<8 { out.partials.append(s[lane]) }
            for k in end..<stop { out.partials.append(x.value(at: k)) }
            start = stop
        }
        return out
    }

    struct Lanes {
        var s0 = SIMD8<Double>(), c0 = SIMD8<Double>(), s1 = SIMD8<Double>(), c1 = SIMD8<Double>(), a = SIMD8<Double>()
    }

    /// s + v with its rounding error added to c (TwoSum, exact).
    @inline(__always) static func add(_ s: inout SIMD8<Double>, _ c: inout SIMD8<Double>, _ v: SIMD8<Double>, error e: SIMD8<Double> = .zero) {
        let t = s + v, z = t - s
        c += ((s - (t - z)) + (v - z)) + e
        s = t
    }

    @inline(__always) static func magnitude(_ v: SIMD8<Double>) -> SIMD8<Double> {
        unsafeBitCast(unsafeBitCast(v, to: SIMD8<UInt64>.self) & SIMD8(repeating: 0x7FFF_FFFF_FFFF_FFFF), to: SIMD8<Double>.self)  // the sign bit cleared
    }

    static func run<L: EightLoad>(_: L.Type, _ x: UnsafeRawPointer, _ y: UnsafeRawPointer?, _ start: Int, _ end: Int) -> Lanes {
        var l = Lanes()
        var i = start
        if let y {
            while i < end {
                let (v0, w0, v1, w1) = (L.load(x, i), L.load(y, i), L.load(x, i + 8), L.load(y, i + 8))
                let (p0, p1) = (v0 * w0, v1 * w1)
                add(&l.s0, &l.c0, p0, error: (-p0).addingProduct(v0, w0))  // TwoProduct: p + e = v·w exactly (no underflow)
                add(&l.s1, &l.c1, p1, error: (-p1).addingProduct(v1, w1))
                l.a += magnitude(p0) + magnitude(p1)
                i += 16
            }
        } else {
            while i < end {
                let (v0, v1) = (L.load(x, i), L.load(x, i + 8))
                add(&l.s0, &l.c0, v0)
                add(&l.s1, &l.c1, v1)
                l.a += magnitude(v0) + magnitude(v1)
                i += 16
            }
        }
        return l
    }
}

/// Eight elements of a buffer as Float64 (exact for every format the lab stores).
protocol EightLoad { static func load(_ base: UnsafeRawPointer, _ i: Int) -> SIMD8<Double> }
enum LoadF64: EightLoad {
    @inline(__always) static func load(_ base: UnsafeRawPointer, _ i: Int) -> SIMD8<Double> { base.loadUnaligned(fromByteOffset: 8 * i, as: SIMD8<Double>.self) }
}
enum LoadF32: EightLoad {
    @inline(__always) static func load(_ base: UnsafeRawPointer, _ i: Int) -> SIMD8<Double> { SIMD8<Double>(base.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)) }
}
enum LoadF16: EightLoad {
    @inline(__always) static func load(_ base: UnsafeRawPointer, _ i: Int) -> SIMD8<Double> {
        SIMD8<Double>(SIMD8<Float>(base.loadUnaligned(fromByteOffset: 2 * i, as: SIMD8<Float16>.self)))
    }
}
enum LoadBF16: EightLoad {
    @inline(__always) static func load(_ base: UnsafeRawPointer, _ i: Int) -> SIMD8<Double> {
        let bits = SIMD8<UInt32>(truncatingIfNeeded: base.loadUnaligned(fromByteOffset: 2 * i, as: SIMD8<UInt16>.self)) &<< 16
        return SIMD8<Double>(unsafeBitCast(bits, to: SIMD8<Float>.self))
    }
}
