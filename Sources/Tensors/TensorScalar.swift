import Formats
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

    /// The kind of an arithmetic format; nil for the formats tensors are not computed in (FP8, FP6, FP4, e8m0).
    public init?(format: FloatFormat) {
        switch format {
        case .float16: self = .float16
        case .bfloat16: self = .bfloat16
        case .float32: self = .float32
        case .float64: self = .float64
        default: return nil
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
    /// Eight values rounded to this format and widened back (exactly): `store8` then `load8`, in registers.
    static func round8(_ v: SIMD8<Compute>) -> SIMD8<Compute>
}

/// The formats elementwise arithmetic runs in (Float and Double), with their elementary functions.
public protocol ComputeScalar: AccumulatorScalar & SIMDScalar & Sendable & Codable {
    static func exp(_ x: Self) -> Self
    static func log(_ x: Self) -> Self
    static func tanh(_ x: Self) -> Self
    static func erf(_ x: Self) -> Self
    static func erfc(_ x: Self) -> Self
    init(_ x: Double)
    /// max(v, 0) lane-wise, NaN kept (ReLU).
    static func relu8(_ v: SIMD8<Self>) -> SIMD8<Self>
    /// g where x > 0, else 0 (ReLU's backward).
    static func passPositive8(_ x: SIMD8<Self>, _ g: SIMD8<Self>) -> SIMD8<Self>
    /// exp, tanh and the logistic function on eight lanes (vectorized for Float; see `VectorMath`).
    static func exp8(_ v: SIMD8<Self>) -> SIMD8<Self>
    static func tanh8(_ v: SIMD8<Self>) -> SIMD8<Self>
    static func sigmoid8(_ v: SIMD8<Self>) -> SIMD8<Self>
    /// GELU and its derivative on eight lanes and on one (vectorized for Float; see `VectorMath.gelu`).
    static func gelu8(_ v: SIMD8<Self>) -> SIMD8<Self>
    static func geluDerivative8(_ v: SIMD8<Self>) -> SIMD8<Self>
    static func gelu(_ x: Self) -> Self
    static func geluDerivative(_ x: Self) -> Self
}

// The selects are written once per concrete type: there they compile to one vmaxps or vcmpps + vandps, while
// the same generic code, even specialized, goes lane by lane.


extension Float: ComputeScalar {
    @inlinable public static func exp(_ x: Float) -> Float { expf(x) }
    @inlinable public static func log(_ x: Float) -> Float { logf(x) }
    @inlinable public static func tanh(_ x: Float) -> Float { tanhf(x) }
    @inlinable public static func erf(_ x: Float) -> Float { erff(x) }
    @inlinable public static func erfc(_ x: Float) -> Float { erfcf(x) }
    @inlinable @inline(__always) public static func relu8(_ v: SIMD8<Float>) -> SIMD8<Float> { v.replacing(with: 0, where: v .< 0) }
    @inlinable @inline(__always) public static func passPositive8(_ x: SIMD8<Float>, _ g: SIMD8<Float>) -> SIMD8<Float> { g.replacing(with: 0, where: .!(x .> 0)) }
    @inlinable @inline(__always) public static func exp8(_ v: SIMD8<Float>) -> SIMD8<Float> { VectorMath.exp(v) }
    @inlinable @inline(__always) public static func tanh8(_ v: SIMD8<Float>) -> SIMD8<Float> { VectorMath.tanh(v) }
    @inlinable @inline(__always) public static func sigmoid8(_ v: SIMD8<Float>) -> SIMD8<Float> { VectorMath.sigmoid(v) }
    @inlinable @inline(__always) public static func gelu8(_ v: SIMD8<Float>) -> SIMD8<Float> { VectorMath.gelu(v) }
    @inlinable @inline(__always) public static func geluDerivative8(_ v: SIMD8<Float>) -> SIMD8<Float> { VectorMath.geluDerivative(v) }
    @inlinable public static func gelu(_ x: Float) -> Float { VectorMath.gelu(SIMD8(repeating: x))[0] }
    @inlinable public static func geluDerivative(_ x: Float) -> Float { VectorMath.geluDerivative(SIMD8(repeating: x))[0] }
}

extension Double: ComputeScalar {
    @inlinable public static func exp(_ x: Double) -> Double { Glibc.exp(x) }
    @inlinable public static func log(_ x: Double) -> Double { Glibc.log(x) }
    /// The vector code (VectorMath+Double.swift) in every lane, so that a value gets the same bits wherever it sits.
    @inlinable public static func tanh(_ x: Double) -> Double { VectorMath.tanh(SIMD8(repeating: x))[0] }
    @inlinable public static func erf(_ x: Double) -> Double { Glibc.erf(x) }
    @inlinable public static func erfc(_ x: Double) -> Double { Glibc.erfc(x) }
    @inlinable @inline(__always) public static func relu8(_ v: SIMD8<Double>) -> SIMD8<Double> { v.replacing(with: 0, where: v .< 0) }
    @inlinable @inline(__always) public static func passPositive8(_ x: SIMD8<Double>, _ g: SIMD8<Double>) -> SIMD8<Double> { g.replacing(with: 0, where: .!(x .> 0)) }
    // Double lanes go through libm one by one, but for tanh.
    @inlinable public static func exp8(_ v: SIMD8<Double>) -> SIMD8<Double> { lanes(v) { Glibc.exp($0) } }
    @inlinable @inline(__always) public static func tanh8(_ v: SIMD8<Double>) -> SIMD8<Double> { VectorMath.tanh(v) }
    @inlinable public static func sigmoid8(_ v: SIMD8<Double>) -> SIMD8<Double> { lanes(v) { UnaryFunction.sigmoid.value($0) } }
    @inlinable public static func gelu8(_ v: SIMD8<Double>) -> SIMD8<Double> { lanes(v) { gelu($0) } }
    @inlinable public static func geluDerivative8(_ v: SIMD8<Double>) -> SIMD8<Double> { lanes(v) { geluDerivative($0) } }
    @inlinable public static func gelu(_ x: Double) -> Double { x * normalCDF(x) }
    @inlinable public static func geluDerivative(_ x: Double) -> Double { normalCDF(x) + x * Glibc.exp(-x * x / 2) * 0.3989422804014327 }
    @inlinable static func lanes(_ v: SIMD8<Double>, _ f: (Double) -> Double) -> SIMD8<Double> {
        var out = v
        for l in 0..<8 { out[l] = f(v[l]) }
        return out
    }
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
    /// `BFloat16(c)` without a branch, so that loops of it vectorize: rounds to nearest even by the integer trick,
    /// and a NaN (detected by a wrapping subtraction) becomes the quiet NaN with its sign.
    @inlinable public init(compute c: Float) {
        let bits = c.bitPattern
        let rounded = (bits &+ 0x7FFF &+ ((bits &>> 16) & 1)) &>> 16
        let isNaN = (0x7F80_0000 &- (bits & 0x7FFF_FFFF)) &>> 31
        let quiet = ((bits &>> 16) & 0x8000) | 0x7FC0
        self.init(bitPattern: UInt16(truncatingIfNeeded: isNaN == 0 ? rounded : quiet))
    }
    @inlinable @inline(__always) public static func load8(_ p: UnsafePointer<BFloat16>) -> SIMD8<Float> {
        // Lane by lane (one vpmovzxwd): the generic SIMD conversion is not always inlined.
        let b = UnsafeRawPointer(p).loadUnaligned(as: SIMD8<UInt16>.self)
        let wide = SIMD8<UInt32>(UInt32(b[0]), UInt32(b[1]), UInt32(b[2]), UInt32(b[3]), UInt32(b[4]), UInt32(b[5]), UInt32(b[6]), UInt32(b[7]))
        return unsafeBitCast(wide &<< 16, to: SIMD8<Float>.self)
    }
    @inlinable @inline(__always) public static func round8(_ v: SIMD8<Float>) -> SIMD8<Float> {
        unsafeBitCast(roundedBits8(v) &<< 16, to: SIMD8<Float>.self)
    }
    /// The rounded bit patterns (in the low halves) of eight values, in integer arithmetic only.
    @inlinable @inline(__always) static func roundedBits8(_ v: SIMD8<Float>) -> SIMD8<UInt32> {
        let bits = unsafeBitCast(v, to: SIMD8<UInt32>.self)
        let rounded = (bits &+ (SIMD8(repeating: 0x7FFF) &+ ((bits &>> 16) & 1))) &>> 16
        let nanMask = SIMD8<UInt32>() &- ((SIMD8(repeating: 0x7F80_0000) &- (bits & 0x7FFF_FFFF)) &>> 31)
        let quiet = ((bits &>> 16) & 0x8000) | 0x7FC0
        return (rounded & ~nanMask) | (quiet & nanMask)
    }
    /// `init(compute:)` on eight lanes, in integer arithmetic only (the generic SIMD comparisons and selects
    /// are not always inlined).
    @inlinable @inline(__always) public static func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<BFloat16>) {
        let r = roundedBits8(v)
        let narrow = SIMD8<UInt16>(UInt16(truncatingIfNeeded: r[0]), UInt16(truncatingIfNeeded: r[1]), UInt16(truncatingIfNeeded: r[2]),
                                   UInt16(truncatingIfNeeded: r[3]), UInt16(truncatingIfNeeded: r[4]), UInt16(truncatingIfNeeded: r[5]),
                                   UInt16(truncatingIfNeeded: r[6]), UInt16(truncatingIfNeeded: r[7]))
        UnsafeMutableRawPointer(p).storeBytes(of: narrow, as: SIMD8<UInt16>.self)
    }
}

