/// A binary floating-point format: how many significand bits it has, its exponent range, how it encodes
/// infinities and NaNs. Every format constant of the lab (65504, 2^-24, 448...) is derived from one of these
/// values; nothing else hard-codes them.
///
/// Conventions follow IEEE 754: a finite nonzero value is `±m × 2^(e-p+1)` with `2^(p-1) <= m < 2^p` and
/// `emin <= e <= emax` (normal) or `0 < m < 2^(p-1)` and `e = emin` (subnormal).
///
/// The value is plain data (names are static strings), so hot loops can copy it freely without reference counting.
///
/// Besides the storage formats, `float80` describes the x87 extended format (C's `long double` on x86-64), the
/// wide accumulator of Float64 reductions: it is an arithmetic format only (the lab never stores it), so its
/// bit-level `encode`/`decode` are not defined, and its range lies beyond Double's (`largestFinite` is inf and
/// `smallestNormal` and `smallestSubnormal` are 0 as Doubles).
public struct FloatFormat: Hashable, Sendable, CustomStringConvertible {
    /// How the format spells non-finite values.
    public enum SpecialEncoding: String, Hashable, Sendable {
        /// IEEE 754: the all-ones exponent field holds ±inf (zero mantissa) and NaNs (nonzero mantissa).
        case ieee
        /// The "FN" (finite, NaN) encoding of Float8 E4M3FN: no infinities; only S.1111.111 is NaN, so the
        /// all-ones exponent field also holds finite values.
        case finiteWithNaN
    }

    /// Long name, as numpy/ml_dtypes spell it: `float16`, `bfloat16`, `float8_e4m3fn`...
    public var name: String { staticName.description }
    /// Short name used on the command line: `f16`, `bf16`, `f32`, `f64`, `e4m3`, `e5m2`.
    public var shortName: String { staticShortName.description }
    let staticName: StaticString
    let staticShortName: StaticString
    /// The total storage width in bits.
    public let bitWidth: Int
    /// Width of the exponent field.
    public let exponentBitCount: Int
    /// Significand precision p, including the hidden bit.
    public let precision: Int
    /// The exponent bias of the encoding.
    public let exponentBias: Int
    public let specialEncoding: SpecialEncoding
    /// The largest finite value: (2 - 2^(1-p)) 2^emax, or (2 - 2^(2-p)) 2^emax in the FN encoding, whose
    /// all-ones significand at the top exponent is NaN.
    public let largestFinite: Double
    /// 2^emin.
    public let smallestNormal: Double
    /// Largest exponent of a finite number. In the IEEE encoding the all-ones exponent field is reserved.
    public let emax: Int
    /// The encoding of +inf, or nil in a format without infinities.
    public let infinityBits: UInt64?
    /// The canonical positive quiet NaN (what numpy and ml_dtypes produce): top significand bit set in the IEEE
    /// encoding, S.1111.111 in the FN encoding.
    public let quietNaNBits: UInt64
    /// The encoding of the largest finite value.
    public let largestFiniteBits: UInt64

    /// `explicitIntegerBit`: the leading significand bit is stored (x87 extended), so the width is 1 + exponent + p.
    public init(name: StaticString, shortName: StaticString, exponentBitCount: Int, precision: Int,
                exponentBias: Int? = nil, specialEncoding: SpecialEncoding = .ieee, explicitIntegerBit: Bool = false) {
        self.staticName = name
        self.staticShortName = shortName
        self.exponentBitCount = exponentBitCount
        self.precision = precision
        self.bitWidth = 1 + exponentBitCount + precision - (explicitIntegerBit ? 0 : 1)
        let bias = exponentBias ?? ((1 << (exponentBitCount - 1)) - 1)
        self.exponentBias = bias
        self.specialEncoding = specialEncoding
        let top = (1 << exponentBitCount) - 1
        let emax = (specialEncoding == .ieee ? top - 1 : top) - bias
        self.emax = emax
        // (2 - k 2^(1-p)) 2^emax with k = 1 (IEEE) or 2 (FN): exact for p <= 53, inf beyond Double's range.
        let ulps = specialEncoding == .ieee ? 1.0 : 2.0
        largestFinite = Double(sign: .plus, exponent: emax, significand: 2 - ulps * Double(sign: .plus, exponent: 1 - precision, significand: 1))
        smallestNormal = Double(sign: .plus, exponent: 1 - bias, significand: 1)
        // Derived once here, because the conversion loops read them for every element.
        let exponentField = UInt64(top) << UInt64(precision - 1), signMask = UInt64(1) << UInt64(bitWidth - 1)
        switch specialEncoding {
        case .ieee:
            infinityBits = exponentField
            quietNaNBits = exponentField | (1 << UInt64(precision - 2))
            largestFiniteBits = exponentField - 1
        case .finiteWithNaN:
            infinityBits = nil
            quietNaNBits = signMask - 1
            largestFiniteBits = signMask - 2
        }
    }

