import PrecisionLab
import Foundation
import Testing
import TestSupport

/// Hostile and mistaken input gets the command's own verdict (issue 15).
@Suite struct HardeningTests {
    /// A negative number as a separate argument is the option's value, judged by the command's own check (exit 1 for a
    /// failed check, 2 with the real problem), never "missing value".
    @Test func negativeValuesAsSeparateArguments() throws {
        let file = CLI.fixture("reductions/example.safetensors")
        let check = try CLI.run(["check", file, "--expect", "-1"])
        #expect(check.status == 1 && check.stderr.contains("out of tolerance"), "\(check.stderr)")
        let cases: [([String], String)] = [
            (["clip", file, "--max-norm", "-1", "--out", "/tmp/precision-lab-never-written.safetensors"], "max_norm"),
            (["norm", file, "--ord", "-1"], "--ord '-1' is not a norm order"),
            (["norm", file, "--ord", "-inf"], "--ord '-inf' is not a norm order"),
            (["train", "--lr", "-0.1"], "lr must be a finite number > 0"),
        ]
        for (args, message) in cases {
            let r = try CLI.run(args)
            #expect(r.status == 2 && r.stderr.contains(message) && !r.stderr.contains("Missing value"), "\(args): \(r.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: "/tmp/precision-lab-never-written.safetensors"))
        // One thread cap for every command that computes.
        for args in [["train", "--threads", "0", "--steps", "1"], ["train", "--threads", "100000", "--steps", "1"], ["norm", file, "--threads", "0"],
                     ["suite", "run", "smoke", "--threads", "0", "--out", "/tmp/precision-lab-never-written"],
                     ["clip", file, "--max-norm", "1", "--threads", "300", "--out", "/tmp/precision-lab-never-written.safetensors"]] {
            let r = try CLI.run(args)
            #expect(r.status == 2 && r.stderr.contains("--threads must be between 1 and 256"), "\(args): \(r.stderr)")
        }
        // clip writes safetensors: a .npy output name is refused, nothing written.
        let npy = try CLI.run(["clip", file, "--max-norm", "1", "--out", "/tmp/precision-lab-never-written.npy"])
        npy.expectUsageError(naming: "/tmp/precision-lab-never-written.npy")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/precision-lab-never-written.npy"))
        // --error-if-nonfinite with --json: the error as JSON on stdout, exit 1, nothing written.
        let out = "/tmp/precision-lab-never-written-\(getpid()).safetensors"
        let nonFinite = try CLI.run(["clip", CLI.fixture("clip/torch-edge-bf16-inf-error.safetensors"), "--max-norm", "1", "--error-if-nonfinite",
                                     "--json", "--out", out])
        #expect(nonFinite.status == 1, "\(nonFinite.stderr)")
        let document = try JSONValue(parsing: nonFinite.stdout)
        #expect(document["error"]?.stringValue?.contains("non-finite") == true && document["written"] == .bool(false))
        #expect(!FileManager.default.fileExists(atPath: out))
        // Sizes are checked against the machine's memory before anything is allocated.
        for args in [["train", "--task", "adding", "--length", "1000000000", "--steps", "1"],
                     ["train", "--task", "adding", "--batch", "4611686018427387904", "--steps", "1"]] {
            let r = try CLI.run(args)
            #expect(r.status == 2 && r.stderr.contains("GiB") && r.stderr.split(separator: "\n").count == 1, "\(args): \(r.stderr)")
        }
        // A suite file with such a block is refused when it is read, naming the file and the block; nothing is written.
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try #"{"name": "huge", "blocks": [{"name": "b", "task": "adding", "model": "rnn", "length": 1000000000, "steps": 1}]}"#
            .write(to: dir.appendingPathComponent("huge.json"), atomically: true, encoding: .utf8)
        let suite = try CLI.run(["suite", "run", "huge", "--suites", dir.path, "--out", dir.appendingPathComponent("out").path])
        suite.expectUsageError(naming: dir.appendingPathComponent("huge.json").path)
        #expect(suite.stderr.contains("block 0") && suite.stderr.contains("GiB"))
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("out").path))
        // After `--` a negative number is an argument, not a value.
        #expect(try CLI.run(["norm", "--ord", "2", "--", "-1"]).stderr.contains("-1"))
    }
}
