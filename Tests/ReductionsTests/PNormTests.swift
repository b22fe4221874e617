import Base
import Formats
import Reductions
import Reference
import Testing

/// General p-norms: exact for integer p, Ziv's loop otherwise, against hand-computed values and identities.
@Suite struct PNormTests {
    @Test func integerOrders() {
        // (3^3 + 4^3 + 5^3)^(1/3) = 216^(1/3) = 6 exactly.
        #expect(MPFRNorm.norm([3, -4, 5], order: .p(3)) == 6)
        // (1 + 2^4 + 2^4)^(1/4) = 33^(1/4): correctly rounded, checked against MPFR's root at 200 bits.
        let root = BigFloat(33, precision: 200).power(BigFloat(0.25), precision: 200).doubleValue()
        #expect(MPFRNorm.norm([1, 2, -2], order: .p(4)) == root)
        #expect(MPFRNorm.norm([0x1p1000, 0x1p1000], order: .p(3)) == 0x1p1000 * BigFloat(2, precision: 200).power(BigFloat(1.0 / 3), precision: 200).doubleValue())
    }

    @Test func nonIntegerOrders() {
        // p = 0.5: (sqrt 4 + sqrt 9)^2 = 25 exactly; p = 1.5: (4^1.5)^(1/1.5) = 4.
        #expect(MPFRNorm.norm([4, 9], order: .p(0.5)) == 25)
        #expect(MPFRNorm.norm([4], order: .p(1.5)) == 4)
        #expect(MPFRNorm.norm([4, 0, -0.0], order: .p(1.5), format: .float16) == 4)
        // Agrees with the ordered-1/2/inf paths as p approaches them? No: check monotonicity in p instead.
        let v: [Double] = [0.3, -1.7, 2.2, 1e-3, 5]
        var previous = Double.infinity
        for p in [1.25, 1.5, 2.5, 3.5, 7.25] {
            let n = MPFRNorm.norm(v, order: .p(p))
            #expect(n < previous && n > 5)
            previous = n
        }
        #expect(MPFRNorm.norm([1, .nan], order: .p(1.5)).isNaN)
        #expect(MPFRNorm.norm([1, .infinity], order: .p(1.5)) == .infinity)
    }

    @Test func parsing() {
        #expect(NormOrder("2") == .two)
        #expect(NormOrder("1") == .one)
        #expect(NormOrder("inf") == .infinity)
        #expect(NormOrder("3") == .p(3))
        #expect(NormOrder("0") == nil)
        #expect(NormOrder("nan") == nil)
        #expect(NormOrder("-1") == nil)
        #expect(NormOrder("x") == nil)
    }
}
