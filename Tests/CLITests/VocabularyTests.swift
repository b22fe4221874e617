import Foundation
import PrecisionLab
import Testing
import TestSupport

/// One vocabulary across commands: the same flag for the same setting, format aliases everywhere, old spellings
/// working with a note; and the small defects found when trying the commands as a new user.
@Suite struct VocabularyTests {
    static func bytes<T: LabScalar>(_ values: [T]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }

    /// Float16 gradients whose squares sum past 65504 though every element is finite (the exact norm is 300·√1000).
    static func overflowingGradients(in dir: URL) throws -> String {
        let path = dir.appendingPathComponent("g.safetensors").path
        try TensorWriter.write(path: path, format: .safetensors, tensors: [
            (TensorSpec(name: "w", dtype: .f16, shape: [1000]), bytes([Float16](repeating: 300, count: 1000))),
        ])
        return path
    }

    @Test func oldSpellingsGiveTheSameAnswerWithADeprecationNote() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = CLI.fixture("clip/torch-f32-p2-c0.5.safetensors")
        let a = dir.appendingPathComponent("a.safetensors").path, b = dir.appendingPathComponent("b.safetensors").path
        let new = try CLI.run(["clip", input, "--clip", "value", "--max-norm", "0.05", "--ord", "1", "--semantics", "torch", "--out", a, "--json"])
        let old = try CLI.run(["clip", input, "--method", "value", "--max-norm", "0.05", "--norm-type", "1", "--semantics", "pytorch", "--out", b, "--json"])
        #expect(new.status == 0 && old.status == 0, "\(new.stderr) \(old.stderr)")
        #expect(new.stdout == old.stdout)
        #expect(try Data(contentsOf: URL(fileURLWithPath: a)) == Data(contentsOf: URL(fileURLWithPath: b)))
        #expect(new.stderr.isEmpty)
        #expect(old.stderr.contains("--method is deprecated") && old.stderr.contains("use --clip"))
        #expect(old.stderr.contains("--norm-type is deprecated") && old.stderr.contains("use --ord"))
        // Both spellings at once is ambiguous.
        let both = try CLI.run(["clip", input, "--ord", "1", "--norm-type", "inf", "--out", a])
        #expect(both.status == 2 && both.stderr.contains("not both"))
        // cast: --format, with --to still accepted.
        let c1 = dir.appendingPathComponent("c1.safetensors").path, c2 = dir.appendingPathComponent("c2.safetensors").path
        #expect(try CLI.run(["cast", input, "--format", "half", "--out", c1]).status == 0)
        let oldCast = try CLI.run(["cast", input, "--to", "f16", "--out", c2])
        #expect(oldCast.status == 0 && oldCast.stderr.contains("--to is deprecated"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: c1)) == Data(contentsOf: URL(fileURLWithPath: c2)))
        // train: the clipper's flags are clip's.
        let t1 = try CLI.run(["train", "--steps", "3", "--clip", "global-norm", "--ord", "1", "--semantics", "optax", "--norm", "exact", "--json"])
        let t2 = try CLI.run(["train", "--steps", "3", "--clip", "global-norm", "--norm-type", "1", "--clip-semantics", "optax", "--clip-norm", "exact", "--json"])
        #expect(t1.status == 0 && t1.stdout == t2.stdout, "\(t1.stderr)")
        #expect(t2.stderr.contains("--clip-semantics is deprecated") && t2.stderr.contains("--clip-norm is deprecated"))
    }

    @Test func formatAliasesAreAcceptedEverywhere() throws {
        let input = CLI.fixture("clip/torch-f32-p2-c0.5.safetensors")
        let exact = try JSONValue(parsing: try CLI.run(["norm", input, "--json", "--algorithms", "naive"]).stdout)["total"]?["exact"]?.doubleValue
        let value = try #require(exact)
        for name in ["f64", "fp64", "double", "float64"] {
            #expect(try CLI.run(["check", input, "--expect", "\(value)", "--format", name]).status == 0, "\(name)")
        }
        #expect(try CLI.run(["check", input, "--expect", "\(value)", "--format", "fp7"]).status == 2)
        #expect(try CLI.run(["train", "--steps", "2", "--policy", "mixed-fp16"]).status == 0)
    }

    @Test func checkAutoUsesEachTensorsOwnFormatAndNegativeValuesFailWithoutACrash() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("m.safetensors").path
        try TensorWriter.write(path: path, format: .safetensors, tensors: [
            (TensorSpec(name: "h", dtype: .f16, shape: [2]), Self.bytes([Float16(3), Float16(-4)])),
            (TensorSpec(name: "b", dtype: .bf16, shape: [1]), Self.bytes([BFloat16(2)])),
        ])
        let expectations = dir.appendingPathComponent("e.json").path
        // ‖b‖ = 2 exactly; ‖h‖ = 5; the total √29 in Float32 (torch's promotion of f16 and bf16).
        try #"{"h": 5, "b": 2, "total": 5.385164737701416}"#.write(toFile: expectations, atomically: true, encoding: .utf8)
        let r = try CLI.run(["check", path, "--expect-file", expectations, "--format", "auto", "--json"])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let checks = try #require(try JSONValue(parsing: r.stdout)["checks"]?.arrayValue)
        #expect(checks.map { $0["format"]?.stringValue } == ["f16", "bf16", "f32"])
        // A negative expected norm is far from the exact one: a failed check (exit 1), never a crash.
        for expect in ["-1", "-inf", "-5e300"] {
            let negative = try CLI.run(["check", path, "--tensor", "h", "--expect=\(expect)", "--json"])
            #expect(negative.status == 1, "\(expect): \(negative.stderr)")
        }
    }

    @Test func clipWarnsWhenItsNormOverflowsWhileTheGradientsAreFinite() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = try Self.overflowingGradients(in: dir)
        let out = dir.appendingPathComponent("o.safetensors").path
        let r = try CLI.run(["clip", input, "--norm", "naive", "--out", out, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let j = try JSONValue(parsing: r.stdout)
        #expect(j["total_norm"] == .string("inf") && j["norm_overflowed"] == .bool(true))
        #expect(j["exact_norm"]?.doubleValue == MPFRNorm.norm([Double](repeating: 300, count: 1000), order: .two))
        #expect(r.stderr.contains("warning") && r.stderr.contains("every gradient is zeroed"))
        // With --error-if-nonfinite: exit 1, nothing written.
        let out2 = dir.appendingPathComponent("p.safetensors").path
        #expect(try CLI.run(["clip", input, "--norm", "naive", "--error-if-nonfinite", "--out", out2]).status == 1)
        #expect(!FileManager.default.fileExists(atPath: out2))
        // torch's own norm accumulates in Float32: no overflow, no warning, 0 ulps here.
        let fine = try CLI.run(["clip", input, "--out", out, "--json"])
        let fineJSON = try JSONValue(parsing: fine.stdout)
        #expect(fine.stderr.isEmpty && fineJSON["norm_overflowed"] == .bool(false))
    }

    @Test func clipLabelsTheArithmeticTheMethodReallyUses() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = CLI.fixture("clip/torch-f32-p2-c0.5.safetensors")
        let r = try CLI.run(["clip", input, "--clip", "block-rms", "--out", dir.appendingPathComponent("o.safetensors").path])
        #expect(r.status == 0 && r.stdout.contains("block-rms clipping with optax arithmetic"), "\(r.stdout)")
        // ... and reports optax's total norm, the one --semantics optax computes.
        let out = dir.appendingPathComponent("p.safetensors").path
        let blockRMS = try JSONValue(parsing: try CLI.run(["clip", input, "--clip", "block-rms", "--out", out, "--json"]).stdout)
        let optax = try JSONValue(parsing: try CLI.run(["clip", input, "--clip", "value", "--semantics", "optax", "--out", out, "--json"]).stdout)
        #expect(blockRMS["total_norm"] == optax["total_norm"])
    }

    @Test func normMeasuresANamedFP8Tensor() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("q.safetensors").path
        let codes: [UInt8] = [0x38, 0xB8, 0x7E, 0x01, 0x00]  // e4m3fn: 1, -1, 448, the smallest subnormal 2^-9, 0
        try TensorWriter.write(path: path, format: .safetensors, tensors: [(TensorSpec(name: "q", dtype: .f8e4m3, shape: [5]), codes)])
        let r = try CLI.run(["norm", path, "--tensor", "q", "--json", "--algorithms", "naive"])
        #expect(r.status == 0, "\(r.stderr)")
        let exact = try JSONValue(parsing: r.stdout)["tensors"]?.arrayValue?.first?["exact"]?.doubleValue
        #expect(exact == MPFRNorm.norm([1, -1, 448, 0x1p-9, 0], order: .two))
        // Unnamed, FP8 tensors are skipped, and the message says how to measure them.
        let skipped = try CLI.run(["norm", path])
        #expect(skipped.status == 2 && skipped.stderr.contains("--tensor"))
    }

    @Test func aStaticScaleIsSpelledTheSameAsInSuiteFiles() throws {
        let a = try CLI.run(["train", "--steps", "5", "--policy", "f16", "--scaler", "static:512", "--json"])
        let b = try CLI.run(["train", "--steps", "5", "--policy", "f16", "--scaler", "static", "--static-scale", "512", "--json"])
        #expect(a.status == 0 && a.stdout == b.stdout, "\(a.stderr)")
        #expect(try CLI.run(["train", "--scaler", "static:-1"]).status == 2)
        // Two scales at once is ambiguous.
        #expect(try CLI.run(["train", "--scaler", "static:512", "--static-scale", "1024"]).status == 2)
        // scaler replay takes the same words: a static scale never changes and never skips but on overflow.
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let trace = dir.appendingPathComponent("t.json").path
        try #"{"overflow": [false, true, false]}"#.write(toFile: trace, atomically: true, encoding: .utf8)
        let replay = try CLI.run(["scaler", "replay", trace, "--scaler", "static:512", "--json"])
        #expect(replay.status == 0, "\(replay.stderr)")
        #expect(try JSONValue(parsing: replay.stdout)["scale"] == .array([.number("512.0"), .number("512.0"), .number("512.0")]))
    }
}

