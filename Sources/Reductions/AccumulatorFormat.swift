import Formats

/// The format an algorithm accumulates in or returns its result in: one of the lab's formats, or the x87
/// 80-bit extended format (C's `long double` on x86-64), the wide accumulator of Float64 inputs.
public struct AccumulatorFormat: Hashable, Sendable, CustomStringConvertible {
    public let name: String
    /// Significand bits, including the leading one.
    public let precision: Int
    /// Smallest normal exponent.
    public let emin: Int
    /// Largest exponent.
    public let emax: Int

    public init(name: String, precision: Int, emin: Int, emax: Int) {
        self.name = name
        self.precision = precision
        self.emin = emin
        self.emax = emax
    }

    public init(_ format: FloatFormat) {
        self.init(name: format.name, precision: format.precision, emin: format.emin, emax: format.emax)
    }

    public static let float80 = AccumulatorFormat(name: "float80", precision: 64, emin: -16382, emax: 16383)

    public var description: String { name }
    /// u = 2^-p.
    public var unitRoundoff: Double { Double(sign: .plus, exponent: -precision, significand: 1) }
    /// The smallest subnormal, a bound on the absolute error of a rounding in the subnormal range (twice the
    /// half-spacing, so that it is a Double for Float64 too; 0 for Float80, whose subnormals lie below Double's
    /// range and below any square of a Float64).
    public var underflowError: Double { Double(sign: .plus, exponent: emin - precision + 1, significand: 1) }
    /// The largest finite value as a Double (inf for Float80).
    public var largestFinite: Double {
        emax > 1023 ? .infinity : Double(sign: .plus, exponent: emax, significand: 2 - Double(sign: .plus, exponent: 1 - precision, significand: 1))
    }
    /// 2^emin (0 for Float80).
    public var smallestNormal: Double { Double(sign: .plus, exponent: emin, significand: 1) }

    /// The spacing of the format's values around |x| (for x = 0, the smallest subnormal): an ulp of x.
    public func ulp(of x: Double) -> Double {
        let exponent = x == 0 || !x.isFinite ? emin : max(Int(x.magnitude.exponent), emin)
        return Double(sign: .plus, exponent: exponent - precision + 1, significand: 1)
    }
}

/// Scalars the algorithms accumulate in.
public protocol AccumulatorScalar: BinaryFloatingPoint {
    static var accumulatorFormat: AccumulatorFormat { get }
    /// The value of a Double that is exact in this format (every conversion the algorithms make is a widening).
    init(exactly x: Double, widening: Void)
    var doubleValue: Double { get }
}

extension Float16: AccumulatorScalar {
    public static var accumulatorFormat: AccumulatorFormat { AccumulatorFormat(.float16) }
    @inline(__always) public init(exactly x: Double, widening: Void) { self = Float16(x) }
    @inline(__always) public var doubleValue: Double { Double(self) }
}
extension BFloat16: AccumulatorScalar {
    public static var accumulatorFormat: AccumulatorFormat { AccumulatorFormat(.bfloat16) }
    @inline(__always) public init(exactly x: Double, widening: Void) { self = BFloat16(Float(x)) }
    @inline(__always) public var doubleValue: Double { Double(self) }
}
extension Float: AccumulatorScalar {
    public static var accumulatorFormat: AccumulatorFormat { AccumulatorFormat(.float32) }
    @inline(__always) public init(exactly x: Double, widening: Void) { self = Float(x) }
    @inline(__always) public var doubleValue: Double { Double(self) }
}
extension Double: AccumulatorScalar {
    public static var accumulatorFormat: AccumulatorFormat { AccumulatorFormat(.float64) }
    @inline(__always) public init(exactly x: Double, widening: Void) { self = x }
    @inline(__always) public var doubleValue: Double { self }
}
#if arch(x86_64) || arch(i386)
extension Float80: AccumulatorScalar {
    public static var accumulatorFormat: AccumulatorFormat { .float80 }
    @inline(__always) public init(exactly x: Double, widening: Void) { self = Float80(x) }
    /// Rounded to nearest Float64 (the final `(double)` of a long double accumulation).
    @inline(__always) public var doubleValue: Double { Double(self) }
}
#endif
