import Testing
import TensorIO

@Suite("Types and formats")
struct BasicsTests {
    @Test func dtypeProperties() {
        let sizes = Dictionary(uniqueKeysWithValues: TensorDType.allCases.map { ($0.rawValue, $0.byteSize) })
        #expect(sizes == ["F16": 2, "BF16": 2, "F32": 4, "F64": 8, "F8_E4M3": 1, "F8_E5M2": 1, "BOOL": 1, "U8": 1, "I8": 1,
                          "U16": 2, "I16": 2, "U32": 4, "I32": 4, "U64": 8, "I64": 8])
        #expect(TensorDType.allCases.filter(\.isFloatingPoint) == [.f16, .bf16, .f32, .f64, .f8e4m3, .f8e5m2])
        #expect(TensorDType.allCases.compactMap(\.npyDescr) == ["<f2", "<f4", "<f8"])
        #expect(TensorDType(rawValue: "F8_E4M3") == .f8e4m3)
    }

    @Test func formatFromExtension() throws {
        #expect(try TensorFileFormat(path: "/a/b/model.safetensors") == .safetensors)
        #expect(try TensorFileFormat(path: "grads.npy") == .npy)
        #expect(try TensorFileFormat(path: "GRADS.NPY") == .npy)
        for bad in ["x.npz", "x.safetensor", "npy", "/dir.npy/file", "x.npy.bak"] {
            let error = try #require(throws: TensorIOError.self) { try TensorFileFormat(path: bad) }
            #expect(error.description == "\(bad): unsupported extension (expected .safetensors or .npy)")
        }
    }

    @Test func errorDescriptionIsOneLineNamingThePath() {
        let error = TensorIOError(path: "data/x.safetensors", message: "header length 4096 runs past the end of the file (100 bytes)")
        #expect(error.description == "data/x.safetensors: header length 4096 runs past the end of the file (100 bytes)")
        let hostile = TensorIOError(path: "we\nird.npy", message: "line one\nline two\r\u{2028}")
        #expect(isOneLine(hostile.description))
        #expect(hostile.description.hasPrefix("we\\nird.npy: "))
    }

    @Test func specSizes() {
        #expect(TensorSpec(name: "a", dtype: .f32, shape: [2, 3]).byteCount == 24)
        #expect(TensorSpec(name: "a", dtype: .f64, shape: []).count == 1)
        #expect(TensorSpec(name: "a", dtype: .f16, shape: [4, 0]).byteCount == 0)
        #expect(TensorSpec(name: "a", dtype: .f16, shape: [-1]).byteCount == nil)
        #expect(TensorSpec(name: "a", dtype: .f64, shape: [1 << 61]).byteCount == nil)
    }
}
