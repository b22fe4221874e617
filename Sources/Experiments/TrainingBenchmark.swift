import Autograd
import Base
import Formats
import Reductions
import Tensors
import Training

/// Steps per second of one training step (forward, backward, clip by global norm, SGD with momentum) of
/// three models, for each format. Computing only: printing is the CLI's.
public enum TrainingBenchmark {
    public enum Model: String, CaseIterable, Sendable {
        /// MLP 64-256-256-10 (ReLU), batch 128, cross-entropy.
        case mlp
        /// Elman RNN (tanh), 2 inputs, 128 hidden, 20 steps, batch 128, the adding problem's MSE.
        case rnn
        /// Tiny transformer: vocabulary 64, context 32, width 64, 4 heads, 2 blocks, batch 16, cross-entropy.
        case transformer
    }

    public struct Row: Sendable, Equatable {
        public var model: Model
        public var kind: ScalarKind
        /// Median seconds per step.
        public var secondsPerStep: Double
        /// Matrix-product floating-point operations per step.
        public var flopsPerStep: Int
        public var stepsPerSecond: Double { 1 / secondsPerStep }
        public var gflops: Double { Double(flopsPerStep) / secondsPerStep / 1e9 }
    }

    /// A model, its data and optimizer, ready to step: the same step the benchmark times.
    public final class Step<S: TensorScalar> {
        public let graph: Graph<S>
        public let parameters: [Parameter<S>]
        let optimizer: SGD<S, S>
        let forward: (Graph<S>) -> Var
        public private(set) var lastLoss = 0.0

        init(parameters: [Parameter<S>], threads: Int, forward: @escaping (Graph<S>) -> Var) {
            graph = Graph(threads: threads)
            self.parameters = parameters
            optimizer = SGD(parameters, learningRate: 0.01, momentum: 0.9)
            self.forward = forward
        }

        /// The non-finite guard's found_inf of the last step, and the exact norm it measured (telemetry).
        public private(set) var lastFoundInf = false
        public private(set) var lastExactNorm = Double.nan

        /// zero_grad, forward, backward, clip_grad_norm_(1.0), SGD step. Returns the loss. `instrumentation`
        /// adds the non-finite guard (found_inf over every gradient; the step skipped and the origin traced when
        /// set) and the exact-norm telemetry (the gradients' 2-norm correctly rounded).
        @discardableResult public func run(_ instrumentation: Instrumentation = .none) -> Double {
            for p in parameters { p.zeroGrad() }
            graph.reset()
            let loss = forward(graph)
            graph.backward(loss)
            if instrumentation != .none {
                lastFoundInf = parameters.contains { containsNonFinite($0.grad) }
                if lastFoundInf { _ = graph.firstNonFinite() }
            }
            if instrumentation == .guardAndExactNorm {
                lastExactNorm = FastExactNorm.norm(of: parameters.map { GradientTensor($0).floatBuffer }, order: .two, threads: graph.threads).value
            }
            _ = clipGradientNorm(parameters, maxNorm: 1)
            if !lastFoundInf { optimizer.step() }
            lastLoss = graph.scalar(loss)
            return lastLoss
        }
    }

    /// What is added to the benchmark step.
    public enum Instrumentation: String, Sendable, CaseIterable {
        case none
        case guardOnly = "guard"
        case guardAndExactNorm = "guard+exact-norm"
    }

    /// Seconds per MLP step with each instrumentation, timed round-robin (`repetitions` rounds of `steps` steps
    /// each after a warm-up), medians: the overhead of the guard and of exact-norm telemetry.
    public static func instrumentationCost(_ kind: ScalarKind, steps: Int = 50, repetitions: Int = 9,
                                           threads: Int = Parallel.defaultThreads) -> [(Instrumentation, Double)] {
        switch kind {
        case .float16: return instrumentationCost(makeStep(.mlp, Float16.self, threads: threads), steps, repetitions)
        case .bfloat16: return instrumentationCost(makeStep(.mlp, BFloat16.self, threads: threads), steps, repetitions)
        case .float32: return instrumentationCost(makeStep(.mlp, Float.self, threads: threads), steps, repetitions)
        case .float64: return instrumentationCost(makeStep(.mlp, Double.self, threads: threads), steps, repetitions)
        }
    }

