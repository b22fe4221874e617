import Formats
import Tensors

/// How a run holds its numbers: one format throughout (`pure`: every value, gradient, weight and optimizer state in
/// it, as `model.half()`), or `mixed`, which is `torch.autocast` (see `Graph.autocast`): Float32 weights, optimizer
/// state and gradients, products in the 16-bit format, softmax, the losses, layer norm, exp, log and sums in Float32.
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

    /// "f64", "f32", "f16", "bf16" (pure) or "mixed-f16", "mixed-bf16"; any name of the format will do ("fp16",
    /// "mixed-bfloat16").
    public init?(_ text: String) {
        let mixed = text.hasPrefix("mixed-")
        guard let format = FloatFormat(named: mixed ? String(text.dropFirst(6)) : text), let kind = ScalarKind(format: format) else { return nil }
        if mixed && kind.format.bitWidth != 16 { return nil }
        self.init(compute: kind, masterWeights: mixed)
    }

    public var description: String { (masterWeights ? "mixed-" : "") + compute.rawValue }
    public static let names = ["f64", "f32", "f16", "bf16", "mixed-f16", "mixed-bf16"]
}

/// The optimizers a training loop can run (SGD with momentum 0.9, or Adam with PyTorch's defaults).
public enum OptimizerKind: String, Sendable, CaseIterable { case sgd, adam }
