import Formats
import Testing
import Tensors

/// The GEMM against a plain loop: every element of C is the FMA chain over k in order, in the accumulator
/// format, rounded once to the output format (and added to C first when accumulating), so the two agree bit
/// for bit. Sizes cover partial tiles on both sides; all transposes; every format; 1 and 2 threads.
@Suite struct MatmulTests {
    func reference<S: TensorScalar>(_ a: Tensor<S>, _ b: Tensor<S>, _ c0: Tensor<S>, m: Int, n: Int, k: Int,
                                    ta: Bool, tb: Bool, accumulate: Bool, storage: Bool) -> [S] {
        var out = [S]()
        for i in 0..<m {
            for j in 0..<n {
                let av = { (p: Int) in ta ? a[flat: p * m + i] : a[flat: i * k + p] }
                let bv = { (p: Int) in tb ? b[flat: j * k + p] : b[flat: p * n + j] }
                if storage {
                    var acc: S = accumulate ? c0[flat: i * n + j] : 0
                    for p in 0..<k { acc = S.fusedMultiplyAdd(av(p), bv(p), acc) }
                    out.append(acc)
                } else {
                    var acc: S.Compute = 0
                    for p in 0..<k { acc = acc.addingProduct(av(p).compute, bv(p).compute) }
                    out.append(S(compute: accumulate ? c0[flat: i * n + j].compute + acc : acc))
                }
            }
        }
        return out
    }

    func check<S: TensorScalar>(_: S.Type) {
        var seed: UInt64 = 1
        for (m, n, k) in [(1, 1, 1), (6, 16, 8), (7, 17, 9), (13, 40, 33), (64, 31, 70), (5, 3, 0)] {
            for ta in [false, true] {
                for tb in [false, true] {
                    for accumulate in [false, true] {
                        for storage in [false, true] {
                            seed += 1
                            let a: Tensor<S> = randomTensor(S.self, ta ? [k, m] : [m, k], seed: seed)
                            let b: Tensor<S> = randomTensor(S.self, tb ? [n, k] : [k, n], seed: seed + 1000)
                            let c0: Tensor<S> = randomTensor(S.self, [m, n], seed: seed + 2000)
                            let expected = reference(a, b, c0, m: m, n: n, k: k, ta: ta, tb: tb, accumulate: accumulate, storage: storage)
                            for threads in [1, 2] {
                                let c = c0.copy()
                                gemm(GemmOperands(m: m, n: n, k: k, a: a.pointer, lda: ta ? m : k, transposeA: ta, b: b.pointer, ldb: tb ? k : n,
                                                  transposeB: tb, c: c.pointer, ldc: n),
                                     accumulate: accumulate, accumulator: storage ? .storage : .wide, threads: threads)
                                let got = c.scalars
                                let same = zip(got, expected).allSatisfy { $0.bitPattern == $1.bitPattern }
                                #expect(same, "\(S.kind) \(m)x\(n)x\(k) ta \(ta) tb \(tb) acc \(accumulate) storage \(storage) threads \(threads)")
                            }
                        }
                    }
                }
            }
        }
    }

    @Test func float16() { check(Float16.self) }
    @Test func bfloat16() { check(BFloat16.self) }
    @Test func float32() { check(Float.self) }
    @Test func float64() { check(Double.self) }

    /// A product large enough to run on two threads gives the same bits on one.
    @Test func threadCountDoesNotChangeBits() {
        let a: Tensor<Float> = randomTensor(Float.self, [200, 300], seed: 5)
        let b: Tensor<Float> = randomTensor(Float.self, [300, 700], seed: 6)
        let one = Tensor<Float>(zeros: [200, 700]), two = Tensor<Float>(zeros: [200, 700])
        matmul(a, b, into: one, threads: 1)
        matmul(a, b, into: two, threads: 2)
        #expect(one.scalars.map(\.bitPattern) == two.scalars.map(\.bitPattern))
    }

    /// Batched products and folded leading axes agree with the per-matrix products.
    @Test func batchedAndFolded() {
        let a: Tensor<Float> = randomTensor(Float.self, [3, 4, 5, 6], seed: 7)
        let b: Tensor<Float> = randomTensor(Float.self, [3, 4, 6, 7], seed: 8)
        let c = Tensor<Float>(zeros: [3, 4, 5, 7])
        matmul(a, b, into: c)
        for batch in 0..<12 {
            let single = Tensor<Float>(zeros: [5, 7])
            matmul(a.reshaped([12, 30]).rows(batch, 1).reshaped([5, 6]), b.reshaped([12, 42]).rows(batch, 1).reshaped([6, 7]), into: single)
            #expect(single.scalars == c.reshaped([12, 35]).rows(batch, 1).scalars)
        }
        let w: Tensor<Float> = randomTensor(Float.self, [6, 9], seed: 9)
        let folded = Tensor<Float>(zeros: [3, 4, 5, 9]), flat = Tensor<Float>(zeros: [60, 9])
        matmul(a, w, into: folded)
        matmul(a.reshaped([60, 6]), w, into: flat)
        #expect(folded.scalars == flat.scalars)
    }
}
