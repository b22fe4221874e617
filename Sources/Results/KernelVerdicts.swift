import Base
import Formats

/// How far a kernel's result may be from the exact one.
public enum KernelTolerance: Sendable, Equatable {
    /// At most K steps between adjacent values of the result's format (0: correctly rounded).
    case ulps(Double)
    /// Within K times the a-priori error bound of the textbook algorithm (recursive summation, two-pass
    /// variance, max-shifted log-sum-exp) run in `accumulator` (nil: Float32 for 16-bit inputs, else the input's
    /// format, as PyTorch's CPU reductions accumulate), plus the final rounding into the result's format.
    case bound(Double, accumulator: FloatFormat?)
    /// torch.testing.assert_close's default rtol and atol for the dtype: |v − ref| ≤ atol + rtol·|ref|.
    case torch

    public var description: String {
        switch self {
        case .ulps(let k): return "\(Figures.constant(k)) ulps"
        case .bound(let k, let accumulator):
            let times = k == 1 ? "" : "\(Figures.constant(k))× "
            return "\(times)the a-priori error bound, accumulating in \(accumulator?.shortName ?? "f32 for 16-bit inputs, else the input's format")"
        case .torch: return "torch.testing.assert_close's defaults for the dtype"
        }
    }

    /// torch.testing's default (rtol, atol) for a dtype (torch/testing/_comparison.py, `_DTYPE_PRECISIONS`).
    public static func torchDefaults(_ format: FloatFormat) -> (rtol: Double, atol: Double) {
        switch format.shortName {
        case "f16": return (1e-3, 1e-5)
        case "bf16": return (1.6e-2, 1e-5)
        case "f32": return (1.3e-6, 1e-5)
        default: return (1e-7, 1e-7)
        }
    }
}

/// The verdict on one case of a kernel run.
public struct KernelCaseResult: Sendable, Equatable {
    public var name: String
    public var reduction: KernelReduction
    public var family: String
    public var format: FloatFormat
    /// The input file, as the manifest names it.
    public var file: String
    public var passed: Bool
    /// Why the case failed (out of tolerance, a crash, a timeout, a malformed output, non-determinism); nil if it passed.
    public var failure: String?
    /// The result (row) with the largest error, and that error in steps of the format (inf for a non-finite mismatch).
    public var worstIndex: Int
    public var worstUlps: Double
    /// The kernel's value and the correctly rounded exact value at `worstIndex` (nil when the kernel gave none).
    public var worstValue: Double?
    public var worstExpected: Double
    /// The largest error the tolerance allowed at `worstIndex`, as |value − reference| (nil for an ulps tolerance).
    public var allowed: Double?
    /// Every result's error in steps of the format (empty when the kernel gave no usable output).
    public var ulps: [Double]

    public init(name: String, reduction: KernelReduction, family: String, format: FloatFormat, file: String, passed: Bool,
                failure: String?, worstIndex: Int, worstUlps: Double, worstValue: Double?, worstExpected: Double,
                allowed: Double?, ulps: [Double]) {
        self.name = name
        self.reduction = reduction
        self.family = family
        self.format = format
        self.file = file
        self.passed = passed
        self.failure = failure
        self.worstIndex = worstIndex
        self.worstUlps = worstUlps
        self.worstValue = worstValue
        self.worstExpected = worstExpected
        self.allowed = allowed
        self.ulps = ulps
    }
}

/// A whole `kernels test` run: what was tested, how, and every case's verdict.
public struct KernelTestRun: Sendable {
    /// The kernel as the user named it (the command template, or library and symbol).
    public var kernel: String
    public var tolerance: KernelTolerance
    public var repeats: Int
    /// The case directory the user named; empty for the default cases exported for the run.
    public var casesDirectory: String
    public var results: [KernelCaseResult]
    public var seconds: Double

    public init(kernel: String, tolerance: KernelTolerance, repeats: Int, casesDirectory: String, results: [KernelCaseResult], seconds: Double) {
        self.kernel = kernel
        self.tolerance = tolerance
        self.repeats = repeats
        self.casesDirectory = casesDirectory
        self.results = results
        self.seconds = seconds
    }

    public var failedCount: Int { results.filter { !$0.passed }.count }
    public var allPassed: Bool { failedCount == 0 }
}
