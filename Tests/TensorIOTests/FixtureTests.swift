import Base
import Foundation
import Testing
import TensorIO
import TestSupport

/// Files written by numpy and by the safetensors Python package (see fixtures/tensorio/make_fixtures.py).
/// The expected values are recomputed here from the generator's formulas, so these tests check decoding,
/// not merely that parsing succeeds.
@Suite("Python-written fixtures")
struct FixtureTests {
    static func f32Formula(_ i: Int) -> Float { Float(i) * 0.375 - 7 }
    static func f64Formula(_ i: Int) -> Double { Double(i) * 0.1 - 1 }
    static func f16Formula(_ i: Int) -> Float16 { Float16(Double(i) * 0.25 - 3) }

    @Test func npyVectorMatrixCubeScalar() throws {
        let f16 = try TensorFile(path: Fixtures.path("f16_vector.npy"))
        let vector = try #require(f16.tensors.first)
        #expect(f16.tensors.count == 1 && f16.metadata.isEmpty)
        #expect(vector.name == "f16_vector" && vector.dtype == .f16 && vector.shape == [37] && !vector.fortranOrder)
        #expect(elements(vector, as: Float16.self) == (0..<37).map(Self.f16Formula))
        #expect(f16.tensor(named: "f16_vector") != nil && f16.tensor(named: "other") == nil)

        let matrix = try #require(TensorFile(path: Fixtures.path("f32_matrix.npy")).tensors.first)
        #expect(matrix.dtype == .f32 && matrix.shape == [3, 4] && matrix.count == 12)
        #expect(elements(matrix, as: Float.self) == (0..<12).map(Self.f32Formula))

        let cube = try #require(TensorFile(path: Fixtures.path("f64_cube.npy")).tensors.first)
        #expect(cube.dtype == .f64 && cube.shape == [2, 3, 4] && !cube.fortranOrder)
        #expect(elements(cube, as: Double.self).map(\.bitPattern) == (0..<24).map { Self.f64Formula($0).bitPattern })

        let scalar = try #require(TensorFile(path: Fixtures.path("f64_scalar.npy")).tensors.first)
        #expect(scalar.shape == [] && scalar.count == 1 && scalar.bytes.count == 8)
        #expect(elements(scalar, as: Double.self) == [Double.pi])

        let empty = try #require(TensorFile(path: Fixtures.path("f32_empty.npy")).tensors.first)
        #expect(empty.shape == [0] && empty.count == 0 && empty.bytes.isEmpty)
    }

    @Test func npyFortranOrderKeepsStoredColumnMajorBytes() throws {
        let view = try #require(TensorFile(path: Fixtures.path("f32_fortran.npy")).tensors.first)
        #expect(view.fortranOrder && view.shape == [3, 5] && view.dtype == .f32)
        // Storage index k holds a[k % 3, k / 3] = 10 r + c + 0.5.
        let expected: [Float] = (0..<15).map { k in Float(10 * (k % 3) + k / 3) + 0.5 }
        #expect(elements(view, as: Float.self) == expected)
    }

    @Test(arguments: ["f32_v2.npy", "f32_v3.npy"])
    func npyFormatVersions2And3(_ name: String) throws {
        let view = try #require(TensorFile(path: Fixtures.path(name)).tensors.first)
        #expect(view.shape == [4] && elements(view, as: Float.self) == (0..<4).map(Self.f32Formula))
    }

    @Test func safetensorsMixedDTypesMetadataAndBitPatterns() throws {
        let file = try TensorFile(path: Fixtures.path("mixed.safetensors"))
        #expect(file.format == .safetensors)
        // File order is data-offset order, which the Python writer chooses by dtype alignment then name.
        #expect(file.tensors.map(\.name) == ["f64", "f32", "bf16", "h16", "e4m3", "e5m2"])
        #expect(Dictionary(uniqueKeysWithValues: file.metadata.map { ($0.key, $0.value) })
                == ["format": "np", "generator": "make_fixtures.py"])

        let f32 = try #require(file.tensor(named: "f32"))
        #expect(f32.dtype == .f32 && f32.shape == [3, 4] && elements(f32, as: Float.self) == (0..<12).map(Self.f32Formula))
        let f64 = try #require(file.tensor(named: "f64"))
        #expect(f64.dtype == .f64 && f64.shape == [5] && elements(f64, as: Double.self) == (0..<5).map(Self.f64Formula))
        let h16 = try #require(file.tensor(named: "h16"))
        #expect(h16.dtype == .f16 && h16.shape == [2, 5] && elements(h16, as: Float16.self) == (0..<10).map(Self.f16Formula))

        // Bit patterns recorded by the generator, parsed with TensorIO's own JSON parser.
        let json = try Fixtures.bytes("expected_bits.json").withUnsafeBytes { try JSONValue(parsing: $0) }
        func recorded(_ key: String, _ field: String) throws -> [JSONValue] { try #require(json[key]?[field]?.arrayValue) }

        let bf16 = try #require(file.tensor(named: "bf16"))
        let bf16Bits = elements(bf16, as: UInt16.self)
        #expect(bf16.dtype == .bf16 && bf16.shape == [6])
        #expect(try bf16Bits.map(Int.init) == recorded("bf16", "bits").map { $0.intValue ?? -1 })
        // bf16 is the top half of a float32, and these values are exact in bf16.
        #expect(bf16Bits == (0..<6).map { UInt16((Float($0) * 0.5 - 4).bitPattern >> 16) })

        for (name, key, dtype, decode) in [("e4m3", "f8_e4m3", TensorDType.f8e4m3, decodeE4M3FN), ("e5m2", "f8_e5m2", .f8e5m2, decodeE5M2)] {
            let view = try #require(file.tensor(named: name))
            #expect(view.dtype == dtype && view.shape == [8])
            let bits = Array(view.bytes)
            #expect(try bits.map(Int.init) == recorded(key, "bits").map { $0.intValue ?? -1 })
            #expect(try bits.map(decode) == recorded(key, "values").map { $0.doubleValue ?? .nan })
        }
    }

