import Base
import Formats

/// An exact sum of non-negative terms m × 2^e (m < 2^128): a fixed-point integer wide enough for every square
/// of a Float64 (2^-2148 to 2^2048) and 2^40 terms, in the manner of Neal's xsum "large superaccumulator".
///
/// The integer is kept as 32-bit digits in Int64 cells. An addition spreads the term over a few cells without
/// propagating carries, each cell gaining less than 2^33, so carries are propagated only every 2^29 additions.
/// Adding is exact, order-independent and deterministic, so partial sums from several threads can be merged
/// in any order with the same result.
public struct ExactAccumulator: Sendable, Equatable {
    /// Weight of the lowest cell's lowest bit.
    public static let lowestExponent = -2208
    /// Cells cover weights up to 2^(lowestExponent + 32 * cellCount) = 2^2208: squares of Float64 values are
    /// below 2^2048, which leaves 2^160 of headroom for the count of terms.
    @usableFromInline static let cellCount = 138
    @usableFromInline static let normalizeEvery = 1 << 29

    @usableFromInline var cells: [Int64]
    @usableFromInline var pending = 0
    /// Non-finite terms seen (they make the sum NaN or inf).
    public private(set) var sawNaN = false
    public private(set) var sawInfinity = false

    public init() { cells = [Int64](repeating: 0, count: Self.cellCount) }

    /// Adds m × 2^e. Requires lowestExponent <= e and m × 2^e < 2^2100.
    @inlinable public mutating func add(significand m: UInt128, exponent e: Int) {
        guard m != 0 else { return }
        let offset = e - Self.lowestExponent
        precondition(offset >= 0 && offset < 32 * (Self.cellCount - 6), "term outside the accumulator's range")
        let index = offset >> 5, shift = UInt64(offset & 31)
        cells.withUnsafeMutableBufferPointer { c in
            var rest = m
            var i = index
            while rest != 0 {
                let chunk = UInt64(truncatingIfNeeded: rest) & 0xFFFF_FFFF
                let shifted = chunk << shift  // < 2^63
                c[i] &+= Int64(shifted & 0xFFFF_FFFF)
                c[i + 1] &+= Int64(shifted >> 32)
                rest >>= 32
                i += 1
            }
        }
        pending += 1
        if pending == Self.normalizeEvery { normalize() }
    }

    /// Adds |x|, exactly.
    @inlinable public mutating func addMagnitude(_ x: Double) {
        guard x.isFinite else { record(nonFinite: x); return }
        let (m, e) = Self.decompose(x)
        add(significand: UInt128(m), exponent: e)
    }

    /// Adds x², exactly (the 106-bit square of the significand).
    @inlinable public mutating func addSquare(_ x: Double) {
        guard x.isFinite else { record(nonFinite: x); return }
        let (m, e) = Self.decompose(x)
        add(significand: UInt128(m) * UInt128(m), exponent: 2 * e)
    }

    @usableFromInline mutating func record(nonFinite x: Double) {
        if x.isNaN { sawNaN = true } else { sawInfinity = true }
    }

    /// |x| = m × 2^e with m < 2^53, for finite x.
    @inlinable static func decompose(_ x: Double) -> (UInt64, Int) {
        let bits = x.bitPattern
        let field = Int((bits >> 52) & 0x7FF)
        let fraction = bits & ((1 << 52) - 1)
        return field == 0 ? (fraction, -1074) : (fraction | (1 << 52), field - 1075)
    }

    /// Propagates carries so every cell but the top holds a value in [0, 2^32).
    public mutating func normalize() {
        var carry: Int64 = 0
        for i in cells.indices {
            let v = cells[i] &+ carry
            cells[i] = v & 0xFFFF_FFFF
            carry = v >> 32
        }
        precondition(carry == 0, "exact accumulator overflow")
        pending = 0
    }

    /// Adds another accumulator's sum.
    public mutating func merge(_ other: ExactAccumulator) {
        var other = other
        normalize()
        other.normalize()
        for i in cells.indices { cells[i] &+= other.cells[i] }
        sawNaN = sawNaN || other.sawNaN
        sawInfinity = sawInfinity || other.sawInfinity
        normalize()
    }

    /// The exact sum: NaN if a NaN was added, inf if an infinity was.
    public func value() -> BigFloat {
        if sawNaN { return .nan }
        if sawInfinity { return .infinity() }
        var copy = self
        copy.normalize()
        guard let top = copy.cells.lastIndex(where: { $0 != 0 }), let bottom = copy.cells.firstIndex(where: { $0 != 0 }) else {
            return BigFloat(0)
        }
        let precision = 32 * (top - bottom + 1) + 8
        var sum = BigFloat(precision: precision)
        for i in bottom...top where copy.cells[i] != 0 {
            sum += BigFloat(significand: Int(copy.cells[i]), exponent: Self.lowestExponent + 32 * i, precision: 64)
                .withPrecision(precision)
        }
        return sum
    }

    public static func == (a: ExactAccumulator, b: ExactAccumulator) -> Bool {
        var (x, y) = (a, b)
        x.normalize(); y.normalize()
        return x.cells == y.cells && x.sawNaN == y.sawNaN && x.sawInfinity == y.sawInfinity
    }
}

/// Exact norms through the accumulator, correctly rounded once to any format.
public enum ExactNorm {
    /// The exact 1- or 2-norm reduction (Σ|x| or Σx²) or max |x| of values of any lab format.
    public static func reduction<C: Collection>(_ values: C, order: NormOrder) -> BigFloat where C.Element: LabScalar {
        switch order {
        case .infinity:
            var largest = 0.0, nan = false
            for x in values {
                let d = Double(x)
                if d.isNaN { nan = true } else { largest = Swift.max(largest, d.magnitude) }
            }
            return nan ? .nan : BigFloat(largest)
        case .one, .two:
            var accumulator = ExactAccumulator()
            for x in values {
                if order == .one { accumulator.addMagnitude(Double(x)) } else { accumulator.addSquare(Double(x)) }
            }
            return accumulator.value()
        case .p:
            return MPFRNorm.exactReduction(values.map(Double.init), order: order)
        }
    }

    /// The norm correctly rounded to `format`.
    public static func norm<C: Collection>(_ values: C, order: NormOrder, format: FloatFormat = .float64) -> Double
    where C.Element: LabScalar {
        if case .p = order, order.integerExponent == nil { return MPFRNorm.norm(values.map(Double.init), order: order, format: format) }
        return order.norm(ofReduction: reduction(values, order: order), format: format)
    }
}
