import Formats

/// What a conversion between formats did to the values: the events mixed-precision training watches for.
public struct ConversionEvents: Sendable, Equatable {
    /// Finite values that became ±inf (or NaN in a format without inf).
    public var overflowed = 0
    /// Nonzero values that became zero.
    public var underflowed = 0
    /// Values that became subnormal (nonzero) in the target format.
    public var subnormal = 0
    /// NaN or inf values in the source.
    public var nonFiniteInputs = 0
    /// Values converted.
    public var count = 0

    public init() {}

    public mutating func add(_ other: ConversionEvents) {
        overflowed += other.overflowed
        underflowed += other.underflowed
        subnormal += other.subnormal
        nonFiniteInputs += other.nonFiniteInputs
        count += other.count
    }
}

/// `source` rounded once (to nearest, ties to even) into `target` (same count), with the events counted.
/// Widening conversions are exact; Double to BFloat16 rounds once from the Double (not through Float).
@inlinable public func convert<A: TensorScalar, B: TensorScalar>(_ source: Tensor<A>, into target: Tensor<B>, events: inout ConversionEvents) {
    precondition(source.count == target.count, "converting \(source.shape) into \(target.shape)")
    let n = source.count
    let s = source.pointer, t = target.pointer
    let smallestNormal = B.leastNormalMagnitude
    var over = 0, under = 0, subnormal = 0, nonFinite = 0
    for i in 0..<n {
        let x = s[i]
        let y: B
        if A.self == B.self {
            y = unsafeBitCast(x, to: B.self)
        } else if B.Compute.self == Float.self && A.Compute.self == Float.self {
            y = B(compute: unsafeBitCast(x.compute, to: B.Compute.self))  // exact widening to Float, one rounding
        } else if B.self == Double.self {
            y = unsafeBitCast(Double(x.compute), to: B.self)
        } else if B.self == Float.self {
            y = unsafeBitCast(Float(Double(x.compute)), to: B.self)  // Double to Float: one hardware rounding
        } else {
            y = B(rounding: Double(x.compute), saturating: false)
        }
        t[i] = y
        if !x.isFinite {
            nonFinite += 1
        } else if !y.isFinite {
            over += 1
        } else if y == 0 {
            if x != 0 { under += 1 }
        } else if y.magnitude < smallestNormal {
            subnormal += 1
        }
    }
    events.overflowed += over
    events.underflowed += under
    events.subnormal += subnormal
    events.nonFiniteInputs += nonFinite
    events.count += n
}

/// Whether any element is NaN or ±inf: the exponent field all ones, tested on the bit patterns eight at a time.
@inlinable public func containsNonFinite<S: TensorScalar>(_ x: Tensor<S>) -> Bool {
    countNonFinite(x, stopAtFirst: true) > 0
}

/// The number of NaN and ±inf elements (at least 1 if any, when `stopAtFirst`).
@inlinable public func countNonFinite<S: TensorScalar>(_ x: Tensor<S>, stopAtFirst: Bool = false) -> Int {
    countNonFinite(UnsafePointer(x.pointer), count: x.count, stopAtFirst: stopAtFirst)
}

/// The number of NaN and ±inf among `n` elements at `p` (at least 1 if any, when `stopAtFirst`).
@inlinable public func countNonFinite<S: TensorScalar>(_ p: UnsafePointer<S>, count n: Int, stopAtFirst: Bool = false) -> Int {
    let raw = UnsafeRawPointer(p)
    switch S.kind {
    case .float16, .bfloat16:
        let mask: UInt16 = S.kind == .float16 ? 0x7C00 : 0x7F80
        return scanNonFinite(raw, n, mask: mask, stopAtFirst: stopAtFirst)
    case .float32:
        return scanNonFinite(raw, n, mask: UInt32(0x7F80_0000), stopAtFirst: stopAtFirst)
    case .float64:
        return scanNonFinite(raw, n, mask: UInt64(0x7FF0_0000_0000_0000), stopAtFirst: stopAtFirst)
    }
}

/// Counts elements whose bits have every bit of `mask` (the exponent field) set.
@inlinable func scanNonFinite<B: FixedWidthInteger & UnsignedInteger>(_ raw: UnsafeRawPointer, _ n: Int, mask: B, stopAtFirst: Bool) -> Int {
    // Plain loops that LLVM vectorizes: the generic SIMD types were not always inlined here and ran at 15 ns per
    // element.
    // An element is non-finite when its magnitude bits are at least the exponent mask: a max-reduction finds the
    // blocks that hold one, and only those are counted.
    let p = raw.assumingMemoryBound(to: B.self)
    let magnitude = B.max >> 1
    var count = 0
    var i = 0
    while i < n {
        let end = min(n, i + 1024)
        var largest: B = 0
        for k in i..<end { largest = max(largest, p[k] & magnitude) }
        if largest >= mask {
            for k in i..<end where p[k] & mask == mask { count += 1 }
            if stopAtFirst { return count }
        }
        i = end
    }
    return count
}

/// Every element rounded in place to `kind`'s precision and range (a cast to it and back, as autocast's casts):
/// for a Float tensor and a 16-bit kind; any other pairing leaves the tensor as it is.
public func roundElements<S: TensorScalar>(_ x: Tensor<S>, to kind: ScalarKind) {
    guard S.self == Float.self else { return }
    let p = UnsafeMutableRawPointer(x.pointer).assumingMemoryBound(to: Float.self)
    switch kind {
    case .float16: roundElements(p, x.count, as: Float16.self)
    case .bfloat16: roundElements(p, x.count, as: BFloat16.self)
    case .float32, .float64: break
    }
}

@inline(__always) func roundElements<T: FloatComputed>(_ p: UnsafeMutablePointer<Float>, _ n: Int, as: T.Type) {
    var i = 0
    while i + 8 <= n {
        Float.store8(T.round8(Float.load8(p + i)), p + i)
        i += 8
    }
    while i < n {
        p[i] = T(compute: p[i]).compute
        i += 1
    }
}
