import Foundation
import PrecisionLab
import Testing
import TestSupport

/// `clip` and `train` as a user runs them.
@Suite struct ClipTrainCommandTests {
    static let fixtures = Repository.url("fixtures/clip")

    @Test func clipWritesTheClippedFileAndPrintsTheNormAndCoefficient() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = Self.fixtures.appendingPathComponent("torch-f32-f16-p2-c0.5.safetensors").path
        let out = dir.appendingPathComponent("out.safetensors").path
        let r = try CLI.run(["clip", input, "--max-norm", "0.5", "--out", out, "--json", "--threads", "1"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try JSONValue(parsing: r.stdout)
        let total = try #require(json["total_norm"]?.doubleValue), coefficient = try #require(json["clip_coef"]?.doubleValue)
        #expect(total > 0.5 && coefficient < 1)
        // The written file is the fixture's torch output, bit for bit.
        let ours = try TensorFile(path: out), theirs = try TensorFile(path: Self.fixtures.appendingPathComponent("torch-f32-f16-p2-c0.5.out.safetensors").path)
        #expect(ours.tensors.map(\.name) == theirs.tensors.map(\.name))
        for (a, b) in zip(ours.tensors, theirs.tensors) { #expect(Array(a.bytes) == Array(b.bytes), "\(a.name)") }
        // The human summary names the exact norms before and after.
        let text = try CLI.run(["clip", input, "--max-norm", "0.5", "--out", out])
        #expect(text.status == 0 && text.stdout.contains("exact total 2-norm: before"), "\(text.stdout)")
    }

    @Test func errorIfNonFiniteExits1AndWritesNothing() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = Self.fixtures.appendingPathComponent("torch-edge-f16-inf-p2.safetensors").path
        let out = dir.appendingPathComponent("out.safetensors").path
        let r = try CLI.run(["clip", input, "--out", out, "--error-if-nonfinite", "--json"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("The total norm of order 2.0 for gradients from `parameters` is non-finite"))
        #expect(!FileManager.default.fileExists(atPath: out))
        // Without the flag: total inf, coefficient 0, as torch.
        let j = try JSONValue(parsing: try CLI.run(["clip", input, "--out", out, "--json"]).stdout)
        #expect(j["total_norm"] == .string("inf") && j["clip_coef"] == .number("0.0"))
    }

    @Test func badClipInputsExit2() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = Self.fixtures.appendingPathComponent("torch-f32-p2-c0.5.safetensors").path
        let out = dir.appendingPathComponent("out.safetensors").path
        let truncated = dir.appendingPathComponent("t.safetensors")
        try Data(try Data(contentsOf: URL(fileURLWithPath: input)).prefix(60)).write(to: truncated)
        for args in [["clip", input, "--out", out, "--max-norm", "nan"], ["clip", input, "--out", out, "--method", "agc", "--clipping", "0.1"],
                     ["clip", truncated.path, "--out", out], ["clip", dir.appendingPathComponent("missing.safetensors").path, "--out", out],
                     ["clip", input, "--out", out, "--semantics", "jax"], ["clip", input, "--out", out, "--norm", "fancy"]] {
            let r = try CLI.run(args)
            #expect(r.status == 2, "\(args)")
            #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test func trainWritesTelemetryAndASummary() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let telemetry = dir.appendingPathComponent("t.jsonl").path
        let r = try CLI.run(["train", "--task", "spirals", "--policy", "mixed-f16", "--scaler", "torch", "--clip", "global-norm",
                             "--steps", "50", "--telemetry", telemetry, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = try String(contentsOfFile: telemetry, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 50)
        let first = try JSONValue(parsing: String(lines[0]))
        for key in ["loss", "scale", "skipped", "clip_coef", "grad_norm", "exact_norm", "norm_error_ulps", "underflow_fraction",
                    "headroom_log2", "overflow_by_layer", "time_ms"] {
            #expect(first[key] != nil, "\(key)")
        }
        #expect(first["scale"] == .number("65536.0"))
        let summary = try JSONValue(parsing: r.stdout)
        // Under autocast the loss and its gradient are Float32: 2^16 times it is finite, and no step is skipped.
        #expect(summary["skipped_steps"] == .number("0") && summary["final_scale"] == .number("65536.0"))
        #expect(summary["first_nonfinite"] == .null)
        #expect(summary["metric"] == .string("held-out accuracy"))
        // A pure Float16 model's loss times 2^16 is inf: DeepSpeed's scaler skips step 0 and halves the scale.
        let pure = try JSONValue(parsing: try CLI.run(["train", "--task", "spirals", "--policy", "f16", "--scaler", "deepspeed", "--steps", "5", "--json"]).stdout)
        #expect(pure["first_nonfinite"]?.stringValue?.hasPrefix("step 0: backward: 1 inf first in the gradient of crossEntropy") == true)
        // torch's GradScaler refuses Float16 gradients: a usage error, nothing written.
        let refused = try CLI.run(["train", "--policy", "f16", "--scaler", "torch", "--steps", "5", "--telemetry", dir.appendingPathComponent("x.jsonl").path])
        #expect(refused.status == 2 && refused.stderr.contains("Attempting to unscale FP16 gradients."))
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("x.jsonl").path))
        for args in [["train", "--lr", "nan"], ["train", "--task", "adding", "--model", "mlp"], ["train", "--policy", "mixed-f32"]] {
            #expect(try CLI.run(args).status == 2, "\(args)")
        }
    }
}
