import Base
import Formats
import Reductions
import Reference
import Testing

/// Every algorithm's measured error is within its stated a-priori bound, on seeded random vectors of every
/// format (the fixtures are checked in FixtureTests); where the bound does not apply, the reason is an overflow
/// the exact reduction predicts.
@Suite struct AlgorithmBoundTests {
    func check<T: LabScalar>(_ type: T.Type, seed: UInt64) {
        for (k, values) in randomVectors(of: type, count: 600, maxLength: 20_000, seed: seed).enumerated() {
            values.withFloatBuffer { x in
                for order in [NormOrder.two, .one] {
                    let e = NormEvaluator.evaluate([x], order: order, algorithms: ReductionAlgorithm.allCases, threads: 1)
                    for a in e.algorithms {
                        let label = "\(T.self) #\(k) n=\(values.count) ord \(order) \(a.algorithm)"
                        #expect(a.withinBound != false, "\(label): error \(a.error) > bound \(a.bound) (value \(a.value), exact \(e.exact))")
                        if a.overflowed {
                            // Overflow happens only where the reduction (or a term) exceeds the accumulator's range.
                            let limit = a.accumulator.largestFinite
                            let largestTerm = values.map { Double($0).magnitude }.max() ?? 0
                            let reduction = order == .two ? e.exact * e.exact : e.exact
                            let term = order == .two ? largestTerm * largestTerm : largestTerm
                            #expect(reduction > limit / 2 || term > limit / 2 || a.output.largestFinite < e.exact * 2,
                                    "\(label): overflowed with reduction \(reduction) in \(a.accumulator)")
                        }
                    }
                }
            }
        }
    }

    @Test func float16() { check(Float16.self, seed: 41) }
    @Test func bfloat16() { check(BFloat16.self, seed: 42) }
    @Test func float32() { check(Float.self, seed: 43) }
    @Test func float64() { check(Double.self, seed: 44) }

    /// Known answers: compensated sums recover what the naive sum loses, and naive fp16 stagnates at 2048+.
    @Test func stagnationAndCompensation() {
        let ones = [Float16](repeating: 1, count: 5000)
        ones.withFloatBuffer { x in
            let e = NormEvaluator.evaluate([x], order: .one, algorithms: [.naive, .kahan, .pairwise, .naiveWide], threads: 1)
            let values = Dictionary(uniqueKeysWithValues: e.algorithms.map { ($0.reductionAlgorithm, $0.value) })
            #expect(e.exact == 5000)
            #expect(values[.naive] == 2048)  // 2048 + 1 rounds back to 2048 in Float16
            #expect(values[.kahan] == 5000)
            #expect(values[.pairwise] == 5000)
            #expect(values[.naiveWide] == 5000)
        }
        // A Float32 sum of 2^25 + 1 + 1 + ... stagnates; Kahan does not.
        let big: [Float] = [0x1p25] + [Float](repeating: 1, count: 1000)
        big.withFloatBuffer { x in
            let e = NormEvaluator.evaluate([x], order: .one, algorithms: [.naive, .kahan, .neumaier, .dot2], threads: 1)
            let values = Dictionary(uniqueKeysWithValues: e.algorithms.map { ($0.reductionAlgorithm, $0.value) })
            #expect(values[.naive] == 0x1p25)
            #expect(values[.kahan] == 0x1p25 + 1000)
            #expect(values[.neumaier] == 0x1p25 + 1000)
            #expect(values[.dot2] == 0x1p25 + 1000)
        }
    }

    /// numpy's float16 norm overflows where every element is finite; the scaled algorithms do not.
    @Test func overflowOfSquares() {
        let values = [Float16](repeating: 300, count: 1000)  // 300² = 90000 > 65504
        values.withFloatBuffer { x in
            let e = NormEvaluator.evaluate([x], order: .two, algorithms: ReductionAlgorithm.allCases, threads: 1)
            let byName = Dictionary(uniqueKeysWithValues: e.algorithms.map { ($0.reductionAlgorithm, $0) })
            #expect(byName[.naive]!.overflowed)
            #expect(!byName[.pairwise]!.overflowed)
            #expect(byName[.blue]!.value == 300 * 1000.0.squareRoot().rounded(.toNearestOrEven) || byName[.blue]!.ulps < 2)
            #expect(e.exactInStorage == 9488)  // 9486.83... in Float16
        }
    }

    /// LAPACK's la_constants for Float64 and Float32 (the exponents of tsml, tbig, ssml, sbig).
    @Test func blueConstantsMatchLAPACK() {
        let x = Array(repeating: 0x1p600, count: 3) + [1.0, 0x1p-600]
        x.withFloatBuffer { b in
            let e = NormEvaluator.evaluate([b], order: .two, algorithms: [.blue, .naive, .scaledTwoPass], threads: 1)
            let byName = Dictionary(uniqueKeysWithValues: e.algorithms.map { ($0.reductionAlgorithm, $0) })
            #expect(byName[.naive]!.overflowed)  // (2^600)² overflows Float64
            #expect(!byName[.blue]!.overflowed && byName[.blue]!.ulps <= 1)
            #expect(!byName[.scaledTwoPass]!.overflowed && byName[.scaledTwoPass]!.ulps <= 1)
        }
    }
}
