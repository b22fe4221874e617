import Autograd
import Experiments
import Formats
import Tensors
import Training

/// Trains an MLP 2-64-64-2 (ReLU) on two spirals, full batch, SGD with momentum; returns the training
/// accuracy and the loss of every step.
func trainSpirals<S: TensorScalar>(_: S.Type, steps: Int = 1500, learningRate: Double = 0.1, seed: UInt64 = 1, threads: Int = 1,
                                   hidden: Int = 64) -> (accuracy: Double, losses: [Double]) {
    let data = TwoSpirals(pointsPerClass: 200, seed: seed)
    var rng = SeededGenerator(seed: seed &+ 1)
    let mlp = MLP<S>(sizes: [2, hidden, hidden, 2], rng: &rng)
    let x = Tensor<S>(shape: [data.count, 2], rounding: data.inputs)
    let y = IndexTensor(shape: [data.count], data.labels)
    let optimizer = SGD<S, S>(mlp.parameters, learningRate: learningRate, momentum: 0.9)
    let graph = Graph<S>(threads: threads)
    var losses = [Double]()
    for _ in 0..<steps {
        for p in mlp.parameters { p.zeroGrad() }
        graph.reset()
        let loss = graph.crossEntropy(mlp(graph, graph.constant(x)), targets: y)
        graph.backward(loss)
        optimizer.step()
        losses.append(graph.scalar(loss))
    }
    graph.reset()
    let logits = graph.value(mlp(graph, graph.constant(x)))
    var correct = 0
    for i in 0..<data.count where (logits[i, 1].compute > logits[i, 0].compute ? 1 : 0) == data.labels[i] { correct += 1 }
    return (Double(correct) / Double(data.count), losses)
}