/// `suite` commands run from any directory: the lab's suites are found next to the binary or via
/// PRECISIONLAB_HOME, and results go to ./reports of the current directory.
@Suite struct RunFromAnywhereTests {
    @Test func theLabsSuitesAreFoundOutsideTheCheckout() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let list = try CLI.run(["suite", "list"], directory: dir)
        #expect(list.status == 0, "\(list.stderr)")
        #expect(list.stdout.contains("smoke") && list.stdout.contains("default"))
        let run = try CLI.run(["suite", "run", "smoke", "--threads", "2"], directory: dir)
        #expect(run.status == 0, "\(run.stderr)")
        let written = dir.appendingPathComponent("reports/smoke.results.jsonl").path
        #expect(try String(contentsOfFile: written, encoding: .utf8) == (try Repository.text("fixtures/suites/snapshots/smoke.results.jsonl")))
    }

    @Test func precisionLabHomeComesFirst() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let suites = dir.appendingPathComponent("home/fixtures/suites")
        try FileManager.default.createDirectory(at: suites, withIntermediateDirectories: true)
        try #"{"name": "mine", "blocks": [{"name": "b", "task": "spirals", "steps": 3}]}"#
            .write(to: suites.appendingPathComponent("mine.json"), atomically: true, encoding: .utf8)
        let list = try CLI.run(["suite", "list"], environment: ["PRECISIONLAB_HOME": dir.appendingPathComponent("home").path], directory: dir)
        #expect(list.status == 0 && list.stdout.contains("mine") && !list.stdout.contains("smoke"), "\(list.stdout)\(list.stderr)")
        // The order of the places tried, as the help states it.
        let tried = SuiteLocation.candidates(environment: ["PRECISIONLAB_HOME": "/h"], executable: "/opt/lab/bin/precision-lab")
        #expect(Array(tried.prefix(4)) == ["/h/fixtures/suites", "/h/suites", "fixtures/suites", "/opt/lab/share/precision-lab/suites"])
        #expect(tried.contains("/opt/lab/fixtures/suites") && tried.last == "/opt/fixtures/suites")
    }
}

