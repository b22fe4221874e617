import Autograd
import Base
import Formats
import Reductions
import Tensors
import Training
#if canImport(Glibc)
import Glibc
#endif

/// How a run holds its numbers: one format throughout (`pure`), or 16-bit compute with Float32 master weights and
/// Float32 optimizer state (`mixed`: gradients are cast up before unscaling, clipping and the update).
public struct PrecisionPolicy: Sendable, Equatable, CustomStringConvertible {
    public var compute: ScalarKind
    public var masterWeights: Bool
    /// The matmul accumulator (wide: Float32 for 16-bit inputs, as tensor cores; storage: the compute format).
    public var accumulator: MatmulAccumulator = .wide

    public init(compute: ScalarKind, masterWeights: Bool, accumulator: MatmulAccumulator = .wide) {
        self.compute = compute
        self.masterWeights = masterWeights
        self.accumulator = accumulator
    }

    /// "f64", "f32", "f16", "bf16" (pure) or "mixed-f16", "mixed-bf16".
    public init?(_ text: String) {
        let mixed = text.hasPrefix("mixed-")
        guard let kind = ScalarKind(rawValue: mixed ? String(text.dropFirst(6)) : text) else { return nil }
        if mixed && kind.format.bitWidth != 16 { return nil }
        self.init(compute: kind, masterWeights: mixed)
    }

    public var description: String { (masterWeights ? "mixed-" : "") + compute.rawValue }
    public static let names = ["f64", "f32", "f16", "bf16", "mixed-f16", "mixed-bf16"]
}

/// A fault injected at chosen steps of a run.
public struct Fault: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        /// The batch's inputs multiplied by `magnitude` (default 100); rare tokens for the token task.
        case spikeBatch = "spike-batch"
        /// Wrong targets: spirals' labels flipped, the adding problem's targets negated and multiplied by
        /// `magnitude` (default 10), the token task's inputs replaced by its rarest tokens.
        case corruptLabels = "corrupt-labels"
        /// One gradient element (the first of the first parameter) set to inf, or NaN, after backward.
        case gradientInf = "gradient-inf"
        case gradientNaN = "gradient-nan"
        /// The learning rate multiplied by `magnitude` (default 100) for the step.
        case learningRateSpike = "lr-spike"
        /// Inputs multiplied by `magnitude` (default 1e5): first-layer activations past Float16's 65504.
        case activationOverflow = "activation-overflow"

        public var defaultMagnitude: Double {
            switch self {
            case .spikeBatch, .learningRateSpike: return 100
            case .corruptLabels: return 10
            case .activationOverflow: return 1e5
            case .gradientInf, .gradientNaN: return 1
            }
        }
    }

    public var kind: Kind
    public var steps: [Int]
    public var magnitude: Double

    public init(_ kind: Kind, steps: [Int], magnitude: Double? = nil) {
        self.kind = kind
        self.steps = steps
        self.magnitude = magnitude ?? kind.defaultMagnitude
    }

    /// `KIND@STEP[,STEP...][xMAGNITUDE]`, e.g. `spike-batch@150,400x50`, `gradient-nan@90`.
    public init?(_ text: String) {
        let parts = text.split(separator: "@", maxSplits: 1).map(String.init)
        guard parts.count == 2, let kind = Kind(rawValue: parts[0]) else { return nil }
        let stepsAndMagnitude = parts[1].split(separator: "x", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let steps = stepsAndMagnitude[0].split(separator: ",").compactMap { Int($0) }
        guard !steps.isEmpty, steps.count == stepsAndMagnitude[0].split(separator: ",").count, steps.allSatisfy({ $0 >= 0 }) else { return nil }
        var magnitude: Double?
        if stepsAndMagnitude.count == 2 {
            guard let m = Double(stepsAndMagnitude[1]), m.isFinite, m > 0 else { return nil }
            magnitude = m
        }
        self.init(kind, steps: steps, magnitude: magnitude)
    }

    public var description: String {
        let m = magnitude == magnitude.rounded() && abs(magnitude) < 1e15 ? String(Int(magnitude)) : "\(magnitude)"
        return "\(kind.rawValue)@\(steps.map(String.init).joined(separator: ","))" + (magnitude == kind.defaultMagnitude ? "" : "x\(m)")
    }
}

/// What a batch fault does to the data of one step.
enum BatchFault: Equatable {
    case none
    case scaleInputs(Double)
    case corruptTargets(Double)
}

