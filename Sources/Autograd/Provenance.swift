import Tensors

/// Where a NaN or inf first appeared in a recorded step: the pass, the op, the node and its layer.
public struct NonFiniteOrigin: Sendable, Equatable, CustomStringConvertible {
    public enum Pass: String, Sendable { case forward, backward }
    public var pass: Pass
    /// The op that produced the value (forward) or whose input gradient it is (backward: the gradient of this
    /// node's output was the first non-finite one in backward order).
    public var op: String
    public var node: Int
    /// The layer: the parameter recorded most recently before the node, without its last name component
    /// ("mlp.1" for "mlp.1.weight"), or "input" before any parameter.
    public var layer: String
    public var nanCount: Int
    public var infCount: Int

    public var description: String {
        let what = [nanCount > 0 ? "\(nanCount) NaN" : nil, infCount > 0 ? "\(infCount) inf" : nil].compactMap { $0 }.joined(separator: " and ")
        let place = pass == .forward ? "output" : "gradient"
        return "\(pass.rawValue): \(what) first in the \(place) of \(op) (node \(node), layer \(layer))"
    }
}

extension Graph {
    /// The first non-finite value of the last recorded step: the forward values in creation order, then the
    /// gradients in backward order (reverse creation order). Scans every node, so it is meant for the step a
    /// cheap check (`containsNonFinite` of the loss or the gradients) has already flagged.
    public func firstNonFinite() -> NonFiniteOrigin? {
        var layer = "input"
        var layers = [String]()
        layers.reserveCapacity(nodes.count)
        // An additive mask (a constant whose only non-finite values are -inf, as a causal attention mask) and the
        // sums it enters hold -inf on purpose: softmax turns it into an exact zero. There only NaN and +inf count.
        var masked = [Bool]()
        masked.reserveCapacity(nodes.count)
        for (id, node) in nodes.enumerated() {
            if case .parameter(let p) = node.op { layer = Self.layerName(p.name) }
            layers.append(layer)
            switch node.op {
            case .leaf:
                let kinds = Self.nonFiniteKinds(node.value)
                masked.append(!kinds.nanOrPositive && kinds.negativeInfinity)
            case .binary(.add, let a, let b): masked.append(masked[a] || masked[b])
            default: masked.append(false)
            }
            if containsNonFinite(node.value), !(masked[id] && !Self.nonFiniteKinds(node.value).nanOrPositive) {
                return origin(.forward, id, node.value, layers[id])
            }
        }
        for id in nodes.indices.reversed() {
            if let g = nodes[id].grad, nodes[id].needsGrad, containsNonFinite(g) { return origin(.backward, id, g, layers[id]) }
        }
        return nil
    }

    /// Whether `t` holds a NaN or +inf, and whether it holds a -inf.
    static func nonFiniteKinds(_ t: Tensor<Scalar>) -> (nanOrPositive: Bool, negativeInfinity: Bool) {
        var negativeInfinity = false
        for i in 0..<t.count {
            let v = t[flat: i]
            if v.isNaN || v == .infinity { return (true, negativeInfinity) }
            if v == -.infinity { negativeInfinity = true }
        }
        return (false, negativeInfinity)
    }

    private func origin(_ pass: NonFiniteOrigin.Pass, _ id: Int, _ t: Tensor<Scalar>, _ layer: String) -> NonFiniteOrigin {
        var nan = 0, inf = 0
        for i in 0..<t.count {
            let v = t[flat: i]
            if v.isNaN { nan += 1 } else if v.isInfinite { inf += 1 }
        }
        return NonFiniteOrigin(pass: pass, op: nodes[id].op.name, node: id, layer: layer, nanCount: nan, infCount: inf)
    }

    static func layerName(_ parameter: String) -> String {
        guard let dot = parameter.lastIndex(of: ".") else { return parameter }
        return String(parameter[..<dot])
    }
}

extension Op {
    /// The op's name as the graph API spells it.
    var name: String {
        switch self {
        case .leaf: return "input"
        case .parameter(let p): return "parameter \(p.name)"
        case .unary(let f, _): return "\(f)"
        case .binary(let f, _, _): return "\(f)"
        case .scale: return "scale"
        case .matmul: return "matmul"
        case .softmax(_, let log): return log ? "logSoftmax" : "softmax"
        case .crossEntropy: return "crossEntropy"
        case .meanSquaredError: return "meanSquaredError"
        case .layerNorm: return "layerNorm"
        case .embedding: return "embedding"
        case .reshape: return "reshape"
        case .transpose: return "transpose"
        case .slice: return "slice"
        case .concat: return "concat"
        case .sum: return "sum"
        case .mean: return "mean"
        case .cast: return "autocast's low-format copy"
        }
    }
}
