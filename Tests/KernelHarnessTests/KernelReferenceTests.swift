import Base
import Formats
import KernelHarness
import Reference
import Results
import Testing

/// Every reduction's exact reference against a second computation with MPFR that shares none of its algorithms:
/// sequential BigFloat additions at a precision that holds every bit (no mpfr_sum, no exact accumulator), the
/// variance as Σ_i Σ_j (x_i − x_j)² / (2n·d), log-sum-exp without the Ziv loop. Bit for bit, in every format.
@Suite struct KernelReferenceTests {
    /// Wide enough for any sum of squares of Float64 values (2^-2148 to 2^2048) and 2^20 terms.
    static let wide = 4400

    static func sequentialSum(_ terms: [BigFloat]) -> BigFloat {
        terms.reduce(BigFloat(0, precision: wide)) { $0.adding($1, precision: wide) }
    }

    static func independent(_ r: KernelReduction, _ x: [Double], _ y: [Double], _ f: FloatFormat) -> Double {
        let big = x.map { BigFloat($0) }
        func round(_ v: BigFloat) -> Double { FormatEmulator.with(f) { $0.round(v) } }
        switch r {
        case .sum: return round(sequentialSum(big))
        case .dot: return round(sequentialSum(zip(big, y.map { BigFloat($0) }).map { $0.multiplied(by: $1, precision: 106) }))
        case .sumsq: return round(sequentialSum(big.map { $0.multiplied(by: $0, precision: 106) }))
        case .norm1: return round(sequentialSum(big.map(\.magnitude)))
        case .norm2: return FormatEmulator.with(f) { $0.roundSquareRoot(of: sequentialSum(big.map { $0.multiplied(by: $0, precision: 106) })) }
        case .norminf: return round(BigFloat(x.map(\.magnitude).max()!))
        case .mean:
            // S/n at 6000 bits: exact when n is a power of two, else never within 2^-6000 of a rounding boundary.
            return round(sequentialSum(big).divided(by: BigFloat(Double(x.count)), precision: 6000))
        case .variance, .varianceUnbiased:
            var pairs = [BigFloat]()
            for i in x.indices { for j in 0..<i { let d = big[i].subtracting(big[j], precision: 2200); pairs.append(d.multiplied(by: d, precision: 4400)) } }
            let d = Double(r == .variance ? x.count : x.count - 1)
            let denominator = BigFloat(Double(x.count)).multiplied(by: BigFloat(d), precision: 128)
            return FormatEmulator.with(f) { $0.roundQuotient(of: sequentialSum(pairs), by: denominator) }
        case .logsumexp, .softmaxDenominator:
            let m = x.max()!
            let s = sequentialSum(big.map { $0.subtracting(BigFloat(m), precision: 3000).exp(precision: 3000) })
            return round(r == .softmaxDenominator ? s : s.log(precision: 3000).adding(BigFloat(m), precision: 3000))
        }
    }

    /// Seeded random vectors: lengths 1 to 300, magnitudes from 2^-30 to 2^30 around a random offset.
    static func random(_ f: FloatFormat, count: Int) -> [([Double], [Double])] {
        var rng = SeededGenerator(seed: 20261204)
        return (0..<count).map { _ in
            let n = 1 + Int(rng.next() % 300)
            let scale = Double(sign: .plus, exponent: Int(rng.next() % 20) - 10, significand: 1)
            let offset = rng.next() % 3 == 0 ? scale * 64 : 0
            func draw() -> [Double] { (0..<n).map { _ in f.round(offset + scale * rng.nextNormal()) } }
            return (draw(), draw())
        }
    }

    /// The families' inputs, cut to 300 elements (the pairwise variance is quadratic), rows one by one.
    static func adversarial(_ f: FloatFormat) -> [([Double], [Double])] {
        KernelFamily.allCases.flatMap { family in
            family.inputs(format: f).flatMap { input -> [([Double], [Double])] in
                let rows = input.byRows ? input.shape[0] : 1, n = input.x.count / rows
                return (0..<rows).map { r in
                    let range = r * n..<min(r * n + 300, (r + 1) * n)
                    return (Array(input.x[range]), Array(input.y[range]))
                }
            }
        }.filter { $0.0.allSatisfy(\.isFinite) && $0.1.allSatisfy(\.isFinite) }
    }

