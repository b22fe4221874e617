/// Scalars the algorithms accumulate in.
public protocol AccumulatorScalar: BinaryFloatingPoint {
    static var accumulatorFormat: FloatFormat { get }
    /// The value of a Double that is exact in this format (every conversion the algorithms make is a widening).
    init(exactly x: Double, widening: Void)
    var doubleValue: Double { get }
}

extension Float16: AccumulatorScalar {
    public static var accumulatorFormat: FloatFormat { .float16 }
    @inline(__always) public init(exactly x: Double, widening: Void) { self = Float16(x) }
    @inline(__always) public var doubleValue: Double { Double(self) }
}
extension BFloat16: AccumulatorScalar {
    public static var accumulatorFormat: FloatFormat { .bfloat16 }
    @inline(__always) public init(exactly x: Double, widening: Void) { self = BFloat16(Float(x)) }
    @inline(__always) public var doubleValue: Double { Double(self) }
}
extension Float: AccumulatorScalar {
    public static var accumulatorFormat: FloatFormat { .float32 }
    @inline(__always) public init(exactly x: Double, widening: Void) { self = Float(x) }
    @inline(__always) public var doubleValue: Double { Double(self) }
}
extension Double: AccumulatorScalar {
    public static var accumulatorFormat: FloatFormat { .float64 }
    @inline(__always) public init(exactly x: Double, widening: Void) { self = x }
    @inline(__always) public var doubleValue: Double { self }
}
#if arch(x86_64) || arch(i386)
extension Float80: AccumulatorScalar {
    public static var accumulatorFormat: FloatFormat { .float80 }
    @inline(__always) public init(exactly x: Double, widening: Void) { self = Float80(x) }
    /// Rounded to nearest Float64 (the final `(double)` of a long double accumulation).
    @inline(__always) public var doubleValue: Double { Double(self) }
}
#endif
