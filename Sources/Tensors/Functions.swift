import Base
/// Integer indices (class labels, token ids) of a given shape, reusable across steps.
public final class IndexTensor: @unchecked Sendable {
    public let shape: Shape
    public let pointer: UnsafeMutablePointer<Int32>

    public init(shape: Shape) {
        self.shape = shape
        pointer = .allocate(capacity: max(1, shape.count))
        pointer.initialize(repeating: 0, count: max(1, shape.count))
    }

    public convenience init(shape: Shape, _ values: [Int]) {
        precondition(values.count == shape.count, "\(values.count) indices for shape \(shape)")
        self.init(shape: shape)
        for (i, v) in values.enumerated() { pointer[i] = Int32(v) }
    }

    deinit { pointer.deallocate() }

    public var count: Int { shape.count }
    public subscript(i: Int) -> Int {
        get { Int(pointer[i]) }
        set { pointer[i] = Int32(newValue) }
    }
}

// The functions below work on the last axis: x is viewed as rows of `shape.last` elements. Statistics and
// sums run in the compute format; outputs are rounded once.

/// y = softmax(x) along the last axis (max subtracted first, so exp never overflows).
public func softmax<S: TensorScalar>(_ x: Tensor<S>, into y: Tensor<S>, log: Bool = false) {
    precondition(x.count == y.count)
    dispatch(S.kind, SoftmaxKernel(x: UnsafeRawPointer(x.pointer), y: UnsafeMutableRawPointer(y.pointer), rows: x.count / max(1, x.shape.last),
                                   width: x.shape.last, log: log))
}

struct SoftmaxKernel: TypedKernel {
    let x: UnsafeRawPointer, y: UnsafeMutableRawPointer, rows: Int, width: Int, log: Bool
    func run<T: TensorScalar>(_: T.Type) {
        let x = x.assumingMemoryBound(to: T.self), y = y.assumingMemoryBound(to: T.self)
        withUnsafeTemporaryAllocation(of: T.Compute.self, capacity: max(width, 1)) { exps in
            for r in 0..<rows {
                let xr = x + r * width, yr = y + r * width
                let (m, total) = softmaxRow(xr, width, exps.baseAddress!)
                if log {
                    let logTotal = T.Compute.log(total)
                    for j in 0..<width { yr[j] = T(compute: xr[j].compute - m - logTotal) }
                } else {
                    for j in 0..<width { yr[j] = T(compute: exps[j] / total) }
                }
            }
        }
    }
}

/// max of a row, e_j = exp(x_j - max) into `exps`, and Σ e_j in pairwise order. The exponentials are computed
/// eight lanes at a time (`exp8`: the vector code for Float, libm for Double), the last few through the same
/// function, so that a value gets the same bits wherever it sits in the row. A row of -inf only gives max -inf
/// (and NaNs downstream, as in PyTorch).
@inline(__always) func softmaxRow<T: TensorScalar>(_ xr: UnsafePointer<T>, _ width: Int, _ exps: UnsafeMutablePointer<T.Compute>) -> (T.Compute, T.Compute) {
    var m = -T.Compute.infinity
    for j in 0..<width { m = Swift.max(m, xr[j].compute) }
    let mv = SIMD8<T.Compute>(repeating: m)
    var j = 0
    while j + 8 <= width {
        UnsafeMutableRawPointer(exps + j).storeBytes(of: T.Compute.exp8(T.load8(xr + j) - mv), as: SIMD8<T.Compute>.self)
        j += 8
    }
    while j < width {
        exps[j] = T.Compute.exp8(SIMD8(repeating: xr[j].compute - m))[0]
        j += 1
    }
    return (m, pairwiseSum(0, width) { exps[$0] })
}

