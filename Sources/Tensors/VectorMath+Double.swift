/// e^x and tanh on eight Double lanes (libm's scalar tanh, through expm1, was the largest elementwise cost of a
/// Float64 RNN step, which every suite runs as its reference). Double's `tanh`, `tanh8` and the scalar tail of the
/// elementwise kernels all go through this code, so that a value gets the same bits wherever it sits.
///
/// Errors, measured against MPFR (`DoubleVectorMathTests`, 10^6 seeded inputs and the edges of the ranges):
/// e^x within 1 ulp of Double (1.0 measured, at x = -708.2, where the result is subnormal and so rounded twice) and
/// tanh within 2 ulps (1.23 measured, at x = -0.666, just past the switch to the exponential form). NaN stays NaN,
/// tanh(±inf) = ±1, tanh(-0) = -0, e^inf = inf, e^-inf = 0.
extension VectorMath {
    public typealias D = SIMD8<Double>

    /// e^x: x = k ln2 + r with |r| <= ln2/2 (fdlibm's two-part ln2, so that k ln2hi is exact and r exact before the
    /// low part), e^r = 1 + r + r²·p(r) with p the Taylor polynomial of degree 11 (the first term left out,
    /// r^14/14!, is below 2^-57 of the result), scaled by 2^k in two halves so that results in the subnormal range
    /// are rounded once, at the last product. Inputs are clamped to [-760, 710], past which e^x is 0 or inf.
    @inlinable @inline(__always) public static func exp(_ x: D) -> D {
        var c = x.replacing(with: 710, where: x .> 710).replacing(with: -760, where: x .< -760)
        c = c.replacing(with: 0, where: x .!= x)
        let k = (c * 1.4426950408889634).rounded(.toNearestOrEven)
        var r = c.addingProduct(k, D(repeating: -6.93147180369123816490e-01))
        r = r.addingProduct(k, D(repeating: -1.90821492927058770002e-10))
        var p = D(repeating: 1.0 / 6_227_020_800)
        p = D(repeating: 1.0 / 479_001_600).addingProduct(p, r)
        p = D(repeating: 1.0 / 39_916_800).addingProduct(p, r)
        p = D(repeating: 1.0 / 3_628_800).addingProduct(p, r)
        p = D(repeating: 1.0 / 362_880).addingProduct(p, r)
        p = D(repeating: 1.0 / 40_320).addingProduct(p, r)
        p = D(repeating: 1.0 / 5_040).addingProduct(p, r)
        p = D(repeating: 1.0 / 720).addingProduct(p, r)
        p = D(repeating: 1.0 / 120).addingProduct(p, r)
        p = D(repeating: 1.0 / 24).addingProduct(p, r)
        p = D(repeating: 1.0 / 6).addingProduct(p, r)
        p = D(repeating: 0.5).addingProduct(p, r)
        let y = 1 + r.addingProduct(p, r * r)  // 1 added last, so r keeps its low bits
        // 2^half and 2^(k - half) from their biased exponents, held in the low significand bits of h + 1.5·2^52
        // (AVX2 has no arithmetic shift of 64-bit lanes, so the halves are taken in floating point).
        let half = (k * 0.5).rounded(.down), rest = k - half
        let magic = D(repeating: 6_755_399_441_055_744 + 1023)
        let scaleHalf = (unsafeBitCast(half + magic, to: SIMD8<UInt64>.self) &- 0x4338_0000_0000_0000) &<< 52
        let scaleRest = (unsafeBitCast(rest + magic, to: SIMD8<UInt64>.self) &- 0x4338_0000_0000_0000) &<< 52
        let out = y * unsafeBitCast(scaleHalf, to: D.self) * unsafeBitCast(scaleRest, to: D.self)
        return out.replacing(with: x, where: x .!= x)
    }

    /// tanh as Cephes computes it (S. L. Moshier): for |x| <= 0.625, x + x·x²·P(x²)/Q(x²) with Cephes' rational
    /// approximation; above, 1 - 2/(e^(2|x|) + 1) with the sign of x (1 beyond |x| = 20, where tanh rounds to 1).
    @inlinable @inline(__always) public static func tanh(_ x: D) -> D {
        let a = x.replacing(with: -x, where: x .< 0)
        let z = x * x
        var p = D(repeating: -9.64399179425052238628e-1)
        p = D(repeating: -9.92877231001918586564e1).addingProduct(p, z)
        p = D(repeating: -1.61468768441708447952e3).addingProduct(p, z)
        var q = z + 1.12811678491632931402e2
        q = D(repeating: 2.23548839060100448583e3).addingProduct(q, z)
        q = D(repeating: 4.84406305325125486048e3).addingProduct(q, z)
        let small = x + x * z * (p / q)
        let e = exp(2 * a.replacing(with: 20, where: a .> 20))
        var large = 1 - 2 / (e + 1)
        large = large.replacing(with: -large, where: x .< 0)
        // ±0 stays itself (the polynomial would make -0 into +0).
        return small.replacing(with: large, where: a .> 0.625).replacing(with: x, where: x .== 0)
    }
}
