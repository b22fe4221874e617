import Formats
import Reference
import Tensors
import Testing

/// The Double vector e^x and tanh (VectorMath+Double.swift) against MPFR: 10^6 seeded inputs over the ranges
/// where the functions are neither 0 nor saturated, down to tiny magnitudes, and the edges.
@Suite struct DoubleVectorMathTests {
    /// |got - exact| in ulps of Double at the exact value, the difference taken at 160 bits (so the reference's own
    /// rounding to Double does not enter); the smaller ulp where the value rounds to a power of two. A NaN where the
    /// exact value is a number (or the reverse) is an infinite error.
    static func ulps(_ got: Double, _ exact: BigFloat) -> Double {
        let e = exact.doubleValue()
        if e.isNaN || got.isNaN { return e.isNaN && got.isNaN ? 0 : .infinity }
        if e.isInfinite || got.isInfinite { return got == e ? 0 : .infinity }
        let difference = BigFloat(got, precision: 160).subtracting(exact, precision: 160).doubleValue().magnitude
        let m = e.magnitude
        let ulp = m == 0 ? Double.leastNonzeroMagnitude : min(m.ulp, m.nextDown.ulp)
        return difference / ulp
    }

    /// The worst error of f over xs (eight lanes at a time), with its input.
    static func worst(_ f: (SIMD8<Double>) -> SIMD8<Double>, _ exact: (BigFloat) -> BigFloat, _ xs: [Double]) -> (ulps: Double, at: Double) {
        var worst = (ulps: 0.0, at: 0.0)
        var i = 0
        while i < xs.count {
            var v = SIMD8<Double>(repeating: 0)
            for l in 0..<8 { v[l] = xs[min(i + l, xs.count - 1)] }
            let out = f(v)
            for l in 0..<8 {
                let e = ulps(out[l], exact(BigFloat(v[l], precision: 160)))
                if !(e <= worst.ulps) { worst = (e, v[l]) }
            }
            i += 8
        }
        return worst
    }

    /// Uniform over [-range, range], every fourth input log-uniform in magnitude from 2^-40 to 1.
    static func inputs(_ count: Int, range: Double, seed: UInt64) -> [Double] {
        var rng = SeededGenerator(seed: seed)
        return (0..<count).map { k in
            k % 4 == 0 ? Double(sign: rng.next() & 1 == 0 ? .plus : .minus, exponent: -Int(rng.next() % 40), significand: 1 + rng.nextUnit())
                       : range * (2 * rng.nextUnit() - 1)
        }
    }

    @Test func expWithinOneUlp() {
        let edges: [Double] = [0, -0, 1, -1, 709.78, 709.782712893384, 709.79, 710, 800, -708.39, -745.1, -745.2, -760, -1000,
                               .infinity, -.infinity, .nan, 0x1p-1074, 0.34657359027997264, -0.34657359027997264]
        let (e, at) = Self.worst(VectorMath.exp, { $0.exp(precision: 160) }, Self.inputs(500_000, range: 745, seed: 41) + edges)
        #expect(e <= 1, "exp: \(e) ulps at \(at)")
    }

    @Test func tanhWithinTwoUlps() {
        let edges: [Double] = [0, 0.625, -0.625, 0.62500000000000011, 0.6249999999999999, 20, -20, 19.1, 40, .infinity, -.infinity,
                               0x1p-1074, -0x1p-1074, 0x1p-1022]
        let (t, at) = Self.worst(VectorMath.tanh, { $0.tanh(precision: 160) }, Self.inputs(500_000, range: 12, seed: 42) + edges)
        #expect(t <= 2, "tanh: \(t) ulps at \(at)")
    }

    @Test func specialValues() {
        let v = SIMD8<Double>(.nan, .infinity, -.infinity, -0.0, 0, 1e300, -1e300, 30)
        let t = VectorMath.tanh(v), e = VectorMath.exp(v)
        #expect(t[0].isNaN && t[1] == 1 && t[2] == -1 && t[3] == 0 && t[3].sign == .minus && t[4] == 0 && t[4].sign == .plus)
        #expect(t[5] == 1 && t[6] == -1 && t[7] == 1)
        #expect(e[0].isNaN && e[1] == .infinity && e[2] == 0 && e[3] == 1 && e[4] == 1 && e[5] == .infinity && e[6] == 0)
        // The scalar entry point is the vector code: the same bits in any lane.
        for x in Self.inputs(1000, range: 5, seed: 43) {
            #expect(Double.tanh(x).bitPattern == VectorMath.tanh(SIMD8(1, 2, 3, x, 5, 6, 7, 8))[3].bitPattern)
        }
    }
}