/// dx += softmax backward: y ⊙ (dy - Σ dy ⊙ y) for softmax, dy - exp(y) Σ dy for log-softmax; y is the output.
public func softmaxBackward<S: TensorScalar>(y: Tensor<S>, dy: Tensor<S>, into dx: Tensor<S>, log: Bool = false) {
    precondition(y.count == dy.count && y.count == dx.count)
    dispatch(S.kind, SoftmaxBackwardKernel(y: UnsafeRawPointer(y.pointer), dy: UnsafeRawPointer(dy.pointer), dx: UnsafeMutableRawPointer(dx.pointer),
                                           rows: y.count / max(1, y.shape.last), width: y.shape.last, log: log))
}

struct SoftmaxBackwardKernel: TypedKernel {
    let y: UnsafeRawPointer, dy: UnsafeRawPointer, dx: UnsafeMutableRawPointer, rows: Int, width: Int, log: Bool
    func run<T: TensorScalar>(_: T.Type) {
        let y = y.assumingMemoryBound(to: T.self), dy = dy.assumingMemoryBound(to: T.self), dx = dx.assumingMemoryBound(to: T.self)
        for r in 0..<rows {
            let yr = y + r * width, gr = dy + r * width, dr = dx + r * width
            if log {
                let total = pairwiseSum(0, width) { gr[$0].compute }
                for j in 0..<width { dr[j] = T(compute: dr[j].compute + gr[j].compute - T.Compute.exp(yr[j].compute) * total) }
            } else {
                // Eight lanes at a time and the remainder lane by lane: the same operations, the same bits.
                let dot = pairwiseSum(0, width, vector: { T.load8(gr + $0) * T.load8(yr + $0) }, term: { gr[$0].compute * yr[$0].compute })
                let dv = SIMD8(repeating: dot), body = width - width % 8
                for j in stride(from: 0, to: body, by: 8) {
                    T.store8(T.load8(dr + j) + T.load8(yr + j) * (T.load8(gr + j) - dv), dr + j)
                }
                for j in body..<width { dr[j] = T(compute: dr[j].compute + yr[j].compute * (gr[j].compute - dot)) }
            }
        }
    }
}

/// The mean over rows of -log softmax(logits)[row, target[row]] (PyTorch's cross_entropy with mean
/// reduction), in the compute format. Targets must lie in 0..<classes.
public func crossEntropy<S: TensorScalar>(_ logits: Tensor<S>, targets: IndexTensor) -> Double {
    let rows = logits.count / max(1, logits.shape.last)
    precondition(targets.count == rows, "\(targets.count) targets for \(rows) rows")
    var result = 0.0
    withUnsafeMutablePointer(to: &result) {
        dispatch(S.kind, CrossEntropyKernel(x: UnsafeRawPointer(logits.pointer), targets: targets.pointer, dx: nil, rows: rows,
                                            width: logits.shape.last, scale: 0, loss: $0))
    }
    return result
}

/// dlogits += scale * (softmax(logits) - onehot(targets)) / rows: the gradient of `crossEntropy` times scale.
public func crossEntropyBackward<S: TensorScalar>(_ logits: Tensor<S>, targets: IndexTensor, scale: Double, into dlogits: Tensor<S>) {
    let rows = logits.count / max(1, logits.shape.last)
    var unused = 0.0
    withUnsafeMutablePointer(to: &unused) {
        dispatch(S.kind, CrossEntropyKernel(x: UnsafeRawPointer(logits.pointer), targets: targets.pointer, dx: UnsafeMutableRawPointer(dlogits.pointer),
                                            rows: rows, width: logits.shape.last, scale: scale, loss: $0))
    }
}

