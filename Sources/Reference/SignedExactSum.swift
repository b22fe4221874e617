import Base
import Formats

/// An exact sum of terms of any sign, x_i or products x_i·y_i of Doubles: positive and negative terms go to two
/// exact accumulators, and the sum is their exact difference. Streams (add one term at a time, merge partial
/// sums from threads in any order, the same bits) where `ExactSum` needs every term in memory at once.
public struct SignedExactSum: Sendable {
    @usableFromInline var positive = ExactAccumulator(), negative = ExactAccumulator()
    @usableFromInline var sawNaN = false, sawPositiveInfinity = false, sawNegativeInfinity = false

    public init() {}

    @inlinable public mutating func add(_ x: Double) {
        guard x.isFinite else { record(x); return }
        if x > 0 { positive.addMagnitude(x) } else if x < 0 { negative.addMagnitude(x) }
    }

    /// Adds x·y exactly (the 106-bit product of the significands); non-finite products as IEEE 754 has them.
    @inlinable public mutating func addProduct(_ x: Double, _ y: Double) {
        guard x.isFinite && y.isFinite else { record(x * y); return }
        guard x != 0 && y != 0 else { return }
        let (mx, ex) = ExactAccumulator.decompose(x), (my, ey) = ExactAccumulator.decompose(y)
        if (x < 0) != (y < 0) {
            negative.add(significand: UInt128(mx) * UInt128(my), exponent: ex + ey)
        } else {
            positive.add(significand: UInt128(mx) * UInt128(my), exponent: ex + ey)
        }
    }

    @usableFromInline mutating func record(_ special: Double) {
        if special.isNaN { sawNaN = true } else if special > 0 { sawPositiveInfinity = true } else { sawNegativeInfinity = true }
    }

    public mutating func merge(_ other: SignedExactSum) {
        positive.merge(other.positive)
        negative.merge(other.negative)
        sawNaN = sawNaN || other.sawNaN
        sawPositiveInfinity = sawPositiveInfinity || other.sawPositiveInfinity
        sawNegativeInfinity = sawNegativeInfinity || other.sawNegativeInfinity
    }

    /// The exact sum (NaN after a NaN or infinities of both signs, ±inf after infinities of one sign).
    public func value() -> BigFloat {
        if sawNaN || (sawPositiveInfinity && sawNegativeInfinity) { return .nan }
        if sawPositiveInfinity || sawNegativeInfinity { return .infinity(negative: sawNegativeInfinity) }
        let (p, n) = (positive.value(), negative.value())
        return p.subtracting(n, precision: KernelReference.exactDifferencePrecision(p, n))
    }
}
