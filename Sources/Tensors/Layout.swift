/// y = x with axes `a` and `b` swapped, materialized in row-major order (y[.., j, .., i, ..] = x[.., i, .., j, ..]);
/// added to y when `accumulate`. Swapping back with `accumulate` is the backward pass.
public func transpose<S: TensorScalar>(_ x: Tensor<S>, _ a: Int, _ b: Int, into y: Tensor<S>, accumulate: Bool = false) {
    let a = x.shape.normalized(axis: a), b = x.shape.normalized(axis: b)
    let outShape = x.shape.swapping(a, b)
    precondition(y.count == x.count, "transpose of \(x.shape) into \(y.shape)")
    // x's strides, permuted into y's axis order.
    var strides = Shape(rank: x.shape.rank, d: (0, 0, 0, 0, 0, 0))
    var stride = 1
    var axis = x.shape.rank - 1
    while axis >= 0 { strides[axis] = stride; stride *= x.shape[axis]; axis -= 1 }
    strides = strides.swapping(a, b)
    dispatch(S.kind, GatherKernel(x: UnsafeRawPointer(x.pointer), y: UnsafeMutableRawPointer(y.pointer), shape: outShape, strides: strides,
                                  accumulate: accumulate))
}

/// y[i] (+)= x[offset(i)], with x's element strides given per axis of y's shape.
struct GatherKernel: TypedKernel {
    let x: UnsafeRawPointer, y: UnsafeMutableRawPointer, shape: Shape, strides: Shape, accumulate: Bool
    func run<T: TensorScalar>(_: T.Type) {
        let x = x.assumingMemoryBound(to: T.self), y = y.assumingMemoryBound(to: T.self)
        let rank = shape.rank
        guard rank > 0 else { y[0] = accumulate ? T(compute: y[0].compute + x[0].compute) : x[0]; return }
        let inner = shape[rank - 1], innerStride = strides[rank - 1]
        let rows = shape.count / max(inner, 1)
        var index = Shape(rank: rank, d: (0, 0, 0, 0, 0, 0))
        var offset = 0
        for r in 0..<rows {
            let out = y + r * inner
            if innerStride == 1 {
                // Contiguous rows (every transpose that keeps the last axis): a copy, or eight lanes at a time.
                let source = x + offset
                if accumulate { AxpyKernel.add(T.self, source, into: out, inner) } else { out.update(from: source, count: inner) }
            } else if accumulate {
                for j in 0..<inner { out[j] = T(compute: out[j].compute + x[offset + j * innerStride].compute) }
            } else {
                for j in 0..<inner { out[j] = x[offset + j * innerStride] }
            }
            var axis = rank - 2
            while axis >= 0 {
                index[axis] += 1
                offset += strides[axis]
                if index[axis] < shape[axis] { break }
                offset -= strides[axis] * shape[axis]
                index[axis] = 0
                axis -= 1
            }
        }
    }
}

/// y = x[..., start..<start+length, ...] along `axis` (a copy); with `backward`, x's slice += y instead (y is
/// then the gradient of the slice and x the gradient of the whole).
public func slice<S: TensorScalar>(_ x: Tensor<S>, axis: Int, start: Int, length: Int, into y: Tensor<S>, backward: Bool = false) {
    let axis = x.shape.normalized(axis: axis)
    precondition(start >= 0 && start + length <= x.shape[axis], "slice \(start)..<\(start + length) of axis \(axis) of \(x.shape)")
    let outer = x.shape.outer(axis), inner = x.shape.inner(axis), n = x.shape[axis]
    precondition(y.count == outer * length * inner, "slice into \(y.shape)")
    // Row o of the slice: length * inner elements at (o n + start) inner in x and at o length inner in y.
    let whole = BlockCopyKernel(a: UnsafeMutableRawPointer(x.pointer), aOffset: start * inner, aStride: n * inner,
                                b: UnsafeMutableRawPointer(y.pointer), bOffset: 0, bStride: length * inner,
                                rows: outer, count: length * inner, intoA: backward, accumulate: backward)
    dispatch(S.kind, whole)
}

/// y = the tensors concatenated along `axis`; with `backward`, each x += its part of y (y the gradient).
public func concatenate<S: TensorScalar>(_ xs: [Tensor<S>], axis: Int, into y: Tensor<S>, backward: Bool = false) {
    guard let first = xs.first else { return }
    let axis = first.shape.normalized(axis: axis)
    let outer = first.shape.outer(axis), inner = first.shape.inner(axis)
    let total = xs.reduce(0) { $0 + $1.shape[axis] }
    precondition(y.count == outer * total * inner, "concatenation into \(y.shape)")
    var start = 0
    for x in xs {
        let n = x.shape[axis]
        // Row o of x: n * inner elements at o n inner in x and at (o total + start) inner in y.
        dispatch(S.kind, BlockCopyKernel(a: UnsafeMutableRawPointer(y.pointer), aOffset: start * inner, aStride: total * inner,
                                         b: UnsafeMutableRawPointer(x.pointer), bOffset: 0, bStride: n * inner,
                                         rows: outer, count: n * inner, intoA: !backward, accumulate: backward))
        start += n
    }
}

/// Blocks of `count` elements, `rows` of them, at a + aOffset + r aStride and b + bOffset + r bStride: copied from b
/// into a (`intoA`) or from a into b, added (rounded once per element, as `addScaled` with alpha 1) when `accumulate`.
struct BlockCopyKernel: TypedKernel {
    let a: UnsafeMutableRawPointer, aOffset: Int, aStride: Int
    let b: UnsafeMutableRawPointer, bOffset: Int, bStride: Int
    let rows: Int, count: Int, intoA: Bool, accumulate: Bool
    func run<T: TensorScalar>(_: T.Type) {
        let a = a.assumingMemoryBound(to: T.self) + aOffset, b = b.assumingMemoryBound(to: T.self) + bOffset
        for r in 0..<rows {
            let (source, target) = intoA ? (b + r * bStride, a + r * aStride) : (a + r * aStride, b + r * bStride)
            if accumulate { AxpyKernel.add(T.self, source, into: target, count) } else { target.update(from: source, count: count) }
        }
    }
}
