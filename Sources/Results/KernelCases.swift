import Formats

/// A reduction a kernel under test computes, with an exact, correctly rounded reference (`KernelReference`).
public enum KernelReduction: String, CaseIterable, Sendable {
    /// Σ x_i.
    case sum
    /// Σ x_i y_i (two inputs of one shape).
    case dot
    /// Σ x_i².
    case sumsq
    /// Σ |x_i|.
    case norm1
    /// √(Σ x_i²).
    case norm2
    /// max |x_i| (`amax`).
    case norminf
    /// Σ x_i / n.
    case mean
    /// Σ (x_i − mean)² / n, the population variance (`torch.var(correction=0)`).
    case variance = "var"
    /// Σ (x_i − mean)² / (n − 1) (`torch.var()`'s default, correction 1).
    case varianceUnbiased = "var-unbiased"
    /// log Σ exp(x_i).
    case logsumexp
    /// Σ exp(x_i − max x), the softmax's denominator.
    case softmaxDenominator = "softmax-denominator"

    /// The names users type: the raw values, plus `amax` for `norminf`.
    public init?(name: String) {
        switch name.lowercased() {
        case "amax", "max-abs": self = .norminf
        case "variance": self = .variance
        default: self.init(rawValue: name.lowercased())
        }
    }

    /// Inputs the reduction takes: `dot` two (x and y), the others one.
    public var inputNames: [String] { self == .dot ? ["x", "y"] : ["x"] }
}

/// One exported case: a reduction of one input file (whole, or each row of a 2-D tensor), with its exact answer.
public struct KernelCase: Sendable, Equatable {
    /// `reduction.family[-variant].dtype`, unique in a manifest and safe as a file name.
    public var name: String
    public var reduction: KernelReduction
    public var family: String
    public var format: FloatFormat
    /// The `.safetensors` file (relative to the manifest's directory) holding tensors `x` and `y`.
    public var file: String
    /// `.npy` files of the inputs by tensor name, when exported with `--npy` (relative paths).
    public var npy: [String: String]
    /// The tensors the reduction reads, in order.
    public var inputs: [String]
    public var shape: [Int]
    /// nil: the whole tensor gives one result; -1: each row of a 2-D tensor gives one.
    public var axis: Int?
    /// One per result (one for the whole tensor, one per row).
    public var expected: [KernelExpected]

    public init(name: String, reduction: KernelReduction, family: String, format: FloatFormat, file: String,
                npy: [String: String], inputs: [String], shape: [Int], axis: Int?, expected: [KernelExpected]) {
        self.name = name
        self.reduction = reduction
        self.family = family
        self.format = format
        self.file = file
        self.npy = npy
        self.inputs = inputs
        self.shape = shape
        self.axis = axis
        self.expected = expected
    }

    /// Elements reduced into each result.
    public var length: Int { axis == nil ? shape.reduce(1, *) : shape.last ?? 0 }
    /// Results the case has: 1, or one per row.
    public var resultCount: Int { axis == nil ? 1 : shape.dropLast().reduce(1, *) }
}

/// The exact answer of one result: the exact value correctly rounded to the case's format, and the exact value
/// itself in decimal (30 significant digits, "inf", "-inf" or "nan").
public struct KernelExpected: Sendable, Equatable {
    public var rounded: Double
    public var exact: String

    public init(rounded: Double, exact: String) {
        self.rounded = rounded
        self.exact = exact
    }
}
