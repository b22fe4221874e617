import Base
import Formats
import Results

extension ReductionFixture {
    /// The lab's fixture set: every family in every arithmetic format, with the long stagnation vectors the
    /// issue asks for (70,000 ones in fp16, 20M in fp32).
    public static let standard: [ReductionFixture] = FloatFormat.arithmetic.flatMap { format in
        Family.allCases.map { family -> ReductionFixture in
            let count: Int
            switch (family, format) {
            case (.stagnation, .float16), (.stagnation, .bfloat16): count = 70_000
            case (.stagnation, .float32): count = 20_000_000
            case (.stagnation, _): count = 1_000_000
            case (.gradients, _): count = 100_000
            default: count = 10_000
            }
            let seed = UInt64(1000 * (FloatFormat.arithmetic.firstIndex(of: format)! + 1) + Family.allCases.firstIndex(of: family)!)
            return ReductionFixture(family: family, format: format, count: count, seed: seed)
        }
    }

    /// The values, each exactly representable in `format`.
    public func values() -> [Double] {
        var rng = SeededGenerator(seed: seed)
        let f = format
        func sign() -> Double { rng.next() & 1 == 0 ? 1 : -1 }
        func round(_ v: Double) -> Double { f.round(v) }
        func gradient() -> Double { round((rng.nextUnit() + rng.nextUnit() + rng.nextUnit() - 1.5) * 2e-3) }
        let half = Double(sign: .plus, exponent: f.emax / 2 + 1, significand: 1)  // squares ≥ 2^(emax+2) overflow
        switch family {
        case .overflowSquares:
            return (0..<count).map { _ in round(sign() * half * (1 + 3 * rng.nextUnit())) }
        case .stagnation:
            // Float64 has no affordable stagnation by ones: 2^53 first, then ones (each lost by a naive sum).
            if f == .float64 { return [0x1p53] + [Double](repeating: 1, count: count - 1) }
            return [Double](repeating: 1, count: count)
        case .subnormalOnly:
            let spacing = f.smallestSubnormal, slots = UInt64(1) << UInt64(f.precision - 1)
            return (0..<count).map { _ in sign() * Double(1 + rng.next() % (slots - 1)) * spacing }
        case .mixedMagnitudes:
            let low = f == .float16 ? f.emin - f.precision + 1 : -66, high = f == .float16 ? f.emax - 1 : 66  // 2^±66 ≈ 10^±20
            return (0..<count).map { _ in
                let e = low + Int(rng.next() % UInt64(high - low + 1))
                return round(sign() * Double(sign: .plus, exponent: e, significand: 1 + rng.nextUnit()))
            }
        case .outlier:
            var v = (0..<count).map { _ in round(sign() * f.smallestNormal * (1 + rng.nextUnit())) }
            v[Int(rng.next() % UInt64(count))] = round(f.largestFinite * (0.5 + 0.5 * rng.nextUnit()))
            return v
        case .withInfinity, .withNaN:
            var v = (0..<count).map { _ in gradient() }
            v[Int(rng.next() % UInt64(count))] = family == .withNaN ? .nan : -.infinity
            return v
        case .gradients:
            return (0..<count).map { _ in gradient() }
        }
    }

    /// The values stored in the fixture's format, for the duration of `body`.
    public func withBuffer<R>(_ body: (FloatBuffer) -> R) -> R {
        let v = values()
        switch format {
        case .float16: return v.map { Float16($0) }.withFloatBuffer(body)
        case .bfloat16: return v.map { BFloat16(Float($0)) }.withFloatBuffer(body)
        case .float32: return v.map { Float($0) }.withFloatBuffer(body)
        default: return v.withFloatBuffer(body)
        }
    }
}
