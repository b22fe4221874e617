import Base
import Formats
import Reference

/// Correctly rounded norms at memory speed.
///
/// Orders 1 and 2: Float64 sums with a proven error bound (`exactChunk`: certified-exact plain sums of 16-bit
/// blocks, compensated sums otherwise) enclose the exact reduction; when both ends of the enclosure give the
/// same rounded norm, that is the answer. Otherwise (the
/// norm lies within the bound of a rounding boundary, or a Float64 square overflowed, or the input holds inf or
/// NaN) the exact reduction is computed with `ExactAccumulator` (Neal's superaccumulator) and rounded by MPFR.
/// Order ∞ is a maximum, exact as it is. Other p go to MPFR (`MPFRNorm`). The same input gives the same bits
/// for any thread count.
public enum FastExactNorm {
    /// How a norm was decided.
    public enum Path: String, Sendable { case enclosure, accumulator, mpfr, maximum }

    /// Called with a buffer's index and a range of its elements once a pass has read them, so that the caller can
    /// give back their memory (`TensorFile.releasePages`: a pass over a mapped file keeps only a window resident).
    public typealias PageRelease = @Sendable (_ buffer: Int, _ elements: Range<Int>) -> Void

    /// The enclosure of Σx² (order 2) or Σ|x| (order 1).
    public static func enclosure(_ x: FloatBuffer, squares: Bool, threads: Int = ChunkedParallel.defaultThreadCount,
                                 release: (@Sendable (Range<Int>) -> Void)? = nil) -> ReductionEnclosure {
        var result = ReductionEnclosure()
        for part in ChunkedParallel.map(count: x.count, threads: threads, { range -> ReductionEnclosure in
            let part = exactChunk(x, range, squares: squares)
            release?(range)
            return part
        }) {
            result.merge(part)
        }
        return result
    }

    /// The exact reduction Σx² or Σ|x| by the superaccumulator (all threads, merged exactly).
    public static func accumulator(_ x: FloatBuffer, squares: Bool, threads: Int = ChunkedParallel.defaultThreadCount,
                                   release: (@Sendable (Range<Int>) -> Void)? = nil) -> ExactAccumulator {
        let parts: [ExactAccumulator]
        if x.format.bitWidth < 64 {
            // Integer bins per exponent (ExactBins.swift): a pass at memory speed.
            parts = ChunkedParallel.map(count: x.count, threads: threads) { range in
                let part = binnedReduction(x, range, squares: squares)!
                release?(range)
                return part
            }
        } else {
            parts = ChunkedParallel.map(count: x.count, chunkSize: 1 << 16, threads: threads) { range -> ExactAccumulator in
                var accumulator = ExactAccumulator()
                for i in range {
                    let v = x.value(at: i)
                    if squares { accumulator.addSquare(v) } else { accumulator.addMagnitude(v) }
                }
                release?(range)
                return accumulator
            }
        }
        var total = ExactAccumulator()
        for part in parts { total.merge(part) }
        return total
    }

    /// max |x| (NaN if any element is NaN), on the bit patterns: with the sign cleared, the order of the magnitudes of
    /// IEEE values is the order of their bits, and every NaN lies above infinity. One vectorizable pass.
    public static func maximum(_ x: FloatBuffer, threads: Int = ChunkedParallel.defaultThreadCount,
                               release: (@Sendable (Range<Int>) -> Void)? = nil) -> Double {
        // Above this (with the sign cleared) lie only NaNs: infinity, or the largest finite value in formats without one.
        let limit = x.format.infinityBits ?? x.format.largestFiniteBits
        func largest<T: FixedWidthInteger & UnsignedInteger>(_: T.Type) -> Double {
            let signMask = T(1) << (T.bitWidth - 1)
            let parts = ChunkedParallel.map(count: x.count, threads: threads) { range -> T in
                defer { release?(range) }
                let p = x.base.assumingMemoryBound(to: T.self)
                var top: T = 0
                for i in range { top = Swift.max(top, p[i] & ~signMask) }
                return top
            }
            let top = parts.max() ?? 0
            return UInt64(top) > limit ? .nan : BigFloat(bitPattern: UInt64(top), format: x.format).doubleValue()
        }
        switch x.format.bitWidth {
        case 8: return largest(UInt8.self)
        case 16: return largest(UInt16.self)
        case 32: return largest(UInt32.self)
        default: return largest(UInt64.self)
        }
    }

    /// The norm of `x` correctly rounded to `format`.
    public static func norm(_ x: FloatBuffer, order: NormOrder, format: FloatFormat = .float64,
                            threads: Int = ChunkedParallel.defaultThreadCount) -> Double {
        norm(of: [x], order: order, format: format, threads: threads).value
    }

    /// The norm of all elements of all buffers together (the total norm of gradient clipping), correctly
    /// rounded to `format`, and how it was decided. `allowEnclosure: false` forces the exact accumulator.
    public static func norm(of buffers: [FloatBuffer], order: NormOrder, format: FloatFormat = .float64,
                            threads: Int = ChunkedParallel.defaultThreadCount, allowEnclosure: Bool = true) -> (value: Double, path: Path) {
        let (values, path) = norms(of: buffers, order: order, formats: [format], threads: threads, allowEnclosure: allowEnclosure)
        return (values[0], path)
    }

    /// The norm correctly rounded to each of `formats`, from one pass over the data when the enclosure decides
    /// them all (else a second, exact one), and the path of the hardest. `release` is called as the passes go.
    public static func norms(of buffers: [FloatBuffer], order: NormOrder, formats: [FloatFormat],
                             threads: Int = ChunkedParallel.defaultThreadCount, allowEnclosure: Bool = true,
                             release: PageRelease? = nil) -> (values: [Double], path: Path) {
        func releasing(_ k: Int) -> (@Sendable (Range<Int>) -> Void)? {
            guard let release else { return nil }
            return { @Sendable range in release(k, range) }
        }
        switch order {
        case .infinity:
            let maxima = buffers.enumerated().map { maximum($1, threads: threads, release: releasing($0)) }
            let largest = maxima.contains(where: \.isNaN) ? Double.nan : maxima.max() ?? 0
            return (formats.map { f in FormatEmulator.with(f) { $0.round(largest) } }, .maximum)
        case .one, .two:
            let squares = order == .two
            if allowEnclosure {
                var total = ReductionEnclosure()
                for (k, x) in buffers.enumerated() { total.merge(enclosure(x, squares: squares, threads: threads, release: releasing(k))) }
                let decided = formats.map { total.decide(order: order, format: $0) }
                if decided.allSatisfy({ $0 != nil }) { return (decided.map { $0! }, .enclosure) }
            }
            var total = ExactAccumulator()
            for (k, x) in buffers.enumerated() { total.merge(accumulator(x, squares: squares, threads: threads, release: releasing(k))) }
            let reduction = total.value()
            return (formats.map { order.norm(ofReduction: reduction, format: $0) }, .accumulator)
        case .p:
            let values = buffers.flatMap { x in (0..<x.count).map { x.value(at: $0) } }
            return (formats.map { MPFRNorm.norm(values, order: order, format: $0) }, .mpfr)
        }
    }
}