/// DeepSpeed's raise_error_at_min_scale on the command line, and the train summary without a clipper.
@Suite struct ScalerAndTrainDefectTests {
    @Test func deepSpeedsRaiseAtMinScaleIsAnOption() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let trace = dir.appendingPathComponent("t.json").path
        try #"{"overflow": [true, true, true]}"#.write(toFile: trace, atomically: true, encoding: .utf8)
        let base = ["scaler", "replay", trace, "--scaler", "deepspeed", "--init-scale", "2", "--min-scale", "1", "--hysteresis", "1", "--json"]
        let raising = try CLI.run(base)
        #expect(raising.status != 0 && raising.stderr.contains("minimum"), "\(raising.stderr)")
        #expect(try CLI.run(base + ["--raise-error-at-min-scale", "true"]).status == raising.status)
        let kept = try CLI.run(base + ["--raise-error-at-min-scale", "false"])
        #expect(kept.status == 0, "\(kept.stderr)")
        // Another system has no such option.
        let torch = try CLI.run(["scaler", "replay", trace, "--scaler", "torch", "--raise-error-at-min-scale", "false"])
        #expect(torch.status == 2 && torch.stderr.contains("does not apply"))
    }

    @Test func trainWithoutAClipperPrintsNoClipNormError() throws {
        let none = try CLI.run(["train", "--steps", "3"])
        #expect(none.status == 0 && !none.stdout.contains("clip norm vs exact") && none.stdout.contains("largest exact gradient norm"))
        let clipped = try CLI.run(["train", "--steps", "3", "--clip", "global-norm"])
        #expect(clipped.stdout.contains("clip norm vs exact"))
    }
}