/// Everything a training run is made of; a run is reproducible from it bit for bit.
public struct TrainingConfiguration: Sendable, Equatable {
    public enum Task: String, Sendable, CaseIterable { case spirals, adding, zipf }
    public enum Model: String, Sendable, CaseIterable { case mlp, rnn, lstm, transformer }
    public enum OptimizerKind: String, Sendable, CaseIterable { case sgd, adam }

    public var task: Task = .spirals
    public var model: Model = .mlp
    public var policy = PrecisionPolicy(compute: .float32, masterWeights: false)
    /// nil: no loss scaling; else a dynamic scaler, or `staticScale`.
    public var scaler: LossScalerKind? = nil
    public var scalerOptions = LossScalerKind.Options()
    public var staticScale: Double? = nil
    public var overflowCheck = OverflowCheck.elementwise
    public var clip = ClipperConfiguration(method: .none)
    public var optimizer: OptimizerKind = .sgd
    public var learningRate = 0.05
    public var steps = 300
    public var seed: UInt64 = 1
    public var batch = 128
    /// Sequence length of the adding problem.
    public var length = 20
    public var threads = 1
    /// Multiplies the loss before backward (on top of any loss scale): < 1 makes gradients small, as a model
    /// whose gradients underflow Float16.
    public var lossMultiplier = 1.0
    public var faults: [Fault] = []
    /// The guard's skip-step without a loss scaler: skip the optimizer step when a gradient is inf or NaN. Off, a
    /// run without a scaler applies such a step, as a plain training loop does (scalers always skip, as their
    /// systems do).
    public var skipNonFinite = true

    public init() {}

    /// The faults of `kind` scheduled at `step`.
    func fault(_ kinds: [Fault.Kind], at step: Int) -> Fault? { faults.first { kinds.contains($0.kind) && $0.steps.contains(step) } }

    /// The model each task trains by default.
    public static func defaultModel(_ task: Task) -> Model {
        switch task {
        case .spirals: return .mlp
        case .adding: return .rnn
        case .zipf: return .transformer
        }
    }

    public var problem: String? {
        switch (task, model) {
        case (.spirals, .mlp), (.adding, .rnn), (.adding, .lstm), (.zipf, .transformer): break
        default: return "the \(task.rawValue) task trains \(task == .adding ? "rnn or lstm" : Self.defaultModel(task).rawValue), not \(model.rawValue)"
        }
        if steps < 1 { return "--steps must be at least 1" }
        if !(learningRate.isFinite && learningRate > 0) { return "--lr must be a finite number > 0" }
        if let s = staticScale, !(s.isFinite && s > 0) { return "--static-scale must be a finite number > 0" }
        if !(lossMultiplier.isFinite && lossMultiplier > 0) { return "--loss-multiplier must be a finite number > 0" }
        if batch < 1 || length < 2 { return "--batch must be >= 1 and --length >= 2" }
        if task == .zipf, faults.contains(where: { $0.kind == .activationOverflow }) {
            return "activation-overflow scales inputs, which the token task does not have (use spike-batch: rare tokens)"
        }
        return clip.problem
    }
}

/// One step's measurements (one line of the telemetry file).
public struct StepRecord: Sendable, Equatable {
    public var step: Int
    public var loss: Double
    public var scale: Double
    public var skipped: Bool
    public var clipCoefficient: Double?
    /// Whether the clipper changed any gradient element (element- and unit-wise clippers have no coefficient).
    public var clipped = false
    /// The clipping threshold in force (max_norm, or ZClip's and AutoClip's adaptive one).
    public var threshold: Double?
    /// The gradient norm as the clipping strategy computed it (unscaled gradients, before clipping), its format,
    /// the exact norm correctly rounded to Float64, and the error in ulps of the strategy's format.
    public var gradientNorm: Double
    public var gradientNormFormat: FloatFormat
    public var exactNorm: Double
    public var normErrorUlps: Double
    /// Fractions of the compute-format gradient elements (as they sit scaled, before unscaling) that are zero or
    /// subnormal.
    public var zeroFraction: Double
    public var subnormalFraction: Double
    /// log2(largest finite / max|scaled gradient|) in the compute format.
    public var headroom: Double
    /// Non-finite gradient elements per layer (only layers with any).
    public var overflowByLayer: [(layer: String, count: Int)]
    /// Where the first NaN/inf of the step came from, when there was one.
    public var nonFiniteOrigin: String?
    public var seconds: Double

    public var underflowFraction: Double { zeroFraction + subnormalFraction }

