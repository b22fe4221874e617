import Formats
import Results

extension FormatConformance {
    /// The lab's own implementations of every conversion into `format`, from Double and from Float.
    public static func converters(into format: FloatFormat, saturating: Bool)
        -> (fromDouble: (Double) -> UInt64, fromFloat: (Float) -> UInt64) {
        switch (format.shortName, saturating) {
        case ("f64", false): return ({ $0.bitPattern }, { Double($0).bitPattern })
        case ("f32", false): return ({ UInt64(Float($0).bitPattern) }, { UInt64($0.bitPattern) })
        case ("f16", false): return ({ UInt64(Float16($0).bitPattern) }, { UInt64(Float16($0).bitPattern) })
        case ("bf16", false): return ({ UInt64(BFloat16($0).bitPattern) }, { UInt64(BFloat16($0).bitPattern) })
        case ("e4m3", _):
            return ({ UInt64(Float8E4M3FN($0, saturating: saturating).bitPattern) },
                    { UInt64(Float8E4M3FN($0, saturating: saturating).bitPattern) })
        case ("e5m2", _):
            return ({ UInt64(Float8E5M2($0, saturating: saturating).bitPattern) },
                    { UInt64(Float8E5M2($0, saturating: saturating).bitPattern) })
        default:
            // Saturating casts of the wide formats go through the generic encoder.
            return ({ format.encode($0, saturating: true) }, { format.encode(Double($0), saturating: true) })
        }
    }

    /// The decoder and encoder of each narrow format's value type, for the exhaustive check.
    public static func codec(_ format: FloatFormat) -> (decode: (UInt64) -> Double, encode: (Double) -> UInt64) {
        switch format.shortName {
        case "f16": return ({ Double(Float16(bitPattern: UInt16(truncatingIfNeeded: $0))) }, { UInt64(Float16($0).bitPattern) })
        case "bf16": return ({ Double(BFloat16(bitPattern: UInt16(truncatingIfNeeded: $0))) }, { UInt64(BFloat16($0).bitPattern) })
        case "e4m3": return ({ Float8E4M3FN(bitPattern: UInt8(truncatingIfNeeded: $0)).doubleValue }, { UInt64(Float8E4M3FN($0).bitPattern) })
        default: return ({ Float8E5M2(bitPattern: UInt8(truncatingIfNeeded: $0)).doubleValue }, { UInt64(Float8E5M2($0).bitPattern) })
        }
    }

    /// The full conformance suite of the lab's formats: exhaustive for the 8- and 16-bit formats, `samples`
    /// random values plus edge cases per conversion, `samples` random operand sets per operation.
    public static func standardSuite(samples: Int = 1_000_000, seed: UInt64 = 20261122,
                                     progress: (String) -> Void = { _ in }) -> [ConformanceResult] {
        var results: [ConformanceResult] = []
        for format in [FloatFormat.float16, .bfloat16, .float8E4M3FN, .float8E5M2] {
            progress("all \(format.name) bit patterns")
            let codec = codec(format)
            results.append(exhaustive(format, decode: codec.decode, encode: codec.encode))
        }
        for (index, format) in FloatFormat.all.enumerated() {
            progress("conversions to \(format.name)")
            let inputs = conversionInputs(for: format, count: samples, seed: seed &+ UInt64(index))
            let floatInputs = inputs.map { Double(Float($0)) }
            for saturating in [false, true] where !saturating || format.bitWidth <= 16 {
                let convert = converters(into: format, saturating: saturating)
                results.append(conversions(format, from: "f64", inputs: inputs, saturating: saturating, convert: convert.fromDouble))
                results.append(conversions(format, from: "f32", inputs: floatInputs, saturating: saturating) { convert.fromFloat(Float($0)) })
            }
        }
        progress("float16 arithmetic")
        results += arithmetic(.float16, typeName: "Float16", operations: operations(of: Float16.self),
                              operands: operands(for: .float16, count: samples, seed: seed &+ 100))
        // Swift's own Float16 fma, for information: LLVM may lower it to a Float fma plus a second rounding.
        results += arithmetic(.float16, typeName: "Swift Float16.addingProduct",
                              operations: [Operation(name: "fma", arity: 3) { a, b, c in
                                  Double(Float16(c).addingProduct(Float16(a), Float16(b))) }],
                              operands: operands(for: .float16, count: samples, seed: seed &+ 100))
            .map { var r = $0; r.testsLab = false; return r }
        progress("bfloat16 arithmetic")
        results += arithmetic(.bfloat16, typeName: "BFloat16", operations: operations(of: BFloat16.self),
                              operands: operands(for: .bfloat16, count: samples, seed: seed &+ 200))
        return results
    }
}