struct CrossEntropyKernel: TypedKernel {
    let x: UnsafeRawPointer, targets: UnsafePointer<Int32>, dx: UnsafeMutableRawPointer?, rows: Int, width: Int, scale: Double
    let loss: UnsafeMutablePointer<Double>
    func run<T: TensorScalar>(_: T.Type) {
        let x = x.assumingMemoryBound(to: T.self)
        if let dx = dx?.assumingMemoryBound(to: T.self) {
            let s = T.Compute(scale / Double(max(rows, 1)))
            withUnsafeTemporaryAllocation(of: T.Compute.self, capacity: max(width, 1)) { exps in
                for r in 0..<rows {
                    let xr = x + r * width, dr = dx + r * width
                    let (_, total) = softmaxRow(xr, width, exps.baseAddress!)
                    let t = Int(targets[r])
                    for j in 0..<width {
                        let p = exps[j] / total
                        dr[j] = T(compute: dr[j].compute + s * (p - (j == t ? 1 : 0)))
                    }
                }
            }
        } else {
            let total = withUnsafeTemporaryAllocation(of: T.Compute.self, capacity: max(width, 1)) { exps in
                pairwiseSum(0, rows) { r -> T.Compute in
                    let xr = x + r * width
                    let (m, total) = softmaxRow(xr, width, exps.baseAddress!)
                    let t = Int(targets[r])
                    precondition(t >= 0 && t < width, "target \(t) outside 0..<\(width)")
                    return m + T.Compute.log(total) - xr[t].compute
                }
            }
            loss.pointee = Double(total) / Double(max(rows, 1))
        }
    }
}

/// mean((a - b)²) in the compute format.
public func meanSquaredError<S: TensorScalar>(_ a: Tensor<S>, _ b: Tensor<S>) -> Double {
    precondition(a.count == b.count, "mse of \(a.shape) and \(b.shape)")
    var result = 0.0
    withUnsafeMutablePointer(to: &result) { p in
        dispatch(S.kind, MSEKernel(a: UnsafeRawPointer(a.pointer), b: UnsafeRawPointer(b.pointer), da: nil, db: nil, n: a.count, scale: 0, loss: p))
    }
    return result
}

/// da += scale * 2 (a - b) / n and db -= the same: the gradient of `meanSquaredError` times scale.
public func meanSquaredErrorBackward<S: TensorScalar>(_ a: Tensor<S>, _ b: Tensor<S>, scale: Double, da: Tensor<S>?, db: Tensor<S>?) {
    var unused = 0.0
    withUnsafeMutablePointer(to: &unused) { p in
        dispatch(S.kind, MSEKernel(a: UnsafeRawPointer(a.pointer), b: UnsafeRawPointer(b.pointer), da: da.map { UnsafeMutableRawPointer($0.pointer) },
                                   db: db.map { UnsafeMutableRawPointer($0.pointer) }, n: a.count, scale: scale, loss: p))
    }
}

struct MSEKernel: TypedKernel {
    let a: UnsafeRawPointer, b: UnsafeRawPointer, da: UnsafeMutableRawPointer?, db: UnsafeMutableRawPointer?, n: Int, scale: Double
    let loss: UnsafeMutablePointer<Double>
    func run<T: TensorScalar>(_: T.Type) {
        let a = a.assumingMemoryBound(to: T.self), b = b.assumingMemoryBound(to: T.self)
        if da == nil && db == nil {
            loss.pointee = Double(pairwiseSum(0, n) { let d = a[$0].compute - b[$0].compute; return d * d }) / Double(max(n, 1))
            return
        }
        let s = T.Compute(2 * scale / Double(max(n, 1)))
        let da = da?.assumingMemoryBound(to: T.self), db = db?.assumingMemoryBound(to: T.self)
        for i in 0..<n {
            let g = s * (a[i].compute - b[i].compute)
            if let da { da[i] = T(compute: da[i].compute + g) }
            if let db { db[i] = T(compute: db[i].compute - g) }
        }
    }
}

/// y = (x - mean) / sqrt(var + eps) * gamma + beta along the last axis (biased variance, as PyTorch's
/// layer_norm). Mean and variance are computed in the compute format, in pairwise order.
public func layerNorm<S: TensorScalar>(_ x: Tensor<S>, gamma: Tensor<S>, beta: Tensor<S>, eps: Double, into y: Tensor<S>) {
    precondition(gamma.count == x.shape.last && beta.count == x.shape.last && y.count == x.count)
    dispatch(S.kind, LayerNormKernel(x: UnsafeRawPointer(x.pointer), gamma: UnsafeRawPointer(gamma.pointer), beta: UnsafeRawPointer(beta.pointer),
                                     y: UnsafeMutableRawPointer(y.pointer), dy: nil, dx: nil, dgamma: nil, dbeta: nil,
                                     rows: x.count / max(1, x.shape.last), width: x.shape.last, eps: eps))
}

