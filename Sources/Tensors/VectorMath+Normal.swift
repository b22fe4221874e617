/// The standard normal CDF Φ, its density φ, GELU and GELU's derivative on eight Float lanes (libm's scalar erfcf
/// was the largest cost of a 16-bit transformer step).
///
/// With u = |x|/√2: for u < 0.5, Φ = 1/2 + (t/2)·P(t²), t = x/√2, P a degree-5 fit of erf(t)/t; otherwise the tail
/// T = erfc(u)/2 = e^(-x²/2)·Q(u)/2 with Q(u) = erfc(u)·e^(u²) fitted by a degree-12 polynomial in u - 1.25 on
/// [0.5, 2] and by (1/u)·R(1/u²), R of degree 9, on [2, 10.3] (|x| is clamped at 14.5, past which Φ rounds to 0
/// or 1 in Float), and Φ = T for x < 0, 1 - T otherwise. e^(-x²/2) is computed from x² split exactly by an FMA
/// (x² = s + e), as e^(-s/2)·(1 - e/2): rounding x/√2 or x² first would cost up to 2u² ulps in the far tail. The
/// fits are least squares at Chebyshev nodes, made with numpy against math.erfc (coefficients below).
///
/// Errors, measured against MPFR (`NormalFunctionTests`): over all Float16 and BFloat16 inputs, GELU and its
/// derivative rounded to the format are within 1 ulp of the format of the correctly rounded value, and equal to it
/// for at least 99.9% of the inputs (GELU(2^-24) = 2^-25(1 + 2^-25...) becomes an exact half-way Float and rounds
/// to 0 in Float16, as computing in Float and rounding must); over 10^6 Float32 inputs spread over [-15, 15] and
/// down to 2^-30 in magnitude, GELU is within 6 ulps of Float (5.6 measured) and its derivative within 2 ulps of Float, or
/// 2 × 2^-24 absolutely where it crosses zero near x = -0.75 (1.56 measured). NaN stays NaN, GELU(-inf) = 0,
/// GELU(inf) = inf, and the derivative is 1 at inf and -0 below x = -14.5.
extension VectorMath {
    /// The pieces of Φ(x): the value near zero, and the tail erfc(|x|/√2)/2 as coefficient × e^(-x²/2), kept apart
    /// so that a result that underflows rounds once, at the last product (and the derivative shares them).
    @inlinable @inline(__always) static func normalParts(_ x: V) -> (small: V, coefficient: V, gauss: V, isSmall: SIMDMask<SIMD8<Int32>>) {
        let a = x.replacing(with: -x, where: x .< 0).replacing(with: 14.5, where: x .> 14.5 .| x .< -14.5)
        let u = a * 0.70710678118654752
        // Near zero: 1/2 + (t/2) P(t²).
        let t = x * 0.70710678118654752, t2 = t * t
        var p = V(repeating: -7.706720859707418e-4)
        p = V(repeating: 5.201228172867944e-3).addingProduct(p, t2)
        p = V(repeating: -2.6863338393403012e-2).addingProduct(p, t2)
        p = V(repeating: 1.1283776013472446e-1).addingProduct(p, t2)
        p = V(repeating: -3.7612638604706705e-1).addingProduct(p, t2)
        p = V(repeating: 1.1283791670896797).addingProduct(p, t2)
        let small = V(repeating: 0.5).addingProduct(0.5 * t, p)
        // Q on [0.5, 2], in u - 1.25.
        let c = u - 1.25
        var qa = V(repeating: 6.1233181697978555e-06)
        qa = V(repeating: -2.059603271609145e-05).addingProduct(qa, c)
        qa = V(repeating: 5.374927559926527e-05).addingProduct(qa, c)
        qa = V(repeating: -1.6062891705246728e-04).addingProduct(qa, c)
        qa = V(repeating: 4.739634233367467e-04).addingProduct(qa, c)
        qa = V(repeating: -1.3265703315271105e-03).addingProduct(qa, c)
        qa = V(repeating: 3.553141103317902e-03).addingProduct(qa, c)
        qa = V(repeating: -9.081499626083279e-03).addingProduct(qa, c)
        qa = V(repeating: 2.2011357877882984e-02).addingProduct(qa, c)
        qa = V(repeating: -5.0218283239466435e-02).addingProduct(qa, c)
        qa = V(repeating: 1.0679557187243134e-01).addingProduct(qa, c)
        qa = V(repeating: -2.0882187579173453e-01).addingProduct(qa, c)
        qa = V(repeating: 3.678229164490887e-01).addingProduct(qa, c)
        // Q on [2, 10.3]: (1/u) R(1/u²).
        let r = 1 / u.replacing(with: 2, where: u .< 2), w = r * r
        var qb = V(repeating: -100.85380711182961)
        qb = V(repeating: 146.36866592753537).addingProduct(qb, w)
        qb = V(repeating: -97.03422718848483).addingProduct(qb, w)
        qb = V(repeating: 40.242940006031574).addingProduct(qb, w)
        qb = V(repeating: -12.482231905726527).addingProduct(qb, w)
        qb = V(repeating: 3.4598060722460615).addingProduct(qb, w)
        qb = V(repeating: -1.0486278568320546).addingProduct(qb, w)
        qb = V(repeating: 0.42293405874020706).addingProduct(qb, w)
        qb = V(repeating: -0.2820923853390127).addingProduct(qb, w)
        qb = V(repeating: 0.5641895730251179).addingProduct(qb, w)
        let q = qa.replacing(with: qb * r, where: u .>= 2)
        // e^(-x²/2) from x² = s + e exactly.
        let s = a * a, e = (-s).addingProduct(a, a)
        return (small, 0.5 * q * (1 - 0.5 * e), exp(-0.5 * s), u .< 0.5)
    }

    /// Φ(x), the standard normal CDF.
    @inlinable @inline(__always) public static func normalCDF(_ x: V) -> V {
        let (small, coefficient, gauss, isSmall) = normalParts(x)
        let tail = coefficient * gauss
        let cdf = (1 - tail).replacing(with: tail, where: x .< 0).replacing(with: small, where: isSmall)
        return cdf.replacing(with: x, where: x .!= x)
    }

    /// GELU(x) = x Φ(x) (PyTorch's approximate="none").
    @inlinable @inline(__always) public static func gelu(_ x: V) -> V {
        let (small, coefficient, gauss, isSmall) = normalParts(x)
        var y = (x * (1 - coefficient * gauss)).replacing(with: (x * coefficient) * gauss, where: x .< 0)
        y = y.replacing(with: x * small, where: isSmall)
        // -inf · 0 is NaN; GELU(-inf) is 0. NaN stays NaN.
        return y.replacing(with: 0, where: x .== -V.Scalar.infinity).replacing(with: x, where: x .!= x)
    }

    /// GELU'(x) = Φ(x) + x φ(x), φ(x) = e^(-x²/2)/√(2π).
    @inlinable @inline(__always) public static func geluDerivative(_ x: V) -> V {
        let (small, coefficient, gauss, isSmall) = normalParts(x)
        let xc = x * 0.3989422804014327
        var d = (1 + gauss * (xc - coefficient)).replacing(with: gauss * (coefficient + xc), where: x .< 0)
        d = d.replacing(with: small.addingProduct(gauss, xc), where: isSmall)
        // Past x = -14.5 the derivative (negative) underflows: -0, as its correct rounding.
        d = d.replacing(with: -0.0, where: x .< -14.5).replacing(with: 1, where: x .== V.Scalar.infinity)
        return d.replacing(with: x, where: x .!= x)
    }
}
