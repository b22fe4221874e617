import Autograd
import Experiments
import Formats
import MallocCounter
import Tensors
import Testing
import Training

@Suite struct TrainingTests {
    /// Two spirals: Float32 reaches 95% training accuracy; the same run in Float16 (16-bit storage, products
    /// accumulated in Float) gets within 2 points of it.
    @Test func spiralsInFloat32AndFloat16() {
        let f32 = trainSpirals(Float.self, steps: 1000)
        let f16 = trainSpirals(Float16.self, steps: 1000)
        #expect(f32.accuracy >= 0.95, "Float32 accuracy \(f32.accuracy)")
        #expect(f16.accuracy >= f32.accuracy - 0.02, "Float16 accuracy \(f16.accuracy) vs Float32 \(f32.accuracy)")
        #expect(f16.losses.allSatisfy { $0.isFinite })
    }

    /// A run is reproducible from its seed, bit for bit, on one thread or two; another seed gives another run.
    @Test func reproducibleBitForBit() {
        let a = trainSpirals(Float.self, steps: 60, seed: 3, threads: 1, hidden: 128)
        let b = trainSpirals(Float.self, steps: 60, seed: 3, threads: 2, hidden: 128)
        let c = trainSpirals(Float.self, steps: 60, seed: 3, threads: 2, hidden: 128)
        #expect(a.losses.map(\.bitPattern) == b.losses.map(\.bitPattern))
        #expect(b.losses.map(\.bitPattern) == c.losses.map(\.bitPattern))
        let h1 = trainSpirals(Float16.self, steps: 60, seed: 3, threads: 1, hidden: 128)
        let h2 = trainSpirals(Float16.self, steps: 60, seed: 3, threads: 2, hidden: 128)
        #expect(h1.losses.map(\.bitPattern) == h2.losses.map(\.bitPattern))
        let other = trainSpirals(Float.self, steps: 60, seed: 4, threads: 1, hidden: 128)
        #expect(other.losses.map(\.bitPattern) != a.losses.map(\.bitPattern))
    }

    /// The Elman RNN learns the adding problem at length 20: held-out MSE below 0.05 (predicting the mean
    /// scores 1/6).
    @Test func rnnLearnsTheAddingProblem() {
        let mse = trainAdding(Float.self, length: 20)
        #expect(mse < 0.05, "held-out MSE \(mse)")
    }

    /// The tiny transformer lowers the held-out loss of the Zipf language well below its unigram entropy
    /// (the best loss without context): below half of it.
    @Test func transformerBeatsTheUnigramEntropy() {
        let (loss, unigram) = trainTokens(Float.self)
        #expect(loss < 0.5 * unigram, "held-out loss \(loss), unigram entropy \(unigram)")
    }

    /// The LSTM learns the adding problem too (a shorter run: it is the slower cell).
    @Test func lstmLearns() {
        var rng = SeededGenerator(seed: 2)
        let lstm = LSTM<Float>(input: 2, hidden: 32, output: 1, rng: &rng)
        let optimizer = Adam<Float, Float>(lstm.parameters, learningRate: 1e-2)
        let graph = Graph<Float>(threads: 1)
        var first = 0.0, last = 0.0
        for step in 0..<300 {
            let data = AddingProblem(sequences: 64, length: 10, seed: UInt64(step))
            for p in lstm.parameters { p.zeroGrad() }
            graph.reset()
            let loss = graph.meanSquaredError(lstm(graph, graph.constant(Tensor(shape: [64, 10, 2], rounding: data.inputs))),
                                              graph.constant(Tensor(shape: [64, 1], rounding: data.targets)))
            graph.backward(loss)
            optimizer.step()
            if step == 0 { first = graph.scalar(loss) }
            last = graph.scalar(loss)
        }
        #expect(last < 0.05 && last < first / 4, "LSTM loss \(first) -> \(last)")
    }

    /// The benchmark's MLP step allocates nothing once warm: on one thread and on two, in every format.
    @Test func mlpStepAllocatesNothing() {
        func check<S: TensorScalar>(_: S.Type, threads: Int) {
            let step = TrainingBenchmark.makeStep(.mlp, S.self, threads: threads)
            for _ in 0..<3 { step.run() }
            malloc_counter_start()
            for _ in 0..<10 { step.run() }
            let allocations = malloc_counter_stop()
            #expect(allocations == 0, "\(S.kind) on \(threads) thread(s): \(allocations) allocations in 10 steps")
        }
        for threads in [1, 2] {
            check(Float16.self, threads: threads)
            check(BFloat16.self, threads: threads)
            check(Float.self, threads: threads)
            check(Double.self, threads: threads)
        }
        // The counter sees allocations: an array made in the window is counted.
        malloc_counter_start()
        let array = [Int](repeating: 1, count: 1000)
        let counted = malloc_counter_stop()
        #expect(counted >= 1 && array.count == 1000)
    }
}
