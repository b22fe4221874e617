/// bfloat16: the top half of a Float32 (8 exponent bits, 8 bits of precision), as on TPUs, recent GPUs and
/// in ml_dtypes. Arithmetic is done in Float and rounded once, which is correctly rounded for + - * / sqrt
/// because 24 >= 2 * 8 + 2; fma rounds to odd in Double first (see `sumRoundedToOdd`).
@frozen
public struct BFloat16: Sendable {
    public var bitPattern: UInt16

    @inlinable public init(bitPattern: UInt16) { self.bitPattern = bitPattern }

    /// Round to nearest, ties to even (the integer trick of ml_dtypes and PyTorch); NaN keeps its sign and
    /// becomes the quiet NaN 0x7FC0.
    @inlinable public init(_ value: Float) {
        let bits = value.bitPattern
        if value.isNaN {
            bitPattern = UInt16(truncatingIfNeeded: bits >> 16) & 0x8000 | 0x7FC0
            return
        }
        let roundingBias: UInt32 = 0x7FFF + ((bits >> 16) & 1)
        bitPattern = UInt16(truncatingIfNeeded: (bits &+ roundingBias) >> 16)
    }

    /// Correctly rounded directly from Double (one rounding). ml_dtypes and PyTorch instead go through Float,
    /// which rounds twice: `BFloat16(Float(x))` reproduces them.
    @inlinable public init(_ value: Double) {
        bitPattern = UInt16(truncatingIfNeeded: FloatFormat.bfloat16.encode(value))
    }

    @inlinable public init(_ value: Float16) { self.init(Float(value)) }

    /// The exact value as a Float.
    @inlinable public var floatValue: Float { Float(bitPattern: UInt32(bitPattern) << 16) }
}

extension Float {
    /// The exact value of a bfloat16.
    @inlinable public init(_ value: BFloat16) { self = value.floatValue }
}

extension Double {
    /// The exact value of a bfloat16.
    @inlinable public init(_ value: BFloat16) { self = Double(value.floatValue) }
}

extension BFloat16: LabScalar {
    public static var format: FloatFormat { .bfloat16 }

    @inlinable public static func fusedMultiplyAdd(_ a: BFloat16, _ b: BFloat16, _ c: BFloat16) -> BFloat16 {
        // The 16-bit product is exact in Double.
        BFloat16(sumRoundedToOdd(Double(a) * Double(b), Double(c)))
    }
}

extension BFloat16: CustomStringConvertible, CustomDebugStringConvertible, LosslessStringConvertible {
    /// The shortest decimal that identifies the value among bfloat16s would need a custom printer; the Float
    /// spelling is exact and round-trips.
    public var description: String { floatValue.description }
    public var debugDescription: String { "BFloat16(\(floatValue), bitPattern: 0x\(String(bitPattern, radix: 16)))" }
    /// Parses with Double (correctly rounded), then rounds to bfloat16: only a decimal within 2^-53 of a
    /// bfloat16 tie can round the wrong way.
    public init?(_ description: String) {
        guard let value = Double(description) else { return nil }
        self.init(value)
    }
}
