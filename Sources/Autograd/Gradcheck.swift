import Formats
import Tensors

/// Central differences against backward, in Float64.
public enum Gradcheck {
    /// The largest disagreement, |analytic - numeric| / max(1, |analytic|, |numeric|), between the gradients
    /// backward gives for `inputs` and central differences (x ± h, h = `step` · max(1, |x|)) of the scalar
    /// L = Σ w ⊙ f(inputs), with seeded weights w in [0.5, 1.5) (so that every output element matters).
    public static func maximumError(_ inputs: [Tensor<Double>], step: Double = 1e-6, seed: UInt64 = 7,
                                    _ f: (Graph<Double>, [Var]) -> Var) -> Double {
        func loss(_ xs: [Tensor<Double>], backward: Bool) -> (Double, [Tensor<Double>]) {
            let graph = Graph<Double>(threads: 1)
            let vars = xs.map { graph.input($0) }
            let y = f(graph, vars)
            var rng = SeededGenerator(seed: seed)
            let shape = graph.value(y).shape
            let weights = Tensor<Double>(shape: shape, (0..<shape.count).map { _ in 0.5 + rng.nextUnit() })
            let l = graph.sum(graph.mul(y, graph.constant(weights)))
            if backward { graph.backward(l) }
            return (graph.scalar(l), vars.map { graph.grad($0)?.copy() ?? Tensor(zeros: graph.value($0).shape) })
        }
        let (_, analytic) = loss(inputs, backward: true)
        var worst = 0.0
        for (k, x) in inputs.enumerated() {
            for i in 0..<x.count {
                let original = x[flat: i]
                let h = step * max(1, original.magnitude)
                var plus = inputs.map { $0.copy() }, minus = inputs.map { $0.copy() }
                plus[k][flat: i] = original + h
                minus[k][flat: i] = original - h
                let numeric = (loss(plus, backward: false).0 - loss(minus, backward: false).0) / (2 * h)
                let a = analytic[k][flat: i]
                worst = max(worst, (a - numeric).magnitude / max(1, a.magnitude, numeric.magnitude))
                plus.removeAll(); minus.removeAll()
            }
        }
        return worst
    }
}
