import Formats
import Testing
import Tensors

/// The row functions and the layout functions against straightforward Double computations.
@Suite struct FunctionTests {
    @Test func softmaxAndCrossEntropy() {
        let x: Tensor<Double> = randomTensor(Double.self, [5, 7], scale: 30, seed: 1)
        let y = Tensor<Double>(zeros: [5, 7]), ly = Tensor<Double>(zeros: [5, 7])
        softmax(x, into: y)
        softmax(x, into: ly, log: true)
        let targets = IndexTensor(shape: [5], [0, 6, 3, 3, 1])
        var loss = 0.0
        for r in 0..<5 {
            let row = (0..<7).map { x[r, $0] }
            let m = row.max()!
            let total = row.map { Foundation_exp($0 - m) }.reduce(0, +)
            for j in 0..<7 {
                #expect((y[r, j] - Foundation_exp(row[j] - m) / total).magnitude < 1e-15)
                #expect((ly[r, j] - (row[j] - m - Foundation_log(total))).magnitude < 1e-13)
            }
            loss += m + Foundation_log(total) - row[targets[r]]
        }
        #expect((crossEntropy(x, targets: targets) - loss / 5).magnitude < 1e-13)
        // Huge logits do not overflow.
        let big = Tensor<Float16>(shape: [1, 3], rounding: [60000, 0, -60000])
        let out = Tensor<Float16>(zeros: [1, 3])
        softmax(big, into: out)
        #expect(out.doubles == [1, 0, 0])
    }

    @Test func layerNormAndMSE() {
        let x: Tensor<Double> = randomTensor(Double.self, [4, 6], seed: 2)
        let gamma: Tensor<Double> = randomTensor(Double.self, [6], seed: 3)
        let beta: Tensor<Double> = randomTensor(Double.self, [6], seed: 4)
        let y = Tensor<Double>(zeros: [4, 6])
        layerNorm(x, gamma: gamma, beta: beta, eps: 1e-5, into: y)
        for r in 0..<4 {
            let row = (0..<6).map { x[r, $0] }
            let mean = row.reduce(0, +) / 6
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 6
            for j in 0..<6 {
                #expect((y[r, j] - ((row[j] - mean) / (variance + 1e-5).squareRoot() * gamma[flat: j] + beta[flat: j])).magnitude < 1e-14)
            }
        }
        let b: Tensor<Double> = randomTensor(Double.self, [4, 6], seed: 5)
        let expected = zip(x.doubles, b.doubles).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / 24
        #expect((meanSquaredError(x, b) - expected).magnitude < 1e-15)
    }

    /// Rounding Double values into a tensor: Float32 and Float64 take the hardware conversion, which must give the
    /// bits of the lab's software rounding (`LabScalar.init(rounding:saturating:)`) on edge cases and random patterns.
    @Test func roundingIntoTensors() {
        var values: [Double] = [0, -0.0, 1, -1, .infinity, -.infinity, .nan, .greatestFiniteMagnitude, .leastNonzeroMagnitude,
                                Double(Float.greatestFiniteMagnitude), Double(Float.greatestFiniteMagnitude).nextUp,
                                Double(Float.leastNonzeroMagnitude), Double(Float.leastNonzeroMagnitude) / 2,
                                Double(Float.leastNonzeroMagnitude) / 2 * 3, Double(Float.leastNormalMagnitude).nextDown,
                                1 + 0x1p-24, 1 + 0x1p-24 * 3, 65504, 65520]
        // The largest Float's halfway point to the next binade: at and above it rounds to inf.
        values.append(Double(Float.greatestFiniteMagnitude) + Double(Float.greatestFiniteMagnitude.ulp) / 2)
        var rng = SeededGenerator(seed: 10)
        for _ in 0..<100_000 { values.append(Double(bitPattern: rng.next())) }
        let f = Tensor<Float>(shape: [values.count], rounding: values), d = Tensor<Double>(shape: [values.count], rounding: values)
        for (i, v) in values.enumerated() {
            let (ef, ed) = (Float(rounding: v, saturating: false), Double(rounding: v, saturating: false))
            #expect(f[flat: i].bitPattern == ef.bitPattern || (f[flat: i].isNaN && ef.isNaN), "\(v)")
            #expect(d[flat: i].bitPattern == ed.bitPattern || (d[flat: i].isNaN && ed.isNaN), "\(v)")
        }
    }

