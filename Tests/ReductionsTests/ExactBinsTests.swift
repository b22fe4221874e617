import Base
import Formats
import Reductions
import Reference
import Testing

/// The exact reduction by integer bins per exponent (16- and 32-bit inputs) against MPFR, and the finite magnitude
/// range by integer extremes against a scalar scan.
@Suite struct ExactBinsTests {
    /// Every Float16 and BFloat16 value at once: Σx² and Σ|x| of all 63,488 (f16) / 65,280 (bf16) finite ones,
    /// and what one inf or NaN among them makes of the sum.
    @Test(arguments: [FloatFormat.float16, .bfloat16])
    func everySixteenBitValue(format: FloatFormat) {
        var finite = [UInt16](), specials = [UInt16]()
        for bits in 0...UInt16.max {
            let v = format.decode(UInt64(bits))
            if v.isFinite { finite.append(bits) } else { specials.append(bits) }
        }
        let values = finite.map { format.decode(UInt64($0)) }
        finite.withUnsafeBytes { raw in
            let x = FloatBuffer(format: format, base: raw.baseAddress!, count: finite.count)
            for (squares, order) in [(true, NormOrder.two), (false, .one)] {
                let binned = FastExactNorm.accumulator(x, squares: squares, threads: 1).value()
                #expect(binned == MPFRNorm.exactReduction(values, order: order), "\(format) squares: \(squares)")
            }
            #expect(FastExactNorm.norm(of: [x], order: .two, format: format, allowEnclosure: false).value
                    == MPFRNorm.norm(values, order: .two, format: format))
        }
        for special in specials.prefix(3) + specials.suffix(3) {
            let withSpecial = [finite[1000], special, finite[2000]]
            withSpecial.withUnsafeBytes { raw in
                let sum = FastExactNorm.accumulator(FloatBuffer(format: format, base: raw.baseAddress!, count: 3), squares: true, threads: 1).value()
                let expected = MPFRNorm.exactReduction(withSpecial.map { format.decode(UInt64($0)) }, order: .two)
                #expect(sum.isNaN == expected.isNaN && sum.isInfinite == expected.isInfinite, "\(format) \(special)")
            }
        }
    }

    /// Bins at their fullest: 2^22 Float32 values of the largest significand at one exponent (a bin takes 2^16
    /// squares of up to 2^48 before it is flushed), and the largest finite value; n·x² is exact in BigFloat.
    @Test func fullBins() {
        for x in [Float(bitPattern: 0x3FFF_FFFF), .greatestFiniteMagnitude, Float(bitPattern: 0x007F_FFFF)] {
            let n = 1 << 22
            let values = [Float](repeating: x, count: n)
            values.withUnsafeBytes { raw in
                let buffer = FloatBuffer(format: .float32, base: raw.baseAddress!, count: n)
                for threads in [1, 2] {
                    let sum = FastExactNorm.accumulator(buffer, squares: true, threads: threads).value()
                    let d = BigFloat(Double(x))
                    #expect(sum == d.multiplied(by: d, precision: 200).multiplied(by: BigFloat(Double(n)), precision: 200), "\(x)")
                    #expect(FastExactNorm.accumulator(buffer, squares: false, threads: threads).value() == d.multiplied(by: BigFloat(Double(n)), precision: 200))
                }
            }
        }
    }

    /// The smallest nonzero and largest finite magnitude of random vectors with zeros, subnormals, inf and NaN,
    /// every format, lengths around the vector widths.
    @Test func magnitudeRanges() {
        var rng = SeededGenerator(seed: 77)
        for format in [FloatFormat.float16, .bfloat16, .float32, .float64] {
            for length in [0, 1, 3, 4, 7, 8, 15, 16, 17, 33, 1000, 5000] {
                let width = format.bitWidth
                let bits: [UInt64] = (0..<length).map { _ in
                    switch rng.next() % 6 {
                    case 0: return 0
                    case 1: return rng.next() & 0xFF  // subnormal
                    case 2: return format.encode(rng.next() & 1 == 0 ? .infinity : .nan)
                    default: return width == 64 ? rng.next() : rng.next() & ((1 << UInt64(width)) - 1)
                    }
                }
                let values = bits.map { format.decode($0) }
                let finiteNonzero = values.filter { $0.isFinite && $0 != 0 }.map(\.magnitude)
                let expected = (finiteNonzero.min() ?? 0, finiteNonzero.max() ?? 0)
                var bytes = [UInt8]()
                for b in bits { for k in 0..<(width / 8) { bytes.append(UInt8(truncatingIfNeeded: b >> UInt64(8 * k))) } }
                bytes.withUnsafeBytes { raw in
                    let source = ReductionSource([FloatBuffer(format: format, base: raw.baseAddress ?? UnsafeRawPointer(bitPattern: 64)!, count: length)])
                    let range = source.magnitudeRange(threads: 1)
                    #expect(range.smallest == expected.0 && range.largest == expected.1, "\(format) n=\(length): \(range) vs \(expected)")
                }
            }
        }
    }
}