extension Float: TensorScalar {
    public typealias Compute = Float
    public static var kind: ScalarKind { .float32 }
    @inlinable public var compute: Float { self }
    @inlinable public init(compute c: Float) { self = c }
}

extension Double: TensorScalar {
    @inlinable @inline(__always) public static func round8(_ v: SIMD8<Double>) -> SIMD8<Double> { v }
    public typealias Compute = Double
    public static var kind: ScalarKind { .float64 }
    @inlinable public var compute: Double { self }
    @inlinable public init(compute c: Double) { self = c }
    @inlinable @inline(__always) public static func load8(_ p: UnsafePointer<Double>) -> SIMD8<Double> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Double>.self)
    }
    @inlinable @inline(__always) public static func store8(_ v: SIMD8<Double>, _ p: UnsafeMutablePointer<Double>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Double>.self)
    }
}

/// The formats computed in Float (their `load8`/`store8` are vectorized: F16C for Float16, integer rounding
/// for BFloat16); the GEMM packs them into Float panels.
public protocol FloatComputed: TensorScalar where Compute == Float {}

extension Float: FloatComputed {
    @inlinable @inline(__always) public static func round8(_ v: SIMD8<Float>) -> SIMD8<Float> { v }
    @inlinable @inline(__always) public static func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }
    @inlinable @inline(__always) public static func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
    }
}

