import Formats
import Tensors

/// What made a node, with the ids of its operands.
enum Op<S: TensorScalar> {
    case leaf
    case parameter(Parameter<S>)
    case unary(UnaryFunction, Int)
    case binary(BinaryFunction, Int, Int)
    case scale(Int, Double)
    case matmul(Int, Int, transposeA: Bool, transposeB: Bool)
    case softmax(Int, log: Bool)
    case crossEntropy(Int, IndexTensor)
    case meanSquaredError(Int, Int)
    case layerNorm(x: Int, gamma: Int, beta: Int, eps: Double)
    case embedding(table: Int, IndexTensor)
    case reshape(Int)
    case transpose(Int, Int, Int)
    case slice(Int, axis: Int, start: Int, length: Int)
    case concat(first: Int, count: Int, axis: Int)
    case sum(Int, axis: Int?)
    case mean(Int, axis: Int?)
    /// Autocast's cast to the low format.
    case cast(Int)
}

extension Graph {
    // MARK: Elementwise

    public func add(_ a: Var, _ b: Var) -> Var { binary(.add, a, b) }
    public func sub(_ a: Var, _ b: Var) -> Var { binary(.sub, a, b) }
    public func mul(_ a: Var, _ b: Var) -> Var { binary(.mul, a, b) }
    public func div(_ a: Var, _ b: Var) -> Var { binary(.div, a, b) }

    /// f(a, b) elementwise with numpy broadcasting.
    public func binary(_ f: BinaryFunction, _ a: Var, _ b: Var) -> Var {
        let va = value(a), vb = value(b)
        guard let shape = Shape.broadcast(va.shape, vb.shape) else { preconditionFailure("\(f): \(va.shape) and \(vb.shape) do not broadcast") }
        let out = output(shape)
        Tensors.binary(f, va, vb, into: out)
        return record(.binary(f, a.id, b.id), out, needsGrad: needsGrad(a, b))
    }

    public func neg(_ x: Var) -> Var { unary(.neg, x) }
    public func relu(_ x: Var) -> Var { unary(.relu, x) }
    public func gelu(_ x: Var) -> Var { unary(.gelu, x) }
    public func tanh(_ x: Var) -> Var { unary(.tanh, x) }
    public func sigmoid(_ x: Var) -> Var { unary(.sigmoid, x) }
    public func exp(_ x: Var) -> Var { unary(.exp, x) }
    public func log(_ x: Var) -> Var { unary(.log, x) }
    public func sqrt(_ x: Var) -> Var { unary(.sqrt, x) }

    public func unary(_ f: UnaryFunction, _ x: Var) -> Var {
        let out = output(value(x).shape)
        Tensors.unary(f, value(x), into: out)
        return record(.unary(f, x.id), out, needsGrad: needsGrad(x))
    }

    /// x * c for a constant c (rounded once per element).
    public func scale(_ x: Var, by c: Double) -> Var {
        let out = output(value(x).shape)
        Tensors.scale(value(x), by: c, into: out)
        return record(.scale(x.id, c), out, needsGrad: needsGrad(x))
    }

    // MARK: Products

    /// op(a) op(b) over the last two axes: a weight b [K, N] applies to every row of a [.., K]; otherwise a and b
    /// hold the same number of matrices (attention's batched products). Accumulates in `accumulator`.
    public func matmul(_ a: Var, _ b: Var, transposeA: Bool = false, transposeB: Bool = false) -> Var {
        let a = autocastOperand(a), b = autocastOperand(b)
        let va = value(a), vb = value(b)
        let n = transposeB ? vb.shape[vb.shape.rank - 2] : vb.shape.last
        let shape: Shape
        if vb.shape.rank == 2 && !transposeA {
            shape = va.shape.replacing(axis: va.shape.rank - 1, with: n)
        } else {
            let m = transposeA ? va.shape.last : va.shape[va.shape.rank - 2]
            shape = va.shape.replacing(axis: va.shape.rank - 2, with: m).replacing(axis: va.shape.rank - 1, with: n)
        }
        let out = output(shape)
        Tensors.matmul(va, vb, into: out, transposeA: transposeA, transposeB: transposeB, accumulator: accumulator, threads: threads)
        matmulFlops += 2 * out.count * (transposeB ? vb.shape.last : vb.shape[vb.shape.rank - 2])
        return record(.matmul(a.id, b.id, transposeA: transposeA, transposeB: transposeB), out, needsGrad: needsGrad(a, b))
    }

    // MARK: Rows

    /// softmax along the last axis.
    public func softmax(_ x: Var) -> Var { softmax(x, log: false) }
    /// log-softmax along the last axis (stable: the maximum is subtracted first).
    public func logSoftmax(_ x: Var) -> Var { softmax(x, log: true) }

    func softmax(_ x: Var, log: Bool) -> Var {
        let out = output(value(x).shape)
        Tensors.softmax(value(x), into: out, log: log)
        return record(.softmax(x.id, log: log), out, needsGrad: needsGrad(x))
    }

