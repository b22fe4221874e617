import Base
import Formats
import Reductions
import Training

/// A reduction algorithm of the zoo as a clipper's norm, in the algorithm's own accumulator and output format.
public struct AlgorithmGradientNorm: ExternalGradientNorm {
    public let algorithm: ReductionAlgorithm
    public init(_ algorithm: ReductionAlgorithm) { self.algorithm = algorithm }
    public var name: String { algorithm.rawValue }
    public func norm(of buffers: [FloatBuffer], order: NormOrder) -> NormValue? {
        guard algorithm.supports(order) else { return nil }
        return NormValue(value: algorithm.evaluate(buffers, order: order), format: algorithm.outputFormat(for: ReductionSource(buffers)))
    }
}

/// The exact norm, correctly rounded to Float64.
public struct ExactGradientNorm: ExternalGradientNorm {
    public let threads: Int
    public init(threads: Int = Parallel.defaultThreads) { self.threads = threads }
    public var name: String { "exact" }
    public func norm(of buffers: [FloatBuffer], order: NormOrder) -> NormValue? {
        NormValue(value: FastExactNorm.norm(of: buffers, order: order, threads: threads).value, format: .float64)
    }
}

extension ClipNorm {
    /// A clipper's norm by name: "torch", "optax", "exact", or a reduction algorithm's name (its accumulator
    /// and output format are the algorithm's).
    public static func named(_ name: String, threads: Int) -> ClipNorm? {
        if let builtIn = ClipNorm(builtIn: name, threads: threads) { return builtIn }
        if name == "exact" { return .external(ExactGradientNorm(threads: threads)) }
        return ReductionAlgorithm(rawValue: name).map { .external(AlgorithmGradientNorm($0)) }
    }

    /// The names `named` accepts.
    public static var names: [String] { ["torch", "optax", "exact"] + ReductionAlgorithm.allCases.map(\.rawValue) }
}
