/// Bit-level encoding and decoding of any `FloatFormat`, and correctly rounded conversion from Double.
///
/// These are the software paths behind BFloat16 and the Float8 types; Float16, Float and Double use the
/// hardware conversions, which the conformance suite checks against the same MPFR reference.
extension FloatFormat {
    @inlinable var significandMask: UInt64 { (1 << UInt64(significandBitCount)) - 1 }
    @inlinable var exponentFieldMask: UInt64 { (1 << UInt64(exponentBitCount)) - 1 }
    @inlinable public var signMask: UInt64 { 1 << UInt64(bitWidth - 1) }

    /// The encoding of +inf, or nil in a format without infinities.
    public var infinityBits: UInt64? {
        hasInfinity ? exponentFieldMask << UInt64(significandBitCount) : nil
    }
    /// The canonical positive quiet NaN (what numpy and ml_dtypes produce): top significand bit set in the IEEE
    /// encoding, S.1111.111 in the FN encoding.
    public var quietNaNBits: UInt64 {
        switch specialEncoding {
        case .ieee: return (exponentFieldMask << UInt64(significandBitCount)) | (1 << UInt64(significandBitCount - 1))
        case .finiteWithNaN: return signMask - 1
        }
    }
    /// The encoding of the largest finite value.
    public var largestFiniteBits: UInt64 {
        switch specialEncoding {
        case .ieee: return (infinityBits ?? 0) - 1
        case .finiteWithNaN: return quietNaNBits - 1
        }
    }

    /// Whether `bits` encodes a NaN.
    @inlinable public func isNaN(bits: UInt64) -> Bool {
        let magnitude = bits & (signMask - 1)
        switch specialEncoding {
        case .ieee: return magnitude > exponentFieldMask << UInt64(significandBitCount)
        case .finiteWithNaN: return magnitude == signMask - 1
        }
    }

    /// The exact value of a bit pattern (only the low `bitWidth` bits are read).
    @inlinable public func decode(_ bits: UInt64) -> Double {
        let negative = bits & signMask != 0
        let field = (bits >> UInt64(significandBitCount)) & exponentFieldMask
        let mantissa = bits & significandMask
        if field == exponentFieldMask {
            switch specialEncoding {
            case .ieee:
                if mantissa != 0 { return negative ? -Double.nan : .nan }
                return negative ? -.infinity : .infinity
            case .finiteWithNaN:
                if mantissa == significandMask { return negative ? -Double.nan : .nan }
            }
        }
        let sign: FloatingPointSign = negative ? .minus : .plus
        if field == 0 {
            return Double(sign: sign, exponent: emin - significandBitCount, significand: Double(mantissa))
        }
        let m = Double(mantissa | (1 << UInt64(significandBitCount)))
        return Double(sign: sign, exponent: Int(field) - exponentBias - significandBitCount, significand: m)
    }

    /// Rounds `x` to this format, round to nearest, ties to even, directly from Double (one rounding).
    ///
    /// Semantics of numpy and ml_dtypes: rounding happens first, then a result above the largest finite value
    /// overflows to inf (Float16: 65519.99 -> 65504, 65520 -> inf), or to NaN in a format without inf; inf
    /// becomes NaN there too. NaN keeps its sign and becomes the canonical quiet NaN.
    /// With `saturating`, overflow and ±inf give ±largest finite instead (the `satfinite` of FP8 recipes); NaN stays NaN.
    @inlinable public func encode(_ x: Double, saturating: Bool = false) -> UInt64 {
        let sign: UInt64 = x.sign == .minus ? signMask : 0
        if x.isNaN { return sign | quietNaNBits }
        let magnitude = x.magnitude
        if magnitude == 0 { return sign }
        if magnitude.isInfinite { return sign | overflowBits(saturating: saturating) }
        if Int(magnitude.exponent) > emax + 1 { return sign | overflowBits(saturating: saturating) }
        // The quantum (weight of the last significand bit) of the result: fixed at emin - p + 1 for subnormals.
        let quantum = max(Int(magnitude.exponent), emin) - significandBitCount
        // Scaling by a power of two is exact here: the scaled value is below 2^p and far above Double's
        // subnormal range for every format narrower than Double.
        let scaled = Double(sign: .plus, exponent: -quantum, significand: magnitude)
        let m = UInt64(scaled.rounded(.toNearestOrEven))
        let hidden: UInt64 = 1 << UInt64(significandBitCount)
        if m < hidden { return sign | m }  // subnormal or zero
        var significand = m, exponent = quantum + significandBitCount
        if significand == hidden << 1 { significand = hidden; exponent += 1 }
        if exponent > emax { return sign | overflowBits(saturating: saturating) }
        let bits = UInt64(exponent + exponentBias) << UInt64(significandBitCount) | (significand - hidden)
        if bits > largestFiniteBits { return sign | overflowBits(saturating: saturating) }
        return sign | bits
    }

    @inlinable func overflowBits(saturating: Bool) -> UInt64 {
        saturating ? largestFiniteBits : (infinityBits ?? quietNaNBits)
    }

    /// `x` rounded to this format (correctly rounded, ties to even), as a Double. For Float64 it is `x` itself.
    @inlinable public func round(_ x: Double, saturating: Bool = false) -> Double {
        if self == .float64 { return saturating && x.isInfinite ? (x < 0 ? -largestFinite : largestFinite) : x }
        return decode(encode(x, saturating: saturating))
    }
}