    @Test func safetensorsSingleEdgeNamesAndMetadataOnly() throws {
        let single = try TensorFile(path: Fixtures.path("single.safetensors"))
        #expect(single.metadata.map(\.key) == ["note"] && single.metadata.map(\.value) == ["one tensor"])
        let weight = try #require(single.tensor(named: "weight"))
        #expect(weight.shape == [2, 3] && elements(weight, as: Float.self) == (0..<6).map(Self.f32Formula))

        let edge = try TensorFile(path: Fixtures.path("edge.safetensors"))
        #expect(edge.metadata.isEmpty)
        #expect(edge.tensors.map(\.name) == ["scalar", "empty", "ones"])
        #expect(edge.tensors.map(\.shape) == [[], [0], [4]])
        #expect(edge.tensors.map(\.count) == [1, 0, 4])
        #expect(edge.tensor(named: "scalar").map { elements($0, as: Double.self) } == [Double.pi])
        #expect(edge.tensor(named: "empty")?.bytes.count == 0)
        #expect(edge.tensor(named: "ones").map { elements($0, as: Float16.self) } == [1, 1, 1, 1])

        let names = try TensorFile(path: Fixtures.path("names.safetensors"))
        let expected = ["quote\"d", "back\\slash", "tab\there", "ctl\u{01}", "ünïcödé", "日本", "a/b.c:d", ""]
        #expect(Set(names.tensors.map(\.name)) == Set(expected))
        for (i, name) in expected.enumerated() {
            #expect(names.tensor(named: name).map { elements($0, as: Float.self) } == [Float(i + 1)], "\(name)")
        }

        let metadataOnly = try TensorFile(path: Fixtures.path("metadata_only.safetensors"))
        #expect(metadataOnly.tensors.isEmpty && metadataOnly.metadata.map(\.value) == ["metadata"])
    }

    /// Re-encoding what was parsed must give the reference writers' exact bytes: same compact JSON, same
    /// escaping, same padding (safetensors); same dict text, growth-axis spaces and 64-byte padding (numpy).
    static let version1Files: [String] = Fixtures.safetensorsFiles + Fixtures.npyFiles.filter { name in
        !name.hasSuffix("_v2.npy") && !name.hasSuffix("_v3.npy")
    }

    @Test(arguments: version1Files)
    func writerReproducesReferenceBytes(_ name: String) throws {
        let file = try TensorFile(path: Fixtures.path(name))
        let tensors = file.tensors.map { ($0.spec, Array($0.bytes)) }
        let encoded = try TensorWriter.encode(format: file.format, tensors: tensors, metadata: file.metadata)
        #expect(encoded == (try Fixtures.bytes(name)))
    }

    /// Same, but from the generator's formulas rather than from parsed bytes, through the file writer.
    @Test func npyWriterMatchesNumpyForFormulaData() throws {
        let f16: [Float16] = (0..<37).map(Self.f16Formula)
        let f32: [Float] = (0..<12).map(Self.f32Formula)
        let f64: [Double] = (0..<24).map(Self.f64Formula)
        let fortran: [Float] = (0..<15).map { k in Float(10 * (k % 3) + k / 3) + 0.5 }
        let cases: [(String, TensorSpec, [UInt8])] = [
            ("f16_vector.npy", TensorSpec(name: "v", dtype: .f16, shape: [37]), littleEndianBytes(f16)),
            ("f32_matrix.npy", TensorSpec(name: "m", dtype: .f32, shape: [3, 4]), littleEndianBytes(f32)),
            ("f64_cube.npy", TensorSpec(name: "c", dtype: .f64, shape: [2, 3, 4]), littleEndianBytes(f64)),
            ("f64_scalar.npy", TensorSpec(name: "s", dtype: .f64, shape: []), littleEndianBytes([Double.pi])),
            ("f32_fortran.npy", TensorSpec(name: "f", dtype: .f32, shape: [3, 5], fortranOrder: true), littleEndianBytes(fortran)),
            ("f32_empty.npy", TensorSpec(name: "e", dtype: .f32, shape: [0]), []),
        ]
        try withTemporaryDirectory { dir in
            for (name, spec, bytes) in cases {
                let path = dir.appendingPathComponent(name).path
                try TensorWriter.write(path: path, format: .npy, tensors: [(spec, bytes)])
                #expect(try readFile(path) == Fixtures.bytes(name), "\(name)")
            }
        }
    }

    @Test func safetensorsWriterMatchesPythonForFormulaData() throws {
        let spec = TensorSpec(name: "weight", dtype: .f32, shape: [2, 3])
        let encoded = try TensorWriter.encode(format: .safetensors, tensors: [(spec, littleEndianBytes((0..<6).map(Self.f32Formula)))],
                                              metadata: [("note", "one tensor")])
        #expect(encoded == (try Fixtures.bytes("single.safetensors")))
    }
}
