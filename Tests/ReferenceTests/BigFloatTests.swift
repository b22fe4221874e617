import Formats
import Reference
import Testing

@Suite struct BigFloatTests {
    @Test func copiesDoNotShareMutations() {
        let a = BigFloat(1.5, precision: 100)
        var b = a
        b += BigFloat(0.25)
        #expect(a.doubleValue() == 1.5)
        #expect(b.doubleValue() == 1.75)
        #expect(b.precision == 100)
    }

    @Test func exactArithmeticWithEnoughPrecision() {
        let third = BigFloat(1).divided(by: BigFloat(3), precision: 200)
        #expect(third.multiplied(by: BigFloat(3), precision: 400) != BigFloat(1))
        #expect(third.multiplied(by: BigFloat(3), precision: 53).doubleValue() == 1)
        // (1 + 2^-60)^2 needs 121 bits: exact at 200.
        let x = BigFloat(1).adding(BigFloat(0x1p-60), precision: 200)
        let square = x.multiplied(by: x, precision: 200)
        #expect(square.subtracting(BigFloat(1), precision: 200).subtracting(BigFloat(0x1p-59), precision: 200) == BigFloat(0x1p-120))
        #expect(BigFloat(2).squareRoot(precision: 53).doubleValue() == 2.0.squareRoot())
        #expect(BigFloat(3).fma(BigFloat(5), BigFloat(-15)).isZero)
        #expect(BigFloat("0x1.8p-3")?.doubleValue() == 0.1875)
        #expect(BigFloat("0.1", precision: 24)?.floatValue() == 0.1 as Float)
        #expect(BigFloat("nonsense") == nil)
        #expect(BigFloat(0x1p-3).hexString == "0x1p-3" && BigFloat(-0.1875).hexString == "-0x1.8p-3")
        #expect(BigFloat(1).adding(BigFloat(0x1p-60), precision: 80).hexString == "0x1.000000000000001p+0")
        #expect(BigFloat(-2.5).formatted() == "-2.5" && BigFloat(1e-300).formatted(digits: 3) == "1e-300")
        #expect(BigFloat.nan != BigFloat.nan && BigFloat(-0.0) == BigFloat(0.0) && BigFloat(-0.0).isNegative)
    }

    /// Rounding a many-bit value to a format decides ties with bits that no Double could hold.
    @Test func roundingToFormatsUsesEveryBit() {
        let justAboveTie = BigFloat(1).adding(BigFloat(0x1p-11), precision: 300).adding(BigFloat(0x1p-250), precision: 300)
        #expect(justAboveTie.doubleValue() == 1 + 0x1p-11)  // a Double sees an exact tie...
        #expect(justAboveTie.rounded(to: .float16) == 1 + 0x1p-10)  // ...the exact value is above it
        #expect(BigFloat(1).adding(BigFloat(0x1p-11), precision: 300).rounded(to: .float16) == 1)
        // Subnormal range: just above half the smallest subnormal rounds up, however far below Double's range the excess is.
        let halfTiny = BigFloat(0x1p-25).adding(BigFloat(significand: 1, exponent: -1100), precision: 2000)
        #expect(halfTiny.rounded(to: .float16) == 0x1p-24)
        #expect(BigFloat(0x1p-25).rounded(to: .float16) == 0)
        // Far outside a narrow format's exponent range (MPFR's range is narrowed with the value outside it).
        let huge = BigFloat(0x1p1000).multiplied(by: BigFloat(0x1p1000))
        #expect(huge.rounded(to: .float64) == .infinity && huge.rounded(to: .bfloat16) == .infinity)
        #expect(huge.rounded(to: .float8E4M3FN).isNaN && huge.rounded(to: .float8E4M3FN, saturating: true) == 448)
        let tiny = BigFloat(0x1p-1000).multiplied(by: BigFloat(0x1p-1000))
        #expect(tiny.rounded(to: .float64) == 0 && tiny.rounded(to: .float16) == 0)
        #expect((-tiny).rounded(to: .float32).sign == .minus)
        #expect(BigFloat(65519.99).rounded(to: .float16) == 65504 && BigFloat(65520).rounded(to: .float16) == .infinity)
        #expect(BigFloat(65520).bitPattern(in: .float16, saturating: true) == 0x7BFF)
        #expect(BigFloat.infinity(negative: true).rounded(to: .float8E5M2) == -.infinity)
        #expect(BigFloat.nan.rounded(to: .bfloat16).isNaN)
    }