    @Test(arguments: FloatFormat.arithmetic)
    func everyReductionMatchesAnIndependentMPFRComputation(format: FloatFormat) {
        let inputs = Self.random(format, count: 12) + Self.adversarial(format)
        var compared = 0
        for (x, y) in inputs {
            for r in KernelReduction.allCases where !(r == .varianceUnbiased && x.count < 2) {
                let lab = KernelReference.evaluate(r, x: x, y: y, format: format).rounded
                let want = Self.independent(r, x, y, format)
                #expect(lab.bitPattern == want.bitPattern || (lab.isNaN && want.isNaN),
                        "\(r.rawValue) of \(x.count) \(format.shortName) values from \(x.prefix(3)): \(lab) != \(want)")
                compared += 1
            }
        }
        #expect(compared > 300)
    }

    @Test func nonFiniteInputsFollowTheFrameworks() {
        let f = FloatFormat.float32
        func value(_ r: KernelReduction, _ x: [Double], _ y: [Double] = []) -> Double { KernelReference.evaluate(r, x: x, y: y.isEmpty ? x : y, format: f).rounded }
        #expect(value(.sum, [1, .nan, 2]).isNaN)
        #expect(value(.sum, [1, .infinity, -.infinity]).isNaN)
        #expect(value(.sum, [1, -.infinity]) == -.infinity)
        #expect(value(.mean, [1, .infinity]) == .infinity)
        #expect(value(.variance, [1, .infinity]).isNaN)
        #expect(value(.varianceUnbiased, [3]).isNaN)
        #expect(value(.variance, [3]) == 0)
        #expect(value(.dot, [.infinity, 1], [0, 1]).isNaN)
        #expect(value(.norm2, [-.infinity, 1]) == .infinity)
        #expect(value(.norminf, [.nan, 1]).isNaN)
        #expect(value(.logsumexp, [.infinity, 1]) == .infinity)
        #expect(value(.logsumexp, [-.infinity, -.infinity]) == -.infinity)
        #expect(value(.logsumexp, [-.infinity, 2]) == 2)
        #expect(value(.softmaxDenominator, [-.infinity, 2]) == 1)
        #expect(value(.softmaxDenominator, [.infinity, 2]).isNaN)
        // Rounding into the format happens once: 2^-149 / 2 is a tie that rounds to even (0) only after the division.
        #expect(value(.mean, [0x1p-149, 0]) == 0)
        #expect(value(.mean, [0x1p-149, 0x1p-149, 0x1p-149, 0]) == 0x1p-149)
        // Float16 overflow: 65519.99 stays finite, 65520 and more is inf.
        #expect(KernelReference.evaluate(.sum, x: [65504, 15.99], format: .float16).rounded == 65504)
        #expect(KernelReference.evaluate(.sum, x: [65504, 16], format: .float16).rounded == .infinity)
    }
}

/// The streaming references of long inputs (from their bytes, in parallel chunks) give the same bits as the
/// in-memory ones.
@Suite struct KernelStreamingTests {
    @Test(arguments: FloatFormat.arithmetic)
    func streamingEqualsTheInMemoryReference(format: FloatFormat) {
        let n = KernelStreaming.threshold + 3
        for family in [KernelFamily.gradients, .cancellation, .mixedMagnitudes, .withInfinity, .offset] {
            let input = family.inputs(format: format, length: n)[0]
            let (xb, yb) = (KernelExport.bytes(input.x, format), KernelExport.bytes(input.y, format))
            xb.withUnsafeBytes { x in yb.withUnsafeBytes { y in
                let bx = FloatBuffer(format: format, base: x.baseAddress!, count: n), by = FloatBuffer(format: format, base: y.baseAddress!, count: n)
                for r in KernelReduction.allCases {
                    guard let streamed = KernelStreaming.evaluate(r, x: bx, y: by, format: format, threads: 2) else {
                        #expect(r == .logsumexp || r == .softmaxDenominator)
                        continue
                    }
                    let memory = KernelReference.evaluate(r, x: input.x, y: input.y, format: format)
                    #expect(streamed.rounded.bitPattern == memory.rounded.bitPattern || (streamed.rounded.isNaN && memory.rounded.isNaN),
                            "\(r.rawValue) of \(family.rawValue) \(format.shortName): \(streamed.rounded) != \(memory.rounded)")
                    #expect(streamed.exact == memory.exact || streamed.exact == Figures.exact(KernelReference.evaluate(r, x: input.x, y: input.y, format: .float64).rounded), "\(r.rawValue) of \(family.rawValue) \(format.shortName): \(streamed.exact) vs \(memory.exact)")
                }
            } }
        }
    }
}
