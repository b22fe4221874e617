import Foundation
import PrecisionLab
import Testing

/// `norm`, `check`, `bench reductions`, `bench train` and `report` as a user runs them.
@Suite struct NormCommandTests {
    static func bytes<T: LabScalar>(_ values: [T]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }

    /// A file with an f16 tensor [3, 4], a seeded f32 tensor, and an int32 tensor (skipped by norms).
    static func makeFile(in dir: URL) throws -> (path: String, f32: [Float]) {
        var rng = SeededGenerator(seed: 9)
        let f32 = (0..<5000).map { _ in Float((rng.nextUnit() - 0.5) * 3) }
        let path = dir.appendingPathComponent("grads.safetensors").path
        try TensorWriter.write(path: path, format: .safetensors, tensors: [
            (TensorSpec(name: "a", dtype: .f16, shape: [2]), bytes([Float16(3), Float16(-4)])),
            (TensorSpec(name: "w", dtype: .f32, shape: [50, 100]), bytes(f32)),
            (TensorSpec(name: "steps", dtype: .i32, shape: [1]), [7, 0, 0, 0]),
        ])
        return (path, f32)
    }

    static func json(_ text: String) throws -> JSONValue { try JSONValue(parsing: text) }

    @Test func normJSONHasExactValuesPerTensorAndTotal() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (path, f32) = try Self.makeFile(in: dir)
        let result = try CLI.run(["norm", path, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let doc = try Self.json(result.stdout)
        #expect(doc["ord"]?.doubleValue == 2)
        let tensors = try #require(doc["tensors"]?.arrayValue)
        #expect(tensors.map { $0["name"]?.stringValue } == ["a", "w"])
        #expect(tensors[0]["exact"]?.doubleValue == 5)
        #expect(tensors[0]["dtype"]?.stringValue == "F16" && tensors[0]["count"]?.intValue == 2)
        let expectedW = MPFRNorm.norm(f32.map(Double.init), order: .two)
        #expect(tensors[1]["exact"]?.doubleValue == expectedW)
        let total = MPFRNorm.norm([3, -4] + f32.map(Double.init), order: .two)
        #expect(doc["total"]?["exact"]?.doubleValue == total)
        let algorithms = try #require(tensors[1]["algorithms"]?.objectValue)
        #expect(Set(algorithms.map(\.key)) == Set(ReductionAlgorithm.allCases.map(\.rawValue)))
        for (_, a) in algorithms {
            #expect(a["value"]?.doubleValue != nil && a["ulps"]?.doubleValue != nil && a["relative"]?.doubleValue != nil)
            #expect(a["within_bound"]?.intValue == nil)  // a bool, not a number
        }
        // Other orders: inf and 3 (an integer p, exact), and one tensor only.
        let inf = try Self.json(try CLI.run(["norm", path, "--ord", "inf", "--tensor", "a", "--json"]).stdout)
        #expect(inf["ord"]?.stringValue == "inf" && inf["tensors"]?.arrayValue?.count == 1 && inf["total"]?["exact"]?.doubleValue == 4)
        let three = try Self.json(try CLI.run(["norm", path, "--ord", "3", "--tensor", "a", "--json"]).stdout)
        #expect(three["tensors"]?.arrayValue?.first?["exact"]?.doubleValue == MPFRNorm.norm([3, 4], order: .p(3)))
        // The table form names every algorithm.
        let table = try CLI.run(["norm", path])
        #expect(table.status == 0 && table.stdout.contains("## total") && table.stdout.contains("norm-of-norms"))
    }

    /// check: 0 within the tolerance, 1 one ulp outside it, in the format the kernel's result is in.
    @Test(arguments: ["f32", "f64", "f16"])
    func checkExitCodesAtTheToleranceEdge(format: String) throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (path, _) = try Self.makeFile(in: dir)
        let f = try #require(FloatFormat(named: format))
        let exact = try #require(try Self.json(try CLI.run(["norm", path, "--tensor", "w", "--json"]).stdout)["tensors"]?.arrayValue?.first?["exact"]?.doubleValue)
        let rounded = f.round(exact)
        func steps(_ k: Int) -> Double {
            var bits = f.encode(rounded)
            bits = k >= 0 ? bits + UInt64(k) : bits - UInt64(-k)
            return f.decode(bits)
        }
        for tolerance in [0, 2] {
            for k in [-tolerance - 1, -tolerance, tolerance, tolerance + 1] {
                let value = String(steps(k))
                let r = try CLI.run(["check", path, "--tensor", "w", "--expect", value, "--format", format, "--tolerance-ulps", "\(tolerance)"])
                #expect(r.status == (abs(k) <= tolerance ? 0 : 1), "k=\(k) tol=\(tolerance): \(r.stdout) \(r.stderr)")
            }
        }
    }

