import Formats

extension TensorDType {
    /// The number format of a floating-point dtype.
    public var format: FloatFormat? {
        switch self {
        case .f16: return .float16
        case .bf16: return .bfloat16
        case .f32: return .float32
        case .f64: return .float64
        case .f8e4m3: return .float8E4M3FN
        case .f8e5m2: return .float8E5M2
        default: return nil
        }
    }

    /// The dtype that stores `format`; nil for the formats no tensor file holds (FP6, FP4, e8m0, the fnuz FP8s).
    public init?(format: FloatFormat) {
        switch format {
        case .float16: self = .f16
        case .bfloat16: self = .bf16
        case .float32: self = .f32
        case .float64: self = .f64
        case .float8E4M3FN: self = .f8e4m3
        case .float8E5M2: self = .f8e5m2
        default: return nil
        }
    }
}

extension TensorView {
    /// Element `i` as its exact Double value (floating-point dtypes only).
    @inlinable public func value(at i: Int) -> Double {
        switch dtype {
        case .f16: return Double(Float16(bitPattern: bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
        case .bf16: return Double(BFloat16(bitPattern: bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
        case .f32: return Double(Float(bitPattern: bytes.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
        case .f64: return Double(bitPattern: bytes.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))
        case .f8e4m3: return Float8Table.e4m3[Int(bytes[i])]
        case .f8e5m2: return Float8Table.e5m2[Int(bytes[i])]
        default: preconditionFailure("value(at:) on non-floating-point dtype \(dtype)")
        }
    }
}

/// What a cast did to one tensor's values.
public struct CastStatistics: Sendable, Equatable {
    public var count = 0
    /// Finite inputs that became ±inf.
    public var becameInfinite = 0
    /// Non-NaN inputs that became NaN (overflow and inf in float8_e4m3fn).
    public var becameNaN = 0
    /// Nonzero inputs that became zero.
    public var flushedToZero = 0
    /// Nonzero results that are subnormal in the target format (fewer than p significant bits).
    public var becameSubnormal = 0
    /// Inputs clamped to ±largest finite (only with saturation).
    public var saturated = 0
    /// Inputs that were already inf or NaN.
    public var nonFiniteInputs = 0
    /// max |y - x| / |x| over finite nonzero inputs x with finite nonzero results y. Values flushed to zero
    /// (relative error 1 by definition) are counted in `flushedToZero` instead, so that one underflow does not
    /// hide the rounding error of everything else.
    public var maxRelativeError = 0.0
    /// The element where it occurs (nil when every value was exact).
    public var maxRelativeErrorIndex: Int?

    public init() {}

    /// Records that element `index` with value `x` became `y`.
    @inlinable public mutating func record(_ x: Double, _ y: Double, index: Int, format: FloatFormat, saturating: Bool) {
        count += 1
        guard x.isFinite else {
            nonFiniteInputs += 1
            if x.isInfinite && y.isNaN { becameNaN += 1 }
            if x.isInfinite && y.isFinite { saturated += 1 }
            return
        }
        if y.isNaN { becameNaN += 1; return }
        if y.isInfinite { becameInfinite += 1; return }
        if x == 0 { return }
        if y == 0 { flushedToZero += 1; return }
        if y.magnitude < format.smallestNormal { becameSubnormal += 1 }
        // Saturated: clamped where plain rounding would have overflowed (65510 -> 65504 in Float16 is rounding).
        if saturating && x.magnitude > format.largestFinite && !format.decode(format.encode(x)).isFinite { saturated += 1 }
        // Compare without dividing: a division per element would sit on the loop's critical path.
        let difference = (y - x).magnitude
        if difference > maxRelativeError * x.magnitude {
            let error = difference / x.magnitude
            if error > maxRelativeError {
                maxRelativeError = error
                maxRelativeErrorIndex = index
            }
        }
    }
}

/// Converts tensors between formats: round to nearest, ties to even, in one step from the source value.
public struct TensorCaster: Sendable {
    public var target: FloatFormat
    /// Clamp overflow and ±inf to ±largest finite instead of inf/NaN.
    public var saturating: Bool
    /// Round Float64 sources to Float32 first, as ml_dtypes and PyTorch do for bfloat16 and FP8 (two roundings).
    public var viaFloat32: Bool

    public init(target: FloatFormat, saturating: Bool = false, viaFloat32: Bool = false) {
        self.target = target; self.saturating = saturating; self.viaFloat32 = viaFloat32
    }

    /// Converts elements `range` of `source` into `output` (packed target-format bits) and records statistics.
    /// Elements are taken in storage order, or in row-major (C) order with `rowMajor` (which transposes a
    /// Fortran-order .npy tensor); indices in the statistics are row-major then.
    public func convert(_ source: TensorView, range: Range<Int>, rowMajor: Bool = false,
                        into output: UnsafeMutableRawBufferPointer, statistics: inout CastStatistics) {
        let format = target
        let width = format.bitWidth / 8
        let doubleRound = viaFloat32 && source.dtype == .f64 && format.precision < 24
        // Float sources (and Float64 ones rounded through Float) take the hardware or bit-trick paths.
        let exactInFloat = source.dtype != .f64 || doubleRound
        let path: Path = saturating ? .generic
            : format == .float64 ? .float64 : format == .float32 ? .float32 : format == .float16 ? .float16
            : format == .bfloat16 && exactInFloat ? .bfloat16FromFloat : .generic
        let transpose = rowMajor && source.fortranOrder && source.shape.count > 1
        // Fortran strides: element (i0, i1, ...) is stored at i0 + d0 * (i1 + d1 * (...)).
        var strides = [Int](repeating: 1, count: source.shape.count)
        for k in strides.indices.dropFirst() { strides[k] = strides[k - 1] * source.shape[k - 1] }
        for (slot, i) in range.enumerated() {
            var storage = i
            if transpose {
                var rest = i
                storage = 0
                for k in source.shape.indices.reversed() {
                    storage += (rest % source.shape[k]) * strides[k]
                    rest /= source.shape[k]
                }
            }
            let x = source.value(at: storage)
            let rounded = doubleRound ? Double(Float(x)) : x
            let bits: UInt64, y: Double
            switch path {
            case .float64: bits = rounded.bitPattern; y = rounded
            case .float32: let f = Float(rounded); bits = UInt64(f.bitPattern); y = Double(f)
            case .float16: let h = Float16(rounded); bits = UInt64(h.bitPattern); y = Double(h)
            case .bfloat16FromFloat: let b = BFloat16(Float(rounded)); bits = UInt64(b.bitPattern); y = Double(b)
            case .generic:
                bits = format.encode(rounded, saturating: saturating)
                y = width == 1 ? Float8Table.values(format)[Int(bits)] : format.decode(bits)
            }
            switch width {
            case 1: output.storeBytes(of: UInt8(truncatingIfNeeded: bits), toByteOffset: slot, as: UInt8.self)
            case 2: output.storeBytes(of: UInt16(truncatingIfNeeded: bits), toByteOffset: 2 * slot, as: UInt16.self)
            case 4: output.storeBytes(of: UInt32(truncatingIfNeeded: bits), toByteOffset: 4 * slot, as: UInt32.self)
            default: output.storeBytes(of: bits, toByteOffset: 8 * slot, as: UInt64.self)
            }
            statistics.record(x, y, index: i, format: format, saturating: saturating)
        }
    }

    /// How one element is converted: hardware conversions where they exist and are correctly rounded (checked by
    /// the conformance suite), the generic encoder otherwise.
    enum Path { case float64, float32, float16, bfloat16FromFloat, generic }
}
