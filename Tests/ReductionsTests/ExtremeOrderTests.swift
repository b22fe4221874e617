import Base
import Formats
import Reductions
import Reference
import Testing

/// Norms of huge and tiny orders p: |x|^p leaves MPFR's default exponent range (±2^30) long before p does, so
/// the exact path scales by the largest |x| first. Checked against (a) the unscaled sum computed with MPFR's
/// exponent range widened to ±2^62 (an independent enclosure, `widenedReference`), for random orders 10^-15 to
/// 10^15, lengths and magnitudes of every format, and (b) what the definition gives where even that range is
/// too small: orders 10^20 to 10^300 and 10^-20 to 10^-300.
@Suite struct ExtremeOrderTests {
    /// (Σ|x|^p)^(1/p) without scaling, in MPFR's widest exponent range, enclosed with outward rounding at
    /// rising precision (every term, sum and root rounded down for the lower end and up for the upper end, the
    /// root's exponent 1/p both ways); the correctly rounded value when both ends round alike, else nil.
    func widenedReference(_ values: [Double], p: Double, format: FloatFormat) -> Double? {
        let nonzero = values.filter { $0 != 0 }.map(\.magnitude)
        guard !nonzero.isEmpty else { return 0 }
        return FormatEmulator.withWidestExponentRange { () -> Double? in
            let e = BigFloat(p)
            for precision in [256, 1024, 4096, 16384] {
                func sum(_ r: RoundingMode) -> BigFloat {
                    nonzero.reduce(BigFloat(0, precision: precision)) { s, x in
                        s.adding(BigFloat(x).power(e, precision: precision, rounding: r), precision: precision, rounding: r)
                    }
                }
                let (low, high) = (sum(.down), sum(.up))
                // Inside the widened range nothing over- or underflows; if it did, this reference would not be one.
                precondition(low.isFinite && !low.isZero && high.isFinite, "the widened range is too small for p = \(p)")
                let inverses = [RoundingMode.down, .up].map { BigFloat(1).divided(by: e, precision: precision, rounding: $0) }
                let lows = inverses.map { low.power($0, precision: precision, rounding: .down) }
                let highs = inverses.map { high.power($0, precision: precision, rounding: .up) }
                let (a, b) = FormatEmulator.with(format) { em in
                    (em.round(lows[0] < lows[1] ? lows[0] : lows[1]), em.round(highs[0] < highs[1] ? highs[1] : highs[0]))
                }
                if a.bitPattern == b.bitPattern { return a }
            }
            return nil
        }
    }

    /// The cases of the issue: p = 10^9 gave inf for a norm near 17.30 and 0 for one near 0.0034.
    @Test func ordersOfABillion() {
        let large: [Double] = [17.30, -3, 16.9, 0.5]
        let small: [Double] = [0.0034, -0.0021, 0.0009]
        for (values, expected) in [(large, 17.30), (small, 0.0034)] {
            let exact = MPFRNorm.norm(values, order: .p(1e9))
            #expect(exact == widenedReference(values, p: 1e9, format: .float64))
            // (Σ|x|^p)^(1/p) = m (1 + Σ_{others} (|x|/m)^p)^(1/p), within 2^-(10^6) of m here.
            #expect(exact == expected)
        }
        #expect(MPFRNorm.norm([2.0], order: .p(1e20)) == 2)
    }

