import ArgumentParser
import PrecisionLab

/// The clipper's settings as every command spells them (`clip` and `train`): one vocabulary, one parser. The
/// method itself (`--clip`) is each command's own, since their defaults differ.
struct ClipperOptions: ParsableArguments {
    @Option(help: "The threshold, as the method reads it: the largest total norm (global-norm), the largest norm of each tensor (per-tensor), the clamp value |g| <= v (value), the RMS each block is scaled down to (block-rms), the cap on ZClip's adaptive threshold (zclip).")
    var maxNorm = "1"

    @Option(help: "The norm order p: 2, 1, inf, 0 or any p > 0 (torch); 1, 2, inf (optax).")
    var ord = "2"

    @Option(help: "Whose arithmetic the clipper reproduces: torch (torch.nn.utils, CPU kernels) or optax (JAX on CPU); pytorch is accepted for torch.")
    var semantics = "torch"

    @Option(help: "Replace the semantics' norm: torch, optax, exact, or a reduction algorithm in its own accumulator (e.g. naive: a sum of squares in the storage format).")
    var norm: String?

    @Option(help: "AGC's ratio λ: a unit's gradient norm is clipped to λ·max(‖w‖, eps).")
    var clipping = "0.01"

    @Option(help: "AGC's eps.")
    var eps = "0.001"

    @Flag(help: "Stop with exit code 1 and PyTorch's message when the clipping norm is inf or NaN (global-norm).")
    var errorIfNonfinite = false

    // Old spellings, kept for one release.
    @Option(name: .customLong("norm-type"), help: .hidden) var oldNormType: String?
    @Option(name: .customLong("clip-semantics"), help: .hidden) var oldSemantics: String?
    @Option(name: .customLong("clip-norm"), help: .hidden) var oldNorm: String?

    /// One line on stderr per old spelling used (call once, from `validate()`).
    func warnAboutOldSpellings() {
        Deprecated.note(oldNormType, "--norm-type", use: "--ord")
        Deprecated.note(oldSemantics, "--clip-semantics", use: "--semantics")
        Deprecated.note(oldNorm, "--clip-norm", use: "--norm")
    }

    /// The clipper `method` (one of `allowed`) with these settings, validated.
    func configuration(method name: String, allowed: [ClipMethod], threads: Int) throws -> ClipperConfiguration {
        guard let method = ClipMethod(rawValue: name), allowed.contains(method) else {
            throw ValidationError("--clip '\(name)' is not one of \(allowed.map(\.rawValue).joined(separator: ", "))")
        }
        var c = ClipperConfiguration(method: method)
        let semantics = try Deprecated.either(self.semantics, default: "torch", old: oldSemantics, "--semantics", "--clip-semantics")
        guard let s = ClipSemantics(name: semantics) else { throw ValidationError("--semantics must be torch or optax (got '\(semantics)')") }
        c.semantics = s
        c.maxNorm = try Self.number(maxNorm, "--max-norm")
        c.order = try Self.number(try Deprecated.either(ord, default: "2", old: oldNormType, "--ord", "--norm-type"), "--ord")
        c.clipping = try Self.number(clipping, "--clipping")
        c.eps = try Self.number(eps, "--eps")
        c.errorIfNonFinite = errorIfNonfinite
        c.threads = threads
        if let norm = norm ?? oldNorm {
            if self.norm != nil && oldNorm != nil { throw ValidationError("give --norm or its old spelling --clip-norm, not both") }
            guard let parsed = ClipNorm.named(norm, threads: threads) else {
                throw ValidationError("--norm '\(norm)' is not torch, optax, exact or a reduction algorithm (\(ReductionAlgorithm.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            c.norm = parsed
        }
        if let problem = c.problem { throw ValidationError(problem) }
        return c
    }

    static func number(_ text: String, _ flag: String) throws -> Double {
        guard let x = parseNumber(text) else { throw ValidationError("\(flag) '\(text)' is not a number") }
        return x
    }
}
