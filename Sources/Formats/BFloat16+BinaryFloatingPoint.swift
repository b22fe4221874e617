/// `BinaryFloatingPoint` conformance, so that BFloat16 works in generic code next to Float16, Float and Double.
extension BFloat16: BinaryFloatingPoint {
    public typealias RawSignificand = UInt16
    public typealias RawExponent = UInt
    public typealias Exponent = Int
    public typealias Stride = BFloat16
    public typealias Magnitude = BFloat16
    public typealias IntegerLiteralType = Int
    public typealias FloatLiteralType = Double

    @inlinable public static var exponentBitCount: Int { 8 }
    @inlinable public static var significandBitCount: Int { 7 }

    @inlinable public init(sign: FloatingPointSign, exponentBitPattern: UInt, significandBitPattern: UInt16) {
        let s: UInt16 = sign == .minus ? 0x8000 : 0
        bitPattern = s | UInt16(truncatingIfNeeded: exponentBitPattern & 0xFF) << 7 | (significandBitPattern & 0x7F)
    }
    @inlinable public init(sign: FloatingPointSign, exponent: Int, significand: BFloat16) {
        self.init(Double(sign: sign, exponent: exponent, significand: Double(significand)))
    }
    /// A decimal literal is rounded to Double by the compiler, then once more here: Double has 45 more bits, so
    /// only literals within 2^-53 of a bfloat16 tie can round the wrong way.
    @inlinable public init(floatLiteral value: Double) { self.init(value) }
    @inlinable public init(integerLiteral value: Int) { self = BFloat16.rounding(value) }
    @inlinable public init(_ value: Int) { self = BFloat16.rounding(value) }

    /// An Int rounded once: Double holds it exactly below 2^53; above, the bits shifted out are kept as a sticky
    /// bit (round to odd), so the final rounding to bfloat16 is still a single correct one. (The standard
    /// library's generic `_convert` cannot be used here: it builds values from integer literals.)
    @inlinable static func rounding(_ value: Int) -> BFloat16 {
        var m = value.magnitude
        var shift = 0
        while m >= 1 << 53 {
            m = (m >> 1) | (m & 1)
            shift += 1
        }
        let d = Double(sign: value < 0 ? .minus : .plus, exponent: shift, significand: Double(m))
        return BFloat16(d)
    }
    @inlinable public init<Source: BinaryInteger>(_ value: Source) { self = BFloat16._convert(from: value).value }
    @inlinable public init?<Source: BinaryInteger>(exactly value: Source) {
        let (result, exact) = BFloat16._convert(from: value)
        guard exact else { return nil }
        self = result
    }
    #if arch(x86_64) || arch(i386)
    @inlinable public init(_ value: Float80) { self = BFloat16._convert(from: value).value }
    #endif
    @inlinable public init<Source: BinaryFloatingPoint>(_ value: Source) {
        switch value {
        case let v as Float: self.init(v)
        case let v as Double: self.init(v)
        case let v as BFloat16: self = v
        case let v as Float16: self.init(v)
        default: self = BFloat16._convert(from: value).value
        }
    }
    @inlinable public init?<Source: BinaryFloatingPoint>(exactly value: Source) {
        if value.isNaN { return nil }
        let (result, exact) = BFloat16._convert(from: value)
        guard exact else { return nil }
        self = result
    }

    @inlinable public var exponentBitPattern: UInt { UInt(bitPattern >> 7) & 0xFF }
    @inlinable public var significandBitPattern: UInt16 { bitPattern & 0x7F }
    @inlinable public var sign: FloatingPointSign { bitPattern & 0x8000 != 0 ? .minus : .plus }

    @inlinable public static var nan: BFloat16 { BFloat16(bitPattern: 0x7FC0) }
    @inlinable public static var signalingNaN: BFloat16 { BFloat16(bitPattern: 0x7FA0) }
    @inlinable public static var infinity: BFloat16 { BFloat16(bitPattern: 0x7F80) }
    @inlinable public static var greatestFiniteMagnitude: BFloat16 { BFloat16(bitPattern: 0x7F7F) }
    /// pi rounded toward zero, as the standard library's types define it.
    @inlinable public static var pi: BFloat16 { BFloat16(bitPattern: 0x4049) }
    @inlinable public static var leastNormalMagnitude: BFloat16 { BFloat16(bitPattern: 0x0080) }
    @inlinable public static var leastNonzeroMagnitude: BFloat16 { BFloat16(bitPattern: 0x0001) }
    @inlinable public static var ulpOfOne: BFloat16 { BFloat16(bitPattern: 0x3C00) }
    @inlinable public static var zero: BFloat16 { BFloat16(bitPattern: 0) }

