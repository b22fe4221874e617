/// Bit-level encoding and decoding of any `FloatFormat`, and correctly rounded conversion from Double.
///
/// These are the software paths behind BFloat16 and the Float8 types; Float16, Float and Double use the
/// hardware conversions, which the conformance suite checks against the same MPFR reference.
extension FloatFormat {
    @inlinable var significandMask: UInt64 { (1 << UInt64(significandBitCount)) - 1 }
    @inlinable var exponentFieldMask: UInt64 { (1 << UInt64(exponentBitCount)) - 1 }
    @inlinable public var signMask: UInt64 { 1 << UInt64(bitWidth - 1) }

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
        // Integer arithmetic on the Double's fields: x = sig * 2^(e - 52), sig < 2^53.
        let bits = x.bitPattern
        let sign: UInt64 = bits >> 63 == 1 ? signMask : 0
        let field = Int((bits >> 52) & 0x7FF)
        let fraction = bits & ((1 << 52) - 1)
        if field == 0x7FF { return sign | (fraction != 0 ? quietNaNBits : overflowBits(saturating: saturating)) }
        if field == 0 && fraction == 0 { return sign }
        let sig = field == 0 ? fraction : fraction | (1 << 52)
        let e = (field == 0 ? -1022 : field - 1023) - 52  // weight of sig's last bit
        let top = e + 63 - sig.leadingZeroBitCount          // floor(log2 |x|)
        if top > emax + 1 { return sign | overflowBits(saturating: saturating) }
        // The quantum (weight of the result's last significand bit): fixed at emin - p + 1 for subnormals.
        let quantum = Swift.max(top, emin) - significandBitCount
        let shift = quantum - e
        var m: UInt64
        if shift <= 0 {
            m = sig << UInt64(-shift)  // exact: fewer than p significant bits
        } else if shift >= 64 {
            m = 0  // below a quarter of the smallest subnormal
        } else {
            m = sig >> UInt64(shift)
            let rest = sig & ((1 << UInt64(shift)) - 1), half: UInt64 = 1 << UInt64(shift - 1)
            if rest > half || (rest == half && m & 1 == 1) { m += 1 }  // to nearest, ties to even
        }
        let hidden: UInt64 = 1 << UInt64(significandBitCount)
        if m < hidden { return sign | m }  // subnormal or zero
        var exponent = quantum + significandBitCount
        if m == hidden << 1 { m = hidden; exponent += 1 }
        if exponent > emax { return sign | overflowBits(saturating: saturating) }
        let encoded = UInt64(exponent + exponentBias) << UInt64(significandBitCount) | (m - hidden)
        if encoded > largestFiniteBits { return sign | overflowBits(saturating: saturating) }
        return sign | encoded
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
