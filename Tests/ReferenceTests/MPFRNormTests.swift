import Formats
import Reference
import Testing

@Suite struct MPFRNormTests {
    @Test func pythagoreanAndTrivialCases() {
        for format in FloatFormat.all {
            #expect(MPFRNorm.norm([3, -4], order: .two, format: format) == 5)
            #expect(MPFRNorm.norm([3, -4], order: .one, format: format) == 7)
            #expect(MPFRNorm.norm([3, -4], order: .infinity, format: format) == 4)
            #expect(MPFRNorm.norm([], order: .two, format: format) == 0)
        }
        #expect(MPFRNorm.norm([1, .nan, .infinity], order: .two).isNaN)
        #expect(MPFRNorm.norm([1, -.infinity], order: .one) == .infinity)
    }

    /// n copies of 2^k have L2 norm sqrt(n) 2^k: IEEE's correctly rounded Double sqrt, scaled exactly, is an
    /// independent reference.
    @Test func copiesOfAPowerOfTwo() {
        var rng = SeededGenerator(seed: 11)
        for _ in 0..<200 {
            let n = Int(rng.next() % 3000) + 1
            let k = Int(rng.next() % 200) - 100
            let x = Double(sign: .plus, exponent: k, significand: 1)
            let expected = Double(n).squareRoot() * x
            #expect(MPFRNorm.norm([Double](repeating: rng.next() & 1 == 0 ? x : -x, count: n), order: .two) == expected)
            #expect(MPFRNorm.norm([Double](repeating: x, count: n), order: .one) == Double(n) * x)
        }
    }

    /// Squares far outside Double's range and a huge exponent span are summed exactly.
    @Test func exactAcrossTheWholeRange() {
        let big = 0x1p1000, tiny = 0x1p-1074
        // sqrt(2^2000 + 2^-2148): the tiny term cannot change the rounded norm, but the sum is exact.
        let sum = MPFRNorm.exactReduction([big, tiny], order: .two)
        #expect(sum == BigFloat(significand: 1, exponent: 2000).adding(BigFloat(significand: 1, exponent: -2148), precision: 5000))
        #expect(MPFRNorm.norm([big, big], order: .two) == 0x1p1000 * 2.0.squareRoot())
        #expect(MPFRNorm.norm([0x1p1023, 0x1p1023], order: .two) == 0x1p1023 * 2.0.squareRoot())
        #expect(MPFRNorm.norm([0x1p1023, 0x1p1023, 0x1p1023, 0x1p1023], order: .two) == .infinity)
        #expect(MPFRNorm.norm([0x1p1023, 0x1p1023], order: .two, format: .bfloat16) == .infinity)
        // Cancellation cannot happen (all terms positive), but 1 + 2^-60 must not lose the small term.
        let s = MPFRNorm.exactReduction([1, 0x1p-30], order: .two)
        #expect(s == BigFloat(1).adding(BigFloat(0x1p-60), precision: 100))
    }

    /// Rounding to narrow formats: overflow of Float16 at 65520, subnormal results rounded once.
    @Test func narrowFormats() {
        #expect(MPFRNorm.norm([60000, 60000], order: .two, format: .float16) == .infinity)
        #expect(MPFRNorm.norm([46000, 46000], order: .two, format: .float16) == 65056)  // 65053.82... -> 65056
        #expect(MPFRNorm.norm([0x1p-24, 0x1p-24], order: .two, format: .float16) == 0x1p-24)
        // sqrt(2.25 + 2^-40) 2^-24 is just above the tie 1.5 * 2^-24 between two Float16 subnormals: rounds up.
        let justAbove = MPFRNorm.norm([1.5 * 0x1p-24, 0x1p-44], order: .two, format: .float16)
        #expect(justAbove == 0x1p-23)
        #expect(MPFRNorm.norm([1000], order: .two, format: .float8E4M3FN).isNaN)
        #expect(MPFRNorm.norm([300, 300], order: .two, format: .float8E4M3FN) == 416)  // 424.26 -> 416 (spacing 32)
    }
}
