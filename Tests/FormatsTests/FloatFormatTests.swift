import Formats
import Testing

/// The format constants against REFERENCE.md's table and the standard library's own types.
@Suite struct FloatFormatTests {
    @Test func float16MatchesSwift() {
        let f = FloatFormat.float16
        #expect(f.largestFinite == Double(Float16.greatestFiniteMagnitude))
        #expect(f.largestFinite == 65504)
        #expect(f.smallestNormal == Double(Float16.leastNormalMagnitude))
        #expect(f.smallestSubnormal == Double(Float16.leastNonzeroMagnitude))
        #expect(f.smallestSubnormal == 0x1p-24)
        #expect(f.epsilon == Double(Float16.ulpOfOne))
    }

    @Test func float32AndFloat64MatchSwift() {
        #expect(FloatFormat.float32.largestFinite == Double(Float.greatestFiniteMagnitude))
        #expect(FloatFormat.float32.smallestSubnormal == Double(Float.leastNonzeroMagnitude))
        #expect(FloatFormat.float64.largestFinite == Double.greatestFiniteMagnitude)
        #expect(FloatFormat.float64.smallestSubnormal == Double.leastNonzeroMagnitude)
        #expect(FloatFormat.float64.smallestNormal == Double.leastNormalMagnitude)
    }

    /// REFERENCE.md: p, max finite, min normal, min subnormal, inf; ml_dtypes finfo for the FP8 types.
    @Test(arguments: [
        (FloatFormat.bfloat16, 8, 0x1.fep127, 0x1p-126, 0x1p-133, true),
        (FloatFormat.float8E4M3FN, 4, 448.0, 0x1p-6, 0x1p-9, false),
        (FloatFormat.float8E5M2, 3, 57344.0, 0x1p-14, 0x1p-16, true),
    ])
    func referenceTable(format: FloatFormat, p: Int, max: Double, normal: Double, subnormal: Double, inf: Bool) {
        #expect(format.precision == p)
        #expect(format.largestFinite == max)
        #expect(format.smallestNormal == normal)
        #expect(format.smallestSubnormal == subnormal)
        #expect(format.hasInfinity == inf)
    }

    /// REFERENCE.md: MPFR's (prec, emin, emax) for emulating each IEEE format.
    @Test func mpfrRanges() {
        let expected: [(FloatFormat, Int, Int, Int)] = [
            (.float16, 11, -23, 16), (.bfloat16, 8, -132, 128), (.float32, 24, -148, 128), (.float64, 53, -1073, 1024),
        ]
        for (f, p, emin, emax) in expected {
            #expect(f.precision == p && f.mpfrEmin == emin && f.mpfrEmax == emax, "\(f)")
        }
    }

    @Test func bitWidthsAndNames() {
        #expect(FloatFormat.all.map(\.bitWidth) == [64, 32, 16, 16, 8, 8])
        #expect(FloatFormat(named: "BF16") == .bfloat16)
        #expect(FloatFormat(named: "float8_e4m3fn") == .float8E4M3FN)
        #expect(FloatFormat(named: "F8_E5M2") == .float8E5M2)
        #expect(FloatFormat(named: "half") == .float16)
        #expect(FloatFormat(named: "f12") == nil)
    }

    /// Outputs of ml_dtypes 0.6 and numpy 2.4 (float32 input), recorded once from Python.
    @Test(arguments: [
        // value, e4m3, e5m2, bf16, f16
        (Float.nan, 0x7F, 0x7E, 0x7FC0, 0x7E00),
        (-Float.nan, 0xFF, 0xFE, 0xFFC0, 0xFE00),
        (Float.infinity, 0x7F, 0x7C, 0x7F80, 0x7C00),
        (-Float.infinity, 0xFF, 0xFC, 0xFF80, 0xFC00),
        (448, 0x7E, 0x5F, 0x43E0, 0x5F00),
        (464, 0x7E, 0x5F, 0x43E8, 0x5F40),
        (465, 0x7F, 0x5F, 0x43E8, 0x5F44),
        (480, 0x7F, 0x60, 0x43F0, 0x5F80),
        (1000, 0x7F, 0x64, 0x447A, 0x63D0),
        (57344, 0x7F, 0x7B, 0x4760, 0x7B00),
        (61440, 0x7F, 0x7C, 0x4770, 0x7B80),
        (61439, 0x7F, 0x7B, 0x4770, 0x7B80),
        (65536, 0x7F, 0x7C, 0x4780, 0x7C00),
        (1e9, 0x7F, 0x7C, 0x4E6E, 0x7C00),
        (0x1p-10, 0x00, 0x14, 0x3A80, 0x1400),
        (0x1p-17, 0x00, 0x00, 0x3700, 0x0080),
        (0x1.8p-17, 0x00, 0x01, 0x3740, 0x00C0),
    ] as [(Float, Int, Int, Int, Int)])
    func mlDtypesOutputs(value: Float, e4m3: Int, e5m2: Int, bf16: Int, f16: Int) {
        #expect(Int(Float8E4M3FN(value).bitPattern) == e4m3)
        #expect(Int(Float8E5M2(value).bitPattern) == e5m2)
        #expect(Int(BFloat16(value).bitPattern) == bf16)
        #expect(Int(Float16(value).bitPattern) == f16)
    }

    @Test func saturatingConversions() {
        #expect(Float8E4M3FN(1000.0, saturating: true).doubleValue == 448)
        #expect(Float8E4M3FN(-Double.infinity, saturating: true).doubleValue == -448)
        #expect(Float8E4M3FN(Double.nan, saturating: true).isNaN)
        #expect(Float8E5M2(1e6, saturating: true).doubleValue == 57344)
        #expect(Float8E5M2(Double.infinity, saturating: true).doubleValue == 57344)
        #expect(Double(BFloat16(rounding: 1e39, saturating: true)) == FloatFormat.bfloat16.largestFinite)
        #expect(Double(Float16(rounding: 65520, saturating: true)) == 65504)
        #expect(Double(Float16(rounding: 65520, saturating: false)) == .infinity)
        #expect(Double(Float16(rounding: 65519.99, saturating: false)) == 65504)
    }

    /// BFloat16 from Double rounds once; ml_dtypes' two roundings (through Float) are reproducible with Float(x).
    @Test func bfloat16FromDoubleRoundsOnce() {
        let x = 1 + 0x1p-8 + 0x1p-40  // just above a bfloat16 tie, and a tie once rounded to Float
        #expect(Double(BFloat16(x)) == 1 + 0x1p-7)
        #expect(Double(BFloat16(Float(x))) == 1)
    }
}
