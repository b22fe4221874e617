import Base
import Formats
import Reductions
import Reference
import Testing

/// The fast exact norm (compensated enclosure, then superaccumulator fallback) agrees bit for bit with the
/// MPFR-only slow path.
@Suite struct FastExactNormTests {
    /// 10,000 vectors per format, lengths 0 to 100,000, orders 1, 2 and inf, rounded to Float64 and to the
    /// storage format. Every 10th vector is also done with the enclosure disabled (the fallback path alone).
    func check<T: LabScalar>(_ type: T.Type, seed: UInt64) {
        var decidedByEnclosure = 0, total = 0
        forEachRandomVector(of: type, count: 10_000, maxLength: 100_000, seed: seed) { k, values in
            let doubles = values.map(Double.init)
            values.withFloatBuffer { x in
                for order in [NormOrder.two, .one, .infinity] {
                    let slowReduction = MPFRNorm.exactReduction(doubles, order: order)
                    for format in [FloatFormat.float64, T.format] {
                        let slow = order.norm(ofReduction: slowReduction, format: format)
                        let fast = FastExactNorm.norm(of: [x], order: order, format: format)
                        if order != .infinity {
                            total += 1
                            if fast.path == .enclosure { decidedByEnclosure += 1 }
                        }
                        #expect(fast.value.bitPattern == slow.bitPattern, "\(T.self) #\(k) n=\(values.count) ord \(order) in \(format): \(fast) vs \(slow)")
                        if k % 10 == 0 {
                            let exact = FastExactNorm.norm(of: [x], order: order, format: format, allowEnclosure: false)
                            #expect(exact.value.bitPattern == slow.bitPattern, "fallback \(T.self) #\(k) ord \(order) in \(format)")
                        }
                    }
                }
            }
        }
        // The enclosure must decide nearly always, or the fast path is not the fast path. Float64 vectors with
        // squares beyond Double's range (a third of these) go to the accumulator by design.
        let share = Double(decidedByEnclosure) / Double(total)
        #expect(share >= (T.self == Double.self ? 0.5 : 0.9), "enclosure decided \(decidedByEnclosure) of \(total)")
    }

    @Test func float16() { check(Float16.self, seed: 31) }
    @Test func bfloat16() { check(BFloat16.self, seed: 32) }
    @Test func float32() { check(Float.self, seed: 33) }
    @Test func float64() { check(Double.self, seed: 34) }

    /// The total norm of mixed-format tensors equals the norm of all their values as one Double vector.
    @Test func globalNormOfMixedFormats() {
        var rng = SeededGenerator(seed: 5)
        for _ in 0..<200 {
            let a = randomVectors(of: Float16.self, count: 3, maxLength: 3000, seed: rng.next())[2]
            let b = randomVectors(of: BFloat16.self, count: 3, maxLength: 3000, seed: rng.next())[2]
            let c = randomVectors(of: Float.self, count: 3, maxLength: 3000, seed: rng.next())[2]
            let d = randomVectors(of: Double.self, count: 3, maxLength: 3000, seed: rng.next())[2]
            let all = a.map(Double.init) + b.map(Double.init) + c.map(Double.init) + d
            a.withFloatBuffer { xa in b.withFloatBuffer { xb in c.withFloatBuffer { xc in d.withFloatBuffer { xd in
                for order in [NormOrder.two, .one, .infinity] {
                    let fast = FastExactNorm.norm(of: [xa, xb, xc, xd], order: order).value
                    #expect(fast.bitPattern == MPFRNorm.norm(all, order: order).bitPattern)
                }
            } } } }
        }
    }

    /// The thread count does not change any bit: large inputs on 1, 2 and 3 threads.
    @Test func bitIdenticalForAnyThreadCount() {
        for (k, values) in randomVectors(of: Float.self, count: 6, maxLength: 3_000_000, seed: 77).enumerated() where values.count > 1_100_000 || k == 1 {
            values.withFloatBuffer { x in
                let one = FastExactNorm.norm(of: [x], order: .two, threads: 1).value
                let wide1 = wideReduction(x, squares: true, threads: 1)
                for threads in [2, 3] {
                    #expect(FastExactNorm.norm(of: [x], order: .two, threads: threads).value.bitPattern == one.bitPattern)
                    #expect(wideReduction(x, squares: true, threads: threads).bitPattern == wide1.bitPattern)
                }
            }
        }
    }

    /// Special values: NaN wins over inf, inf gives inf, the empty vector 0, overflow of the rounded norm.
    @Test func specialValues() {
        func norm(_ v: [Double], _ order: NormOrder = .two, _ format: FloatFormat = .float64) -> Double {
            v.withFloatBuffer { FastExactNorm.norm($0, order: order, format: format) }
        }
        #expect(norm([1, .nan, .infinity]).isNaN)
        #expect(norm([1, -.infinity]) == .infinity)
        #expect(norm([]) == 0)
        #expect(norm([0x1p1023, 0x1p1023, 0x1p1023, 0x1p1023]) == .infinity)
        #expect(norm([0x1p1023, 0x1p1023]) == 0x1p1023 * 2.0.squareRoot())
        #expect(norm([60000, 60000], .two, .float16) == .infinity)
        #expect(norm([3, 4], .infinity) == 4)
    }
}
