import Base
import Formats

/// A rigorous enclosure of an exact reduction (Σ|x| or Σx²): the exact sum of `partials` is within `bound` of
/// it. Fast exact norms compute one in floating point (compensated sums with a proven error bound), then
/// decide the correctly rounded norm from it when both ends of the enclosure round the same way, and fall back
/// to an exact accumulator only when they do not (Ziv's strategy).
public struct ReductionEnclosure: Sendable {
    /// Values whose exact sum approximates the reduction.
    public var partials: [Double]
    /// |reduction - Σ partials| <= bound.
    public var bound: Double
    /// A NaN was among the inputs (the norm is NaN).
    public var sawNaN: Bool
    /// An infinity was among the inputs (the norm is inf unless a NaN was too).
    public var sawInfinity: Bool

    public init(partials: [Double] = [], bound: Double = 0, sawNaN: Bool = false, sawInfinity: Bool = false) {
        self.partials = partials
        self.bound = bound
        self.sawNaN = sawNaN
        self.sawInfinity = sawInfinity
    }

    /// The enclosure of the sum of two reductions (the global norm of several tensors).
    public mutating func merge(_ other: ReductionEnclosure) {
        partials += other.partials
        bound = (bound + other.bound).nextUp
        sawNaN = sawNaN || other.sawNaN
        sawInfinity = sawInfinity || other.sawInfinity
    }

    /// The norm correctly rounded to `format`, or nil when the enclosure is too wide to decide it (or its
    /// arithmetic left the finite range, which the caller must then treat exactly).
    public func decide(order: NormOrder, format: FloatFormat) -> Double? {
        if sawNaN { return .nan }
        if sawInfinity { return FormatEmulator.with(format) { $0.round(.infinity) } }
        guard let (lower, upper) = interval() else { return nil }
        return order.norm(ofReductionBetween: lower, and: upper, format: format)
    }

    /// [Σ partials − bound, Σ partials + bound], rounded outward: it holds the exact value (of any sign). nil when a
    /// partial or the bound is not finite (an inf or NaN among the inputs, or a Float64 sum that overflowed).
    public func interval() -> (lower: BigFloat, upper: BigFloat)? {
        guard !sawNaN, !sawInfinity, bound.isFinite, partials.allSatisfy(\.isFinite) else { return nil }
        let center = ExactSum.of(partials)
        let precision = center.precision + 64
        let radius = BigFloat(bound)
        return (center.subtracting(radius, precision: precision, rounding: .down), center.adding(radius, precision: precision, rounding: .up))
    }
}
