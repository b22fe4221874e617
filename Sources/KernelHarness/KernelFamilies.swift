import Formats
import Reductions
import Results
#if canImport(Glibc)
import Glibc
#endif

/// The adversarial inputs of the harness: each family is built to break a known weakness of reductions, in any
/// format, from a fixed seed (the same bytes on every export). Every value is exactly representable in its format.
/// The families named as the reduction fixtures' (`ReductionFixture.Family`) are drawn by them: gradients,
/// overflow-squares (Float16: elements near 256), subnormal-only, mixed-magnitudes, outlier, with-inf, with-nan.
public enum KernelFamily: String, CaseIterable, Sendable {
    case gradients
    case overflowSquares = "overflow-squares"
    /// 2^p followed by ones: a recursive sum in the format loses every one (Float16 stays at 2048).
    case stagnation
    case subnormalOnly = "subnormal-only"
    case mixedMagnitudes = "mixed-magnitudes"
    case outlier
    case withInfinity = "with-inf"
    case withNaN = "with-nan"
    /// Pairs a, −a of wide magnitudes (with y = b, b: the products cancel too) around a few small values, shuffled:
    /// the exact sum and dot product are tiny against the partial sums.
    case cancellation
    /// A huge offset with a small spread, 2^E·(1 + k·ulp): the mean is fine, E[x²] − E[x]² cancels catastrophically.
    case offset
    /// Logits around log(largest finite) − 3 to + 4: exp overflows without the max shift.
    case largeLogits = "large-logits"
    /// A 2-D tensor reduced row by row (axis −1), one row of each of eight families.
    case rows
    /// Gradient-like values of lengths 2^k − 1, 2^k, 2^k + 1 (k = 5, 8, 11, 16): blocked kernels' edges.
    case lengths

    /// Elements of a 1-D input (the `rows` family: per row; `lengths`: see `lengthVariants`).
    static let defaultCount = 4096
    /// Rows of the `rows` family and their length.
    static let rowCount = 8, rowLength = 1000
    /// The `lengths` family's lengths.
    public static let lengthVariants: [Int] = [5, 8, 11, 16].flatMap { k in [(1 << k) - 1, 1 << k, (1 << k) + 1] }

    /// The families of the `rows` family's rows, in order.
    static let rowFamilies: [KernelFamily] = [.gradients, .overflowSquares, .subnormalOnly, .mixedMagnitudes, .cancellation,
                                               .offset, .largeLogits, .withInfinity]

    /// One input set of a family: x, y (for `dot`), its shape, whether it is reduced by rows, and a variant label.
    public struct Input: Sendable {
        public var family: KernelFamily
        public var variant: String?
        public var format: FloatFormat
        public var x: [Double]
        public var y: [Double]
        public var shape: [Int]
        public var byRows: Bool

        /// `family[-variant]`.
        public var label: String { variant.map { "\(family.rawValue)-\($0)" } ?? family.rawValue }
    }

    /// The family's input sets in `format` (one, or one per length for `lengths`); `length` overrides the
    /// element count of the 1-D families.
    public func inputs(format: FloatFormat, length: Int? = nil) -> [Input] {
        let seed = UInt64(7919 * (KernelFamily.allCases.firstIndex(of: self)! + 1) + 101 * (FloatFormat.arithmetic.firstIndex(of: format) ?? 9))
        switch self {
        case .rows:
            var x = [Double](), y = [Double]()
            for (r, family) in KernelFamily.rowFamilies.enumerated() {
                let (a, b) = family.values(count: KernelFamily.rowLength, format: format, seed: seed &+ UInt64(r))
                x += a
                y += b
            }
            return [Input(family: self, variant: nil, format: format, x: x, y: y,
                          shape: [KernelFamily.rowFamilies.count, KernelFamily.rowLength], byRows: true)]
        case .lengths:
            return KernelFamily.lengthVariants.enumerated().map { i, n in
                let (x, y) = KernelFamily.gradients.values(count: n, format: format, seed: seed &+ UInt64(i))
                return Input(family: self, variant: "n\(n)", format: format, x: x, y: y, shape: [n], byRows: false)
            }
        default:
            let count = length ?? (self == .withInfinity || self == .withNaN ? 1024 : KernelFamily.defaultCount)
            let (x, y) = values(count: count, format: format, seed: seed)
            return [Input(family: self, variant: nil, format: format, x: x, y: y, shape: [x.count], byRows: false)]
        }
    }

    /// x and y of one family (y: the partner of x for `dot`; a second draw where the family has no partner).
    func values(count: Int, format f: FloatFormat, seed: UInt64) -> (x: [Double], y: [Double]) {
        if self != .stagnation, let shared = ReductionFixture.Family(rawValue: rawValue) {
            return (ReductionFixture(family: shared, format: f, count: count, seed: seed).values(),
                    ReductionFixture(family: shared, format: f, count: count, seed: seed &+ 0x5EED).values())
        }
        var rng = SeededGenerator(seed: seed)
        func binade(_ e: Int) -> Double { Double(sign: .plus, exponent: e, significand: 1) }
        func draw() -> [Double] {
            switch self {
            case .stagnation:
                return [binade(f.precision)] + [Double](repeating: 1, count: count - 1)
            case .offset:
                let base = binade(f.emax / 2 - 2), spacing = f.ulp(of: base)
                return (0..<count).map { _ in f.round(base + Double(rng.next() % 256) * spacing) }
            default:  // large logits
                let center = log(f.largestFinite)
                return (0..<count).map { _ in f.round(center + 7 * rng.nextUnit() - 3) }
            }
        }
        if self == .cancellation { return cancellation(count: count, format: f, rng: &rng) }
        let x = draw()
        return (x, self == .stagnation ? [Double](repeating: 1, count: count) : draw())
    }

    /// Pairs (a, b), (−a, b) with |a|, |b| spread over 2^(±emax/4), plus a few small values, shuffled together.
    private func cancellation(count: Int, format f: FloatFormat, rng: inout SeededGenerator) -> (x: [Double], y: [Double]) {
        let span = max(f.emax / 4, 2)
        func wide() -> Double {
            let e = Int(rng.next() % UInt64(2 * span + 1)) - span
            return f.round((rng.next() & 1 == 0 ? 1 : -1) * Double(sign: .plus, exponent: e, significand: 1 + rng.nextUnit()))
        }
        var pairs = [(Double, Double)]()
        let small = max(count / 64, 1)
        while pairs.count + 2 <= count - small {
            let (a, b) = (wide(), wide())
            pairs += [(a, b), (-a, b)]
        }
        let tiny = Double(sign: .plus, exponent: -span, significand: 1)
        while pairs.count < count { pairs.append((f.round(tiny * (1 + rng.nextUnit())), f.round(tiny * (1 + rng.nextUnit())))) }
        for i in stride(from: pairs.count - 1, to: 0, by: -1) { pairs.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        return (pairs.map(\.0), pairs.map(\.1))
    }
}