    /// The mean over rows of -log softmax(logits)[row, target] (one element).
    public func crossEntropy(_ logits: Var, targets: IndexTensor) -> Var {
        let out = output(.scalar)
        out[flat: 0] = Scalar(compute: Scalar.Compute(Tensors.crossEntropy(value(logits), targets: targets)))
        return record(.crossEntropy(logits.id, targets), out, needsGrad: needsGrad(logits))
    }

    /// mean((a - b)²) (one element).
    public func meanSquaredError(_ a: Var, _ b: Var) -> Var {
        let out = output(.scalar)
        out[flat: 0] = Scalar(compute: Scalar.Compute(Tensors.meanSquaredError(value(a), value(b))))
        return record(.meanSquaredError(a.id, b.id), out, needsGrad: needsGrad(a, b))
    }

    /// Layer normalization over the last axis with scale gamma and shift beta (shape [last]).
    public func layerNorm(_ x: Var, gamma: Var, beta: Var, eps: Double = 1e-5) -> Var {
        let out = output(value(x).shape)
        Tensors.layerNorm(value(x), gamma: value(gamma), beta: value(beta), eps: eps, into: out)
        return record(.layerNorm(x: x.id, gamma: gamma.id, beta: beta.id, eps: eps), out,
                      needsGrad: needsGrad(x, gamma) || needsGrad(beta))
    }

    /// Rows of `table` [V, D] picked by `indices`: shape indices.shape + [D].
    public func embedding(_ table: Var, indices: IndexTensor) -> Var {
        let out = output(indices.shape.appending(value(table).shape.last))
        Tensors.embedding(value(table), indices: indices, into: out)
        return record(.embedding(table: table.id, indices), out, needsGrad: needsGrad(table))
    }

    // MARK: Layout

    /// The same elements with another shape (a view: no copy).
    public func reshape(_ x: Var, _ shape: Shape) -> Var {
        record(.reshape(x.id), value(x).reshaped(shape), needsGrad: needsGrad(x))
    }

    /// Axes a and b swapped (materialized).
    public func transpose(_ x: Var, _ a: Int, _ b: Int) -> Var {
        let vx = value(x)
        let a = vx.shape.normalized(axis: a), b = vx.shape.normalized(axis: b)
        let out = output(vx.shape.swapping(a, b))
        Tensors.transpose(vx, a, b, into: out)
        return record(.transpose(x.id, a, b), out, needsGrad: needsGrad(x))
    }

    /// Elements start..<start+length along `axis`.
    public func slice(_ x: Var, axis: Int, start: Int, length: Int) -> Var {
        let vx = value(x)
        let axis = vx.shape.normalized(axis: axis)
        let out = output(vx.shape.replacing(axis: axis, with: length))
        Tensors.slice(vx, axis: axis, start: start, length: length, into: out)
        return record(.slice(x.id, axis: axis, start: start, length: length), out, needsGrad: needsGrad(x))
    }

    /// The tensors joined along `axis`.
    public func concat(_ xs: [Var], axis: Int) -> Var {
        let values = xs.map { value($0) }
        let axis = values[0].shape.normalized(axis: axis)
        let total = values.reduce(0) { $0 + $1.shape[axis] }
        let out = output(values[0].shape.replacing(axis: axis, with: total))
        Tensors.concatenate(values, axis: axis, into: out)
        let first = operands.count
        operands.append(contentsOf: xs.map(\.id))
        return record(.concat(first: first, count: xs.count, axis: axis), out, needsGrad: xs.contains { nodes[$0.id].needsGrad })
    }

    // MARK: Reductions

    /// Σ of all elements (one element), in pairwise order in the compute format.
    public func sum(_ x: Var) -> Var { reduce(x, axis: nil, mean: false) }
    /// Σ along `axis` (removed from the shape).
    public func sum(_ x: Var, axis: Int) -> Var { reduce(x, axis: axis, mean: false) }
    /// The mean of all elements (one element).
    public func mean(_ x: Var) -> Var { reduce(x, axis: nil, mean: true) }
    /// The mean along `axis` (removed from the shape).
    public func mean(_ x: Var, axis: Int) -> Var { reduce(x, axis: axis, mean: true) }

    func reduce(_ x: Var, axis: Int?, mean: Bool) -> Var {
        let vx = value(x)
        let out: Tensor<Scalar>
        var normalized: Int? = nil
        if let axis {
            let a = vx.shape.normalized(axis: axis)
            normalized = a
            out = output(vx.shape.removing(axis: a))
            Tensors.sum(vx, axis: a, into: out, scale: mean ? 1 / Double(vx.shape[a]) : 1)
        } else {
            out = output(.scalar)
            let total = sumAll(vx)
            out[flat: 0] = Scalar(compute: Scalar.Compute(mean ? total / Double(max(vx.count, 1)) : total))
        }
        return record(mean ? .mean(x.id, axis: normalized) : .sum(x.id, axis: normalized), out, needsGrad: needsGrad(x))
    }

    // MARK: Backward of each op

