import Formats
import Testing

/// BFloat16 as a BinaryFloatingPoint, checked on all 65536 patterns against Float (bfloat16 is the top half of
/// a Float, so Float's answers are the reference).
@Suite struct BFloat16Tests {
    static let all = (0...UInt16.max).map(BFloat16.init(bitPattern:))

    @Test func classificationMatchesFloat() {
        for x in Self.all {
            let f = x.floatValue
            #expect(x.isNaN == f.isNaN && x.isInfinite == f.isInfinite && x.isFinite == f.isFinite
                    && x.isZero == f.isZero && x.isNormal == f.isNormal && x.sign == f.sign, "\(x.debugDescription)")
            // Float subnormal test does not apply: bfloat16 subnormals are normal Floats.
            #expect(x.isSubnormal == (f.isFinite && f != 0 && f.magnitude < 0x1p-126), "\(x.debugDescription)")
        }
    }

    @Test func ulpAndNextUpAreTheGapToTheNextValue() {
        for x in Self.all where x.isFinite && x.sign == .plus && x != .greatestFiniteMagnitude {
            let next = BFloat16(bitPattern: x.bitPattern + 1)
            #expect(x.nextUp.bitPattern == next.bitPattern)
            #expect(x.ulp.floatValue == next.floatValue - x.floatValue, "\(x.debugDescription)")
        }
        #expect(BFloat16.greatestFiniteMagnitude.nextUp == .infinity)
        #expect((-BFloat16.leastNonzeroMagnitude).nextUp.isZero)
        #expect(BFloat16(-0.0).nextUp == .leastNonzeroMagnitude)
        #expect(BFloat16.ulpOfOne == BFloat16(1).ulp)
    }

    @Test func comparisonsAgreeWithFloat() {
        var rng = SeededGenerator(seed: 7)
        for _ in 0..<200_000 {
            let a = BFloat16(bitPattern: UInt16(truncatingIfNeeded: rng.next()))
            let b = BFloat16(bitPattern: UInt16(truncatingIfNeeded: rng.next()))
            #expect((a < b) == (a.floatValue < b.floatValue))
            #expect((a == b) == (a.floatValue == b.floatValue))
            #expect((a <= b) == (a.floatValue <= b.floatValue))
            #expect(a.isTotallyOrdered(belowOrEqualTo: b) == a.floatValue.isTotallyOrdered(belowOrEqualTo: b.floatValue))
        }
    }

    @Test func constantsAreTheFormatsOwn() {
        let f = FloatFormat.bfloat16
        #expect(Double(BFloat16.greatestFiniteMagnitude) == f.largestFinite)
        #expect(Double(BFloat16.leastNormalMagnitude) == f.smallestNormal)
        #expect(Double(BFloat16.leastNonzeroMagnitude) == f.smallestSubnormal)
        #expect(Double(BFloat16.ulpOfOne) == f.epsilon)
        #expect(BFloat16.pi.floatValue <= Float.pi && BFloat16.pi.nextUp.floatValue > Float.pi)
        #expect(BFloat16.exponentBitCount == f.exponentBitCount && BFloat16.significandBitCount == f.significandBitCount)
    }

    /// The same generic code runs on all four arithmetic formats.
    func sumOfSquares<T: LabScalar>(_ values: [Double], as _: T.Type) -> T {
        values.reduce(T.zero) { T.fusedMultiplyAdd(T($1), T($1), $0) }
    }

    @Test func usableGenerically() {
        let values = (1...300).map(Double.init)
        // 1^2 + ... + 300^2 = 9_045_050: fine in Float/Double; bfloat16 and Float16 stagnate or overflow.
        #expect(sumOfSquares(values, as: Double.self) == 9_045_050)
        #expect(sumOfSquares(values, as: Float.self) == 9_045_050)
        #expect(sumOfSquares(values, as: Float16.self) == .infinity)
        let bf = sumOfSquares(values, as: BFloat16.self)
        #expect(bf.isFinite && bf < 9_045_050)
        #expect(BFloat16(3).squareRoot() == BFloat16(Float(3).squareRoot()))
        #expect(BFloat16(7).remainder(dividingBy: 2) == -1)
        #expect(BFloat16(2.5).rounded() == 3 && BFloat16(-2.5).rounded(.toNearestOrEven) == -2)
        #expect(BFloat16(exactly: 257) == nil && BFloat16(exactly: 256) == 256)
        #expect(BFloat16(sign: .minus, exponent: -130, significand: 1) == BFloat16(-0x1p-130))
        #expect(BFloat16(0x1p-130).exponent == -130 && BFloat16(0x1p-130).significand == 1)
        #expect(Array(stride(from: BFloat16(0), to: 2, by: 0.5)) == [0, 0.5, 1, 1.5])
        #expect(BFloat16("1.5") == 1.5 && BFloat16("x") == nil)
        #expect(Set([BFloat16(0), BFloat16(-0.0)]).count == 1)
    }
}

@Suite struct BFloat16InitializerTests {
    @Test func integersRoundOnce() {
        let literal: BFloat16 = 16_842_753  // 2^24 + 2^16 + 1: just above a tie once the 1 is kept
        #expect(literal == BFloat16(16_908_288.0))
        let big = (1 << 60) + (1 << 52) + 1
        #expect(BFloat16(big) == BFloat16(Int64(big)))
        #expect(Double(BFloat16(big)) == 0x1p60 + 0x1p53)
        let decimal: BFloat16 = 1.00390625000001  // above the tie 1 + 2^-8
        #expect(decimal == BFloat16(1.0078125))
        #expect(BFloat16("1.00390625000001") == BFloat16(1.0078125))
    }

    @Test func negativeNeighbours() {
        for bits in UInt16(0x8001)...UInt16(0xFF7F) {
            let x = BFloat16(bitPattern: bits)
            #expect(x.nextDown.bitPattern == bits + 1 && x.nextUp.bitPattern == bits - 1)
            #expect(x.ulp == x.magnitude.ulp)
        }
    }
}
