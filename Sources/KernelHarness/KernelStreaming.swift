import Base
import Formats
import Reductions
import Reference
import Results

/// Exact references of long inputs straight from their bytes (a memory-mapped file), in parallel chunks merged
/// exactly: the norms by `FastExactNorm`, sums, means, dot products and variances by `SignedExactSum` and the
/// exact accumulator. No element is copied into an array. Where the enclosure of the norms decides the rounding,
/// `exact` is the value correctly rounded to Float64 (17 significant digits) rather than 30 digits. `logsumexp` and the softmax denominator have no
/// streaming path (their enclosure needs every term at MPFR precision): nil.
public enum KernelStreaming {
    /// Results of at least this many elements are computed here when the bytes are at hand.
    public static let threshold = 1 << 20

    public static func evaluate(_ r: KernelReduction, x: FloatBuffer, y: FloatBuffer?, format: FloatFormat,
                                threads: Int = Parallel.defaultThreads) -> KernelExpected? {
        func signed(_ product: Bool) -> BigFloat {
            var total = SignedExactSum()
            for part in ChunkedParallel.map(count: x.count, chunkSize: 1 << 16, threads: threads, { range -> SignedExactSum in
                var s = SignedExactSum()
                if product, let y { for i in range { s.addProduct(x.value(at: i), y.value(at: i)) } } else { for i in range { s.add(x.value(at: i)) } }
                return s
            }) { total.merge(part) }
            return total.value()
        }
        switch r {
        case .sum: return KernelReference.rounded(signed(false), format)
        case .dot: return y == nil ? nil : KernelReference.rounded(signed(true), format)
        case .mean: return KernelReference.quotient(signed(false), BigFloat(Double(x.count)), format)
        case .sumsq, .norm1, .norm2:
            // The exact norm's own path: a compensated enclosure decides the rounding in one pass at memory speed, the
            // exact accumulator only when it cannot. `exact` is then the value correctly rounded to Float64.
            let enclosure = FastExactNorm.enclosure(x, squares: r != .norm1, threads: threads)
            let order: NormOrder = r == .norm2 ? .two : .one
            if let value = enclosure.decide(order: order, format: format), let wide = enclosure.decide(order: order, format: .float64) {
                return KernelExpected(rounded: value, exact: Figures.exact(wide))
            }
            let q = FastExactNorm.accumulator(x, squares: r != .norm1, threads: threads).value()
            if r != .norm2 { return KernelReference.rounded(q, format) }
            return KernelExpected(rounded: NormOrder.two.norm(ofReduction: q, format: format),
                                  exact: (q.isFinite ? q.squareRoot(precision: 128) : q).formatted(digits: 30))
        case .norminf:
            return KernelReference.rounded(BigFloat(largestMagnitude(x, threads: threads)), format)
        case .variance, .varianceUnbiased:
            let q = FastExactNorm.accumulator(x, squares: true, threads: threads).value()
            return KernelReference.variance(sum: signed(false), squares: q, count: x.count, unbiased: r == .varianceUnbiased, format: format)
        case .logsumexp, .softmaxDenominator: return nil
        }
    }

    /// max |x| (NaN if any element is NaN) on the bit patterns: with the sign cleared, the order of the magnitudes
    /// of IEEE values is the order of their bits, and every NaN lies above infinity. One vectorizable pass.
    static func largestMagnitude(_ x: FloatBuffer, threads: Int) -> Double {
        func largest<T: FixedWidthInteger & UnsignedInteger>(_: T.Type, signMask: T, infinity: T) -> Double {
            let parts = ChunkedParallel.map(count: x.count, threads: threads) { range -> T in
                let p = x.base.assumingMemoryBound(to: T.self)
                var top: T = 0
                for i in range { top = Swift.max(top, p[i] & ~signMask) }
                return top
            }
            let top = parts.max() ?? 0
            return top > infinity ? .nan : BigFloat(bitPattern: UInt64(top), format: x.format).doubleValue()
        }
        switch x.format.bitWidth {
        case 16: return largest(UInt16.self, signMask: 0x8000, infinity: x.format == .float16 ? 0x7C00 : 0x7F80)
        case 32: return largest(UInt32.self, signMask: 0x8000_0000, infinity: 0x7F80_0000)
        default: return largest(UInt64.self, signMask: 1 << 63, infinity: 0x7FF0_0000_0000_0000)
        }
    }
}
