import Formats
import Reference
import Tensors
import Testing
import TestSupport

/// The vector GELU and its derivative (VectorMath+Normal.swift) against MPFR: every Float16 and BFloat16 input,
/// and 10^6 Float32 inputs.
@Suite struct NormalFunctionTests {
    /// GELU(x) = x erfc(-x/√2)/2 and GELU'(x) = erfc(-x/√2)/2 + x e^(-x²/2)/√(2π), at 96 bits (then rounded once).
    static func reference(_ x: Double) -> (gelu: BigFloat, derivative: BigFloat) {
        let p = 96
        let b = BigFloat(x, precision: p)
        let half = BigFloat(0.5, precision: p)
        let s = b.divided(by: BigFloat(2, precision: p).squareRoot(precision: p), precision: p)
        let cdf = BigFloat(0, precision: p).subtracting(s, precision: p).erfc(precision: p).multiplied(by: half, precision: p)
        let gauss = BigFloat(0, precision: p).subtracting(b.multiplied(by: b, precision: p).multiplied(by: half, precision: p), precision: p).exp(precision: p)
        let root2pi = BigFloat(2 * Double.pi, precision: p)  // 2π to 53 bits: its error is far below Float's
        let density = gauss.divided(by: root2pi.squareRoot(precision: p), precision: p)
        return (b.multiplied(by: cdf, precision: p), cdf.adding(b.multiplied(by: density, precision: p), precision: p))
    }

    /// The lab's Float value of both functions for one input (the vector code on all eight lanes).
    static func lab(_ x: Float) -> (Float, Float) {
        (VectorMath.gelu(SIMD8(repeating: x))[0], VectorMath.geluDerivative(SIMD8(repeating: x))[0])
    }

    @Test(arguments: [FloatFormat.float16, .bfloat16])
    func everySixteenBitInput(format: FloatFormat) {
        var exact = 0, finite = 0, worst = (gelu: 0.0, derivative: 0.0)
        for bits in 0...UInt16.max {
            let x = format.decode(UInt64(bits))
            guard x.isFinite else { continue }
            finite += 1
            let (g, d) = Self.lab(Float(x))
            let ref = Self.reference(x)
            let (rg, rd) = (ref.gelu.rounded(to: format), ref.derivative.rounded(to: format))
            let (lg, ld) = (format.round(Double(g)), format.round(Double(d)))
            // Compared as numbers: MPFR's exponent range makes the reference's underflowed derivative +0 or -0.
            if lg == rg && ld == rd { exact += 1 }
            worst.gelu = max(worst.gelu, (lg - rg).magnitude / format.ulp(of: rg))
            worst.derivative = max(worst.derivative, (ld - rd).magnitude / format.ulp(of: rd))
        }
        // Rounded to the format, both are the correctly rounded values but for a few inputs, off by one ulp there.
        #expect(worst.gelu <= 1 && worst.derivative <= 1, "\(format): worst \(worst)")
        #expect(Double(exact) >= 0.999 * Double(finite), "\(format): \(exact) of \(finite) inputs correctly rounded")
    }

    @Test func aMillionFloat32Inputs() {
        var rng = SeededGenerator(seed: 31)
        var worst = (gelu: 0.0, derivative: 0.0)
        for k in 0..<1_000_000 {
            // Uniform over [-15, 15], and every fourth input log-uniform in magnitude down to 2^-30.
            let x: Float = k % 4 == 0 ? Float(Double(sign: rng.next() & 1 == 0 ? .plus : .minus, exponent: -Int(rng.next() % 30), significand: 1 + rng.nextUnit()))
                                      : Float(-15 + 30 * rng.nextUnit())
            let (g, d) = Self.lab(x)
            let ref = Self.reference(Double(x))
            let (rg, rd) = (ref.gelu.doubleValue(), ref.derivative.doubleValue())
            let ulpG = FloatFormat.float32.ulp(of: rg), ulpD = FloatFormat.float32.ulp(of: rd)
            worst.gelu = max(worst.gelu, (Double(g) - rg).magnitude / ulpG)
            // The derivative crosses zero near x = -0.7518: there its error is absolute, against 2^-24.
            worst.derivative = max(worst.derivative, (Double(d) - rd).magnitude / max(ulpD, 0x1p-24))
        }
        #expect(worst.gelu <= 6 && worst.derivative <= 2, "worst \(worst)")
    }

    @Test func specialInputs() {
        let (gi, di) = Self.lab(.infinity), (gm, dm) = Self.lab(-.infinity), (gn, dn) = Self.lab(.nan)
        #expect(gi == .infinity && di == 1 && gm == 0 && dm == 0 && gn.isNaN && dn.isNaN)
        #expect(Self.lab(0).0 == 0 && Self.lab(0).1 == 0.5)
        #expect(Self.lab(-20).0 == 0 && Self.lab(20).0 == 20)
    }
}
