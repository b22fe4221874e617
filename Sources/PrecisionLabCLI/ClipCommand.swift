import ArgumentParser
import Foundation
import PrecisionLab

struct ClipCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clip",
        abstract: "Apply a gradient clipper to a gradient dump, in PyTorch's or optax's arithmetic.",
        discussion: """
        All tensors of GRADS form the parameter list, in file order (F16, BF16, F32, F64). The clipped gradients go \
        to --out (safetensors; same names, dtypes and shapes), written atomically.

        --clip global-norm --semantics torch is torch.nn.utils.clip_grad_norm_ (torch 2.15 CPU kernels; --threads is \
        torch.get_num_threads(), which decides how long reductions are chunked); --semantics optax is \
        optax.clip_by_global_norm (JAX CPU). value is clip_grad_value_ / optax.clip; agc is \
        optax.adaptive_grad_clip (needs --params); block-rms is optax.clip_by_block_rms (--max-norm is the RMS \
        threshold); per-tensor clips each tensor by its own norm with PyTorch's arithmetic.

        --norm replaces the semantics' norm by a reduction algorithm in its own accumulator (e.g. naive: a Float16 \
        sum of squares, which overflows at 65504) or by the exact norm.

        With --json: {"total_norm": ..., "clip_coef": ..., "exact_norm": ..., "norm_error_ulps": ..., \
        "norm_overflowed": ...} (the semantics' total 2-norm, or order --ord, the factor applied, the exact norm of \
        that order and the distance in ulps of the norm's format; clip_coef is null for element- and unit-wise \
        methods; non-finite values as strings). When the clipper's norm overflows to inf while the exact norm is \
        finite (a Float16 sum of squares past 65504), a warning on stderr says so and norm_overflowed is true.
        With --error-if-nonfinite a non-finite total norm exits 1 with PyTorch's message and writes nothing.
        """
    )

    @Argument(help: "The gradients (safetensors or .npy).")
    var grads: String

    @Option(help: "The clipper: global-norm, value, agc, block-rms or per-tensor.")
    var clip = "global-norm"

    @Option(name: .customLong("method"), help: .hidden) var oldMethod: String?

    @OptionGroup var clipper: ClipperOptions

    @Option(help: "AGC: the parameters (same names order, dtypes and shapes as GRADS).")
    var params: String?

    @Option(help: "Threads of the torch whose kernels are reproduced (torch.get_num_threads(), which decides how long reductions are chunked): SLURM_CPUS_PER_TASK when set, else one per core.")
    var threads: Int = Parallel.defaultThreads

    @Option(help: "Where to write the clipped gradients (safetensors).")
    var out: String

    @Flag(help: "Print one JSON document instead of the summary.")
    var json = false

    func configuration() throws -> ClipperConfiguration {
        let method = try Deprecated.either(clip, default: "global-norm", old: oldMethod, "--clip", "--method")
        let c = try clipper.configuration(method: method, allowed: [.globalNorm, .value, .agc, .blockRMS, .perTensor], threads: threads)
        if c.method == .agc && params == nil { throw ValidationError("--clip agc needs --params PARAMS.safetensors") }
        return c
    }

    func validate() throws {
        try Vocabulary.checkThreads(threads)
        // The output is safetensors (several named tensors); a .npy name would hold the wrong bytes.
        if out.lowercased().hasSuffix(".npy") {
            throw InputError(out, "clip writes safetensors (a .npy file holds one array): name the output .safetensors")
        }
        _ = try configuration()
        clipper.warnAboutOldSpellings()
        Deprecated.note(oldMethod, "--method", use: "--clip")
    }

    func run() throws {
        let config = try configuration()
        let gradients = try OwnedTensors.read(path: grads)
        var parameters: OwnedTensors?
        if let params {
            let p = try OwnedTensors.read(path: params)
            guard p.tensors.count == gradients.tensors.count else {
                throw InputError(params, "has \(p.tensors.count) tensors but \(grads) has \(gradients.tensors.count)")
            }
            for (g, q) in zip(gradients.tensors, p.tensors) where g.shape != q.shape {
                throw InputError(params, "tensor '\(q.name)' has shape \(q.shape) but gradient '\(g.name)' has shape \(g.shape)")
            }
            parameters = p
        }
        let report: ClipRun
        do { report = try ClipRun(config: config, gradients: gradients, parameters: parameters) } catch let failed as CheckFailed where json {
            // --error-if-nonfinite: still one JSON document (the error, the exact norm, nothing written), and exit 1.
            let exact = NormOrder(p: config.order).map { FastExactNorm.norm(of: gradients.tensors.map(\.floatBuffer), order: $0).value }
            print(JSONValue.object([("error", .string(failed.description)), ("exact_norm", exact.map(JSONValue.double) ?? .null),
                                    ("written", .bool(false))]).prettyText())
            throw failed
        }
        if report.normOverflowed {
            let effect = config.method == .globalNorm ? "the clip coefficient is 0 and every gradient is zeroed" : "the reported norm is meaningless"
            Terminal.stderr("precision-lab: warning: the clipping norm is \(Figures.figure(report.totalNorm.value)) in \(report.totalNorm.format.name) while the exact norm is "
                            + "\(Figures.figure(report.exactNorm ?? .nan)): \(effect) (--norm exact, or an algorithm with a wider accumulator, computes it)")
        }
        try gradients.write(path: out)
        if json {
            print(JSONValue.object([("total_norm", JSONValue.double(report.totalNorm.value)),
                                    ("clip_coef", report.coefficient.map(JSONValue.double) ?? .null),
                                    ("exact_norm", report.exactNorm.map(JSONValue.double) ?? .null),
                                    ("norm_error_ulps", report.normErrorUlps.map(JSONValue.double) ?? .null),
                                    ("norm_overflowed", .bool(report.normOverflowed))]).prettyText())
        } else {
            print(report.text(file: grads, out: out))
        }
    }
}