/// The gradients of `layerNorm`, accumulated into dx, dgamma and dbeta (the statistics are recomputed).
public func layerNormBackward<S: TensorScalar>(_ x: Tensor<S>, gamma: Tensor<S>, dy: Tensor<S>, eps: Double,
                                               dx: Tensor<S>?, dgamma: Tensor<S>?, dbeta: Tensor<S>?) {
    dispatch(S.kind, LayerNormKernel(x: UnsafeRawPointer(x.pointer), gamma: UnsafeRawPointer(gamma.pointer), beta: nil, y: nil,
                                     dy: UnsafeRawPointer(dy.pointer), dx: dx.map { UnsafeMutableRawPointer($0.pointer) },
                                     dgamma: dgamma.map { UnsafeMutableRawPointer($0.pointer) }, dbeta: dbeta.map { UnsafeMutableRawPointer($0.pointer) },
                                     rows: x.count / max(1, x.shape.last), width: x.shape.last, eps: eps))
}

/// Eight lanes at a time (`load8`/`store8`, F16C for Float16) and the remainder lane by lane, with the same
/// operations in the same order on both paths, so the bits do not depend on the width.
struct LayerNormKernel: TypedKernel {
    let x: UnsafeRawPointer, gamma: UnsafeRawPointer, beta: UnsafeRawPointer?, y: UnsafeMutableRawPointer?
    let dy: UnsafeRawPointer?, dx: UnsafeMutableRawPointer?, dgamma: UnsafeMutableRawPointer?, dbeta: UnsafeMutableRawPointer?
    let rows: Int, width: Int, eps: Double

    func run<T: TensorScalar>(_: T.Type) {
        let x = x.assumingMemoryBound(to: T.self), gamma = gamma.assumingMemoryBound(to: T.self)
        let n = T.Compute(Double(width)), e = T.Compute(eps)
        let body = width - width % 8
        func statistics(_ xr: UnsafePointer<T>) -> (mean: T.Compute, rstd: T.Compute) {
            let mean = pairwiseSum(0, width, vector: { T.load8(xr + $0) }, term: { xr[$0].compute }) / n
            let mv = SIMD8(repeating: mean)
            let variance = pairwiseSum(0, width, vector: { let d = T.load8(xr + $0) - mv; return d * d },
                                       term: { let d = xr[$0].compute - mean; return d * d }) / n
            return (mean, 1 / (variance + e).squareRoot())
        }
        if let y = y?.assumingMemoryBound(to: T.self), let beta = beta?.assumingMemoryBound(to: T.self) {
            for r in 0..<rows {
                let xr = x + r * width, yr = y + r * width
                let (mean, rstd) = statistics(xr)
                let mv = SIMD8(repeating: mean), rv = SIMD8(repeating: rstd)
                for j in stride(from: 0, to: body, by: 8) {
                    T.store8((T.load8(xr + j) - mv) * rv * T.load8(gamma + j) + T.load8(beta + j), yr + j)
                }
                for j in body..<width { yr[j] = T(compute: (xr[j].compute - mean) * rstd * gamma[j].compute + beta[j].compute) }
            }
            return
        }
        guard let dy = dy?.assumingMemoryBound(to: T.self) else { return }
        backward(x, gamma, dy, statistics)
    }

