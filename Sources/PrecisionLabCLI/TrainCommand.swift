import ArgumentParser
import Foundation
import PrecisionLab

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model under a precision policy, a loss scaler and a clipper, with per-step telemetry.",
        discussion: """
        Each step: loss × scale → backward → (mixed: gradients cast to the Float32 masters) → unscale with the \
        overflow check (found_inf) → clip → optimizer step, or skip when found_inf → scaler update. When a NaN or \
        inf appears, the step's ops are scanned to name the op and layer where it first appeared.

        Tasks and models: spirals (mlp), adding (rnn or lstm; --length), zipf (transformer).
        Policies: f64, f32, f16, bf16 (one format throughout), mixed-f16, mixed-bf16 (Float32 master weights and \
        optimizer state). --scaler torch refuses pure f16 (torch's "Attempting to unscale FP16 gradients."); the \
        other scalers unscale Float16 gradients in place, as DeepSpeed and Megatron do.

        --telemetry writes one JSON object per step (JSON Lines): step, loss, scale, skipped, clip_coef, grad_norm \
        (as the clipper computed it) and its format, exact_norm (correctly rounded), norm_error_ulps, \
        zero_fraction and subnormal_fraction of the scaled compute-format gradients, underflow_fraction (their sum), \
        headroom_log2, overflow_by_layer, nonfinite_origin, time_ms.
        """
    )

    @Option(help: "spirals, adding or zipf.") var task: String = "spirals"
    @Option(help: "mlp, rnn, lstm or transformer (default: the task's).") var model: String?
    @Option(help: "f64, f32, f16, bf16, mixed-f16 or mixed-bf16.") var policy: String = "f32"
    @Option(help: "Matmul accumulator: wide (Float32 for 16-bit) or storage.") var accumulate: String = "wide"
    @Option(help: "none, static (at --static-scale), static:SCALE, torch, deepspeed, megatron, apex, jmp or amax.") var scaler: String = "none"
    @Option(help: "The scale of --scaler static (1024 when not given).") var staticScale: Double?
    @OptionGroup var scalerOptions: ScalerOptions
    @Option(help: "elementwise (any inf/NaN) or deepspeed-fp32-sum (DeepSpeed's check, false alarms included).")
    var overflowCheck: String = "elementwise"
    @Option(help: "The clipper: none, global-norm, value, per-tensor, agc, block-rms, zclip or autoclip.") var clip: String = "none"
    @OptionGroup var clipper: ClipperOptions
    @Option(help: "sgd (momentum 0.9) or adam.") var optimizer: String = "sgd"
    @Option(help: "Learning rate.") var lr: Double = 0.05
    @Option(help: "Steps.") var steps: Int = 300
    @Option(help: "Seed of data and initialisation.") var seed: UInt64 = 1
    @Option(help: "Batch size (adding, zipf).") var batch: Int = 128
    @Option(help: "Sequence length of the adding problem.") var length: Int = 20
    @Option(help: "Threads of the engine.") var threads: Int = 1
    @Option(help: "Multiplies the loss before backward (undone before clipping): below 1, gradients that underflow Float16.")
    var lossMultiplier: Double = 1
    @Option(help: "A fault, KIND@STEP[,STEP...][xMAGNITUDE] (repeatable): spike-batch, corrupt-labels, gradient-inf, gradient-nan, lr-spike, activation-overflow.")
    var fault: [String] = []
    @Flag(inversion: .prefixedNo, help: "Without a loss scaler, skip the optimizer step when a gradient is inf or NaN (the guard); --no-skip-nonfinite applies it, as a plain training loop does.")
    var skipNonfinite = true
    @Option(help: "Write per-step telemetry (JSON Lines) here.") var telemetry: String?
    @Flag(help: "Print the summary as one JSON document.") var json = false

    func configuration() throws -> TrainingConfiguration {
        var c = TrainingConfiguration()
        guard let task = TrainingConfiguration.Task(rawValue: task) else { throw ValidationError("--task must be spirals, adding or zipf") }
        c.task = task
        if let model {
            guard let m = TrainingConfiguration.Model(rawValue: model) else { throw ValidationError("--model must be mlp, rnn, lstm or transformer") }
            c.model = m
        } else {
            c.model = TrainingConfiguration.defaultModel(task)
        }
        guard var policy = PrecisionPolicy(policy) else { throw ValidationError("--policy must be one of \(PrecisionPolicy.names.joined(separator: ", "))") }
        guard let accumulator = MatmulAccumulator(rawValue: accumulate) else { throw ValidationError("--accumulate must be wide or storage") }
        policy.accumulator = accumulator
        c.policy = policy
        if staticScale != nil && scaler != "static" { throw ValidationError("--static-scale goes with --scaler static (--scaler \(scaler) was given)") }
        guard let choice = scaler == "static" ? LossScalerChoice.fixed(staticScale ?? 1024) : LossScalerChoice(scaler) else {
            throw ValidationError("--scaler must be one of \(LossScalerChoice.syntax), or static with --static-scale")
        }
        c.scaler = choice
        if let kind = choice.kind {
            c.scalerOptions = scalerOptions.options
            do { _ = try kind.make(c.scalerOptions) } catch { throw ValidationError("\(error)") }
        }
        guard let check = OverflowCheck(rawValue: overflowCheck) else { throw ValidationError("--overflow-check must be elementwise or deepspeed-fp32-sum") }
        c.overflowCheck = check
        c.skipNonFinite = skipNonfinite
        c.clip = try clipper.configuration(method: clip, allowed: ClipMethod.allCases, threads: 1)
        guard let optimizerKind = TrainingConfiguration.OptimizerKind(rawValue: optimizer) else { throw ValidationError("--optimizer must be sgd or adam") }
        c.optimizer = optimizerKind
        c.learningRate = lr
        c.steps = steps
        c.seed = seed
        c.batch = batch
        c.length = length
        c.threads = threads
        c.lossMultiplier = lossMultiplier
        c.faults = try fault.map { text in
            guard let f = Fault(text) else {
                throw ValidationError("--fault '\(text)' is not \(Fault.syntax)")
            }
            return f
        }
        if let problem = c.problem { throw ValidationError(problem) }
        return c
    }

    func validate() throws {
        try Vocabulary.checkThreads(threads)
        _ = try configuration()
        clipper.warnAboutOldSpellings()
        if let telemetry { try checkOutputPath(telemetry) }
    }

    func run() throws {
        let c = try configuration()
        let summary: TrainingSummary
        do {
            summary = try TrainingRun.run(c) { r in
                if r.step % 10 == 0 || r.step == c.steps - 1 {
                    Terminal.progress("step \(r.step + 1)/\(c.steps)  loss \(TrainText.short(r.loss))  scale \(TrainText.short(r.scale))  ‖g‖ \(TrainText.short(r.gradientNorm))")
                }
            }
        } catch let e as GradScalerError {
            Terminal.endProgress()
            throw ValidationError("\(e.description) (use a mixed-f16 policy, or a scaler that unscales Float16 gradients)")
        } catch let e as TrainingRunError {
            Terminal.endProgress()
            throw CheckFailed(description: e.description)
        }
        Terminal.endProgress()
        if let telemetry {
            try AtomicFile.writeText(path: telemetry, contents: zip(summary.records, summary.stepSeconds).map { TrainText.jsonLine($0, seconds: $1) }.joined())
        }
        print(json ? TrainText.summaryJSON(c, summary) : TrainText.summary(c, summary))
    }
}

