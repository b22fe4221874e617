import Formats
import Reductions
#if canImport(Glibc)
import Glibc
#endif

/// The element formats of tensors, as a value kernels can switch on.
public enum ScalarKind: String, Sendable, CaseIterable {
    case float16 = "f16", bfloat16 = "bf16", float32 = "f32", float64 = "f64"

    public var format: FloatFormat {
        switch self {
        case .float16: return .float16
        case .bfloat16: return .bfloat16
        case .float32: return .float32
        case .float64: return .float64
        }
    }
}

/// An element of a tensor: one of the lab's four arithmetic formats.
///
/// Elementwise arithmetic is carried out in `Compute` (Float for the 16- and 32-bit formats, Double for
/// Double) and rounded once to the storage format. For + - * / and sqrt on Float16 and BFloat16 that is the
/// correctly rounded result (24 >= 2p + 2, see DESIGN.md); transcendental functions (exp, log, tanh, erf) are
/// Float's, rounded once, as PyTorch computes them for 16-bit tensors on the CPU.
public protocol TensorScalar: LabScalar {
    associatedtype Compute: ComputeScalar
    static var kind: ScalarKind { get }
    /// The exact value in the compute format.
    var compute: Compute { get }
    /// `c` rounded to nearest (ties to even) in this format.
    init(compute c: Compute)
    /// Eight elements widened (exactly) to the compute format.
    static func load8(_ p: UnsafePointer<Self>) -> SIMD8<Compute>
    /// Eight values rounded once to this format.
    static func store8(_ v: SIMD8<Compute>, _ p: UnsafeMutablePointer<Self>)
}

/// The formats elementwise arithmetic runs in (Float and Double), with their elementary functions.
public protocol ComputeScalar: AccumulatorScalar & SIMDScalar & Sendable & Codable {
    static func exp(_ x: Self) -> Self
    static func log(_ x: Self) -> Self
    static func tanh(_ x: Self) -> Self
    static func erf(_ x: Self) -> Self
    static func erfc(_ x: Self) -> Self
    init(_ x: Double)
}

extension Float: ComputeScalar {
    @inlinable public static func exp(_ x: Float) -> Float { expf(x) }
    @inlinable public static func log(_ x: Float) -> Float { logf(x) }
    @inlinable public static func tanh(_ x: Float) -> Float { tanhf(x) }
    @inlinable public static func erf(_ x: Float) -> Float { erff(x) }
    @inlinable public static func erfc(_ x: Float) -> Float { erfcf(x) }
}

extension Double: ComputeScalar {
    @inlinable public static func exp(_ x: Double) -> Double { Glibc.exp(x) }
    @inlinable public static func log(_ x: Double) -> Double { Glibc.log(x) }
    @inlinable public static func tanh(_ x: Double) -> Double { Glibc.tanh(x) }
    @inlinable public static func erf(_ x: Double) -> Double { Glibc.erf(x) }
    @inlinable public static func erfc(_ x: Double) -> Double { Glibc.erfc(x) }
}

extension Float16: TensorScalar {
    public typealias Compute = Float
    public static var kind: ScalarKind { .float16 }
    @inlinable public var compute: Float { Float(self) }
    @inlinable public init(compute c: Float) { self = Float16(c) }
}

extension BFloat16: TensorScalar {
    public typealias Compute = Float
    public static var kind: ScalarKind { .bfloat16 }
    @inlinable public var compute: Float { floatValue }
    @inlinable public init(compute c: Float) { self = BFloat16(c) }
}

extension Float: TensorScalar {
    public typealias Compute = Float
    public static var kind: ScalarKind { .float32 }
    @inlinable public var compute: Float { self }
    @inlinable public init(compute c: Float) { self = c }
}

extension Double: TensorScalar {
    public typealias Compute = Double
    public static var kind: ScalarKind { .float64 }
    @inlinable public var compute: Double { self }
    @inlinable public init(compute c: Double) { self = c }
    @inlinable public static func load8(_ p: UnsafePointer<Double>) -> SIMD8<Double> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Double>.self)
    }
    @inlinable public static func store8(_ v: SIMD8<Double>, _ p: UnsafeMutablePointer<Double>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Double>.self)
    }
}

/// The formats computed in Float (their `load8`/`store8` are vectorized: F16C for Float16, integer rounding
/// for BFloat16); the GEMM packs them into Float panels.
public protocol FloatComputed: TensorScalar where Compute == Float {}

extension Float: FloatComputed {
    @inlinable public static func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }
    @inlinable public static func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
    }
}

extension Float16: FloatComputed {
    /// Lane by lane, which LLVM turns into one vcvtph2ps (the generic SIMD conversion is not always inlined).
    @inlinable public static func load8(_ p: UnsafePointer<Float16>) -> SIMD8<Float> {
        let h = UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float16>.self)
        return SIMD8<Float>(Float(h[0]), Float(h[1]), Float(h[2]), Float(h[3]), Float(h[4]), Float(h[5]), Float(h[6]), Float(h[7]))
    }
    @inlinable public static func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float16>) {
        let h = SIMD8<Float16>(Float16(v[0]), Float16(v[1]), Float16(v[2]), Float16(v[3]),
                               Float16(v[4]), Float16(v[5]), Float16(v[6]), Float16(v[7]))
        UnsafeMutableRawPointer(p).storeBytes(of: h, as: SIMD8<Float16>.self)
    }
}

extension BFloat16: FloatComputed {
    @inlinable public static func load8(_ p: UnsafePointer<BFloat16>) -> SIMD8<Float> {
        let bits = UnsafeRawPointer(p).loadUnaligned(as: SIMD8<UInt16>.self)
        return unsafeBitCast(SIMD8<UInt32>(truncatingIfNeeded: bits) &<< 16, to: SIMD8<Float>.self)
    }
    /// Round to nearest even by the integer trick of `BFloat16.init(_: Float)`, NaN kept quiet with its sign.
    @inlinable public static func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<BFloat16>) {
        let bits = unsafeBitCast(v, to: SIMD8<UInt32>.self)
        let rounded = (bits &+ (SIMD8(repeating: 0x7FFF) &+ ((bits &>> 16) & 1))) &>> 16
        let nan = (bits & 0x7FFF_FFFF) .> 0x7F80_0000
        let quiet = ((bits &>> 16) & 0x8000) | 0x7FC0
        let out = SIMD8<UInt16>(truncatingIfNeeded: rounded.replacing(with: quiet, where: nan))
        UnsafeMutableRawPointer(p).storeBytes(of: out, as: SIMD8<UInt16>.self)
    }
}