    /// Adds node `id`'s contribution (its gradient g times the op's partial derivatives) into its operands'
    /// gradients.
    @_specialize(where Scalar == Float) @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float16) @_specialize(where Scalar == BFloat16)
    func propagate(_ id: Int, _ g: Tensor<Scalar>) {
        let y = nodes[id].value
        switch nodes[id].op {
        case .leaf, .parameter:
            break
        case .unary(let f, let x):
            if let dx = gradient(x) { unaryBackward(f, x: nodes[x].value, y: y, dy: g, into: dx) }
        case .binary(let f, let a, let b):
            binaryBackward(f, a: nodes[a].value, b: nodes[b].value, dc: g, da: gradient(a), db: gradient(b))
        case .scale(let x, let c):
            if let dx = gradient(x) { addScaled(g, alpha: c, into: dx) }
        case .matmul(let a, let b, let ta, let tb):
            matmulBackward(a, b, ta, tb, g)
        case .softmax(let x, let log):
            if let dx = gradient(x) { softmaxBackward(y: y, dy: g, into: dx, log: log) }
        case .crossEntropy(let x, let targets):
            if let dx = gradient(x) { crossEntropyBackward(nodes[x].value, targets: targets, scale: Double(g[flat: 0].compute), into: dx) }
        case .meanSquaredError(let a, let b):
            meanSquaredErrorBackward(nodes[a].value, nodes[b].value, scale: Double(g[flat: 0].compute), da: gradient(a), db: gradient(b))
        case .layerNorm(let x, let gamma, let beta, let eps):
            layerNormBackward(nodes[x].value, gamma: nodes[gamma].value, dy: g, eps: eps,
                              dx: gradient(x), dgamma: gradient(gamma), dbeta: gradient(beta))
        case .embedding(let table, let indices):
            if let dt = gradient(table) { embeddingBackward(indices: indices, dout: g, into: dt) }
        case .reshape(let x), .cast(let x):
            if let dx = gradient(x) { addScaled(g.reshaped(dx.shape), alpha: 1, into: dx) }
        case .transpose(let x, let a, let b):
            if let dx = gradient(x) { Tensors.transpose(g, a, b, into: dx, accumulate: true) }
        case .slice(let x, let axis, let start, let length):
            if let dx = gradient(x) { Tensors.slice(dx, axis: axis, start: start, length: length, into: g, backward: true) }
        case .concat(let first, let count, let axis):
            let ids = operands[first..<(first + count)]
            // Operands that need no gradient get a scratch buffer from the arena.
            let grads = ids.map { gradient($0) ?? arena.take(nodes[$0].value.shape, zeroed: true) }
            concatenate(grads, axis: axis, into: g, backward: true)
        case .sum(let x, let axis), .mean(let x, let axis):
            guard let dx = gradient(x) else { break }
            let isMean: Bool
            if case .mean = nodes[id].op { isMean = true } else { isMean = false }
            if let axis {
                expand(g, axis: axis, into: dx, alpha: isMean ? 1 / Double(dx.shape[axis]) : 1)
            } else {
                let n = Double(max(dx.count, 1))
                expand(g, axis: 0, into: dx.reshaped(Shape(dx.count)), alpha: isMean ? 1 / n : 1)
            }
        }
    }

    /// C = op(A) op(B): dA += dC op(B)ᵀ (or op(B) dCᵀ when A is transposed), dB += op(A)ᵀ dC (or dCᵀ op(A)).
    func matmulBackward(_ a: Int, _ b: Int, _ ta: Bool, _ tb: Bool, _ g: Tensor<Scalar>) {
        let va = nodes[a].value, vb = nodes[b].value
        let folded = vb.shape.rank == 2 && !ta
        // Each gradient product costs what the forward one did.
        let forwardFlops = 2 * g.count * (tb ? vb.shape.last : vb.shape[vb.shape.rank - 2])
        matmulFlops += forwardFlops * ((nodes[a].needsGrad ? 1 : 0) + (nodes[b].needsGrad ? 1 : 0))
        if let da = gradient(a) {
            if ta {
                Tensors.matmul(vb, g, into: da, transposeA: tb, transposeB: true, accumulate: true, accumulator: accumulator, threads: threads)
            } else {
                Tensors.matmul(g, vb, into: da, transposeB: !tb, accumulate: true, accumulator: accumulator, threads: threads)
            }
        }
        if let db = gradient(b) {
            // With a's leading axes folded into rows, the weight's gradient is one product over all rows.
            let a2 = folded ? va.reshaped(Shape(va.count / va.shape.last, va.shape.last)) : va
            let g2 = folded ? g.reshaped(Shape(g.count / g.shape.last, g.shape.last)) : g
            if tb {
                Tensors.matmul(g2, a2, into: db, transposeA: true, transposeB: ta, accumulate: true, accumulator: accumulator, threads: threads)
            } else {
                Tensors.matmul(a2, g2, into: db, transposeA: !ta, accumulate: true, accumulator: accumulator, threads: threads)
            }
        }
    }
}
