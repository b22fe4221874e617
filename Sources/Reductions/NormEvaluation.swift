import Base
import Formats
import Reference
import Results
#if canImport(Glibc)
import Glibc
#endif

public enum NormEvaluator {
    /// The exact norm of all elements of `buffers` together and each algorithm's result (algorithms that do not
    /// support `order` are skipped). With no algorithms, only the exact norm is computed: one pass over the data
    /// when the enclosure decides. `release` is told what each pass has read (see `FastExactNorm.PageRelease`).
    public static func evaluate(_ buffers: [FloatBuffer], order: NormOrder, algorithms: [ReductionAlgorithm],
                                threads: Int = ChunkedParallel.defaultThreadCount,
                                release: FastExactNorm.PageRelease? = nil) -> NormEvaluation {
        let source = ReductionSource(buffers)
        let storage = source.storageFormat
        let (exacts, path) = FastExactNorm.norms(of: buffers, order: order, formats: [.float64, storage], threads: threads, release: release)
        let (exact, exactInStorage) = (exacts[0], exacts[1])
        let chosen = algorithms.filter { $0.supports(order) }
        guard !chosen.isEmpty else {
            return NormEvaluation(order: order, count: source.count, storage: storage, exact: exact, exactInStorage: exactInStorage,
                                  exactPath: path.rawValue, algorithms: [])
        }
        let reference = exactReal(buffers, order: order, exact: exact, threads: threads, release: release)
        let (smallest, largest) = source.magnitudeRange(threads: threads)
        let evaluations = chosen.map { algorithm -> AlgorithmEvaluation in
            let value = algorithm.evaluate(buffers, order: order, threads: threads)
            for (k, b) in buffers.enumerated() { release?(k, 0..<b.count) }
            let output = algorithm.outputFormat(for: source)
            let bound = algorithm.bound(for: source, order: order, smallestNonzero: smallest, largest: largest)
            let boundValue = reference.map { scaledBound(bound, order: order, reduction: $0.reduction) } ?? .infinity
            let error: Double, relative: Double, ulps: Double
            if exact.isFinite, value.isFinite, let reference {
                error = BigFloat(value).subtracting(reference.norm, precision: 256).magnitude.doubleValue(rounding: .up)
                relative = exact == 0 ? (error == 0 ? 0 : .infinity) : error / reference.norm.doubleValue()
                ulps = UlpDistance.ulps(ofError: error, at: exact, in: output)
            } else {
                error = UlpDistance.error(value, from: exact, in: output).magnitude  // 0 or inf: a non-finite value or norm
                relative = error
                ulps = error
            }
            let bitsLost: Double = relative == 0 ? 0 : min(Double(output.precision), max(0, Double(output.precision) + log2(relative)))
            let overflowed = exact.isFinite && !value.isFinite
            return AlgorithmEvaluation(
                algorithm: algorithm.rawValue, value: value, accumulator: algorithm.accumulator(for: source), output: output,
                error: error, ulps: ulps, relative: relative, bitsLost: relative.isNaN ? Double(output.precision) : bitsLost,
                overflowed: overflowed,
                underflowed: algorithm.underflows(storage: storage, order: order, smallestNonzero: smallest, largest: largest),
                bound: boundValue, boundUlps: boundValue / output.ulp(of: exact), boundNote: bound.unavailable,
                withinBound: overflowed || !exact.isFinite ? nil : error <= boundValue)
        }
        return NormEvaluation(order: order, count: source.count, storage: storage, exact: exact, exactInStorage: exactInStorage,
                              exactPath: path.rawValue, algorithms: evaluations)
    }

    /// The exact reduction S and the real norm to 256 bits (nil for inf/NaN norms). For a non-integer p the norm
    /// is the correctly rounded Float64 one (within half an ulp of Float64).
    static func exactReal(_ buffers: [FloatBuffer], order: NormOrder, exact: Double, threads: Int,
                          release: FastExactNorm.PageRelease?) -> (reduction: BigFloat, norm: BigFloat)? {
        guard exact.isFinite else { return nil }
        switch order {
        case .infinity:
            return (BigFloat(exact), BigFloat(exact))
        case .one, .two:
            var total = ExactAccumulator()
            for (k, x) in buffers.enumerated() {
                total.merge(FastExactNorm.accumulator(x, squares: order == .two, threads: threads, release: release.map { r in { @Sendable in r(k, $0) } }))
            }
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

extension AlgorithmEvaluation {
    /// The evaluated algorithm of the zoo.
    public var reductionAlgorithm: ReductionAlgorithm { ReductionAlgorithm(rawValue: algorithm)! }
}
