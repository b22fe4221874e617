import Autograd
import Experiments
import Formats
import Tensors
import Training

/// Trains an Elman RNN on the adding problem (batches drawn fresh each step), Adam with clipping; returns the
/// mean-squared error on a held-out set.
func trainAdding<S: TensorScalar>(_: S.Type, length: Int = 20, hidden: Int = 64, batch: Int = 64, steps: Int = 1500,
                                  learningRate: Double = 3e-3, seed: UInt64 = 1, threads: Int = 1) -> Double {
    var rng = SeededGenerator(seed: seed)
    let rnn = ElmanRNN<S>(input: 2, hidden: hidden, output: 1, rng: &rng)
    let optimizer = Adam<S, Float>(rnn.parameters, learningRate: learningRate)
    let graph = Graph<S>(threads: threads)
    for step in 0..<steps {
        let data = AddingProblem(sequences: batch, length: length, seed: seed &* 1_000_003 &+ UInt64(step))
        for p in rnn.parameters { p.zeroGrad() }
        graph.reset()
        let prediction = rnn(graph, graph.constant(Tensor(shape: [batch, length, 2], rounding: data.inputs)))
        let loss = graph.meanSquaredError(prediction, graph.constant(Tensor(shape: [batch, 1], rounding: data.targets)))
        graph.backward(loss)
        _ = clipGradientNorm(rnn.parameters, maxNorm: 1)
        optimizer.step()
    }
    let test = AddingProblem(sequences: 512, length: length, seed: seed &+ 99)
    graph.reset()
    let prediction = rnn(graph, graph.constant(Tensor(shape: [512, length, 2], rounding: test.inputs)))
    return meanSquaredError(graph.value(prediction), Tensor(shape: [512, 1], rounding: test.targets))
}

/// Trains the tiny transformer on the Zipf language (next-token cross-entropy, AdamW); returns the held-out
/// loss and the language's unigram entropy.
func trainTokens<S: TensorScalar>(_: S.Type, steps: Int = 300, seed: UInt64 = 1, threads: Int = 1) -> (loss: Double, unigram: Double) {
    let vocabulary = 32, context = 16, batch = 32
    // One language (its successor table comes from the seed): the first 4096 sequences train, the last batch is
    // held out.
    let language = ZipfLanguage(vocabulary: vocabulary, sequences: 4096 + batch, length: context + 1, seed: seed)
    var rng = SeededGenerator(seed: seed &+ 1)
    let model = TinyTransformer<S>(.init(vocabulary: vocabulary, context: context, width: 32, heads: 4, blocks: 2), rng: &rng)
    let optimizer = Adam<S, Float>.adamW(model.parameters, learningRate: 3e-3)
    let graph = Graph<S>(threads: threads)
    let inputs = IndexTensor(shape: [batch, context]), targets = IndexTensor(shape: [batch * context])
    func fill(_ first: Int) {
        for b in 0..<batch {
            let s = first + b
            for t in 0..<context {
                inputs[b * context + t] = language.tokens[s * (context + 1) + t]
                targets[b * context + t] = language.tokens[s * (context + 1) + t + 1]
            }
        }
    }
    func loss() -> Var { graph.crossEntropy(graph.reshape(model(graph, tokens: inputs), [batch * context, vocabulary]), targets: targets) }
    for step in 0..<steps {
        fill((step * batch) % 4096)
        for p in model.parameters { p.zeroGrad() }
        graph.reset()
        let l = loss()
        graph.backward(l)
        optimizer.step()
    }
    fill(4096)
    graph.reset()
    return (graph.scalar(loss()), language.unigramEntropy)
}