enum TrainText {
    static func short(_ x: Double) -> String { Figures.significant(x, 6) }

    static func record(_ r: StepRecord, seconds: Double) -> JSONValue {
        .object([
            ("step", .integer(r.step)), ("loss", .double(r.loss)), ("scale", .double(r.scale)), ("skipped", .bool(r.skipped)),
            ("clip_coef", r.clipCoefficient.map(JSONValue.double) ?? .null),
            ("grad_norm", .double(r.gradientNorm)), ("grad_norm_format", .string(r.gradientNormFormat.name)),
            ("exact_norm", .double(r.exactNorm)), ("norm_error_ulps", .double(r.normErrorUlps)),
            ("zero_fraction", .double(r.zeroFraction)), ("subnormal_fraction", .double(r.subnormalFraction)),
            ("underflow_fraction", .double(r.underflowFraction)), ("subnormal_bits_lost", .double(r.subnormalBitsLost)), ("headroom_log2", .double(r.headroom)),
            ("overflow_by_layer", .object(r.overflowByLayer.map { ($0.layer, JSONValue.integer($0.count)) })),
            ("nonfinite_origin", r.nonFiniteOrigin.map(JSONValue.string) ?? .null),
            ("time_ms", .double((seconds * 1e6).rounded() / 1e3)),
        ])
    }

