import Base
import Foundation
import Formats
import Reference
import Testing

/// The accumulator path agrees bit for bit with the MPFR-only path.
@Suite struct ExactNormTests {
    /// Seeded vectors: log-uniform lengths up to `maxLength`, values spread over the whole range of `T`
    /// (uniform bit patterns of finite values) or clustered at one random scale.
    static func vectors<T: LabScalar>(of _: T.Type, count: Int, maxLength: Int, seed: UInt64) -> [[T]] {
        var rng = SeededGenerator(seed: seed)
        let width = T.format.bitWidth
        return (0..<count).map { _ in
            let length = Int(pow(Double(maxLength + 1), rng.nextUnit())) - 1
            let clustered = rng.next() & 1 == 0
            let scale = Int(rng.next() % UInt64(T.format.emax - T.format.emin)) + T.format.emin
            return (0..<Swift.max(0, length)).map { _ -> T in
                if clustered {
                    let v = Double(sign: rng.next() & 1 == 0 ? .plus : .minus, exponent: scale, significand: 1 + rng.nextUnit())
                    return T(rounding: v, saturating: true)
                }
                while true {
                    let bits = width == 64 ? rng.next() : rng.next() & ((1 << UInt64(width)) - 1)
                    let v = T(bitPattern: T.BitPattern(truncatingIfNeeded: bits))
                    if v.isFinite { return v }
                }
            }
        }
    }

    func check<T: LabScalar>(_ type: T.Type, seed: UInt64) {
        for values in Self.vectors(of: type, count: 150, maxLength: 100_000, seed: seed) {
            let doubles = values.map(Double.init)
            for order in [NormOrder.one, .two, .infinity] {
                let fastReduction = ExactNorm.reduction(values, order: order)
                let slowReduction = MPFRNorm.exactReduction(doubles, order: order)
                #expect(fastReduction == slowReduction, "\(T.self) order \(order) length \(values.count)")
                for format in [T.format, .float64] {
                    let fast = ExactNorm.norm(values, order: order, format: format)
                    let slow = order.norm(ofReduction: slowReduction, format: format)
                    #expect(FormatConformance.same(fast, slow), "\(T.self) order \(order) in \(format): \(fast) vs \(slow)")
                }
            }
        }
    }

    @Test func float16() { check(Float16.self, seed: 21) }
    @Test func bfloat16() { check(BFloat16.self, seed: 22) }
    @Test func float32() { check(Float.self, seed: 23) }
    @Test func float64() { check(Double.self, seed: 24) }

    @Test func mergingIsExactAndOrderIndependent() {
        var rng = SeededGenerator(seed: 25)
        let values = (0..<10_000).map { _ in Double(bitPattern: rng.next() & 0x7FEF_FFFF_FFFF_FFFF) }
        var whole = ExactAccumulator()
        values.forEach { whole.addSquare($0) }
        var a = ExactAccumulator(), b = ExactAccumulator()
        values[..<3_333].forEach { a.addSquare($0) }
        values[3_333...].reversed().forEach { b.addSquare($0) }
        var ab = a; ab.merge(b)
        var ba = b; ba.merge(a)
        #expect(ab == whole && ba == whole)
        #expect(whole.value() == MPFRNorm.exactReduction(values, order: .two))
    }

    @Test func nonFiniteValues() {
        #expect(ExactNorm.norm([Float16(1), .nan], order: .two).isNaN)
        #expect(ExactNorm.norm([Float16(1), .infinity], order: .one) == .infinity)
        #expect(ExactNorm.norm([Float16(1), -.infinity, .nan], order: .infinity).isNaN)
        #expect(ExactNorm.norm([Float16](), order: .two) == 0)
        // The fp16 overflow that motivates the lab: every element finite, the Float16 norm is not.
        let grads = [Float16](repeating: 300, count: 50_000)
        #expect(ExactNorm.norm(grads, order: .two) == 300 * 50_000.0.squareRoot())
        #expect(ExactNorm.norm(grads, order: .two, format: .float16) == .infinity)  // 67082.04 > 65520
    }
}