    /// Beyond the widened range: for p → ∞ the norm tends to max|x| from above, for p → 0 (with two or more
    /// nonzero values) to infinity; one nonzero value is its own norm for every p.
    @Test func ordersBeyondAnyExponentRange() {
        let values: [Double] = [3, -2.5, 1e-300, 0x1p-1074, 0, 2.99]
        for p in [1e20, 1e50, 1e100, 1e200, 1e300, .greatestFiniteMagnitude] {
            for format in FloatFormat.arithmetic {
                #expect(MPFRNorm.norm(values, order: .p(p), format: format) == 3, "p = \(p) in \(format)")
                #expect(MPFRNorm.norm([3, 3, 3], order: .p(p), format: format) == 3)  // 3 · 3^(1/p)
            }
            #expect(MPFRNorm.norm([-0x1p-1074], order: .p(p)) == 0x1p-1074)
        }
        for p in [1e-20, 1e-50, 1e-100, 1e-200, 1e-300, .leastNonzeroMagnitude] {
            for format in FloatFormat.arithmetic {
                #expect(MPFRNorm.norm(values, order: .p(p), format: format) == .infinity, "p = \(p) in \(format)")
                #expect(MPFRNorm.norm([0, -7, 0], order: .p(p), format: format) == 7)
            }
        }
        // The norm is strictly above m = max|x| when another value is nonzero, however little: a Float16
        // midpoint m = 1 + 2^-11 rounds up then (it would tie to even, 1, for m alone).
        let midpoint = 1 + 0x1p-11
        #expect(MPFRNorm.norm([midpoint, 1e-10], order: .p(1e9), format: .float16) == 1 + 0x1p-10)
        #expect(MPFRNorm.norm([midpoint, 1e-10], order: .p(1e300), format: .float16) == 1 + 0x1p-10)
        #expect(MPFRNorm.norm([midpoint], order: .p(1e300), format: .float16) == 1)
        #expect(MPFRNorm.norm([midpoint, 0], order: .p(1e9), format: .float16) == 1)
    }

    /// Random orders (non-integers log-uniform over 10^-15 to 10^15, integers 3 to 64 and above), lengths 1 to 40,
    /// magnitudes over each format's whole range; every exact path (`MPFRNorm.norm` and `FastExactNorm` on a
    /// buffer of the format) against the widened reference, rounded to Float64 and to the storage format.
    @Test(arguments: [FloatFormat.float16, .bfloat16, .float32, .float64])
    func randomOrdersAgainstTheWidenedRange(format: FloatFormat) {
        var rng = SeededGenerator(seed: 2024 + UInt64(format.bitWidth))
        var checked = 0, undecided = 0
        func check<T: LabScalar>(_ vectors: [[T]]) {
            for (k, v) in vectors.enumerated() {
                let p: Double
                switch rng.next() % 4 {
                case 0: p = Double(rng.next() % 62 + 3)
                case 1: p = Double(rng.next() % 1_000_000 + 65)
                case 2: p = 0.25 + 8 * rng.nextUnit()
                default: p = pow10(-15 + 30 * rng.nextUnit())
                }
                let doubles = v.map(Double.init)
                for target in [FloatFormat.float64, format] {
                    guard let expected = widenedReference(doubles, p: p, format: target) else { undecided += 1; continue }
                    let slow = MPFRNorm.norm(doubles, order: .p(p), format: target)
                    let fast = v.withFloatBuffer { FastExactNorm.norm(of: [$0], order: NormOrder(p: p)!, format: target).value }
                    #expect(slow.bitPattern == expected.bitPattern, "#\(k) n=\(v.count) p=\(p) in \(target): \(slow) vs \(expected)")
                    #expect(fast.bitPattern == expected.bitPattern, "fast #\(k) n=\(v.count) p=\(p) in \(target): \(fast) vs \(expected)")
                    checked += 1
                }
            }
        }
        let seed = rng.next()
        switch format {
        case .float16: check(randomVectors(of: Float16.self, count: 400, maxLength: 40, seed: seed).filter { !$0.isEmpty })
        case .bfloat16: check(randomVectors(of: BFloat16.self, count: 400, maxLength: 40, seed: seed).filter { !$0.isEmpty })
        case .float32: check(randomVectors(of: Float.self, count: 400, maxLength: 40, seed: seed).filter { !$0.isEmpty })
        default: check(randomVectors(of: Double.self, count: 400, maxLength: 40, seed: seed).filter { !$0.isEmpty })
        }
        #expect(checked >= 600 && undecided <= checked / 50, "\(format): \(checked) checked, \(undecided) undecided by the reference")
    }
}

private func pow10(_ x: Double) -> Double { BigFloat(10, precision: 64).power(BigFloat(x), precision: 64).doubleValue() }
