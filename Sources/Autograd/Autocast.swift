import Tensors

/// `torch.autocast` on a Float graph, after the CUDA op lists of PyTorch's `aten/src/ATen/autocast_mode.h` (main at
/// commit d70fe7f: `AT_FORALL_LOWER_PRECISION_FP`, `AT_FORALL_FP32`, `AT_FORALL_FP32_SET_OPT_DTYPE`; the lists
/// mixed-precision training on GPUs runs, the CPU lists differ): products (`mm`, `matmul`, `linear`, `bmm`, the RNN
/// cells) cast their operands to the low format and return it, with Float32 accumulation; `softmax`, `log_softmax`,
/// the losses (`nll_loss`, so cross-entropy, and `mse_loss`), `layer_norm`, `exp`, `log` and `sum` run in Float32 and
/// return Float32; every other op (`mean` too) runs in the widest format of its operands: ReLU, GELU, tanh, sigmoid,
/// sums and products of low tensors stay low; a low tensor added to a Float32 one, as a residual stream, is Float32. Parameters are Float32
/// (they are the master weights); each one's low copy is made once per step and shared by its uses, as autocast's
/// cast cache does, so its gradient accumulates in the low format before it reaches the Float32 gradient.
///
/// A low tensor's value is rounded to the low format when an op makes it, and its gradient after each contribution
/// (PyTorch rounds each contribution to the low format before adding it; here the contribution is added in Float and
/// the sum rounded once, which can differ in the last bit when a tensor has several uses).
extension Graph {
    /// Whether the op's output is in the low format.
    func isLow(_ op: Op<Scalar>) -> Bool {
        switch op {
        case .leaf, .parameter, .softmax, .crossEntropy, .meanSquaredError, .layerNorm, .embedding, .sum: return false
        case .cast, .matmul: return true
        case .mean(let x, _): return nodes[x].low
        case .unary(let f, let x): return f != .exp && f != .log && nodes[x].low
        case .binary(_, let a, let b): return nodes[a].low && nodes[b].low
        case .scale(let x, _), .reshape(let x), .transpose(let x, _, _), .slice(let x, _, _, _): return nodes[x].low
        case .concat(let first, let count, _): return operands[first..<(first + count)].allSatisfy { nodes[$0].low }
        }
    }

    /// Whether a low output can hold values the low format cannot (a layout op's output is its low input's values).
    func producesNewValues(_ op: Op<Scalar>) -> Bool {
        switch op {
        case .cast, .matmul, .unary, .binary, .scale, .mean: return true
        default: return false
        }
    }

    /// `x` as the operand of a low-format op (a product, a linear layer's bias, an RNN cell's): itself without autocast
    /// or when low, else its low copy (made once per step for a parameter).
    public func autocastOperand(_ x: Var) -> Var {
        guard autocast != nil, !nodes[x.id].low else { return x }
        if case .parameter(let p) = nodes[x.id].op {
            if let cached = castCache[ObjectIdentifier(p)] { return Var(id: cached) }
            let c = cast(x)
            castCache[ObjectIdentifier(p)] = c.id
            return c
        }
        return cast(x)
    }

    /// x rounded to the low format (its gradient passes through unchanged).
    func cast(_ x: Var) -> Var {
        let out = output(value(x).shape)
        out.assign(value(x))
        return record(.cast(x.id), out, needsGrad: needsGrad(x))
    }

    /// Rounds the gradients of node `id`'s low operands, which its backward has just added to.
    func roundLowOperandGradients(of id: Int, to kind: ScalarKind) {
        func round(_ x: Int) { if nodes[x].low, let g = nodes[x].grad { roundElements(g, to: kind) } }
        switch nodes[id].op {
        case .leaf, .parameter: break
        case .unary(_, let x), .scale(let x, _), .softmax(let x, _), .crossEntropy(let x, _), .embedding(let x, _), .reshape(let x),
             .transpose(let x, _, _), .slice(let x, _, _, _), .sum(let x, _), .mean(let x, _), .cast(let x):
            round(x)
        case .binary(_, let a, let b), .matmul(let a, let b, _, _), .meanSquaredError(let a, let b):
            round(a)
            if b != a { round(b) }
        case .layerNorm(let x, let gamma, let beta, _):
            round(x); round(gamma); round(beta)
        case .concat(let first, let count, _):
            for x in Set(operands[first..<(first + count)]) { round(x) }
        }
    }
}
