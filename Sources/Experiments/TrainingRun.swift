import Autograd
import Base
import Formats
import Reductions
import Results
import Tensors
import Training
#if canImport(Glibc)
import Glibc
#endif

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
    public typealias OptimizerKind = Training.OptimizerKind

    public var task: Task = .spirals
    public var model: Model = .mlp
    public var policy = PrecisionPolicy(compute: .float32, masterWeights: false)
    public var scaler = LossScalerChoice.none
    /// The options of a dynamic scaler.
    public var scalerOptions = LossScalerKind.Options()
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
        if steps < 1 { return "steps must be at least 1" }
        if policy.masterWeights && policy.accumulator == .storage {
            return "the mixed policies run products as torch.autocast does, accumulating in Float32 (the storage accumulator needs a pure policy)"
        }
        if !(learningRate.isFinite && learningRate > 0) { return "lr must be a finite number > 0 (got \(learningRate))" }
        if let s = scaler.fixedScale, !(s.isFinite && s > 0) { return "the static scale must be a finite number > 0 (got \(s))" }
        if !(lossMultiplier.isFinite && lossMultiplier > 0) { return "loss_multiplier must be a finite number > 0 (got \(lossMultiplier))" }
        if batch < 1 { return "batch must be at least 1 (got \(batch))" }
        if length < 2 { return "length must be at least 2 (got \(length))" }
        if let problem = memoryProblem { return problem }
        if task == .zipf, faults.contains(where: { $0.kind == .activationOverflow }) {
            return "activation-overflow scales inputs, which the token task does not have (use spike-batch: rare tokens)"
        }
        return clip.problem
    }
}

extension TrainingConfiguration {
    /// An upper estimate of a run's memory, before anything is allocated: the recurrent models keep every time step's
    /// activations and gradients on the tape (about 16 hidden-sized Doubles per sequence and step, with the training
    /// batch and the 512 held-out sequences); nil when the product overflows. The other tasks' sizes are fixed.
    var estimatedBytes: Int? {
        guard task == .adding else { return 1 << 30 }
        let perStep = 16 * 64 * 8 + 4 * 8
        let (sequences, o1) = batch.addingReportingOverflow(512)
        let (steps, o2) = sequences.multipliedReportingOverflow(by: length)
        let (bytes, o3) = steps.multipliedReportingOverflow(by: perStep)
        return o1 || o2 || o3 ? nil : bytes
    }

    /// Half the machine's physical memory.
    static var memoryBudget: Int {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), size = sysconf(Int32(_SC_PAGESIZE))
        return pages > 0 && size > 0 ? pages * size / 2 : Int.max
    }

    /// The sizes of the run cannot fit in memory: the settings and what they would need.
    var memoryProblem: String? {
        let budget = Self.memoryBudget
        let gib = { (bytes: Int) in Figures.figure(Double(bytes) / Double(1 << 30)) }
        guard let bytes = estimatedBytes else {
            return "batch \(batch) × length \(length) is too large to hold in memory (more than \(Int.max) bytes); this machine allows \(gib(budget)) GiB"
        }
        guard bytes > budget else { return nil }
        return "batch \(batch) × length \(length) needs about \(gib(bytes)) GiB, more than the \(gib(budget)) GiB (half this machine's memory) a run may use"
    }
}

/// Trains a model by the configuration: scale → backward → (cast up) → unscale with found_inf → clip → step or
/// skip → scaler update, with the non-finite guard and per-step telemetry.
public enum TrainingRun {
    public static func run(_ c: TrainingConfiguration, telemetry: Bool = true, onStep: (StepRecord) -> Void = { _ in }) throws -> TrainingSummary {
        // A mixed policy is torch.autocast: a Float32 graph whose products run in the 16-bit format.
        if c.policy.masterWeights { return try Session<Float>(c, telemetry: telemetry).run(onStep) }
        switch c.policy.compute {
        case .float16: return try Session<Float16>(c, telemetry: telemetry).run(onStep)
        case .bfloat16: return try Session<BFloat16>(c, telemetry: telemetry).run(onStep)
        case .float32: return try Session<Float>(c, telemetry: telemetry).run(onStep)
        case .float64: return try Session<Double>(c, telemetry: telemetry).run(onStep)
        }
    }
}

/// A run: the configuration's workload fed to the training loop step by step, with its faults.
struct Session<S: TensorScalar> {
    let c: TrainingConfiguration
    let work: Workload<S>
    let graph: Graph<S>
    let loop: TrainingLoop<S>

    init(_ c: TrainingConfiguration, telemetry: Bool) throws {
        if let problem = c.problem { throw TrainingRunError(description: problem) }
        self.c = c
        work = Workload<S>(c)
        graph = Graph<S>(accumulator: c.policy.accumulator, threads: c.threads)
        if c.policy.masterWeights { graph.autocast = c.policy.compute }
        let scaler = try c.scaler.make(c.scalerOptions)
        let settings = LoopSettings(policy: c.policy, optimizer: c.optimizer, learningRate: c.learningRate, scaler: scaler, overflowCheck: c.overflowCheck,
                                    clipper: c.clip.make(), lossMultiplier: c.lossMultiplier,
                                    appliesNonFiniteSteps: !c.skipNonFinite && c.scaler == .none,
                                    refusesFloat16Gradients: c.scaler == .dynamic(.torch), telemetry: telemetry ? ExactTelemetry() : nil)
        loop = TrainingLoop(parameters: work.parameters, graph: graph, settings: settings)
    }

    /// Step k's input: its batch (or the fault's bad batch), an injected inf/NaN gradient, a learning-rate spike.
    func input(_ step: Int) -> StepInput<S> {
        var batchFault = BatchFault.none
        if let f = c.fault([.spikeBatch, .activationOverflow], at: step) { batchFault = .scaleInputs(f.magnitude) }
        if let f = c.fault([.corruptLabels], at: step) { batchFault = .corruptTargets(f.magnitude) }
        let injected = c.fault([.gradientInf, .gradientNaN], at: step).map { $0.kind == .gradientInf ? Double.infinity : .nan }
        let loss = work.loss
        return StepInput(loss: { g in loss(g, step, batchFault) }, injectedGradient: injected,
                         learningRateFactor: c.fault([.learningRateSpike], at: step)?.magnitude ?? 1)
    }

    func run(_ onStep: (StepRecord) -> Void) throws -> TrainingSummary {
        var records = [StepRecord](), seconds = [Double]()
        for step in 0..<c.steps {
            let started = ContinuousClock.now
            let record = try loop.step(step, input(step))
            seconds.append((ContinuousClock.now - started).inSeconds)
            records.append(record)
            onStep(record)
        }
        let weights = loop.finalWeights()
        return TrainingSummary(records: records, stepSeconds: seconds, finalLoss: records.last?.loss ?? .nan, metric: work.metric(graph), finalWeights: weights)
    }
}

/// The telemetry's exact norm (FastExactNorm, correctly rounded to Float64) and its distance in ulps.
struct ExactTelemetry: StepTelemetry {
    func exactNorm(of gradients: [FloatBuffer]) -> Double { FastExactNorm.norm(of: gradients, order: .two).value }

    func ulps(_ value: Double, from exact: Double, in format: FloatFormat) -> Double { UlpDistance.error(value, from: exact, in: format) }
}