extension Float16: FloatComputed {
    @inlinable @inline(__always) public static func round8(_ v: SIMD8<Float>) -> SIMD8<Float> {
        let h = SIMD8<Float16>(Float16(v[0]), Float16(v[1]), Float16(v[2]), Float16(v[3]),
                               Float16(v[4]), Float16(v[5]), Float16(v[6]), Float16(v[7]))
        return SIMD8<Float>(Float(h[0]), Float(h[1]), Float(h[2]), Float(h[3]), Float(h[4]), Float(h[5]), Float(h[6]), Float(h[7]))
    }
    /// Lane by lane, which LLVM turns into one vcvtph2ps (the generic SIMD conversion is not always inlined).
    @inlinable @inline(__always) public static func load8(_ p: UnsafePointer<Float16>) -> SIMD8<Float> {
        let h = UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float16>.self)
        return SIMD8<Float>(Float(h[0]), Float(h[1]), Float(h[2]), Float(h[3]), Float(h[4]), Float(h[5]), Float(h[6]), Float(h[7]))
    }
    @inlinable @inline(__always) public static func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float16>) {
        let h = SIMD8<Float16>(Float16(v[0]), Float16(v[1]), Float16(v[2]), Float16(v[3]),
                               Float16(v[4]), Float16(v[5]), Float16(v[6]), Float16(v[7]))
        UnsafeMutableRawPointer(p).storeBytes(of: h, as: SIMD8<Float16>.self)
    }
}

extension BFloat16: FloatComputed {}
