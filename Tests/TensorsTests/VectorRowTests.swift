import Base
import Formats
import Testing
import Tensors
import TestSupport

/// The row kernels that run eight lanes at a time (layer norm forward and backward, softmax backward, the
/// accumulating transpose) give the bits of their element-by-element definitions, written out here with the
/// scalar `pairwiseSum`, in every format and at widths below, at and around multiples of 8 and past the
/// pairwise sum's 128-term blocks.
@Suite struct VectorRowTests {
    static let widths = [1, 3, 7, 8, 9, 15, 16, 17, 31, 64, 65, 127, 128, 129, 200, 259]

    @Test func vectorPairwiseSumIsTheScalarOne() {
        for n in 0..<300 {
            let values = seededUniform(count: n + 8, scale: 1e3, seed: UInt64(n)).map(Float.init)
            values.withUnsafeBufferPointer { p in
                let base = p.baseAddress!
                let scalar = pairwiseSum(0, n) { base[$0] }
                let vector = pairwiseSum(0, n, vector: { UnsafeRawPointer(base + $0).loadUnaligned(as: SIMD8<Float>.self) }, term: { base[$0] })
                #expect(scalar.bitPattern == vector.bitPattern, "n = \(n)")
            }
        }
    }

    @Test func layerNormRowsAreTheirDefinition() {
        forEachFormat { type in check(type) }
        func check<S: TensorScalar>(_: S.Type) {
            for width in Self.widths {
                let rows = 3, seed = UInt64(width)
                let x: Tensor<S> = randomTensor(S.self, [rows, width], scale: 4, seed: seed)
                let gamma: Tensor<S> = randomTensor(S.self, [width], scale: 2, seed: seed + 1)
                let beta: Tensor<S> = randomTensor(S.self, [width], seed: seed + 2)
                let dy: Tensor<S> = randomTensor(S.self, [rows, width], seed: seed + 3)
                let y = Tensor<S>(zeros: [rows, width])
                layerNorm(x, gamma: gamma, beta: beta, eps: 1e-5, into: y)
                let dx: Tensor<S> = randomTensor(S.self, [rows, width], scale: 0.1, seed: seed + 4)
                let dgamma: Tensor<S> = randomTensor(S.self, [width], scale: 0.1, seed: seed + 5)
                let dbeta: Tensor<S> = randomTensor(S.self, [width], scale: 0.1, seed: seed + 6)
                let (dx0, dgamma0, dbeta0) = (dx.scalars, dgamma.scalars, dbeta.scalars)
                layerNormBackward(x, gamma: gamma, dy: dy, eps: 1e-5, dx: dx, dgamma: dgamma, dbeta: dbeta)
                let expected = Self.layerNormDefinition(x.scalars, gamma.scalars, beta.scalars, dy.scalars, dx0, dgamma0, dbeta0, width: width)
                #expect(bits(y.scalars) == bits(expected.y), "\(S.self) width \(width): forward")
                #expect(bits(dx.scalars) == bits(expected.dx), "\(S.self) width \(width): dx")
                #expect(bits(dgamma.scalars) == bits(expected.dgamma), "\(S.self) width \(width): dgamma")
                #expect(bits(dbeta.scalars) == bits(expected.dbeta), "\(S.self) width \(width): dbeta")
            }
        }
    }

    @Test func softmaxBackwardRowsAreTheirDefinition() {
        forEachFormat { type in check(type) }
        func check<S: TensorScalar>(_: S.Type) {
            for width in Self.widths {
                let x: Tensor<S> = randomTensor(S.self, [3, width], scale: 5, seed: UInt64(width))
                let y = Tensor<S>(zeros: [3, width])
                softmax(x, into: y)
                let dy: Tensor<S> = randomTensor(S.self, [3, width], seed: UInt64(width) + 1)
                let dx: Tensor<S> = randomTensor(S.self, [3, width], scale: 0.01, seed: UInt64(width) + 2)
                var expected = dx.scalars
                softmaxBackward(y: y, dy: dy, into: dx)
                let ys = y.scalars, gs = dy.scalars
                for r in 0..<3 {
                    let dot = pairwiseSum(r * width, width) { gs[$0].compute * ys[$0].compute }
                    for j in r * width..<(r + 1) * width { expected[j] = S(compute: expected[j].compute + ys[j].compute * (gs[j].compute - dot)) }
                }
                #expect(bits(dx.scalars) == bits(expected), "\(S.self) width \(width)")
            }
        }
    }