    @inlinable public var isNaN: Bool { bitPattern & 0x7FFF > 0x7F80 }
    @inlinable public var isSignalingNaN: Bool { isNaN && bitPattern & 0x0040 == 0 }
    @inlinable public var isInfinite: Bool { bitPattern & 0x7FFF == 0x7F80 }
    @inlinable public var isFinite: Bool { bitPattern & 0x7F80 != 0x7F80 }
    @inlinable public var isZero: Bool { bitPattern & 0x7FFF == 0 }
    @inlinable public var isSubnormal: Bool { bitPattern & 0x7F80 == 0 && bitPattern & 0x7F != 0 }
    @inlinable public var isNormal: Bool { isFinite && bitPattern & 0x7F80 != 0 }
    @inlinable public var isCanonical: Bool { true }

    @inlinable public var magnitude: BFloat16 { BFloat16(bitPattern: bitPattern & 0x7FFF) }
    @inlinable public var exponent: Int { floatValue.exponent }
    @inlinable public var significand: BFloat16 { BFloat16(floatValue.significand) }
    @inlinable public var binade: BFloat16 { BFloat16(floatValue.binade) }
    @inlinable public var significandWidth: Int { floatValue.significandWidth }

    /// The gap to the next value away from zero: 2^(e - 7), or 2^-133 for subnormals and zero.
    @inlinable public var ulp: BFloat16 {
        guard isFinite else { return .nan }
        let field = bitPattern & 0x7F80
        if field <= 0x0400 {  // exponent field <= 8: the ulp is subnormal
            return BFloat16(bitPattern: field == 0 ? 1 : 1 << ((field >> 7) - 1))
        }
        return BFloat16(bitPattern: field - 0x0380)
    }

    @inlinable public var nextUp: BFloat16 {
        if isNaN || bitPattern == 0x7F80 { return isNaN ? BFloat16(bitPattern: bitPattern | 0x0040) : self }
        if bitPattern == 0x8000 || bitPattern == 0 { return .leastNonzeroMagnitude }
        return BFloat16(bitPattern: bitPattern & 0x8000 == 0 ? bitPattern + 1 : bitPattern - 1)
    }

    @inlinable public static func + (lhs: BFloat16, rhs: BFloat16) -> BFloat16 { BFloat16(lhs.floatValue + rhs.floatValue) }
    @inlinable public static func - (lhs: BFloat16, rhs: BFloat16) -> BFloat16 { BFloat16(lhs.floatValue - rhs.floatValue) }
    @inlinable public static func * (lhs: BFloat16, rhs: BFloat16) -> BFloat16 { BFloat16(lhs.floatValue * rhs.floatValue) }
    @inlinable public static func / (lhs: BFloat16, rhs: BFloat16) -> BFloat16 { BFloat16(lhs.floatValue / rhs.floatValue) }
    @inlinable public static func += (lhs: inout BFloat16, rhs: BFloat16) { lhs = lhs + rhs }
    @inlinable public static func -= (lhs: inout BFloat16, rhs: BFloat16) { lhs = lhs - rhs }
    @inlinable public static func *= (lhs: inout BFloat16, rhs: BFloat16) { lhs = lhs * rhs }
    @inlinable public static func /= (lhs: inout BFloat16, rhs: BFloat16) { lhs = lhs / rhs }
    @inlinable public prefix static func - (operand: BFloat16) -> BFloat16 { BFloat16(bitPattern: operand.bitPattern ^ 0x8000) }
    @inlinable public mutating func negate() { bitPattern ^= 0x8000 }

    /// Exact in Float, so one rounding to BFloat16 is exact too.
    @inlinable public mutating func formRemainder(dividingBy other: BFloat16) {
        self = BFloat16(floatValue.remainder(dividingBy: other.floatValue))
    }
    @inlinable public mutating func formTruncatingRemainder(dividingBy other: BFloat16) {
        self = BFloat16(floatValue.truncatingRemainder(dividingBy: other.floatValue))
    }
    @inlinable public mutating func formSquareRoot() { self = BFloat16(floatValue.squareRoot()) }
    @inlinable public mutating func addProduct(_ lhs: BFloat16, _ rhs: BFloat16) {
        self = BFloat16.fusedMultiplyAdd(lhs, rhs, self)
    }
    @inlinable public mutating func round(_ rule: FloatingPointRoundingRule) { self = BFloat16(floatValue.rounded(rule)) }

    @inlinable public func isEqual(to other: BFloat16) -> Bool { floatValue == other.floatValue }
    @inlinable public func isLess(than other: BFloat16) -> Bool { floatValue < other.floatValue }
    @inlinable public func isLessThanOrEqualTo(_ other: BFloat16) -> Bool { floatValue <= other.floatValue }
    @inlinable public static func == (lhs: BFloat16, rhs: BFloat16) -> Bool { lhs.floatValue == rhs.floatValue }
    @inlinable public static func < (lhs: BFloat16, rhs: BFloat16) -> Bool { lhs.floatValue < rhs.floatValue }

    /// Hashes the value, so that +0 and -0 (equal) hash alike.
    @inlinable public func hash(into hasher: inout Hasher) { hasher.combine(isZero ? 0 : bitPattern) }

    @inlinable public func distance(to other: BFloat16) -> BFloat16 { other - self }
    @inlinable public func advanced(by n: BFloat16) -> BFloat16 { self + n }
}
