import Autograd
import Base
import Formats
import Tensors

/// What the loop measures with tools it does not own (they live above Training): the exact norm of the
/// gradients and the distance of the clipper's norm from it, in ulps of the clipper's format.
public protocol StepTelemetry {
    func exactNorm(of gradients: [FloatBuffer]) -> Double
    func ulps(_ value: Double, from exact: Double, in format: FloatFormat) -> Double
}

/// The settings of the loop itself; the model, its data and its faults come from outside.
public struct LoopSettings {
    public var policy: PrecisionPolicy
    public var optimizer: OptimizerKind
    public var learningRate: Double
    public var scaler: any LossScaler
    public var overflowCheck: OverflowCheck
    public var clipper: any GradientClipper
    /// Multiplies the loss before backward (on top of any loss scale); the gradients are divided by it again
    /// after unscaling.
    public var lossMultiplier: Double
    /// Apply an optimizer step whose gradients hold an inf or NaN (a plain loop without a scaler and without the
    /// guard does); otherwise such a step is skipped.
    public var appliesNonFiniteSteps: Bool
    /// Unscaling refuses Float16 gradients, as torch.amp.GradScaler does.
    public var refusesFloat16Gradients: Bool
    /// Per-step telemetry (exact norm, underflow, headroom); nil records none of it (NaN in its fields).
    public var telemetry: (any StepTelemetry)?

    public init(policy: PrecisionPolicy, optimizer: OptimizerKind, learningRate: Double, scaler: any LossScaler, overflowCheck: OverflowCheck,
                clipper: any GradientClipper, lossMultiplier: Double, appliesNonFiniteSteps: Bool, refusesFloat16Gradients: Bool,
                telemetry: (any StepTelemetry)?) {
        self.policy = policy
        self.optimizer = optimizer
        self.learningRate = learningRate
        self.scaler = scaler
        self.overflowCheck = overflowCheck
        self.clipper = clipper
        self.lossMultiplier = lossMultiplier
        self.appliesNonFiniteSteps = appliesNonFiniteSteps
        self.refusesFloat16Gradients = refusesFloat16Gradients
        self.telemetry = telemetry
    }
}

/// What one step is fed from outside the loop: the loss of its batch, and the faults that act on the step.
public struct StepInput<S: TensorScalar> {
    public var loss: (Graph<S>) -> Var
    /// Written into the first gradient element after backward (an injected inf or NaN gradient).
    public var injectedGradient: Double?
    /// Multiplies the learning rate for this step only (a learning-rate spike).
    public var learningRateFactor: Double

    public init(loss: @escaping (Graph<S>) -> Var, injectedGradient: Double? = nil, learningRateFactor: Double = 1) {
        self.loss = loss
        self.injectedGradient = injectedGradient
        self.learningRateFactor = learningRateFactor
    }
}

public struct TrainingRunError: Error, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}

/// One training step as named phases: forward → backward (scaled) → unscale and overflow check (cast up to the
/// master gradients first) → clip → optimizer step or skip → scaler update → telemetry record.
public final class TrainingLoop<S: TensorScalar> {
    let parameters: [Parameter<S>]
    let graph: Graph<S>
    let settings: LoopSettings
    /// Float32 master copies (mixed policy).
    let masters: [Parameter<Float>]
    let optimizer: any Optimizer
    var amp: AmpGradScaler
    var clipper: any GradientClipper
    let layers: [String]
    var events = ConversionEvents()

    public init(parameters: [Parameter<S>], graph: Graph<S>, settings: LoopSettings) {
        self.parameters = parameters
        self.graph = graph
        self.settings = settings
        // Under autocast the parameters are the Float32 master weights themselves.
        let masters = settings.policy.masterWeights && graph.autocast == nil
            ? parameters.map { p in Parameter<Float>(p.name, Tensor(shape: p.shape, (0..<p.value.count).map { Float(p.value[flat: $0].compute) })) }
            : []
        self.masters = masters
        let lr = settings.learningRate
        switch (settings.optimizer, !masters.isEmpty) {
        case (.sgd, true): optimizer = SGD<Float, Float>(masters, learningRate: lr, momentum: 0.9)
        case (.adam, true): optimizer = Adam<Float, Float>(masters, learningRate: lr)
        case (.sgd, false): optimizer = SGD<S, S>(parameters, learningRate: lr, momentum: 0.9)
        case (.adam, false): optimizer = Adam<S, S>(parameters, learningRate: lr)
        }
        amp = AmpGradScaler(settings.scaler, check: settings.overflowCheck)
        clipper = settings.clipper
        layers = parameters.map { p in p.name.lastIndex(of: ".").map { String(p.name[..<$0]) } ?? p.name }
    }

    /// The gradients the scaler, the clipper and the optimizer see: the master gradients (mixed) or the model's.
    var gradients: [GradientTensor] { masters.isEmpty ? parameters.map { GradientTensor($0) } : masters.map { GradientTensor($0) } }
    var weights: [GradientTensor] { masters.isEmpty ? parameters.map { GradientTensor(valueOf: $0) } : masters.map { GradientTensor(valueOf: $0) } }

