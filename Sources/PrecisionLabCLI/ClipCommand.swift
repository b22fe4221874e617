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

        global-norm --semantics pytorch is torch.nn.utils.clip_grad_norm_ (torch 2.15 CPU kernels; --threads is \
        torch.get_num_threads(), which decides how long reductions are chunked); --semantics optax is \
        optax.clip_by_global_norm (JAX CPU). value is clip_grad_value_ / optax.clip; agc is \
        optax.adaptive_grad_clip (needs --params); block-rms is optax.clip_by_block_rms (--max-norm is the RMS \
        threshold); per-tensor clips each tensor by its own norm with PyTorch's arithmetic.

        --norm replaces the semantics' norm by a reduction algorithm in its own accumulator (e.g. naive: a Float16 \
        sum of squares, which overflows at 65504) or by the exact norm.

        With --json: {"total_norm": ..., "clip_coef": ...} (the semantics' total 2-norm, or order --norm-type, and \
        the factor applied; clip_coef is null for element- and unit-wise methods; non-finite values as strings).
        With --error-if-nonfinite a non-finite total norm exits 1 with PyTorch's message and writes nothing.
        """
    )

    @Argument(help: "The gradients (safetensors or .npy).")
    var grads: String

    @Option(help: "global-norm, value, agc, block-rms, per-tensor.")
    var method: String = "global-norm"

    @Option(help: "The threshold: max_norm (global-norm, per-tensor), the clamp value (value), the RMS threshold (block-rms).")
    var maxNorm: String = "1.0"

    @Option(help: "Order of the norm: 2, 1, inf, 0 or any p > 0 (pytorch); 1, 2, inf (optax).")
    var normType: String = "2"

    @Option(help: "pytorch or optax.")
    var semantics: String = "pytorch"

    @Option(help: "AGC: the maximum ratio of gradient norm to parameter norm.")
    var clipping: String?

    @Option(help: "AGC: the eps of parameter norms.")
    var eps: String = "0.001"

    @Option(help: "AGC: the parameters (same names order, dtypes and shapes as GRADS).")
    var params: String?

    @Flag(help: "Exit 1 with PyTorch's message when the total norm is inf or NaN (pytorch global-norm).")
    var errorIfNonfinite = false

    @Option(help: "Threads of the torch whose kernels are reproduced (default: this machine's cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "The norm: pytorch, optax, exact, or a reduction algorithm (\(ReductionAlgorithm.allCases.map(\.rawValue).joined(separator: ", "))).")
    var norm: String?

    @Option(help: "Where to write the clipped gradients (safetensors).")
    var out: String

    @Flag(help: "Print one JSON document instead of the summary.")
    var json = false

    func configuration() throws -> ClipperConfiguration {
        guard let method = ClipMethod(rawValue: method), [.globalNorm, .value, .agc, .blockRMS, .perTensor].contains(method) else {
            throw ValidationError("--method '\(self.method)' is not one of global-norm, value, agc, block-rms, per-tensor")
        }
        var c = ClipperConfiguration(method: method)
        guard let semantics = ClipSemantics(name: semantics) else { throw ValidationError("--semantics must be pytorch or optax") }
        c.semantics = semantics
        guard let maxNorm = parseNumber(maxNorm) else { throw ValidationError("--max-norm '\(self.maxNorm)' is not a number") }
        c.maxNorm = maxNorm
        guard let order = parseNumber(normType) else { throw ValidationError("--norm-type '\(normType)' is not a number") }
        c.order = order
        if method == .agc {
            guard let clipping, let value = parseNumber(clipping) else { throw ValidationError("--method agc needs --clipping C (a number)") }
            guard params != nil else { throw ValidationError("--method agc needs --params PARAMS.safetensors") }
            c.clipping = value
            guard let eps = parseNumber(eps) else { throw ValidationError("--eps '\(self.eps)' is not a number") }
            c.eps = eps
        }
        c.errorIfNonFinite = errorIfNonfinite
        c.threads = threads
        if let norm {
            guard let parsed = ClipNorm.named(norm, threads: threads) else {
                throw ValidationError("--norm '\(norm)' is not pytorch, optax, exact or a reduction algorithm")
            }
            c.norm = parsed
        }
        if let problem = c.problem { throw ValidationError(problem) }
        return c
    }

    func validate() throws { _ = try configuration() }

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
        let report = try ClipRun(config: config, gradients: gradients, parameters: parameters)
        try gradients.write(path: out)
        if json {
            print(JSONValue.object([("total_norm", JSONValue.double(report.totalNorm.value)),
                                    ("clip_coef", report.coefficient.map(JSONValue.double) ?? .null)]).prettyText())
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

    init(config: ClipperConfiguration, gradients: OwnedTensors, parameters: OwnedTensors?) throws {
        self.config = config
        let tensors = gradients.tensors
        let before = tensors.map { FastExactNorm.norm($0.floatBuffer, order: .two) }
        exactBefore = FastExactNorm.norm(of: tensors.map(\.floatBuffer), order: .two).value
        var clipper = config.make()
        let defaultNorm: ClipNorm = config.semantics == .torch ? .torch(threads: config.threads) : .optax
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
            (t.name, TensorDType(format: t.format).rawValue, t.count, before[k], FastExactNorm.norm(t.floatBuffer, order: .two))
        }
        exactAfter = FastExactNorm.norm(of: tensors.map(\.floatBuffer), order: .two).value
    }

    func text(file: String, out: String) -> String {
        var lines = ["\(file): \(rows.count) tensors, \(config.method.rawValue) clipping with \(config.semantics.rawValue) semantics"]
        let table = TextTable(header: ["tensor", "dtype", "elements", "‖g‖₂ before (exact)", "‖g‖₂ after (exact)"],
                              rows: rows.map { [$0.name, $0.dtype, String($0.count), short($0.before), short($0.after)] }, numericColumns: [2, 3, 4])
        lines.append(table.plain)
        let order = config.order == 2 ? "2-norm" : "norm of order \(config.order)"
        lines.append("total \(order) as \(config.norm?.name ?? config.semantics.rawValue) computes it: \(short(totalNorm.value)) (\(totalNorm.format.name))")
        lines.append("exact total 2-norm: before \(short(exactBefore)), after \(short(exactAfter))")
        if let coefficient { lines.append("clip coefficient: \(short(coefficient))") }
        lines.append(clipped ? "clipped; written to \(out)" : "nothing clipped (below the threshold); written to \(out)")
        return lines.joined(separator: "\n")
    }

    private func short(_ x: Double) -> String {
        x.isFinite ? String(format: "%.9g", x) : (x.isNaN ? "nan" : (x > 0 ? "inf" : "-inf"))
    }
}
