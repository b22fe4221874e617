import Base

/// out = Σ of x along `axis` (x viewed as [outer, n, inner], out as [outer, inner]), each sum in numpy's
/// pairwise order (Reductions' `pairwiseSum`) in the compute format and rounded once; added to out when
/// `accumulate`.
public func sum<S: TensorScalar>(_ x: Tensor<S>, axis: Int, into out: Tensor<S>, accumulate: Bool = false, scale: Double = 1) {
    let axis = x.shape.normalized(axis: axis)
    let outer = x.shape.outer(axis), n = x.shape[axis], inner = x.shape.inner(axis)
    precondition(out.count == outer * inner, "sum along \(axis) of \(x.shape) into \(out.shape)")
    dispatch(S.kind, AxisSumKernel(x: UnsafeRawPointer(x.pointer), out: UnsafeMutableRawPointer(out.pointer),
                                   outer: outer, n: n, inner: inner, accumulate: accumulate, scale: scale))
}

struct AxisSumKernel: TypedKernel {
    let x: UnsafeRawPointer, out: UnsafeMutableRawPointer, outer: Int, n: Int, inner: Int, accumulate: Bool, scale: Double
    func run<T: TensorScalar>(_: T.Type) {
        let x = x.assumingMemoryBound(to: T.self), out = out.assumingMemoryBound(to: T.self)
        let s = T.Compute(scale)
        for o in 0..<outer {
            for i in 0..<inner {
                let base = x + o * n * inner + i
                let total = pairwiseSum(0, n) { base[$0 * inner].compute }
                let k = o * inner + i
                out[k] = T(compute: accumulate ? out[k].compute + s * total : s * total)
            }
        }
    }
}

/// dx[o, a, i] += alpha * dout[o, i] for every a: the gradient of a sum along `axis` (or of a mean, with
/// alpha = 1/n).
public func expand<S: TensorScalar>(_ dout: Tensor<S>, axis: Int, into dx: Tensor<S>, alpha: Double = 1) {
    let axis = dx.shape.normalized(axis: axis)
    let outer = dx.shape.outer(axis), n = dx.shape[axis], inner = dx.shape.inner(axis)
    precondition(dout.count == outer * inner)
    dispatch(S.kind, ExpandKernel(dout: UnsafeRawPointer(dout.pointer), dx: UnsafeMutableRawPointer(dx.pointer),
                                  outer: outer, n: n, inner: inner, alpha: alpha))
}

struct ExpandKernel: TypedKernel {
    let dout: UnsafeRawPointer, dx: UnsafeMutableRawPointer, outer: Int, n: Int, inner: Int, alpha: Double
    func run<T: TensorScalar>(_: T.Type) {
        let dout = dout.assumingMemoryBound(to: T.self), dx = dx.assumingMemoryBound(to: T.self)
        let a = T.Compute(alpha)
        for o in 0..<outer {
            for k in 0..<n {
                let row = dx + (o * n + k) * inner
                for i in 0..<inner { row[i] = T(compute: row[i].compute + a * dout[o * inner + i].compute) }
            }
        }
    }
}

/// Σ of all elements in the pairwise order, in the compute format (not rounded to S).
public func sumAll<S: TensorScalar>(_ x: Tensor<S>) -> Double {
    var result = 0.0
    withUnsafeMutablePointer(to: &result) { dispatch(S.kind, SumAllKernel(x: UnsafeRawPointer(x.pointer), n: x.count, result: $0)) }
    return result
}

struct SumAllKernel: TypedKernel {
    let x: UnsafeRawPointer, n: Int, result: UnsafeMutablePointer<Double>
    func run<T: TensorScalar>(_: T.Type) {
        let x = x.assumingMemoryBound(to: T.self)
        result.pointee = Double(pairwiseSum(0, n) { x[$0].compute })
    }
}

extension Tensor {
    /// The elements as a buffer the Reductions algorithms read.
    public var floatBuffer: FloatBuffer { FloatBuffer(format: Scalar.format, base: UnsafeRawPointer(pointer), count: count) }
}

/// Σx² by the lab's blocked SIMD kernel (Float lanes for 16-bit formats, Double for the others), on the
/// calling thread and without allocating.
public func squaredNorm<S: TensorScalar>(_ x: Tensor<S>) -> Double {
    wideReduction(x.floatBuffer, squares: true, threads: 1)
}
