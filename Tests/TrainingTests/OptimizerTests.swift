import Autograd
import Formats
import PrecisionLab
import Tensors
import Testing
import Training

@Suite struct OptimizerTests {
    func parameter(_ values: [Double], grad: [Double]) -> Parameter<Double> {
        let p = Parameter("p", Tensor<Double>(shape: [values.count], values))
        for (i, g) in grad.enumerated() { p.grad[flat: i] = g }
        return p
    }

    /// SGD with momentum, dampening and weight decay, against PyTorch's update written out in Double.
    @Test func sgdFollowsPyTorch() {
        let p = parameter([1, -2], grad: [0.5, 0.25])
        let sgd = SGD<Double, Double>([p], learningRate: 0.1, momentum: 0.9, weightDecay: 0.01, dampening: 0.1)
        var value = [1.0, -2.0], buffer = [0.0, 0.0]
        let grads = [[0.5, 0.25], [-0.3, 0.1], [0.2, 0.2]]
        for (step, g) in grads.enumerated() {
            for i in 0..<2 { p.grad[flat: i] = g[i] }
            sgd.step()
            for i in 0..<2 {
                let d = g[i] + 0.01 * value[i]
                buffer[i] = step == 0 ? d : buffer[i] * 0.9 + 0.9 * d
                value[i] -= 0.1 * buffer[i]
                #expect(p.value[flat: i] == value[i], "step \(step) element \(i)")
            }
        }
    }

    /// Adam and AdamW against PyTorch's update written out in Double (bias corrections, eps outside the root).
    @Test func adamFollowsPyTorch() {
        for decoupled in [false, true] {
            let p = parameter([0.5, -1.5], grad: [0, 0])
            let adam = decoupled ? Adam<Double, Double>.adamW([p], learningRate: 0.01, weightDecay: 0.1)
                                 : Adam<Double, Double>([p], learningRate: 0.01, weightDecay: 0.1)
            var value = [0.5, -1.5], m = [0.0, 0.0], v = [0.0, 0.0]
            for (t, g0) in [[0.3, -0.2], [0.1, 0.4], [-0.5, 0.05]].enumerated() {
                for i in 0..<2 { p.grad[flat: i] = g0[i] }
                adam.step()
                let step = Double(t + 1)
                for i in 0..<2 {
                    var g = g0[i]
                    if decoupled { value[i] *= 1 - 0.01 * 0.1 } else { g += 0.1 * value[i] }
                    m[i] += (1 - 0.9) * (g - m[i])
                    v[i] = v[i] * 0.999 + (1 - 0.999) * g * g
                    let denom = v[i].squareRoot() / (1 - pow(0.999, step)).squareRoot() + 1e-8
                    value[i] -= (0.01 / (1 - pow(0.9, step))) * m[i] / denom
                    #expect((p.value[flat: i] - value[i]).magnitude <= 1e-16 * max(1, value[i].magnitude), "decoupled \(decoupled) step \(t) element \(i)")
                }
            }
        }
    }

    /// Adam's eps = 1e-8 is below half the smallest Float16 subnormal (2^-25): in a Float16 state it rounds to
    /// zero, and a parameter whose gradient is zero gets 0/0. In a Float state the same update is a no-op.
    @Test func epsilonVanishesInFloat16State() {
        func run<St: TensorScalar>(_: St.Type) -> [Float] {
            let p = Parameter("p", Tensor<Float>(shape: [2], [1, 1]))
            p.grad[flat: 0] = 0.125
            p.grad[flat: 1] = 0
            let adam = Adam<Float, St>([p], learningRate: 0.01)
            adam.step()
            return p.value.scalars
        }
        let wide = run(Float.self), narrow = run(Float16.self)
        #expect(wide[1] == 1)
        #expect(narrow[1].isNaN, "Float16 state: \(narrow)")
        #expect(Float16(1e-8) == 0)
        #expect((wide[0] - (1 - 0.01)).magnitude < 1e-6 && (narrow[0] - (1 - 0.01)).magnitude < 1e-3)
    }

    /// Initializers draw from the documented bounds and are reproducible from the seed.
    @Test func initializers() {
        var a = SeededGenerator(seed: 9), b = SeededGenerator(seed: 9)
        let t1 = Initializer.kaimingUniform.tensor(Float.self, [64, 32], fanIn: 64, fanOut: 32, rng: &a)
        let t2 = Initializer.kaimingUniform.tensor(Float.self, [64, 32], fanIn: 64, fanOut: 32, rng: &b)
        #expect(t1.scalars == t2.scalars)
        #expect(t1.scalars.allSatisfy { $0.magnitude <= 1 / 8 })
        let x = Initializer.xavierUniform.tensor(Double.self, [100, 100], fanIn: 100, fanOut: 100, rng: &a)
        #expect(x.doubles.allSatisfy { $0.magnitude <= (6.0 / 200).squareRoot() })
        let n = Initializer.kaimingNormal.tensor(Double.self, [200, 200], fanIn: 200, fanOut: 200, rng: &a).doubles
        let variance = n.map { $0 * $0 }.reduce(0, +) / Double(n.count)
        #expect((variance - 2.0 / 200).magnitude < 0.05 * 2.0 / 200)
    }

    /// The README's example, as written there.
    @Test func readmeExample() {
        var rng = SeededGenerator(seed: 1)
        let mlp = MLP<Float16>(sizes: [2, 64, 64, 2], rng: &rng)
        let optimizer = SGD<Float16, Float16>(mlp.parameters, learningRate: 0.1, momentum: 0.9)
        let graph = Graph<Float16>()
        let x = Tensor<Float16>(shape: [4, 2], rounding: [0, 1, 1, 0, 0.5, 0.5, -1, 0])
        let y = IndexTensor(shape: [4], [0, 1, 1, 0])
        var first = 0.0, last = 0.0
        for step in 0..<100 {
            for p in mlp.parameters { p.zeroGrad() }
            graph.reset()
            let loss = graph.crossEntropy(mlp(graph, graph.constant(x)), targets: y)
            graph.backward(loss)
            optimizer.step()
            if step == 0 { first = graph.scalar(loss) }
            last = graph.scalar(loss)
        }
        #expect(last < first / 10, "loss \(first) -> \(last)")
    }
}

#if canImport(Glibc)
import Glibc
#endif
