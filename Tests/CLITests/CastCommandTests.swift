import Foundation
import PrecisionLab
import Testing

@Suite struct CastCommandTests {
    /// Casting the fixture's float32 values gives exactly what numpy (f16) and ml_dtypes (bf16, FP8) give.
    @Test(arguments: ["f16", "bf16", "e4m3", "e5m2"])
    func float32SourcesMatchNumpyAndMLDtypes(target: String) throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out.safetensors").path
        let result = try CLI.run(["cast", CLI.fixture("cast/inputs.safetensors"), "--format", target, "--out", out])
        #expect(result.status == 0, "\(result.stderr)")
        let cast = try TensorFile(path: out)
        let expected = try TensorFile(path: CLI.fixture("cast/expected.safetensors"))
        let ours = try #require(cast.tensor(named: "f32"))
        let theirs = try #require(expected.tensor(named: "f32_to_\(target)"))
        #expect(ours.count == theirs.count && ours.count > 40_000)
        #expect(mismatches(ours, theirs) == 0)
    }

    /// Float64 sources: numpy's float16 rounds once, like the lab. ml_dtypes rounds bf16/FP8 through float32, which
    /// the lab reproduces with --via-f32 and otherwise corrects (checked against MPFR).
    @Test(arguments: ["f16", "bf16", "e4m3", "e5m2"])
    func float64Sources(target: String) throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let expected = try TensorFile(path: CLI.fixture("cast/expected.safetensors"))
        let theirs = try #require(expected.tensor(named: "f64_to_\(target)"))
        let once = dir.appendingPathComponent("once.safetensors").path
        let twice = dir.appendingPathComponent("twice.safetensors").path
        #expect(try CLI.run(["cast", CLI.fixture("cast/inputs.safetensors"), "--format", target, "--out", once]).status == 0)
        #expect(try CLI.run(["cast", CLI.fixture("cast/inputs.safetensors"), "--format", target, "--out", twice, "--via-f32"]).status == 0)
        let onceView = try #require(try TensorFile(path: once).tensor(named: "f64"))
        let twiceView = try #require(try TensorFile(path: twice).tensor(named: "f64"))
        let format = try #require(FloatFormat(named: target))
        // The default is MPFR's correctly rounded result, everywhere.
        let input = try #require(try TensorFile(path: CLI.fixture("cast/inputs.safetensors")).tensor(named: "f64"))
        let wrong = FormatEmulator.with(format) { emulator in
            (0..<input.count).filter { !FormatConformance.same(onceView.value(at: $0), emulator.round(input.value(at: $0))) }.count
        }
        #expect(wrong == 0)
        if target == "f16" {
            #expect(mismatches(onceView, theirs) == 0)
        } else {
            #expect(mismatches(twiceView, theirs) == 0)
            // The fixture has values just off ties, where rounding twice is wrong.
            #expect(mismatches(onceView, theirs) > 0)
        }
    }

    func mismatches(_ a: TensorView, _ b: TensorView) -> Int {
        precondition(a.bytes.count == b.bytes.count)
        var count = 0
        let width = a.dtype.byteSize
        for i in 0..<a.count {
            let x = a.bytes[i * width..<(i + 1) * width], y = b.bytes[i * width..<(i + 1) * width]
            if !x.elementsEqual(y) {
                // Any NaN is as good as another NaN only if both are NaN; the fixture's NaNs are canonical.
                count += 1
            }
        }
        return count
    }

    @Test func statisticsAndJSON() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("g.npy").path
        let values: [Double] = [1, 70000, -1e6, 1e-9, 0x1p-20, 3.0000001, .infinity, .nan, 0]
        try TensorWriter.write(path: input, format: .npy, tensors: [(TensorSpec(name: "g", dtype: .f64, shape: [values.count]),
                                                                     values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) })])
        let out = dir.appendingPathComponent("h.npy").path
        let result = try CLI.run(["cast", input, "--format", "f16", "--out", out, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = result.stdout
        #expect(json.contains("\"became_inf\": 2") && json.contains("\"flushed_to_zero\": 1") && json.contains("\"became_subnormal\": 1"))
        #expect(json.contains("\"nonfinite_in\": 2") && json.contains("\"dtype_out\": \"F16\""))
        // 3.0000001 -> 3 is the worst rounding; 2^-20 is a subnormal of Float16, exact; 1e-9 is flushed (counted apart).
        let worst = (3.0000001 - 3) / 3.0000001
        #expect(json.contains("\"max_relative_error\": \(worst)") && json.contains("\"max_relative_error_index\": 5"))
        let back = try #require(try TensorFile(path: out).tensors.first)
        #expect(back.dtype == .f16 && back.shape == [values.count])
        #expect((0..<values.count).map { back.value(at: $0) }.elementsEqual(values.map { Double(Float16($0)) }, by: FormatConformance.same))

        let saturated = try CLI.run(["cast", input, "--format", "e4m3", "--out", dir.appendingPathComponent("s.safetensors").path, "--saturate", "--json"])
        #expect(saturated.stdout.contains("\"saturated\": 3") && saturated.stdout.contains("\"became_nan\": 0"))
        // 65510 rounds to 65504 in Float16 without any clamping: not saturated.
        let near = dir.appendingPathComponent("near.npy").path
        try TensorWriter.write(path: near, format: .npy, tensors: [(TensorSpec(name: "n", dtype: .f64, shape: [3]),
                                                                    [65510.0, 65504, 70000].flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) })])
        let clamp = try CLI.run(["cast", near, "--format", "f16", "--out", dir.appendingPathComponent("n.npy").path, "--saturate", "--json"])
        #expect(clamp.stdout.contains("\"saturated\": 1"), "\(clamp.stdout)")
        let table = try CLI.run(["cast", input, "--format", "bf16", "--out", dir.appendingPathComponent("b.safetensors").path])
        #expect(table.status == 0 && table.stdout.contains("->inf") && table.stdout.contains("g"))
    }

    @Test func fortranOrderIsTransposedForSafetensors() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = try #require(try TensorFile(path: CLI.fixture("tensorio/f32_fortran.npy")).tensors.first)
        #expect(source.fortranOrder && source.shape.count == 2)
        let out = dir.appendingPathComponent("c.safetensors").path
        #expect(try CLI.run(["cast", CLI.fixture("tensorio/f32_fortran.npy"), "--format", "f64", "--out", out]).status == 0)
        let c = try #require(try TensorFile(path: out).tensors.first)
        let (rows, cols) = (source.shape[0], source.shape[1])
        for r in 0..<rows {
            for k in 0..<cols { #expect(c.value(at: r * cols + k) == source.value(at: r + k * rows)) }
        }
        let npyOut = dir.appendingPathComponent("f.npy").path
        #expect(try CLI.run(["cast", CLI.fixture("tensorio/f32_fortran.npy"), "--format", "f16", "--out", npyOut]).status == 0)
        #expect(try TensorFile(path: npyOut).tensors.first?.fortranOrder == true)
    }

    @Test func badInputIsOneLineExitTwoAndWritesNothing() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out.safetensors").path
        let missing = dir.appendingPathComponent("missing.safetensors").path
        try CLI.run(["cast", missing, "--format", "bf16", "--out", out]).expectUsageError(naming: missing)

        let truncated = dir.appendingPathComponent("truncated.safetensors").path
        let bytes = try Data(contentsOf: URL(fileURLWithPath: CLI.fixture("cast/inputs.safetensors")))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: truncated))
        try CLI.run(["cast", truncated, "--format", "bf16", "--out", out]).expectUsageError(naming: truncated)

        let empty = dir.appendingPathComponent("empty.npy").path
        try Data().write(to: URL(fileURLWithPath: empty))
        try CLI.run(["cast", empty, "--format", "f16", "--out", out]).expectUsageError(naming: empty)

        try CLI.run(["cast", CLI.fixture("cast/inputs.safetensors"), "--format", "bf16", "--out", dir.appendingPathComponent("x.npy").path])
            .expectUsageError(naming: "npy")
        try CLI.run(["cast", CLI.fixture("cast/inputs.safetensors"), "--format", "nan", "--out", out]).expectUsageError(naming: "nan")
        try CLI.run(["cast", CLI.fixture("cast/inputs.safetensors"), "--format", "f16", "--out", dir.appendingPathComponent("x.txt").path])
            .expectUsageError(naming: "x.txt")
        let two = dir.appendingPathComponent("two.npy").path
        try CLI.run(["cast", CLI.fixture("cast/inputs.safetensors"), "--format", "f16", "--out", two])
            .expectUsageError(naming: "inputs.safetensors")
        let nowhere = dir.appendingPathComponent("no/such/dir/out.safetensors").path
        try CLI.run(["cast", CLI.fixture("cast/inputs.safetensors"), "--format", "f16", "--out", nowhere]).expectUsageError(naming: nowhere)
        // A tensor name with a newline still gives a one-line message.
        let oddName = dir.appendingPathComponent("odd.safetensors").path
        try TensorWriter.write(path: oddName, format: .safetensors, tensors: [(TensorSpec(name: "a\nb", dtype: .i32, shape: [1]), [0, 0, 0, 0])])
        try CLI.run(["cast", oddName, "--format", "f16", "--out", dir.appendingPathComponent("odd.npy").path]).expectUsageError(naming: oddName)
        try FileManager.default.removeItem(atPath: oddName)
        // Nothing was written, and no temporary file was left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["empty.npy", "truncated.safetensors"])

        // An existing output survives a failed run.
        try Data("keep".utf8).write(to: URL(fileURLWithPath: out))
        try CLI.run(["cast", truncated, "--format", "bf16", "--out", out]).expectUsageError(naming: truncated)
        #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == Data("keep".utf8))
    }
}
