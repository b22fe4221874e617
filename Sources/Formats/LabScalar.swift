/// The scalar protocol shared by the four arithmetic formats of the lab: Float16, BFloat16, Float and Double.
///
/// Generic code over `LabScalar` gets `BinaryFloatingPoint` arithmetic plus the format description, the bit
/// pattern, and a fused multiply-add that is correctly rounded in every format (Swift's own Float16 fma is
/// not guaranteed to be on every target: LLVM may evaluate it as a Float fma and round twice).
public protocol LabScalar: BinaryFloatingPoint, Sendable, CustomStringConvertible
where Self.RawSignificand: FixedWidthInteger {
    associatedtype BitPattern: FixedWidthInteger & UnsignedInteger & Sendable
    static var format: FloatFormat { get }
    var bitPattern: BitPattern { get }
    init(bitPattern: BitPattern)
    /// a * b + c with a single rounding.
    static func fusedMultiplyAdd(_ a: Self, _ b: Self, _ c: Self) -> Self
}

extension LabScalar {
    /// The value rounded from Double in one step (ties to even), overflowing as the format does, or
    /// saturating to ±largest finite on request.
    @inlinable public init(rounding x: Double, saturating: Bool) {
        self.init(bitPattern: BitPattern(truncatingIfNeeded: Self.format.encode(x, saturating: saturating)))
    }
}

extension Float: LabScalar {
    public static var format: FloatFormat { .float32 }
    @inlinable public static func fusedMultiplyAdd(_ a: Float, _ b: Float, _ c: Float) -> Float { c.addingProduct(a, b) }
}

extension Double: LabScalar {
    public static var format: FloatFormat { .float64 }
    @inlinable public static func fusedMultiplyAdd(_ a: Double, _ b: Double, _ c: Double) -> Double { c.addingProduct(a, b) }
}

extension Float16: LabScalar {
    public static var format: FloatFormat { .float16 }
    /// The 22-bit product of two Float16 values is exact in Double; the sum is rounded to odd in Double and
    /// then to nearest in Float16, which is a single correct rounding (53 >= 11 + 2).
    @inlinable public static func fusedMultiplyAdd(_ a: Float16, _ b: Float16, _ c: Float16) -> Float16 {
        Float16(sumRoundedToOdd(Double(a) * Double(b), Double(c)))
    }
}

/// a + b rounded to odd: the exact sum when it is a Double, else whichever of the two Doubles around it has an
/// odd last bit. Rounding that result to nearest in a format of p <= 51 bits equals rounding a + b directly
/// (Boldo and Melquiond, "Emulation of FMA and correctly rounded sums: proved algorithms using rounding to odd").
/// Requires a + b not to overflow and the error of the sum to be representable (TwoSum), true far from
/// Double's limits, which is where the 16-bit formats live.
@inlinable public func sumRoundedToOdd(_ a: Double, _ b: Double) -> Double {
    let s = a + b
    let bVirtual = s - a
    let error = (a - (s - bVirtual)) + (b - bVirtual)
    if error == 0 || s.bitPattern & 1 == 1 || !s.isFinite { return s }
    return error > 0 ? s.nextUp : s.nextDown
}