    @Test func checkManyTensorsFromAFile() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (path, f32) = try Self.makeFile(in: dir)
        let w = MPFRNorm.norm(f32.map(Double.init), order: .two)
        let total = MPFRNorm.norm([3, -4] + f32.map(Double.init), order: .two)
        let good = dir.appendingPathComponent("good.json").path
        try "{\"a\": 5, \"w\": \(w), \"total\": \(total)}".write(toFile: good, atomically: true, encoding: .utf8)
        let ok = try CLI.run(["check", path, "--expect-file", good, "--json"])
        #expect(ok.status == 0, "\(ok.stdout) \(ok.stderr)")
        #expect(try Self.json(ok.stdout)["checks"]?.arrayValue?.count == 3)
        let bad = dir.appendingPathComponent("bad.json").path
        try "{\"a\": 5, \"w\": \(w.nextUp)}".write(toFile: bad, atomically: true, encoding: .utf8)
        let failed = try CLI.run(["check", path, "--expect-file", bad])
        #expect(failed.status == 1 && failed.stderr.contains("w is 1"), "\(failed.stderr)")
        // NaN and inf are checked as themselves.
        let nan = try CLI.run(["check", path, "--tensor", "a", "--expect", "nan"])
        #expect(nan.status == 1)
    }

    @Test func malformedInputsExitTwoWithOneLine() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (path, _) = try Self.makeFile(in: dir)
        let missing = dir.appendingPathComponent("missing.safetensors").path
        try CLI.run(["norm", missing]).expectUsageError(naming: missing)
        try CLI.run(["check", missing, "--expect", "1"]).expectUsageError(naming: missing)
        // Truncated file.
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let truncated = dir.appendingPathComponent("truncated.safetensors").path
        try data.prefix(data.count - 7).write(to: URL(fileURLWithPath: truncated))
        try CLI.run(["norm", truncated]).expectUsageError(naming: truncated)
        try CLI.run(["check", truncated, "--expect", "5"]).expectUsageError(naming: truncated)
        // A tensor that is not there, or not a float.
        try CLI.run(["norm", path, "--tensor", "nope"]).expectUsageError(naming: path)
        try CLI.run(["check", path, "--tensor", "steps", "--expect", "7"]).expectUsageError(naming: path)
        // Bad options.
        for arguments in [["--expect", "abc"], ["--expect", "1", "--ord", "0"], ["--expect", "1", "--tolerance-ulps", "-1"],
                          ["--expect", "1", "--tolerance-ulps", "nan"], ["--expect", "1", "--format", "e4m3"], []] {
            let r = try CLI.run(["check", path] + arguments)
            #expect(r.status == 2 && r.stderr.split(separator: "\n").count == 1, "\(arguments): \(r.status) \(r.stderr)")
        }
        // A malformed expectations file names itself.
        let broken = dir.appendingPathComponent("broken.json").path
        try "{\"a\": ".write(toFile: broken, atomically: true, encoding: .utf8)
        try CLI.run(["check", path, "--expect-file", broken]).expectUsageError(naming: broken)
        let unknown = dir.appendingPathComponent("unknown.json").path
        try "{\"zzz\": 1}".write(toFile: unknown, atomically: true, encoding: .utf8)
        try CLI.run(["check", path, "--expect-file", unknown]).expectUsageError(naming: unknown)
        let r = try CLI.run(["norm", path, "--algorithms", "naive,bogus"])
        #expect(r.status == 2)
    }

    @Test func benchReductionsJSON() throws {
        let r = try CLI.run(["bench", "reductions", "--size", "100000", "--repetitions", "1", "--algorithms", "blocked-simd,naive", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try #require(try Self.json(r.stdout).arrayValue)
        #expect(rows.count == 4 * 4)
        for format in ["f16", "bf16", "f32", "f64"] {
            let names = rows.filter { $0["format"]?.stringValue == format }.compactMap { $0["algorithm"]?.stringValue }
            #expect(names == ["read", "blocked-simd", "naive", "exact"])
        }
        #expect(rows.allSatisfy { ($0["ns_per_element"]?.doubleValue ?? 0) > 0 && ($0["gbps"]?.doubleValue ?? 0) > 0 })
    }

    @Test func benchTrainJSON() throws {
        let r = try CLI.run(["bench", "train", "--steps", "2", "--repetitions", "1", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try #require(try Self.json(r.stdout).arrayValue)
        var seen = [String]()
        for row in rows {
            seen.append((row["model"]?.stringValue ?? "?") + "/" + (row["format"]?.stringValue ?? "?"))
            #expect((row["steps_per_second"]?.doubleValue ?? 0) > 0 && (row["gflops"]?.doubleValue ?? 0) > 0)
        }
        #expect(seen == ["mlp", "rnn", "transformer"].flatMap { m in ["f16", "bf16", "f32", "f64"].map { "\(m)/\($0)" } })
        for bad in [["--models", "cnn"], ["--formats", "e4m3"], ["--steps", "0"], ["--threads", "0"]] {
            let e = try CLI.run(["bench", "train"] + bad)
            #expect(e.status == 2 && e.stderr.split(separator: "\n").count == 1 && e.stdout.isEmpty, "\(bad): \(e.stderr)")
        }
    }

    /// `--compare-pytorch` runs the script with the lab's options and reads its rows; a stand-in script (sh, so
    /// that the test needs no Python) prints known times, and the ratio is PyTorch's time over the lab's.
    @Test func benchTrainComparesWithAScript() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let script = dir.appendingPathComponent("times.sh").path, failing = dir.appendingPathComponent("fails.sh").path
        // The arguments must be the lab's: --json --models mlp --formats f32,f16 --threads 1 --steps 2 --repetitions 1.
        try """
        [ "$*" = "--json --models mlp --formats f32,f16 --threads 1 --steps 2 --repetitions 1" ] || { echo "arguments: $*" >&2; exit 3; }
        echo '[{"model": "mlp", "format": "f32", "ms_per_step": 250}, {"model": "mlp", "format": "f16", "ms_per_step": 500}]'
        """.write(toFile: script, atomically: true, encoding: .utf8)
        try "echo 'ModuleNotFoundError: No module named torch' >&2; exit 1".write(toFile: failing, atomically: true, encoding: .utf8)
        let base = ["bench", "train", "--models", "mlp", "--formats", "f32,f16", "--threads", "1", "--steps", "2", "--repetitions", "1", "--python", "sh"]
        let r = try CLI.run(base + ["--compare-pytorch", script, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try #require(try Self.json(r.stdout).arrayValue)
        #expect(rows.map { $0["format"]?.stringValue ?? "?" } == ["f32", "f16"])
        for (row, theirs) in zip(rows, [0.25, 0.5]) {
            let ours = 1 / (row["steps_per_second"]?.doubleValue ?? .nan)
            #expect(row["pytorch_steps_per_second"]?.doubleValue == 1 / theirs)
            #expect(abs((row["speed_vs_pytorch"]?.doubleValue ?? .nan) - theirs / ours) <= 1e-9 * theirs / ours)
        }
        let table = try CLI.run(base + ["--compare-pytorch", script])
        #expect(table.status == 0 && table.stdout.contains("| mlp | f32 |") && table.stdout.contains("250.000"), "\(table.stdout)")
        for (arguments, message) in [(["--compare-pytorch", failing], "exited with status 1: ModuleNotFoundError: No module named torch"),
                                     (["--compare-pytorch", dir.appendingPathComponent("missing.py").path], "no such readable file")] {
            let e = try CLI.run(base + arguments)
            #expect(e.status == 2 && e.stdout.isEmpty && e.stderr.split(separator: "\n").count == 1 && e.stderr.contains(message), "\(e.stderr)")
        }
    }

    @Test func reportHasTheReductionsSection() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("lab.md").path
        let r = try CLI.run(["report", "--out", out, "--samples", "2000", "--bench-size", "50000"])
        #expect(r.status == 0, "\(r.stderr)")
        let text = try String(contentsOfFile: out, encoding: .utf8)
        for heading in ["## Number formats", "## Reductions", "#### overflow-squares", "#### stagnation", "### Benchmark"] {
            #expect(text.contains(heading), "missing \(heading)")
        }
        // No algorithm above its bound: no table cell ends in the "!" flag.
        #expect(!text.split(separator: "\n").contains { $0.hasPrefix("|") && ($0.contains("! |") || $0.contains("O! |") || $0.contains("U! |")) })
    }
}