    public static func == (a: StepRecord, b: StepRecord) -> Bool {
        a.step == b.step && a.loss.bitPattern == b.loss.bitPattern && a.scale == b.scale && a.skipped == b.skipped
            && a.gradientNorm.bitPattern == b.gradientNorm.bitPattern && a.exactNorm.bitPattern == b.exactNorm.bitPattern
            && a.zeroFraction == b.zeroFraction && a.subnormalFraction == b.subnormalFraction
            && a.overflowByLayer.map(\.layer) == b.overflowByLayer.map(\.layer) && a.nonFiniteOrigin == b.nonFiniteOrigin
    }
}

/// What a finished run reports.
public struct TrainingSummary: Sendable {
    public var records: [StepRecord]
    public var finalLoss: Double
    /// Task metric: training accuracy (spirals), held-out MSE (adding), held-out loss (zipf).
    public var metric: (name: String, value: Double)
    /// The model's weights after the last step (master weights for mixed policies), flattened, as Doubles.
    public var finalWeights: [Double] = []
    public var skippedSteps: Int { records.filter(\.skipped).count }
    public var clippedSteps: Int { records.filter(\.clipped).count }
    public var firstNonFinite: (step: Int, origin: String)? {
        records.first { $0.nonFiniteOrigin != nil }.map { ($0.step, $0.nonFiniteOrigin!) }
    }
}

/// Trains a model by the configuration: scale → backward → (cast up) → unscale with found_inf → clip → step or
/// skip → scaler update, with the non-finite guard and per-step telemetry.
public enum TrainingRun {
    public static func run(_ c: TrainingConfiguration, telemetry: Bool = true, onStep: (StepRecord) -> Void = { _ in }) throws -> TrainingSummary {
        switch c.policy.compute {
        case .float16: return try Session<Float16>(c, telemetry: telemetry).run(onStep)
        case .bfloat16: return try Session<BFloat16>(c, telemetry: telemetry).run(onStep)
        case .float32: return try Session<Float>(c, telemetry: telemetry).run(onStep)
        case .float64: return try Session<Double>(c, telemetry: telemetry).run(onStep)
        }
    }
}

/// A model with its data: the loss of step k, and the task's metric.
struct Workload<S: TensorScalar> {
    let parameters: [Parameter<S>]
    let loss: (Graph<S>, Int, BatchFault) -> Var
    let metric: (Graph<S>) -> (name: String, value: Double)

    init(_ c: TrainingConfiguration) {
        var rng = SeededGenerator(seed: c.seed &+ 1)
        switch c.model {
        case .mlp:
            let data = TwoSpirals(pointsPerClass: 200, seed: c.seed)
            let mlp = MLP<S>(sizes: [2, 64, 64, 2], rng: &rng)
            let x = Tensor<S>(shape: [data.count, 2], rounding: data.inputs)
            let y = IndexTensor(shape: [data.count], data.labels)
            parameters = mlp.parameters
            let flipped = IndexTensor(shape: [data.count], data.labels.map { 1 - $0 })
            loss = { g, _, fault in
                switch fault {
                case .none: return g.crossEntropy(mlp(g, g.constant(x)), targets: y)
                case .scaleInputs(let k):
                    return g.crossEntropy(mlp(g, g.constant(Tensor<S>(shape: [data.count, 2], rounding: data.inputs.map { $0 * k }))), targets: y)
                case .corruptTargets: return g.crossEntropy(mlp(g, g.constant(x)), targets: flipped)
                }
            }
            metric = { g in
                g.reset()
                let logits = g.value(mlp(g, g.constant(x)))
                var correct = 0
                for i in 0..<data.count where (logits[i, 1].compute > logits[i, 0].compute ? 1 : 0) == data.labels[i] { correct += 1 }
                return ("accuracy", Double(correct) / Double(data.count))
            }
        case .rnn, .lstm:
            let rnn: RecurrentNetwork<S> = c.model == .rnn ? ElmanRNN<S>(input: 2, hidden: 64, output: 1, rng: &rng)
                                                           : LSTM<S>(input: 2, hidden: 64, output: 1, rng: &rng)
            let batch = c.batch, length = c.length, seed = c.seed
            parameters = rnn.parameters
            loss = { g, step, fault in
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
            metric = { g in
                let test = AddingProblem(sequences: 512, length: length, seed: seed &+ 99)
                g.reset()
                let prediction = rnn(g, g.constant(Tensor(shape: [512, length, 2], rounding: test.inputs)))
                return ("held-out MSE", meanSquaredError(g.value(prediction), Tensor(shape: [512, 1], rounding: test.targets)))
            }
        case .transformer:
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
            parameters = model.parameters
            loss = { g, step, fault in
                fill((step * batch) % 4096)
                if fault != .none {
                    // The rarest quarter of the vocabulary (Zipf ranks are token ids), drawn from the step.
                    var rare = SeededGenerator(seed: UInt64(step) &+ 7)
                    for i in 0..<(batch * context) { inputs[i] = vocabulary - 1 - Int(rare.next() % UInt64(vocabulary / 4)) }
                }
                return g.crossEntropy(g.reshape(model(g, tokens: inputs), [batch * context, vocabulary]), targets: targets)
            }
            metric = { g in
                fill(4096)
                g.reset()
                let l = g.crossEntropy(g.reshape(model(g, tokens: inputs), [batch * context, vocabulary]), targets: targets)
                return ("held-out loss (unigram \(String(language.unigramEntropy.description.prefix(5))))", g.scalar(l))
            }
        }
    }
}

final class Session<S: TensorScalar> {
    let c: TrainingConfiguration
    let telemetry: Bool
    let work: Workload<S>
    let graph: Graph<S>
    /// Float32 master copies (mixed policy).
    let masters: [Parameter<Float>]
    let optimizer: any Optimizer
    var amp: AmpGradScaler
    var clipper: any GradientClipper
    let layers: [String]

