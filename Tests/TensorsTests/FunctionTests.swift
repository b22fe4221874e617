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
