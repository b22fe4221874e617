/// exp, tanh and the logistic function on eight Float lanes, for the elementwise kernels (libm's scalar
/// tanhf, through expm1f, was most of an RNN step). The polynomials are Cephes' (S. L. Moshier) evaluated with
/// FMAs; the tests hold them to 1 ulp (exp) and 2 ulps (tanh, sigmoid) against Double on seeded inputs.
public enum VectorMath {
    public typealias V = SIMD8<Float>

    /// e^x: x = k ln2 + r with |r| <= ln2/2 (ln2 split in two so that k ln2 is exact), e^r by Cephes' degree-6
    /// polynomial, scaled by 2^k through the exponent bits in two halves (so that results near the overflow
    /// and subnormal ranges come out right). Overflow gives inf, -inf gives 0, NaN stays NaN.
    @inlinable @inline(__always) public static func exp(_ x: V) -> V {
        var clamped = x.replacing(with: 89, where: x .> 89).replacing(with: -104, where: x .< -104)
        clamped = clamped.replacing(with: 0, where: x .!= x)
        let k = (clamped * 1.44269504088896341).rounded(.toNearestOrEven)
        var r = clamped.addingProduct(k, V(repeating: -0.693359375))
        r = r.addingProduct(k, V(repeating: 2.12194440e-4))
        var p = V(repeating: 1.9875691500e-4)
        p = V(repeating: 1.3981999507e-3).addingProduct(p, r)
        p = V(repeating: 8.3334519073e-3).addingProduct(p, r)
        p = V(repeating: 4.1665795894e-2).addingProduct(p, r)
        p = V(repeating: 1.6666665459e-1).addingProduct(p, r)
        p = V(repeating: 5.0000001201e-1).addingProduct(p, r)
        let y = 1 + r.addingProduct(p, r * r)  // 1 added last, so r keeps its low bits
        // k as an integer without a checked conversion: k + 1.5·2^23 holds k in its low significand bits.
        let ki = unsafeBitCast(k + 12_582_912, to: SIMD8<Int32>.self) &- 0x4B40_0000
        let half = ki &>> 1, rest = ki &- half
        let out = y * unsafeBitCast((half &+ 127) &<< 23, to: V.self) * unsafeBitCast((rest &+ 127) &<< 23, to: V.self)
        return out.replacing(with: x, where: x .!= x)
    }

    /// tanh: below |x| = 0.625 Cephes' odd polynomial; above, 1 - 2/(e^(2|x|) + 1) with the sign of x (1 beyond
    /// |x| = 9, where tanh rounds to 1 in Float).
    @inlinable @inline(__always) public static func tanh(_ x: V) -> V {
        let a = x.replacing(with: -x, where: x .< 0)
        let z = x * x
        var p = V(repeating: -5.70498872745e-3)
        p = V(repeating: 2.06390887954e-2).addingProduct(p, z)
        p = V(repeating: -5.37397155531e-2).addingProduct(p, z)
        p = V(repeating: 1.33314422036e-1).addingProduct(p, z)
        p = V(repeating: -3.33332819422e-1).addingProduct(p, z)
        let small = x.addingProduct(x * z, p)
        let e = exp(2 * a.replacing(with: 9, where: a .> 9))
        var large = 1 - 2 / (e + 1)
        large = large.replacing(with: -large, where: x .< 0)
        return small.replacing(with: large, where: a .>= 0.625)
    }

    /// 1/(1 + e^-x), as e^x/(1 + e^x) for negative x so that e never overflows.
    @inlinable @inline(__always) public static func sigmoid(_ x: V) -> V {
        let negativeAbs = x.replacing(with: -x, where: x .> 0)
        let e = exp(negativeAbs)
        let numerator = V(repeating: 1).replacing(with: e, where: x .< 0)
        return numerator / (1 + e)
    }
}