    /// Runs step `step` and returns what it measured.
    public func step(_ step: Int, _ input: StepInput<S>) throws -> StepRecord {
        let (loss, lossValue) = forward(input.loss)
        let scale = amp.scale
        backward(loss, scale: scale, injecting: input.injectedGradient)
        // Cheap (one pass over the gradients), so kept for runs without telemetry too: references need their zeros.
        let stats = GradientStats(parameters, layers: layers, format: settings.policy.compute.format)
        let (grads, origin) = try unscaleAndCheck(lossValue: lossValue)
        let (outcome, exact) = try clip(grads, step: step)
        let gradientsFinite = !amp.foundInf   // read before the update resets it
        let skipped = try stepOrSkip(grads, learningRateFactor: input.learningRateFactor)
        try updateScaler(step: step, origin: origin)
        let ulps = settings.telemetry?.ulps(outcome.norm, from: exact, in: outcome.normFormat) ?? .nan
        return StepRecord(step: step, loss: lossValue, scale: scale, skipped: skipped, clipCoefficient: outcome.coefficient,
                          clipped: outcome.clipped && !skipped && gradientsFinite, threshold: outcome.threshold,
                          gradientNorm: outcome.norm, gradientNormFormat: outcome.normFormat, exactNorm: exact, normErrorUlps: ulps,
                          zeroFraction: stats.zeroFraction, subnormalFraction: stats.subnormalFraction, subnormalBitsLost: stats.subnormalBitsLost,
                          headroom: stats.headroom, overflowByLayer: stats.overflowByLayer, nonFiniteOrigin: origin)
    }

    /// The model's weights from the masters (mixed), fresh gradients and tape, and the loss of the batch.
    func forward(_ loss: (Graph<S>) -> Var) -> (Var, Double) {
        syncWeights()
        for p in parameters { p.zeroGrad() }
        graph.reset()
        let l = loss(graph)
        return (l, graph.scalar(l))
    }

    /// Backward from loss × scale × the loss multiplier; an injected gradient fault lands in the first element.
    func backward(_ loss: Var, scale: Double, injecting value: Double?) {
        graph.backward(loss, seed: scale * settings.lossMultiplier)
        if let value, let p = parameters.first { p.grad[flat: 0] = S(rounding: value, saturating: false) }
    }

    /// Casts the gradients up to the masters (mixed), unscales them with GradScaler's found_inf check and divides
    /// out the loss multiplier; names the first inf/NaN of the step when there was one.
    func unscaleAndCheck(lossValue: Double) throws -> (gradients: [GradientTensor], origin: String?) {
        if !masters.isEmpty {
            for (p, m) in zip(parameters, masters) { convert(p.grad, into: m.grad, events: &events) }
        }
        let grads = gradients
        try amp.unscale(grads, allowFloat16: !settings.refusesFloat16Gradients)
        let origin = amp.foundInf || !lossValue.isFinite ? graph.firstNonFinite()?.description : nil
        if settings.lossMultiplier != 1 { TorchClipping.multiply(grads, by: 1 / settings.lossMultiplier) }
        return (grads, origin)
    }

    /// The clipper on the unscaled gradients, and the exact norm it is measured against (telemetry).
    func clip(_ grads: [GradientTensor], step: Int) throws -> (ClipOutcome, exact: Double) {
        let exact = settings.telemetry?.exactNorm(of: grads.map(\.floatBuffer)) ?? .nan
        do { return (try clipper.clip(grads, parameters: weights), exact) } catch let e as NonFiniteNormError {
            throw TrainingRunError(description: "step \(step): \(e)")
        }
    }

    /// The optimizer step, or the scaler's skip of a step with inf/NaN gradients (applied anyway when the settings
    /// say a plain loop would). Returns whether the step was skipped.
    func stepOrSkip(_ grads: [GradientTensor], learningRateFactor: Double) throws -> Bool {
        let learningRate = optimizer.learningRate
        optimizer.learningRate = learningRate * learningRateFactor
        defer { optimizer.learningRate = learningRate }
        var skipped = try amp.step(grads) { optimizer.step() }
        if skipped, settings.appliesNonFiniteSteps {
            optimizer.step()
            skipped = false
        }
        return skipped
    }

    /// The loss scaler's update from the step's found_inf.
    func updateScaler(step: Int, origin: String?) throws {
        do { try amp.update() } catch let e as LossScalerError {
            throw TrainingRunError(description: "step \(step): \(e.description)\(origin.map { " (first inf/NaN: \($0))" } ?? "")")
        }
    }

    /// The model's weights from the Float32 masters (mixed policy; nothing to do for a pure one).
    func syncWeights() {
        for (p, m) in zip(parameters, masters) { convert(m.value, into: p.value, events: &events) }
    }

    /// The weights after the last step (master weights for mixed policies), flattened, as Doubles; the model's
    /// weights are synced from the masters first.
    public func finalWeights() -> [Double] {
        syncWeights()
        var weights = [Double]()
        if masters.isEmpty {
            for p in parameters { for i in 0..<p.value.count { weights.append(Double(p.value[flat: i].compute)) } }
        } else {
            for m in masters { for i in 0..<m.value.count { weights.append(Double(m.value[flat: i])) } }
        }
        return weights
    }
}