    /// dx += rstd (g - mean(g) - x̂ mean(g x̂)) with g = dy * gamma; dgamma += Σ_rows dy x̂, dbeta += Σ_rows dy.
    private func backward<T: TensorScalar>(_ x: UnsafePointer<T>, _ gamma: UnsafePointer<T>, _ dy: UnsafePointer<T>,
                                           _ statistics: (UnsafePointer<T>) -> (mean: T.Compute, rstd: T.Compute)) {
        let dx = dx?.assumingMemoryBound(to: T.self)
        let n = T.Compute(Double(width)), body = width - width % 8
        // dgamma and dbeta sum over rows: accumulate in the compute format, add once at the end.
        Scratch.with { scratch in
            let acc = scratch.reserve(2 * width * MemoryLayout<T.Compute>.stride).bindMemory(to: T.Compute.self, capacity: 2 * width)
            acc.initialize(repeating: 0, count: 2 * width)
            let raw = UnsafeMutableRawPointer(acc)
            func accumulate(_ offset: Int, _ v: SIMD8<T.Compute>) {
                let p = raw + offset * MemoryLayout<T.Compute>.stride
                p.storeBytes(of: p.loadUnaligned(as: SIMD8<T.Compute>.self) + v, as: SIMD8<T.Compute>.self)
            }
            for r in 0..<rows {
                let xr = x + r * width, gr = dy + r * width
                let (mean, rstd) = statistics(xr)
                let mv = SIMD8(repeating: mean), rv = SIMD8(repeating: rstd)
                for j in stride(from: 0, to: body, by: 8) {
                    let g = T.load8(gr + j)
                    accumulate(j, g * (T.load8(xr + j) - mv) * rv)
                    accumulate(width + j, g)
                }
                for j in body..<width {
                    acc[j] += gr[j].compute * (xr[j].compute - mean) * rstd
                    acc[width + j] += gr[j].compute
                }
                guard let dx else { continue }
                let meanG = pairwiseSum(0, width, vector: { T.load8(gr + $0) * T.load8(gamma + $0) },
                                        term: { gr[$0].compute * gamma[$0].compute }) / n
                let meanGX = pairwiseSum(0, width, vector: { T.load8(gr + $0) * T.load8(gamma + $0) * (T.load8(xr + $0) - mv) * rv },
                                         term: { gr[$0].compute * gamma[$0].compute * (xr[$0].compute - mean) * rstd }) / n
                let dr = dx + r * width
                let gv = SIMD8(repeating: meanG), gxv = SIMD8(repeating: meanGX)
                for j in stride(from: 0, to: body, by: 8) {
                    let xhat = (T.load8(xr + j) - mv) * rv
                    T.store8(T.load8(dr + j) + rv * (T.load8(gr + j) * T.load8(gamma + j) - gv - xhat * gxv), dr + j)
                }
                for j in body..<width {
                    let xhat = (xr[j].compute - mean) * rstd
                    dr[j] = T(compute: dr[j].compute + rstd * (gr[j].compute * gamma[j].compute - meanG - xhat * meanGX))
                }
            }
            if let dgamma = dgamma?.assumingMemoryBound(to: T.self) {
                for j in 0..<width { dgamma[j] = T(compute: dgamma[j].compute + acc[j]) }
            }
            if let dbeta = dbeta?.assumingMemoryBound(to: T.self) {
                for j in 0..<width { dbeta[j] = T(compute: dbeta[j].compute + acc[width + j]) }
            }
        }
    }
}

/// out[i, :] = table[indices[i], :].
public func embedding<S: TensorScalar>(_ table: Tensor<S>, indices: IndexTensor, into out: Tensor<S>) {
    let width = table.shape.last, rows = table.count / max(1, width)
    precondition(out.count == indices.count * width, "embedding of \(indices.count) indices into \(out.shape)")
    for i in 0..<indices.count {
        let t = indices[i]
        precondition(t >= 0 && t < rows, "index \(t) outside 0..<\(rows)")
        (out.pointer + i * width).update(from: table.pointer + t * width, count: width)
    }
}

/// dtable[indices[i], :] += dout[i, :], in order of i.
public func embeddingBackward<S: TensorScalar>(indices: IndexTensor, dout: Tensor<S>, into dtable: Tensor<S>) {
    let width = dtable.shape.last
    for i in 0..<indices.count {
        let row = dtable.reshaped(Shape(dtable.count)).rows(indices[i] * width, width)
        addScaled(dout.reshaped(Shape(dout.count)).rows(i * width, width), alpha: 1, into: row)
    }
}