    public var description: String { name }

    /// Formats are equal when they encode the same numbers the same way.
    public static func == (a: FloatFormat, b: FloatFormat) -> Bool {
        a.exponentBitCount == b.exponentBitCount && a.precision == b.precision && a.exponentBias == b.exponentBias
            && a.specialEncoding == b.specialEncoding
    }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(exponentBitCount); hasher.combine(precision); hasher.combine(exponentBias); hasher.combine(specialEncoding)
    }

    /// Number of stored significand (mantissa) bits, p - 1.
    @inlinable public var significandBitCount: Int { precision - 1 }
    /// Smallest exponent of a normal number.
    @inlinable public var emin: Int { 1 - exponentBias }
    public var hasInfinity: Bool { specialEncoding == .ieee }

    /// 2^(emin - p + 1).
    public var smallestSubnormal: Double { Double(sign: .plus, exponent: emin - precision + 1, significand: 1) }
    /// Machine epsilon 2^(1-p): the gap between 1 and the next larger value.
    public var epsilon: Double { Double(sign: .plus, exponent: 1 - precision, significand: 1) }
    /// Unit roundoff u = 2^-p: the relative error bound of round-to-nearest.
    public var unitRoundoff: Double { Double(sign: .plus, exponent: -precision, significand: 1) }

    /// The spacing of the format's values around |x| (for 0 and non-finite x, the smallest subnormal): one ulp of x.
    @inlinable public func ulp(of x: Double) -> Double {
        let exponent = x == 0 || !x.isFinite ? emin : Swift.max(Int(x.magnitude.exponent), emin)
        return Double(sign: .plus, exponent: exponent - precision + 1, significand: 1)
    }

    /// MPFR's exponent range emulating this format: MPFR writes x = m 2^E with 1/2 <= m < 1, so the smallest
    /// subnormal 2^(emin-p+1) has E = emin - p + 2 and the largest finite value has E = emax + 1.
    public var mpfrEmin: Int { emin - precision + 2 }
    public var mpfrEmax: Int { emax + 1 }

    public static let float16 = FloatFormat(name: "float16", shortName: "f16", exponentBitCount: 5, precision: 11)
    public static let bfloat16 = FloatFormat(name: "bfloat16", shortName: "bf16", exponentBitCount: 8, precision: 8)
    public static let float32 = FloatFormat(name: "float32", shortName: "f32", exponentBitCount: 8, precision: 24)
    public static let float64 = FloatFormat(name: "float64", shortName: "f64", exponentBitCount: 11, precision: 53)
    public static let float8E4M3FN = FloatFormat(name: "float8_e4m3fn", shortName: "e4m3", exponentBitCount: 4,
                                                 precision: 4, specialEncoding: .finiteWithNaN)
    public static let float8E5M2 = FloatFormat(name: "float8_e5m2", shortName: "e5m2", exponentBitCount: 5, precision: 3)

    /// The x87 80-bit extended format: an accumulator only (see the type's comment).
    public static let float80 = FloatFormat(name: "float80", shortName: "f80", exponentBitCount: 15, precision: 64, explicitIntegerBit: true)

    /// The four formats tensors and reductions compute in.
    public static let arithmetic: [FloatFormat] = [.float16, .bfloat16, .float32, .float64]

    /// The six formats of the lab, narrowest last.
    public static let all: [FloatFormat] = [.float64, .float32, .float16, .bfloat16, .float8E5M2, .float8E4M3FN]

    /// Looks a format up by any of its usual spellings (`f16`, `float16`, `half`, `bf16`, `e4m3`, `F8_E4M3`...).
    public init?(named text: String) {
        let key = String(text.lowercased().map { $0 == "-" ? "_" : $0 })
        let aliases: [String: FloatFormat] = [
            "f16": .float16, "float16": .float16, "half": .float16, "fp16": .float16, "binary16": .float16,
            "bf16": .bfloat16, "bfloat16": .bfloat16,
            "f32": .float32, "float32": .float32, "float": .float32, "fp32": .float32, "single": .float32,
            "f64": .float64, "float64": .float64, "double": .float64, "fp64": .float64,
            "e4m3": .float8E4M3FN, "e4m3fn": .float8E4M3FN, "float8_e4m3fn": .float8E4M3FN, "f8_e4m3": .float8E4M3FN,
            "fp8_e4m3": .float8E4M3FN,
            "e5m2": .float8E5M2, "float8_e5m2": .float8E5M2, "f8_e5m2": .float8E5M2, "fp8_e5m2": .float8E5M2,
        ]
        guard let format = aliases[key] else { return nil }
        self = format
    }
}