    static func instrumentationCost<S: TensorScalar>(_ step: Step<S>, _ steps: Int, _ repetitions: Int) -> [(Instrumentation, Double)] {
        for i in Instrumentation.allCases { for _ in 0..<5 { step.run(i) } }
        var times = [Instrumentation: [Double]]()
        for _ in 0..<repetitions {
            for i in Instrumentation.allCases {
                times[i, default: []].append(Stopwatch.seconds { for _ in 0..<steps { step.run(i) } } / Double(steps))
            }
        }
        return Instrumentation.allCases.map { i in
            let t = times[i, default: []].sorted()
            return (i, t[t.count / 2])
        }
    }

    /// The benchmark's step for `model` in format S, from `seed`.
    public static func makeStep<S: TensorScalar>(_ model: Model, _: S.Type, threads: Int = Parallel.defaultThreads, seed: UInt64 = 1) -> Step<S> {
        var rng = SeededGenerator(seed: seed)
        switch model {
        case .mlp:
            let mlp = MLP<S>(sizes: [64, 256, 256, 10], rng: &rng)
            let x = Tensor<S>(shape: [128, 64], rounding: (0..<(128 * 64)).map { _ in rng.nextNormal() })
            let targets = IndexTensor(shape: [128], (0..<128).map { _ in Int(rng.next() % 10) })
            return Step(parameters: mlp.parameters, threads: threads) { g in
                g.crossEntropy(mlp(g, g.constant(x)), targets: targets)
            }
        case .rnn:
            let rnn = ElmanRNN<S>(input: 2, hidden: 128, output: 1, rng: &rng)
            let data = AddingProblem(sequences: 128, length: 20, seed: rng.next())
            let x = Tensor<S>(shape: [128, 20, 2], rounding: data.inputs)
            let y = Tensor<S>(shape: [128, 1], rounding: data.targets)
            return Step(parameters: rnn.parameters, threads: threads) { g in
                g.meanSquaredError(rnn(g, g.constant(x)), g.constant(y))
            }
        case .transformer:
            let config = TinyTransformer<S>.Configuration(vocabulary: 64, context: 32)
            let model = TinyTransformer<S>(config, rng: &rng)
            let tokens = IndexTensor(shape: [16, 32], (0..<(16 * 32)).map { _ in Int(rng.next() % 64) })
            let targets = IndexTensor(shape: [16 * 32], (0..<(16 * 32)).map { _ in Int(rng.next() % 64) })
            return Step(parameters: model.parameters, threads: threads) { g in
                g.crossEntropy(g.reshape(model(g, tokens: tokens), [16 * 32, 64]), targets: targets)
            }
        }
    }

    /// Times `steps` steps `repetitions` times after `warmup` steps; the median per-step time.
    public static func run(_ model: Model, _ kind: ScalarKind, steps: Int = 50, repetitions: Int = 7, warmup: Int = 5,
                           threads: Int = Parallel.defaultThreads) -> Row {
        switch kind {
        case .float16: return measure(makeStep(model, Float16.self, threads: threads), model, steps, repetitions, warmup)
        case .bfloat16: return measure(makeStep(model, BFloat16.self, threads: threads), model, steps, repetitions, warmup)
        case .float32: return measure(makeStep(model, Float.self, threads: threads), model, steps, repetitions, warmup)
        case .float64: return measure(makeStep(model, Double.self, threads: threads), model, steps, repetitions, warmup)
        }
    }

    static func measure<S: TensorScalar>(_ step: Step<S>, _ model: Model, _ steps: Int, _ repetitions: Int, _ warmup: Int) -> Row {
        for _ in 0..<warmup { step.run() }
        var times = [Double]()
        for _ in 0..<repetitions {
            times.append(Stopwatch.seconds { for _ in 0..<steps { step.run() } } / Double(steps))
        }
        times.sort()
        return Row(model: model, kind: S.kind, secondsPerStep: times[times.count / 2], flopsPerStep: step.graph.matmulFlops)
    }
}