    @Test func exactConversionFromEveryFormat() {
        var rng = SeededGenerator(seed: 9)
        for _ in 0..<10_000 {
            let h = Float16(bitPattern: UInt16(truncatingIfNeeded: rng.next()))
            let b = BFloat16(bitPattern: UInt16(truncatingIfNeeded: rng.next()))
            let f = Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))
            let d = Double(bitPattern: rng.next())
            for (x, bits, format) in [(Double(h), UInt64(h.bitPattern), FloatFormat.float16), (Double(b), UInt64(b.bitPattern), .bfloat16),
                                      (Double(f), UInt64(f.bitPattern), .float32), (d, d.bitPattern, .float64)] where x.isFinite {
                let big = BigFloat(bitPattern: bits, format: format)
                #expect(big.compare(x) == 0 && big.isNegative == (x.sign == .minus))
                #expect(big.rounded(to: format) == x)
            }
        }
    }

    /// Emulation from several threads at once gives the same bits as one thread.
    @Test func emulationIsThreadSafe() async {
        let operands = FormatConformance.operands(for: .float16, count: 20_000, seed: 10)
        let serial = FormatEmulator.with(.float16) { e in operands.map { e.fma($0.0, $0.1, $0.2) } }
        let serialBF = FormatEmulator.with(.bfloat16) { e in operands.map { e.add($0.0, $0.1) } }
        await withTaskGroup(of: Bool.self) { group in
            for task in 0..<8 {
                group.addTask {
                    if task % 2 == 0 {
                        let r = FormatEmulator.with(.float16) { e in operands.map { e.fma($0.0, $0.1, $0.2) } }
                        return zip(r, serial).allSatisfy(FormatConformance.same)
                    }
                    let r = FormatEmulator.with(.bfloat16) { e in operands.map { e.add($0.0, $0.1) } }
                    // BigFloat arithmetic in the default range runs alongside.
                    let big = BigFloat(1).adding(BigFloat(0x1p-200), precision: 300)
                    return zip(r, serialBF).allSatisfy(FormatConformance.same) && big.subtracting(BigFloat(1), precision: 300) == BigFloat(0x1p-200)
                }
            }
            for await ok in group { #expect(ok) }
        }
        #expect(BigFloat.isThreadSafe)
    }

    /// Storage is released: the number of live MPFR values returns to where it was. Tests running in parallel
    /// hold at most a few hundred thousand values at a time (a 100,000-element MPFRNorm holds one per term),
    /// so a million values make the check unambiguous.
    @Test func valuesAreReleased() {
        let before = BigFloat.liveCount
        let count = 1_000_000
        do {
            let many = (0..<count).map { BigFloat(Double($0), precision: 64) }
            #expect(BigFloat.liveCount >= count)
            #expect(many.count == count)
        }
        #expect(BigFloat.liveCount < before + count / 2)
    }
}

/// Emulation scopes nest, and BigFloat arithmetic inside one runs in MPFR's full range.
@Suite struct FormatEmulatorScopeTests {
    @Test func nestedScopesAndBigFloatInside() {
        let inner = FormatEmulator.with(.float8E4M3FN) { _ in BigFloat(1000.0).rounded(to: .float16) }
        #expect(inner == 1000)
        #expect(FormatEmulator.with(.float16) { $0.round(BigFloat(1e6)) } == .infinity)  // 1e6 overflows Float16: correct
        #expect(FormatEmulator.with(.float16) { _ in (BigFloat(3) * BigFloat(100_000)).doubleValue() } == 300_000)
        let mixed = FormatEmulator.with(.bfloat16) { outer in
            (outer.add(1, 0x1p-9), FormatEmulator.with(.float16) { $0.add(1, 0x1p-9) }, outer.multiply(3e38, 2))
        }
        #expect(mixed.0 == 1 && mixed.1 == 1 + 0x1p-9 && mixed.2 == .infinity)
    }
}