    @Test func accumulatingTransposeIsElementwiseAddition() {
        forEachFormat { type in check(type) }
        func check<S: TensorScalar>(_: S.Type) {
            for inner in [1, 5, 8, 13, 16, 21] {
                let x: Tensor<S> = randomTensor(S.self, [2, 3, 4, inner], seed: UInt64(inner))
                let out: Tensor<S> = randomTensor(S.self, [2, 4, 3, inner], seed: UInt64(inner) + 1)
                var expected = out.scalars
                transpose(x, 1, 2, into: out, accumulate: true)
                let xs = x.scalars
                for a in 0..<2 { for b in 0..<3 { for c in 0..<4 { for d in 0..<inner {
                    let o = ((a * 4 + c) * 3 + b) * inner + d, i = ((a * 3 + b) * 4 + c) * inner + d
                    expected[o] = S(compute: expected[o].compute + xs[i].compute)
                } } } }
                #expect(bits(out.scalars) == bits(expected), "\(S.self) inner \(inner)")
            }
        }
    }

    /// Layer norm forward and backward element by element: mean and biased variance in pairwise order in the
    /// compute format, every output rounded once; dx, dgamma and dbeta accumulated into their starting values.
    static func layerNormDefinition<S: TensorScalar>(_ x: [S], _ gamma: [S], _ beta: [S], _ dy: [S], _ dx0: [S], _ dgamma0: [S], _ dbeta0: [S],
                                                     width: Int) -> (y: [S], dx: [S], dgamma: [S], dbeta: [S]) {
        let n = S.Compute(Double(width)), eps = S.Compute(1e-5), rows = x.count / width
        var y = x, dx = dx0
        var sumG = [S.Compute](repeating: 0, count: width), sumB = [S.Compute](repeating: 0, count: width)
        for r in 0..<rows {
            let o = r * width
            let mean = pairwiseSum(o, width) { x[$0].compute } / n
            let variance = pairwiseSum(o, width) { let d = x[$0].compute - mean; return d * d } / n
            let rstd = 1 / (variance + eps).squareRoot()
            for j in 0..<width {
                y[o + j] = S(compute: (x[o + j].compute - mean) * rstd * gamma[j].compute + beta[j].compute)
                sumG[j] += dy[o + j].compute * (x[o + j].compute - mean) * rstd
                sumB[j] += dy[o + j].compute
            }
            let meanG = pairwiseSum(0, width) { dy[o + $0].compute * gamma[$0].compute } / n
            let meanGX = pairwiseSum(0, width) { dy[o + $0].compute * gamma[$0].compute * (x[o + $0].compute - mean) * rstd } / n
            for j in 0..<width {
                let xhat = (x[o + j].compute - mean) * rstd
                dx[o + j] = S(compute: dx[o + j].compute + rstd * (dy[o + j].compute * gamma[j].compute - meanG - xhat * meanGX))
            }
        }
        return (y, dx, (0..<width).map { S(compute: dgamma0[$0].compute + sumG[$0]) }, (0..<width).map { S(compute: dbeta0[$0].compute + sumB[$0]) })
    }
}

/// Bit patterns, so that NaNs and signed zeros compare exactly.
private func bits<S: TensorScalar>(_ values: [S]) -> [UInt64] {
    values.map { $0.compute.doubleValue.bitPattern }
}