/// One application of a clipper to a file's gradients: the norms before and after, exactly, and what the clipper did.
struct ClipRun {
    let config: ClipperConfiguration
    /// The semantics' own total norm (the norm global-norm clipping uses; the one reported for the other methods).
    let totalNorm: NormValue
    let coefficient: Double?
    let clipped: Bool
    let rows: [(name: String, dtype: String, count: Int, before: Double, after: Double)]
    let exactBefore: Double
    let exactAfter: Double
    /// The exact total norm of the clipper's order (nil for order 0, a count), and the clipper's norm's distance from it.
    let exactNorm: Double?
    var normErrorUlps: Double? { exactNorm.map { UlpDistance.error(totalNorm.value, from: $0, in: totalNorm.format) } }
    /// The clipper's norm is inf or NaN while the exact norm is finite: a global-norm clipper then zeroes every gradient.
    var normOverflowed: Bool { !totalNorm.value.isFinite && exactNorm?.isFinite == true }

    init(config: ClipperConfiguration, gradients: OwnedTensors, parameters: OwnedTensors?) throws {
        self.config = config
        let tensors = gradients.tensors
        let before = tensors.map { FastExactNorm.norm($0.floatBuffer, order: .two) }
        let buffers = tensors.map(\.floatBuffer)
        let exactBefore = FastExactNorm.norm(of: buffers, order: .two).value
        self.exactBefore = exactBefore
        // The clipper's order is usually 2: one exact pass serves both figures.
        exactNorm = NormOrder(p: config.order).map { $0 == .two ? exactBefore : FastExactNorm.norm(of: buffers, order: $0).value }
        var clipper = config.make()
        let defaultNorm: ClipNorm = config.arithmetic == .torch ? .torch(threads: config.threads) : .optax
        let reported = config.method == .globalNorm ? nil : (config.norm ?? defaultNorm).evaluate(tensors, order: config.order)
        let outcome: ClipOutcome
        do {
            outcome = try clipper.clip(tensors, parameters: parameters?.tensors ?? [])
        } catch let error as NonFiniteNormError {
            throw CheckFailed(description: error.description)
        } catch let error as ClipperError {
            throw InputError(tensors.first?.name ?? "gradients", error.description)
        }
        totalNorm = reported ?? NormValue(value: outcome.norm, format: outcome.normFormat)
        coefficient = config.method == .globalNorm ? outcome.coefficient : nil
        clipped = outcome.clipped
        rows = tensors.enumerated().map { k, t in
            (t.name, TensorDType(format: t.format)!.rawValue, t.count, before[k], FastExactNorm.norm(t.floatBuffer, order: .two))
        }
        exactAfter = FastExactNorm.norm(of: tensors.map(\.floatBuffer), order: .two).value
    }

    func text(file: String, out: String) -> String {
        var lines = ["\(file): \(rows.count) tensors, \(config.method.rawValue) clipping with \(config.arithmetic.rawValue) arithmetic"]
        let table = TextTable(header: ["tensor", "dtype", "elements", "‖g‖₂ before (exact)", "‖g‖₂ after (exact)"],
                              rows: rows.map { [$0.name, $0.dtype, String($0.count), short($0.before), short($0.after)] }, numericColumns: [2, 3, 4])
        lines.append(table.plain)
        let order = config.order == 2 ? "2-norm" : "norm of order \(config.order)"
        var total = "total \(order) as \(config.norm?.name ?? config.arithmetic.rawValue) computes it: \(short(totalNorm.value)) (\(totalNorm.format.name))"
        if let exactNorm, let ulps = normErrorUlps { total += "; exact \(short(exactNorm)), \(Figures.figure(ulps)) ulps of \(totalNorm.format.shortName) away" }
        lines.append(total)
        lines.append("exact total 2-norm: before \(short(exactBefore)), after \(short(exactAfter))")
        if let coefficient { lines.append("clip coefficient: \(short(coefficient))") }
        lines.append(clipped ? "clipped; written to \(out)" : "nothing clipped (below the threshold); written to \(out)")
        return lines.joined(separator: "\n")
    }

    private func short(_ x: Double) -> String { Figures.significant(x, 9) }
}
