import Base
import Formats
import Reductions
import Reference
import Testing

/// Inputs built to take each path of the exact kernels (see ExactKernel.swift): Float16 blocks summed without
/// tracking, with tracking, and compensated after a failed check; blocks whose lane sums sit exactly at the
/// certification limit, where one rounding would go unnoticed if the limit were wrong; Float32 and Float64
/// blocks undone and redone because a term outgrew the lanes; inf, NaN and overflowing squares.
///
/// Each input is checked two ways against MPFR: the enclosure (partials and bound) contains the exact sum,
/// which fails as soon as a block certified exact was not; and the correctly rounded norms, to Float64 and to
/// the storage format, equal the MPFR-only ones.
@Suite struct ExactKernelPathTests {
    /// The kernels' block lengths (elements): 16-bit inputs, and the others.
    static let block16 = 2048, block = 4096

    func check<T: LabScalar>(_ values: [T], _ label: String, expectEnclosure: Bool = true) {
        let doubles = values.map(Double.init)
        values.withFloatBuffer { x in
            for order in [NormOrder.two, .one] {
                let exact = MPFRNorm.exactReduction(doubles, order: order)
                let enclosure = FastExactNorm.enclosure(x, squares: order == .two, threads: 1)
                if enclosure.bound.isFinite, enclosure.partials.allSatisfy(\.isFinite), exact.isFinite {
                    // Differences of values between 2^-2200 and 2^2100 are exact at 4400 bits.
                    let center = ExactSum.of(enclosure.partials)
                    let distance = exact.subtracting(center, precision: 4400).magnitude
                    #expect(!(BigFloat(enclosure.bound) < distance),
                            "\(label) ord \(order): exact sum \(exact) is \(distance) from the enclosure's \(center), bound \(enclosure.bound)")
                }
                for format in [FloatFormat.float64, T.format] {
                    let slow = order.norm(ofReduction: exact, format: format)
                    let fast = FastExactNorm.norm(of: [x], order: order, format: format, threads: 1)
                    #expect(fast.value.bitPattern == slow.bitPattern, "\(label) ord \(order) in \(format): \(fast.value) vs \(slow)")
                    if expectEnclosure && format == .float64 {
                        #expect(fast.path == .enclosure, "\(label) ord \(order): decided by \(fast.path)")
                    }
                }
            }
        }
    }

    func uniform<T: LabScalar>(_ n: Int, scale: Double, _ rng: inout SeededGenerator) -> [T] {
        (0..<n).map { _ in T(rounding: (2 * rng.nextUnit() - 1) * scale, saturating: true) }
    }

    /// Random exponents over the whole finite range of T, random signs.
    func wide<T: LabScalar>(_ n: Int, _ rng: inout SeededGenerator) -> [T] {
        let f = T.format
        return (0..<n).map { _ in
            let e = Int(rng.next() % UInt64(f.emax - f.emin + f.precision)) + f.emin - f.precision + 1
            return T(rounding: Double(sign: rng.next() & 1 == 0 ? .plus : .minus, exponent: e, significand: 1 + rng.nextUnit()), saturating: true)
        }
    }

    @Test func float16Paths() {
        var rng = SeededGenerator(seed: 11)
        let b = Self.block16
        // Small values (no tracking), large ones (tracking from then on), one block over the whole range
        // (compensated after the check fails), large again, and a tail that is not a whole step.
        var v: [Float16] = uniform(3 * b, scale: 0.1, &rng)
        v += uniform(2 * b, scale: 100, &rng)
        v += wide(b, &rng)
        v += uniform(b, scale: 100, &rng)
        v += uniform(1013, scale: 0.5, &rng)
        check(v, "f16 small/large/wide")
        // Loss-scaled gradients: every block too large for the untracked limit.
        check(uniform(5 * b + 7, scale: 3000, &rng) as [Float16], "f16 large")
    }

    /// Lane sums of Float16 squares at 2^5, the untracked limit (2^53 times the smallest subnormal squared):
    /// 4² + 4² in one lane makes 32, and a subnormal 2^-24 in the same lane (positions 0, 32 and 64 share a
    /// lane) adds 2^-48, which 32 + 2^-48 cannot hold. Below the limit the same subnormal is held exactly.
    @Test func float16AtTheUntrackedLimit() {
        let b = Self.block16
        var above = [Float16](repeating: 0, count: b)
        above[0] = 4; above[32] = 4; above[64] = Float16(bitPattern: 1)
        check(above + above, "f16 lane sum 32 + 2^-48")
        var below = above
        below[32] = Float16(3.875)
        check(below + below, "f16 lane sum 31.015625 + 2^-48")
        // The tracked limit with the same smallest element is 2^5 too: the block goes to compensated summation.
        var rng = SeededGenerator(seed: 12)
        let large: [Float16] = uniform(b, scale: 100, &rng)
        check(large + above + large, "f16 tracked, then a block at the limit")
    }

    /// The tracked limit: 2^53 times the square of the last-bit weight of the block's smallest nonzero element.
    /// BFloat16 1.0078125 = 1 + 2^-7 has last bit 2^-7, so the limit is 2^39; two 2^19 make 2^39 in its lane,
    /// and its square's last bit 2^-14 cannot be held next to it.
    @Test func bfloat16AtTheTrackedLimit() {
        let b = Self.block16
        var above = [BFloat16](repeating: 0, count: b)
        above[0] = BFloat16(0x1p19); above[32] = BFloat16(0x1p19); above[64] = BFloat16(1.0078125)
        check(above + above, "bf16 lane sum 2^39 + 1.0157")
        var below = above
        below[32] = 0
        check(below + below, "bf16 lane sum 2^38 + 1.0157")
        // Float16 with a normal smallest element: 1 + 2^-10 has last bit 2^-10, so the limit is 2^33, which
        // eight 2^15 in one lane reach.
        var half = [Float16](repeating: 0, count: b)
        for k in 0..<8 { half[32 * k] = Float16(0x1p15) }
        half[256] = Float16(1 + 0x1p-10)
        check(half + half, "f16 lane sum 2^33 + 1.002")
        half[0] = 0
        check(half + half, "f16 lane sum 7 * 2^30 + 1.002")
    }

    @Test func bfloat16Paths() {
        var rng = SeededGenerator(seed: 13)
        let b = Self.block16
        var v: [BFloat16] = uniform(2 * b, scale: 1e-3, &rng)
        v += wide(b, &rng)                                  // compensated
        v += [BFloat16](repeating: 0, count: b)             // all zeros
        v += uniform(b, scale: 1e30, &rng)
        v += uniform(999, scale: 1e-30, &rng)
        check(v, "bf16 mixed blocks")
    }

    /// Each block's terms are far above the lane sums so far: every block is undone and redone above a raised
    /// offset.
    @Test func growingBlocksAreRedone() {
        var rng = SeededGenerator(seed: 14)
        let b = Self.block
        var f: [Float] = []
        for k in 0..<10 { f += uniform(b, scale: Double(sign: .plus, exponent: 6 * k - 30, significand: 1), &rng) }
        f += uniform(777, scale: 0x1p40, &rng)
        check(f, "f32 growing")
        var d: [Double] = [Double](repeating: 0, count: b)  // a first block of zeros: offset 1
        for k in 0..<8 { d += uniform(b, scale: Double(sign: .plus, exponent: 50 * k - 200, significand: 1), &rng) }
        d += uniform(555, scale: 0x1p300, &rng)
        check(d, "f64 growing")
        check(wide(3 * b + 5, &rng) as [Float], "f32 wide")
    }

    @Test func nonFiniteAndOutOfRange() {
        var rng = SeededGenerator(seed: 15)
        let b = Self.block
        var f: [Float] = uniform(4 * b, scale: 1, &rng)
        f[3 * b + 17] = .nan
        check(f, "f32 NaN in block 3", expectEnclosure: false)
        f[3 * b + 17] = 1
        f[5] = -.infinity
        check(f, "f32 -inf in block 0", expectEnclosure: false)
        var h: [Float16] = uniform(3 * Self.block16, scale: 0.1, &rng)
        h[2 * Self.block16 + 100] = .infinity
        check(h, "f16 inf after folded blocks", expectEnclosure: false)
        var d: [Double] = uniform(3 * b, scale: 1, &rng)
        d[b + 3] = 0x1p600  // its square overflows Double: the exact accumulator decides
        check(d, "f64 square beyond Double", expectEnclosure: false)
        // Squares below Double's normal range: the TwoProduct errors are not exact, the bound says so, and the
        // exact accumulator decides.
        check(uniform(3 * b, scale: 0x1p-520, &rng) as [Double], "f64 squares underflowing", expectEnclosure: false)
    }
}
