import Autograd
import Formats
import Tensors
import Training

/// A model with its data: the loss of step k, and the task's metric.
struct Workload<S: TensorScalar> {
    let parameters: [Parameter<S>]
    let loss: (Graph<S>, Int, BatchFault) -> Var
    let metric: (Graph<S>) -> (name: String, value: Double)

    init(parameters: [Parameter<S>], loss: @escaping (Graph<S>, Int, BatchFault) -> Var, metric: @escaping (Graph<S>) -> (name: String, value: Double)) {
        self.parameters = parameters
        self.loss = loss
        self.metric = metric
    }

    /// The configuration's model on its task, initialized from the seed.
    init(_ c: TrainingConfiguration) {
        var rng = SeededGenerator(seed: c.seed &+ 1)
        switch c.model {
        case .mlp: self = Self.spirals(c, rng: &rng)
        case .rnn, .lstm: self = Self.adding(c, rng: &rng)
        case .transformer: self = Self.zipf(c, rng: &rng)
        }
    }

    /// An MLP on two spirals: the whole data set every step; the metric is the accuracy on held-out points.
    static func spirals(_ c: TrainingConfiguration, rng: inout SeededGenerator) -> Workload {
        let data = TwoSpirals(pointsPerClass: 200, seed: c.seed)
        let mlp = MLP<S>(sizes: [2, 64, 64, 2], rng: &rng)
        let x = Tensor<S>(shape: [data.count, 2], rounding: data.inputs)
        let y = IndexTensor(shape: [data.count], data.labels)
        let parameters = mlp.parameters
        let flipped = IndexTensor(shape: [data.count], data.labels.map { 1 - $0 })
        let loss: (Graph<S>, Int, BatchFault) -> Var = { g, _, fault in
            switch fault {
            case .none: return g.crossEntropy(mlp(g, g.constant(x)), targets: y)
            case .scaleInputs(let k):
                return g.crossEntropy(mlp(g, g.constant(Tensor<S>(shape: [data.count, 2], rounding: data.inputs.map { $0 * k }))), targets: y)
            case .corruptTargets: return g.crossEntropy(mlp(g, g.constant(x)), targets: flipped)
            }
        }
        // Held out: as many points again, halfway between the training points along the arms, with their own noise.
        let test = TwoSpirals(pointsPerClass: 200, phase: 0.5, seed: c.seed &+ 99)
        let metric: (Graph<S>) -> (name: String, value: Double) = { g in
            g.reset()
            let logits = g.value(mlp(g, g.constant(Tensor<S>(shape: [test.count, 2], rounding: test.inputs))))
            var correct = 0
            for i in 0..<test.count where (logits[i, 1].compute > logits[i, 0].compute ? 1 : 0) == test.labels[i] { correct += 1 }
            return ("held-out accuracy", Double(correct) / Double(test.count))
        }
        return Workload(parameters: parameters, loss: loss, metric: metric)
    }

    /// An RNN or LSTM on the adding problem: a fresh batch every step; the metric is the held-out MSE.
    static func adding(_ c: TrainingConfiguration, rng: inout SeededGenerator) -> Workload {
        let rnn: RecurrentNetwork<S> = c.model == .rnn ? ElmanRNN<S>(input: 2, hidden: 64, output: 1, rng: &rng)
                                                       : LSTM<S>(input: 2, hidden: 64, output: 1, rng: &rng)
        let batch = c.batch, length = c.length, seed = c.seed
        let parameters = rnn.parameters
        let loss: (Graph<S>, Int, BatchFault) -> Var = { g, step, fault in
            let data = AddingProblem(sequences: batch, length: length, seed: seed &* 1_000_003 &+ UInt64(step))
            var inputs = data.inputs, targets = data.targets
            switch fault {
            case .none: break
            case .scaleInputs(let k): inputs = inputs.map { $0 * k }
            case .corruptTargets(let k): targets = targets.map { -$0 * k }
            }
            let prediction = rnn(g, g.constant(Tensor(shape: [batch, length, 2], rounding: inputs)))
            return g.meanSquaredError(prediction, g.constant(Tensor(shape: [batch, 1], rounding: targets)))
        }
        let metric: (Graph<S>) -> (name: String, value: Double) = { g in
            let test = AddingProblem(sequences: 512, length: length, seed: seed &+ 99)
            g.reset()
            let prediction = rnn(g, g.constant(Tensor(shape: [512, length, 2], rounding: test.inputs)))
            return ("held-out MSE", meanSquaredError(g.value(prediction), Tensor(shape: [512, 1], rounding: test.targets)))
        }
        return Workload(parameters: parameters, loss: loss, metric: metric)
    }

    /// A tiny transformer on a Zipf language; the metric is the held-out loss.
    static func zipf(_ c: TrainingConfiguration, rng: inout SeededGenerator) -> Workload {
        let vocabulary = 32, context = 16, batch = min(c.batch, 32)
        let language = ZipfLanguage(vocabulary: vocabulary, sequences: 4096 + batch, length: context + 1, seed: c.seed)
        let model = TinyTransformer<S>(.init(vocabulary: vocabulary, context: context, width: 32, heads: 4, blocks: 2), rng: &rng)
        let inputs = IndexTensor(shape: [batch, context]), targets = IndexTensor(shape: [batch * context])
        func fill(_ first: Int) {
            for b in 0..<batch {
                for t in 0..<context {
                    inputs[b * context + t] = language.tokens[(first + b) * (context + 1) + t]
                    targets[b * context + t] = language.tokens[(first + b) * (context + 1) + t + 1]
                }
            }
        }
        let parameters = model.parameters
        let loss: (Graph<S>, Int, BatchFault) -> Var = { g, step, fault in
            fill((step * batch) % 4096)
            if fault != .none {
                // The rarest quarter of the vocabulary (Zipf ranks are token ids), drawn from the step.
                var rare = SeededGenerator(seed: UInt64(step) &+ 7)
                for i in 0..<(batch * context) { inputs[i] = vocabulary - 1 - Int(rare.next() % UInt64(vocabulary / 4)) }
            }
            return g.crossEntropy(g.reshape(model(g, tokens: inputs), [batch * context, vocabulary]), targets: targets)
        }
        let metric: (Graph<S>) -> (name: String, value: Double) = { g in
            fill(4096)
            g.reset()
            let l = g.crossEntropy(g.reshape(model(g, tokens: inputs), [batch * context, vocabulary]), targets: targets)
            return ("held-out loss (unigram \(String(language.unigramEntropy.description.prefix(5))))", g.scalar(l))
        }
        return Workload(parameters: parameters, loss: loss, metric: metric)
    }
}