    @Test func layout() {
        let x: Tensor<Float> = randomTensor(Float.self, [2, 3, 4, 5], seed: 6)
        let t = Tensor<Float>(zeros: [2, 4, 3, 5])
        transpose(x, 1, 2, into: t)
        for a in 0..<2 { for b in 0..<3 { for c in 0..<4 { for d in 0..<5 { #expect(t[a, c, b, d] == x[a, b, c, d]) } } } }
        let back = Tensor<Float>(zeros: [2, 3, 4, 5])
        transpose(t, 1, 2, into: back, accumulate: true)
        #expect(back.scalars == x.scalars)
        let s = Tensor<Float>(zeros: [2, 3, 2, 5])
        slice(x, axis: 2, start: 1, length: 2, into: s)
        for a in 0..<2 { for b in 0..<3 { for c in 0..<2 { for d in 0..<5 { #expect(s[a, b, c, d] == x[a, b, c + 1, d]) } } } }
        let joined = Tensor<Float>(zeros: [2, 3, 6, 5])
        concatenate([x, s], axis: 2, into: joined)
        for a in 0..<2 { for b in 0..<3 { for d in 0..<5 {
            for c in 0..<4 { #expect(joined[a, b, c, d] == x[a, b, c, d]) }
            for c in 0..<2 { #expect(joined[a, b, 4 + c, d] == s[a, b, c, d]) }
        } } }
        // Backward: the slice's gradient added into its part of x's, the joined gradient into each part's, one
        // rounding per element (in BFloat16, against the exact Double sum rounded once).
        let gx: Tensor<BFloat16> = randomTensor(BFloat16.self, [2, 3, 4, 5], seed: 7), gs: Tensor<BFloat16> = randomTensor(BFloat16.self, [2, 3, 2, 5], seed: 8)
        let before = gx.copy()
        slice(gx, axis: 2, start: 1, length: 2, into: gs, backward: true)
        for a in 0..<2 { for b in 0..<3 { for c in 0..<4 { for d in 0..<5 {
            let added = c >= 1 && c < 3 ? Double(gs[a, b, c - 1, d]) : 0
            #expect(gx[a, b, c, d] == BFloat16(rounding: Double(before[a, b, c, d]) + added, saturating: false))
        } } } }
        let gj: Tensor<BFloat16> = randomTensor(BFloat16.self, [2, 3, 6, 5], seed: 9)
        let px = before.copy(), ps = gs.copy()
        concatenate([px, ps], axis: 2, into: gj, backward: true)
        for a in 0..<2 { for b in 0..<3 { for d in 0..<5 {
            for c in 0..<4 { #expect(px[a, b, c, d] == BFloat16(rounding: Double(before[a, b, c, d]) + Double(gj[a, b, c, d]), saturating: false)) }
            for c in 0..<2 { #expect(ps[a, b, c, d] == BFloat16(rounding: Double(gs[a, b, c, d]) + Double(gj[a, b, 4 + c, d]), saturating: false)) }
        } } }
        let sums = Tensor<Float>(zeros: [2, 4, 5])
        sum(x, axis: 1, into: sums)
        for a in 0..<2 { for c in 0..<4 { for d in 0..<5 {
            let exact = (0..<3).map { Double(x[a, $0, c, d]) }.reduce(0, +)
            #expect((Double(sums[a, c, d]) - exact).magnitude <= 2 * ulp(Float.self, exact))
        } } }
    }
}

import Foundation
func Foundation_exp(_ x: Double) -> Double { Foundation.exp(x) }
func Foundation_log(_ x: Double) -> Double { Foundation.log(x) }
func Foundation_tanh(_ x: Double) -> Double { Foundation.tanh(x) }