    init(_ c: TrainingConfiguration, telemetry: Bool) throws {
        if let problem = c.problem { throw TrainingRunError(description: problem) }
        self.c = c
        self.telemetry = telemetry
        work = Workload<S>(c)
        graph = Graph<S>(accumulator: c.policy.accumulator, threads: c.threads)
        masters = c.policy.masterWeights
            ? work.parameters.map { p in Parameter<Float>(p.name, Tensor(shape: p.shape, (0..<p.value.count).map { Float(p.value[flat: $0].compute) })) }
            : []
        switch (c.optimizer, c.policy.masterWeights) {
        case (.sgd, true): optimizer = SGD<Float, Float>(masters, learningRate: c.learningRate, momentum: 0.9)
        case (.adam, true): optimizer = Adam<Float, Float>(masters, learningRate: c.learningRate)
        case (.sgd, false): optimizer = SGD<S, S>(work.parameters, learningRate: c.learningRate, momentum: 0.9)
        case (.adam, false): optimizer = Adam<S, S>(work.parameters, learningRate: c.learningRate)
        }
        let scaler: any LossScaler
        if let kind = c.scaler { scaler = try kind.make(c.scalerOptions) } else if let s = c.staticScale { scaler = StaticLossScaler(scale: s) } else { scaler = NoLossScaler() }
        amp = AmpGradScaler(scaler, check: c.overflowCheck)
        clipper = c.clip.make()
        layers = work.parameters.map { p in p.name.lastIndex(of: ".").map { String(p.name[..<$0]) } ?? p.name }
    }

    /// The gradients the scaler, the clipper and the optimizer see: the master gradients (mixed) or the model's.
    var gradients: [GradientTensor] { masters.isEmpty ? work.parameters.map { GradientTensor($0) } : masters.map { GradientTensor($0) } }

