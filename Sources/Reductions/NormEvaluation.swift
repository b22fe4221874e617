import Base
import Formats
import Reference
#if canImport(Glibc)
import Glibc
#endif

/// One algorithm's norm measured against the exact one.
public struct AlgorithmEvaluation: Sendable {
    public let algorithm: ReductionAlgorithm
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
    public let exactPath: FastExactNorm.Path
    public let algorithms: [AlgorithmEvaluation]
}

public enum NormEvaluator {
    /// The exact norm of all elements of `buffers` together and each algorithm's result (algorithms that do not
    /// support `order` are skipped).
    public static func evaluate(_ buffers: [FloatBuffer], order: NormOrder, algorithms: [ReductionAlgorithm],
                                threads: Int = ChunkedParallel.defaultThreadCount) -> NormEvaluation {
        let source = ReductionSource(buffers)
        let storage = source.storageFormat
        let (exact, path) = FastExactNorm.norm(of: buffers, order: order, format: .float64, threads: threads)
        let exactInStorage = FastExactNorm.norm(of: buffers, order: order, format: storage, threads: threads).value
        let reference = exactReal(buffers, order: order, exact: exact, threads: threads)
        let (smallest, largest) = source.magnitudeRange()
        let evaluations = algorithms.filter { $0.supports(order) }.map { algorithm -> AlgorithmEvaluation in
            let value = algorithm.evaluate(buffers, order: order, threads: threads)
            let output = algorithm.outputFormat(for: source)
            let bound = algorithm.bound(for: source, order: order, smallestNonzero: smallest, largest: largest)
            let boundValue = reference.map { scaledBound(bound, order: order, reduction: $0.reduction) } ?? .infinity
            let error: Double, relative: Double, ulps: Double
            if exact.isFinite, value.isFinite, let reference {
                error = BigFloat(value).subtracting(reference.norm, precision: 256).magnitude.doubleValue(rounding: .up)
                relative = exact == 0 ? (error == 0 ? 0 : .infinity) : error / reference.norm.doubleValue()
                ulps = error / output.ulp(of: exact)
            } else {
                let same = value.bitPattern == exact.bitPattern || (value.isNaN && exact.isNaN)
                error = same ? 0 : .infinity
                relative = error
                ulps = error
            }
            let bitsLost: Double = relative == 0 ? 0 : min(Double(output.precision), max(0, Double(output.precision) + log2(relative)))
            let overflowed = exact.isFinite && !value.isFinite
            return AlgorithmEvaluation(
                algorithm: algorithm, value: value, accumulator: algorithm.accumulator(for: source), output: output,
                error: error, ulps: ulps, relative: relative, bitsLost: relative.isNaN ? Double(output.precision) : bitsLost,
                overflowed: overflowed,
                underflowed: algorithm.underflows(storage: storage, order: order, smallestNonzero: smallest, largest: largest),
                bound: boundValue, boundUlps: boundValue / output.ulp(of: exact), boundNote: bound.unavailable,
                withinBound: overflowed || !exact.isFinite ? nil : error <= boundValue)
        }
        return NormEvaluation(order: order, count: source.count, storage: storage, exact: exact, exactInStorage: exactInStorage,
                              exactPath: path, algorithms: evaluations)
    }

    /// The exact reduction S and the real norm to 256 bits (nil for inf/NaN norms). For a non-integer p the norm
    /// is the correctly rounded Float64 one (within half an ulp of Float64).
    static func exactReal(_ buffers: [FloatBuffer], order: NormOrder, exact: Double, threads: Int) -> (reduction: BigFloat, norm: BigFloat)? {
        guard exact.isFinite else { return nil }
        switch order {
        case .infinity:
            return (BigFloat(exact), BigFloat(exact))
        case .one, .two:
            var total = ExactAccumulator()
            for x in buffers { total.merge(FastExactNorm.accumulator(x, squares: order == .two, threads: threads)) }
            let s = total.value()
            return (s, order == .two ? s.squareRoot(precision: 256) : s.withPrecision(256))
        case .p(let p):
            let norm = BigFloat(exact, precision: 256)
            return (norm.power(BigFloat(p), precision: 256), norm)
        }
    }

    /// `bound.normBound` with the reduction scaled by an even power of two into Double's range.
    static func scaledBound(_ bound: ErrorBound, order: NormOrder, reduction: BigFloat) -> Double {
        let scale = bound.absoluteScale
        guard let e = reduction.exponent else {
            return bound.normBound(order: order, reduction: 0, absolute: bound.absolute * scale * scale) + bound.finalUnderflow
        }
        if case .p = order {
            return bound.normBound(order: order, reduction: reduction.doubleValue(), absolute: bound.absolute * scale * scale) + bound.finalUnderflow
        }
        let k = e / 2
        let s = reduction.scaled(byPowerOfTwo: -2 * k).doubleValue(rounding: .up)
        let scaled = scale * Double(sign: .plus, exponent: -k, significand: 1)
        let a = bound.absolute * scaled * scaled
        let b = bound.normBound(order: order, reduction: s, absolute: a.isFinite ? a : .greatestFiniteMagnitude)
        return b * Double(sign: .plus, exponent: order == .two ? k : 2 * k, significand: 1) + bound.finalUnderflow
    }
}