    static func jsonLine(_ r: StepRecord, seconds: Double) -> String { record(r, seconds: seconds).compactText + "\n" }


    static func summaryJSON(_ c: TrainingConfiguration, _ s: TrainingSummary) -> String {
        JSONValue.object([
            ("task", .string(c.task.rawValue)), ("model", .string(c.model.rawValue)), ("policy", .string(c.policy.description)),
            ("steps", .integer(c.steps)), ("final_loss", .double(s.finalLoss)), ("metric", .string(s.metric.name)),
            ("metric_value", .double(s.metric.value)), ("skipped_steps", .integer(s.skippedSteps)), ("clipped_steps", .integer(s.clippedSteps)),
            ("final_scale", .double(s.records.last?.scale ?? 1)),
            ("mean_underflow_fraction", .double(s.records.map(\.underflowFraction).mean)),
            ("max_grad_norm", .double(s.records.map(\.exactNorm).filter(\.isFinite).max() ?? .nan)),
            ("first_nonfinite", s.firstNonFinite.map { .string("step \($0.step): \($0.origin)") } ?? .null),
        ]).prettyText()
    }

    static func summary(_ c: TrainingConfiguration, _ s: TrainingSummary) -> String {
        let scalerName = c.scaler.fixedScale.map { "static \(short($0))" } ?? c.scaler.description
        let faults = c.faults.isEmpty ? "" : ", faults \(c.faults.map(\.description).joined(separator: " "))"
        var lines = ["\(c.task.rawValue) / \(c.model.rawValue), policy \(c.policy) (matmul accumulator \(c.policy.accumulator.rawValue)), "
                     + "scaler \(scalerName), clip \(c.clip.method.rawValue), \(c.optimizer.rawValue) lr \(short(c.learningRate)), \(c.steps) steps, seed \(c.seed)\(faults)"]
        lines.append("final loss \(short(s.finalLoss)); \(s.metric.name) \(short(s.metric.value))")
        let n = Double(max(s.records.count, 1))
        lines.append("skipped steps \(s.skippedSteps) (\(short(100 * Double(s.skippedSteps) / n))%); clipped steps \(s.clippedSteps) (\(short(100 * Double(s.clippedSteps) / n))%)")
        lines.append("loss scale: first \(short(s.records.first?.scale ?? 1)), last \(short(s.records.last?.scale ?? 1))")
        let first = s.records.prefix(max(1, s.records.count / 10)), last = s.records.suffix(max(1, s.records.count / 10))
        lines.append("gradient elements zero or subnormal in \(c.policy.compute.rawValue): first tenth \(short(100 * first.map(\.underflowFraction).mean))%, "
                     + "last tenth \(short(100 * last.map(\.underflowFraction).mean))%")
        let largest = "largest exact gradient norm \(short(s.records.map(\.exactNorm).filter(\.isFinite).max() ?? .nan))"
        if c.clip.method == .none {
            lines.append(largest)
        } else {
            let errors = s.records.map(\.normErrorUlps).filter(\.isFinite).map(abs)
            lines.append("clip norm vs exact: max error \(short(errors.max() ?? .nan)) ulps; \(largest)")
        }
        if let f = s.firstNonFinite { lines.append("first inf/NaN: step \(f.step), \(f.origin)") } else { lines.append("no inf or NaN") }
        return lines.joined(separator: "\n")
    }
}
