import Base
import Formats

// What the reductions, the benchmark and the format conformance checks produce: pure data, computed in
// Reductions and Reference and rendered in Reports.

/// One algorithm's norm measured against the exact one.
public struct AlgorithmEvaluation: Sendable {
    /// The algorithm's name (a `ReductionAlgorithm` of Reductions).
    public let algorithm: String
    /// The algorithm's result (its Double value, in `output`).
    public let value: Double
    public let accumulator: FloatFormat
    public let output: FloatFormat
    /// |value - exact norm| (inf when only one of them is finite or NaN).
    public let error: Double
    /// The error in ulps of the output format at the exact norm.
    public let ulps: Double
    /// The error relative to the exact norm.
    public let relative: Double
    /// Bits of the output format's precision lost beyond its own rounding: clamp(p + log2(relative), 0, p).
    public let bitsLost: Double
    /// The result is inf or NaN while the exact norm is finite.
    public let overflowed: Bool
    /// Squares of the smallest inputs fell below the accumulator's normal range.
    public let underflowed: Bool
    /// The a-priori bound on the error (inf when the analysis states none).
    public let bound: Double
    public let boundUlps: Double
    /// Why no bound is stated, if none is.
    public let boundNote: String?
    /// Whether the error is within the bound: nil when the bound does not apply (overflow, or inf/NaN inputs).
    public let withinBound: Bool?

    public init(algorithm: String, value: Double, accumulator: FloatFormat, output: FloatFormat, error: Double, ulps: Double, relative: Double, bitsLost: Double, overflowed: Bool, underflowed: Bool, bound: Double, boundUlps: Double, boundNote: String?, withinBound: Bool?) {
        self.algorithm = algorithm
        self.value = value
        self.accumulator = accumulator
        self.output = output
        self.error = error
        self.ulps = ulps
        self.relative = relative
        self.bitsLost = bitsLost
        self.overflowed = overflowed
        self.underflowed = underflowed
        self.bound = bound
        self.boundUlps = boundUlps
        self.boundNote = boundNote
        self.withinBound = withinBound
    }
}

/// A norm's exact value and every requested algorithm's result, for one tensor or a list of them.
public struct NormEvaluation: Sendable {
    public let order: NormOrder
    public let count: Int
    public let storage: FloatFormat
    /// The norm correctly rounded to Float64.
    public let exact: Double
    /// The norm correctly rounded to the storage format.
    public let exactInStorage: Double
    /// How the exact norm was decided (a `FastExactNorm.Path`: enclosure, accumulator, mpfr, maximum).
    public let exactPath: String
    public let algorithms: [AlgorithmEvaluation]

    public init(order: NormOrder, count: Int, storage: FloatFormat, exact: Double, exactInStorage: Double, exactPath: String, algorithms: [AlgorithmEvaluation]) {
        self.order = order
        self.count = count
        self.storage = storage
        self.exact = exact
        self.exactInStorage = exactInStorage
        self.exactPath = exactPath
        self.algorithms = algorithms
    }
}

/// An adversarial input for the reductions, generated from a family, a format, a length and a seed: the
/// fixtures of `fixtures/reductions/` are these specs plus their exact norms and recorded errors.
public struct ReductionFixture: Sendable, Hashable {
    public enum Family: String, CaseIterable, Sendable {
        /// Every element finite, every square past the format's largest finite value.
        case overflowSquares = "overflow-squares"
        /// Ones: a running sum in the storage format stops growing (fp16 at 2048, bf16 at 256, fp32 at 2^24).
        case stagnation
        /// Only subnormal values.
        case subnormalOnly = "subnormal-only"
        /// Magnitudes log-uniform over 40 decades (the whole range for Float16, which has 12).
        case mixedMagnitudes = "mixed-magnitudes"
        /// One value near the largest finite among values near the smallest normal.
        case outlier
        /// Gradient-like values (a sum of three uniforms, scale 1e-3) with one inf.
        case withInfinity = "with-inf"
        /// Gradient-like values with one NaN.
        case withNaN = "with-nan"
        /// Gradient-like values, the everyday case.
        case gradients
    }

    public var name: String
    public var family: Family
    public var format: FloatFormat
    public var count: Int
    public var seed: UInt64

    public init(name: String? = nil, family: Family, format: FloatFormat, count: Int, seed: UInt64) {
        self.name = name ?? "\(format.shortName)-\(family.rawValue)"
        self.family = family
        self.format = format
        self.count = count
        self.seed = seed
    }
}

/// One measured pass of the reduction benchmark.
public struct BenchmarkRow: Sendable, Equatable {
    public var format: FloatFormat
    /// An algorithm name, "read" for the streaming read, or "exact" for the correctly rounded norm.
    public var algorithm: String
    /// Median wall time of one pass over the array.
    public var seconds: Double
    public var count: Int
    public var bytes: Int
    public var nanosecondsPerElement: Double { seconds * 1e9 / Double(max(count, 1)) }
    public var gigabytesPerSecond: Double { Double(bytes) / seconds / 1e9 }

    public init(format: FloatFormat, algorithm: String, seconds: Double, count: Int, bytes: Int) {
        self.format = format
        self.algorithm = algorithm
        self.seconds = seconds
        self.count = count
        self.bytes = bytes
    }
}

/// The result of one conformance check: how many cases were compared with MPFR and how many disagreed.
public struct ConformanceResult: Sendable, Equatable {
    public var check: String
    public var format: FloatFormat
    public var cases: Int
    public var mismatches: Int
    /// The first few disagreements, spelled out.
    public var examples: [String]
    /// False for checks of other code (Swift's own Float16 fma): a mismatch there is a finding about that
    /// code, not a failure of the lab.
    public var testsLab: Bool = true
    public var passed: Bool { mismatches == 0 }

    public init(check: String, format: FloatFormat, cases: Int, mismatches: Int, examples: [String], testsLab: Bool = true) {
        self.check = check
        self.format = format
        self.cases = cases
        self.mismatches = mismatches
        self.examples = examples
        self.testsLab = testsLab
    }
}

/// What a reduction algorithm is, for a report: its name, its definition, and its accumulator per input format.
public struct AlgorithmDescription: Sendable {
    public var name: String
    public var summary: String
    public var accumulators: [(input: FloatFormat, accumulator: FloatFormat)]

    public init(name: String, summary: String, accumulators: [(input: FloatFormat, accumulator: FloatFormat)]) {
        self.name = name
        self.summary = summary
        self.accumulators = accumulators
    }
}
