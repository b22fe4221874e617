import Formats
import Reference
import Results
import Testing

/// The acceptance checks of the formats: the lab's conversions and arithmetic against MPFR, bit for bit.
@Suite struct ConformanceTests {
    static let samples = 1_000_000

    func expectPassed(_ results: [ConformanceResult]) {
        for r in results {
            #expect(r.passed, "\(r.format.name) \(r.check): \(r.mismatches) of \(r.cases) differ: \(r.examples)")
        }
    }

    @Test(arguments: [FloatFormat.float16, .bfloat16, .float8E4M3FN, .float8E5M2])
    func everyBitPatternRoundTripsAndMatchesMPFR(format: FloatFormat) {
        let codec = FormatConformance.codec(format)
        let result = FormatConformance.exhaustive(format, decode: codec.decode, encode: codec.encode)
        #expect(result.cases == 1 << format.bitWidth)
        expectPassed([result])
    }

    @Test(arguments: FloatFormat.all)
    func conversionsAreCorrectlyRounded(format: FloatFormat) {
        let inputs = FormatConformance.conversionInputs(for: format, count: Self.samples, seed: 1)
        #expect(inputs.count >= Self.samples)
        for saturating in [false, true] {
            let convert = FormatConformance.converters(into: format, saturating: saturating)
            expectPassed([
                FormatConformance.conversions(format, from: "f64", inputs: inputs, saturating: saturating, convert: convert.fromDouble),
                FormatConformance.conversions(format, from: "f32", inputs: inputs.map { Double(Float($0)) }, saturating: saturating) {
                    convert.fromFloat(Float($0))
                },
            ])
        }
    }

    @Test func float16ArithmeticIsCorrectlyRounded() {
        let operands = FormatConformance.operands(for: .float16, count: Self.samples, seed: 2)
        let results = FormatConformance.arithmetic(.float16, typeName: "Float16", operations: FormatConformance.operations(of: Float16.self), operands: operands)
        #expect(results.map(\.check.count).count == 6)
        expectPassed(results)
    }

    @Test func bfloat16ArithmeticIsCorrectlyRounded() {
        let operands = FormatConformance.operands(for: .bfloat16, count: Self.samples, seed: 3)
        expectPassed(FormatConformance.arithmetic(.bfloat16, typeName: "BFloat16", operations: FormatConformance.operations(of: BFloat16.self), operands: operands))
    }

    /// The edge cases named in the issue, with their expected results written out.
    @Test func edgeCases() {
        #expect(Float16(65519.99).bitPattern == 0x7BFF)
        #expect(Float16(65520.0).isInfinite)
        #expect(Float16(Float(65520)).isInfinite)
        #expect(Double(Float16(0x1p-25)) == 0)                       // tie with zero: to even
        #expect(Double(Float16(0x1p-25.nextUp)) == 0x1p-24)
        #expect(Double(Float16(0x1.8p-24)) == 0x1p-23)                // tie between 1 and 2 quanta: to even
        #expect(Float16(0x1.ff8p-15).bitPattern == 0x03FF)            // largest subnormal
        #expect(Float16(-0.0).bitPattern == 0x8000)
        #expect(Double(BFloat16(0x1p-134)) == 0 && Double(BFloat16(0x1p-134.nextUp)) == 0x1p-133)
        #expect(BFloat16(Float.greatestFiniteMagnitude).isInfinite)   // 0x1.fffffep127 rounds past 0x1.fep127
        #expect(Float8E4M3FN(464.0).doubleValue == 448 && Float8E4M3FN(464.0.nextUp).isNaN)
        #expect(Float8E4M3FN(0x1p-10).doubleValue == 0 && Float8E4M3FN(0x1p-10.nextUp).doubleValue == 0x1p-9)
        #expect(Float8E5M2(61440.0).doubleValue == .infinity && Float8E5M2(61440.0.nextDown).doubleValue == 57344)
        #expect(Float8E5M2(Double.nan).isNaN && Float8E4M3FN(Double.infinity).isNaN)
    }
}

/// The checker itself must catch wrong implementations, or the tests above could not fail.
@Suite struct ConformanceCatchesFaults {
    @Test func truncationInsteadOfRoundingIsCaught() {
        let format = FloatFormat.bfloat16
        let inputs = FormatConformance.conversionInputs(for: format, count: 10_000, seed: 4)
        let truncating = FormatConformance.conversions(format, from: "f32", inputs: inputs) {
            UInt64(Float($0).bitPattern >> 16)
        }
        #expect(truncating.mismatches > 1000)
    }

    @Test func doubleRoundingThroughFloatIsCaught() {
        let format = FloatFormat.float8E5M2
        let inputs = FormatConformance.conversionInputs(for: format, count: 200_000, seed: 5)
        let twice = FormatConformance.conversions(format, from: "f64", inputs: inputs) {
            UInt64(Float8E5M2(Float($0)).bitPattern)
        }
        #expect(twice.mismatches > 0)
    }

    @Test func wrongDecodingIsCaught() {
        let format = FloatFormat.float8E4M3FN
        let codec = FormatConformance.codec(format)
        // Treat S.1111.111 as 480 instead of NaN, as an IEEE-style decoder would.
        let result = FormatConformance.exhaustive(format, decode: { bits in
            bits & 0x7F == 0x7F ? (bits & 0x80 == 0 ? 480 : -480) : codec.decode(bits)
        }, encode: codec.encode)
        #expect(result.mismatches == 2)
    }

    @Test func doubleRoundedFMAIsCaught() {
        let operands = FormatConformance.operands(for: .float16, count: 1_000_000, seed: 6)
        let naive = FormatConformance.Operation(name: "fma", arity: 3) { a, b, c in
            Double(Float16(Float(a) * Float(b) + Float(c)))  // two roundings in Float, then one to Float16
        }
        let result = FormatConformance.arithmetic(.float16, typeName: "naive", operations: [naive], operands: operands)
        #expect(result[0].mismatches > 0)
    }

    @Test func swiftFloat16FMAFindingIsReportedAsInformation() {
        let results = FormatConformance.standardSuite(samples: 1000)
        #expect(results.filter { $0.testsLab }.allSatisfy { $0.passed })
    }
}
