/// An 8-bit storage format: conversion to and from Float and Double, bit-pattern access, classification.
/// No arithmetic: FP8 is a storage and transport format; compute happens in a wider format.
public protocol Float8Storage: Sendable, Equatable, CustomStringConvertible {
    static var format: FloatFormat { get }
    var bitPattern: UInt8 { get }
    init(bitPattern: UInt8)
}

extension Float8Storage {
    /// Round to nearest, ties to even, directly from Double. Overflow gives inf (E5M2) or NaN (E4M3FN), as in
    /// ml_dtypes; `saturating: true` clamps to ±largest finite instead (FP8 training recipes).
    @inlinable public init(_ value: Double, saturating: Bool = false) {
        self.init(bitPattern: UInt8(truncatingIfNeeded: Self.format.encode(value, saturating: saturating)))
    }
    /// Float to Double is exact, so this is also a single rounding.
    @inlinable public init(_ value: Float, saturating: Bool = false) { self.init(Double(value), saturating: saturating) }

    /// The exact value.
    @inlinable public var doubleValue: Double { Float8Table.values(Self.format)[Int(bitPattern)] }
    @inlinable public var floatValue: Float { Float(doubleValue) }

    @inlinable public var isNaN: Bool { Self.format.isNaN(bits: UInt64(bitPattern)) }
    @inlinable public var isFinite: Bool { doubleValue.isFinite }
    @inlinable public var isZero: Bool { bitPattern & 0x7F == 0 }
    @inlinable public var isSubnormal: Bool { doubleValue.isFinite && !isZero && Swift.abs(doubleValue) < Self.format.smallestNormal }

    /// IEEE equality: NaN is unequal to everything, +0 == -0.
    @inlinable public static func == (lhs: Self, rhs: Self) -> Bool { lhs.doubleValue == rhs.doubleValue }
    public var description: String { doubleValue.description }
}

extension Double {
    @inlinable public init<T: Float8Storage>(_ value: T) { self = value.doubleValue }
}
extension Float {
    @inlinable public init<T: Float8Storage>(_ value: T) { self = value.floatValue }
}

/// Float8 E4M3FN (OCP FP8, NVIDIA's forward-pass format): 4 exponent bits (bias 7), 3 mantissa bits, no inf,
/// NaN = S.1111.111, largest finite 448.
@frozen public struct Float8E4M3FN: Float8Storage {
    public var bitPattern: UInt8
    @inlinable public init(bitPattern: UInt8) { self.bitPattern = bitPattern }
    public static var format: FloatFormat { .float8E4M3FN }
}

/// Float8 E5M2 (OCP FP8, the gradient format): 5 exponent bits (bias 15), 2 mantissa bits, IEEE inf and NaN,
/// largest finite 57344.
@frozen public struct Float8E5M2: Float8Storage {
    public var bitPattern: UInt8
    @inlinable public init(bitPattern: UInt8) { self.bitPattern = bitPattern }
    public static var format: FloatFormat { .float8E5M2 }
}

/// Decoding tables for the 256 patterns of each FP8 format.
public enum Float8Table {
    public static let e4m3: [Double] = (0..<256).map { FloatFormat.float8E4M3FN.decode(UInt64($0)) }
    public static let e5m2: [Double] = (0..<256).map { FloatFormat.float8E5M2.decode(UInt64($0)) }
    @inlinable public static func values(_ format: FloatFormat) -> [Double] {
        format.exponentBitCount == 4 ? e4m3 : e5m2
    }
}