    func run(_ onStep: (StepRecord) -> Void) throws -> TrainingSummary {
        var records = [StepRecord]()
        var lastLoss = Double.nan
        var events = ConversionEvents()
        for step in 0..<c.steps {
            let started = ContinuousClock.now
            if !masters.isEmpty {
                for (p, m) in zip(work.parameters, masters) { convert(m.value, into: p.value, events: &events) }
            }
            for p in work.parameters { p.zeroGrad() }
            graph.reset()
            var batchFault = BatchFault.none
            if let f = c.fault([.spikeBatch, .activationOverflow], at: step) { batchFault = .scaleInputs(f.magnitude) }
            if let f = c.fault([.corruptLabels], at: step) { batchFault = .corruptTargets(f.magnitude) }
            let loss = work.loss(graph, step, batchFault)
            lastLoss = graph.scalar(loss)
            let scale = amp.scale
            graph.backward(loss, seed: scale * c.lossMultiplier)
            if let f = c.fault([.gradientInf, .gradientNaN], at: step), let p = work.parameters.first {
                p.grad[flat: 0] = S(rounding: f.kind == .gradientInf ? .infinity : .nan, saturating: false)
            }
            let stats = telemetry ? ComputeGradientStats(work.parameters, layers: layers) : nil
            if !masters.isEmpty {
                for (p, m) in zip(work.parameters, masters) { convert(p.grad, into: m.grad, events: &events) }
            }
            let grads = gradients
            try amp.unscale(grads, allowFloat16: c.scaler != .torch)
            var origin: String?
            if amp.foundInf || !lastLoss.isFinite { origin = graph.firstNonFinite()?.description }
            if c.lossMultiplier != 1 { TorchClipping.multiply(grads, by: 1 / c.lossMultiplier) }
            let exact = telemetry ? FastExactNorm.norm(of: grads.map(\.floatBuffer), order: .two).value : .nan
            let outcome: ClipOutcome
            do { outcome = try clipper.clip(grads, parameters: masters.isEmpty ? work.parameters.map { GradientTensor(valueOf: $0) } : masters.map { GradientTensor(valueOf: $0) }) } catch let e as NonFiniteNormError {
                throw TrainingRunError(description: "step \(step): \(e)")
            }
            let learningRate = optimizer.learningRate
            if let f = c.fault([.learningRateSpike], at: step) { optimizer.learningRate = learningRate * f.magnitude }
            var skipped = try amp.step(grads) { optimizer.step() }
            if skipped, !c.skipNonFinite, c.scaler == nil, c.staticScale == nil {
                optimizer.step()
                skipped = false
            }
            optimizer.learningRate = learningRate
            do { try amp.update() } catch let e as LossScalerError {
                throw TrainingRunError(description: "step \(step): \(e.description)\(origin.map { " (first inf/NaN: \($0))" } ?? "")")
            }
            let ulps: Double
            if exact.isFinite && outcome.norm.isFinite && exact > 0 {
                ulps = (outcome.norm - exact) / outcome.normFormat.ulp(of: exact)
            } else {
                ulps = outcome.norm == exact || (outcome.norm.isNaN && exact.isNaN) ? 0 : .infinity
            }
            let record = StepRecord(step: step, loss: lastLoss, scale: scale, skipped: skipped, clipCoefficient: outcome.coefficient, clipped: outcome.clipped && !skipped, threshold: outcome.threshold,
                                    gradientNorm: outcome.norm, gradientNormFormat: outcome.normFormat, exactNorm: exact, normErrorUlps: ulps,
                                    zeroFraction: stats?.zeroFraction ?? .nan, subnormalFraction: stats?.subnormalFraction ?? .nan,
                                    headroom: stats?.headroom ?? .nan, overflowByLayer: stats?.overflowByLayer ?? [],
                                    nonFiniteOrigin: origin, seconds: (ContinuousClock.now - started).inSeconds)
            records.append(record)
            onStep(record)
        }
        if !masters.isEmpty {
            for (p, m) in zip(work.parameters, masters) { convert(m.value, into: p.value, events: &events) }
        }
        var weights = [Double]()
        if masters.isEmpty {
            for p in work.parameters { for i in 0..<p.value.count { weights.append(Double(p.value[flat: i].compute)) } }
        } else {
            for m in masters { for i in 0..<m.value.count { weights.append(Double(m.value[flat: i])) } }
        }
        return TrainingSummary(records: records, finalLoss: lastLoss, metric: work.metric(graph), finalWeights: weights)
    }

}

public struct TrainingRunError: Error, CustomStringConvertible {
    public var description: String
}

/// Zero, subnormal and non-finite counts of the gradients in their compute format, and the headroom.
struct ComputeGradientStats {
    var zeroFraction = 0.0, subnormalFraction = 0.0, headroom = Double.infinity
    var overflowByLayer: [(layer: String, count: Int)] = []

    init<S: TensorScalar>(_ parameters: [Parameter<S>], layers: [String]) {
        var zeros = 0, subnormals = 0, total = 0
        var largest: S.Compute = 0
        for (k, p) in parameters.enumerated() {
            let g = p.grad
            var nonFinite = 0
            for i in 0..<g.count {
                let v = g[flat: i]
                if v == 0 { zeros += 1 } else if v.isSubnormal { subnormals += 1 } else if !v.isFinite { nonFinite += 1; continue }
                largest = max(largest, v.compute.magnitude)
            }
            total += g.count
            if nonFinite > 0 {
                if let j = overflowByLayer.firstIndex(where: { $0.layer == layers[k] }) { overflowByLayer[j].count += nonFinite } else { overflowByLayer.append((layers[k], nonFinite)) }
            }
        }
        zeroFraction = Double(zeros) / Double(max(total, 1))
        subnormalFraction = Double(subnormals) / Double(max(total, 1))
        headroom = largest > 0 ? log2(S.format.largestFinite / Double(largest)) : .infinity
    }
}
