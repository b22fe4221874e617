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

    /// The enclosure of Σx² (order 2) or Σ|x| (order 1).
    public static func enclosure(_ x: FloatBuffer, squares: Bool, threads: Int = ChunkedParallel.defaultThreadCount) -> ReductionEnclosure {
        var result = ReductionEnclosure()
        for part in ChunkedParallel.map(count: x.count, threads: threads, { exactChunk(x, $0, squares: squares) }) {
            result.merge(part)
        }
        return result
    }

    /// The exact reduction Σx² or Σ|x| by the superaccumulator (all threads, merged exactly).
    public static func accumulator(_ x: FloatBuffer, squares: Bool, threads: Int = ChunkedParallel.defaultThreadCount) -> ExactAccumulator {
        let parts = ChunkedParallel.map(count: x.count, chunkSize: 1 << 16, threads: threads) { range -> ExactAccumulator in
            var accumulator = ExactAccumulator()
            for i in range {
                let v = x.value(at: i)
                if squares { accumulator.addSquare(v) } else { accumulator.addMagnitude(v) }
            }
            return accumulator
        }
        var total = ExactAccumulator()
        for part in parts { total.merge(part) }
        return total
    }

    /// max |x| (NaN if any element is NaN).
    public static func maximum(_ x: FloatBuffer, threads: Int = ChunkedParallel.defaultThreadCount) -> Double {
        let parts = ChunkedParallel.map(count: x.count, threads: threads) { range -> Double in
            var largest = 0.0
            for i in range {
                let v = x.value(at: i)
                if v.isNaN { return .nan }
                largest = Swift.max(largest, v.magnitude)
            }
            return largest
        }
        return parts.contains(where: \.isNaN) ? .nan : parts.max() ?? 0
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
        switch order {
        case .infinity:
            let maxima = buffers.map { maximum($0, threads: threads) }
            let largest = maxima.contains(where: \.isNaN) ? Double.nan : maxima.max() ?? 0
            return (FormatEmulator.with(format) { $0.round(largest) }, .maximum)
        case .one, .two:
            let squares = order == .two
            if allowEnclosure {
                var total = ReductionEnclosure()
                for x in buffers { total.merge(enclosure(x, squares: squares, threads: threads)) }
                if let value = total.decide(order: order, format: format) { return (value, .enclosure) }
            }
            var total = ExactAccumulator()
            for x in buffers { total.merge(accumulator(x, squares: squares, threads: threads)) }
            return (order.norm(ofReduction: total.value(), format: format), .accumulator)
        case .p:
            let values = buffers.flatMap { x in (0..<x.count).map { x.value(at: $0) } }
            return (MPFRNorm.norm(values, order: order, format: format), .mpfr)
        }
    }
}
