import PrecisionLab
import Foundation
import Testing
import TestSupport

/// Hostile and mistaken input gets the command's own verdict (issue 15).
@Suite struct HardeningTests {
    /// Two `suite run`s into the same files: the second is refused, naming the lock and its holder, and writes nothing;
    /// once the first is done the lock file is gone.
    @Test func aSecondSuiteRunOnTheSameFilesIsRefused() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let lock = dir.appendingPathComponent("smoke.lock").path
        let fd = open(lock, O_CREAT | O_RDWR, 0o644)
        #expect(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
        _ = "4242\n".withCString { write(fd, $0, strlen($0)) }
        let refused = try CLI.run(["suite", "run", "smoke", "--out", dir.path])
        refused.expectUsageError(naming: lock)
        #expect(refused.stderr.contains("pid 4242") && !FileManager.default.fileExists(atPath: dir.appendingPathComponent("smoke.results.jsonl").path))
        close(fd)
        let r = try CLI.run(["suite", "run", "smoke", "--out", dir.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: lock))
        let timings = try String(contentsOf: dir.appendingPathComponent("smoke.timings.jsonl"), encoding: .utf8)
        #expect(timings.split(separator: "\n").count == 20)
    }

    /// Orders far beyond MPFR's exponent range for |x|^p: `norm --ord 1e9` gave inf and 0, `clip --ord 1e20` a
    /// coefficient of 0. The norm of n values is m·S^(1/p) with m = max|x| and S in [1, n]: for p = 10^9 it lies in
    /// [m, m·n^(1/p)], and from p = 10^20 on n^(1/p) is within half an ulp of 1, so it is the max norm that `--ord inf`
    /// computes by another path.
    @Test func hugeOrdersGiveTheExactNorm() throws {
        let file = CLI.fixture("reductions/example.safetensors")
        func exactNorms(_ ord: String) throws -> [Double] {
            let r = try CLI.run(["norm", file, "--ord", ord, "--json"])
            #expect(r.status == 0, "\(r.stderr)")
            return try JSONValue(parsing: r.stdout)["tensors"]!.arrayValue!.map { $0["exact"]!.numberValue! }
        }
        let maxima = try exactNorms("inf")
        #expect(maxima.count >= 3 && maxima.allSatisfy { $0 > 0 && $0.isFinite })
        for ord in ["1e20", "1e300"] { #expect(try exactNorms(ord) == maxima, "ord \(ord)") }
        for (norm, m) in zip(try exactNorms("1e9"), maxima) { #expect(norm >= m && norm <= m * (1 + 1e-8), "\(norm) vs max \(m)") }
        #expect(try exactNorms("1e-300").allSatisfy { $0 == .infinity })  // p → 0: Σ|x|^p → n, and n^(1/p) overflows
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("precision-lab-huge-ord-\(getpid()).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let clip = try CLI.run(["clip", file, "--max-norm", "1", "--norm", "exact", "--ord", "1e20", "--out", out, "--json"])
        let j = try JSONValue(parsing: clip.stdout)
        #expect(clip.status == 0 && j["exact_norm"]?.numberValue == maxima.max() && j["clip_coef"]!.numberValue! > 0, "\(clip.stdout)")
    }

    /// `norm --algorithms none`: the exact norms only, the same figures the full evaluation prints, and no algorithm.
    @Test func normOfTheExactNormsOnly() throws {
        let file = CLI.fixture("reductions/example.safetensors")
        let full = try JSONValue(parsing: try CLI.run(["norm", file, "--json"]).stdout)
        let r = try CLI.run(["norm", file, "--algorithms", "none", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let exactOnly = try JSONValue(parsing: r.stdout)
        let tensors = exactOnly["tensors"]!.arrayValue!
        #expect(tensors.count == full["tensors"]!.arrayValue!.count && tensors.count >= 3)
        for (a, b) in zip(tensors, full["tensors"]!.arrayValue!) {
            #expect(a["exact"] == b["exact"] && a["exact_in_dtype"] == b["exact_in_dtype"] && a["algorithms"]?.objectValue?.isEmpty == true)
        }
        #expect(exactOnly["total"]?["exact"] == full["total"]?["exact"] && full["total"]?["exact"] != nil)
        let bad = try CLI.run(["norm", file, "--algorithms", "none,naive"])
        #expect(bad.status == 2 && bad.stderr.contains("'none' is not an algorithm"), "\(bad.stderr)")
    }

    /// Scaler traces are read as strictly as the other JSON inputs: a repeated or unknown key, an empty trace and a
    /// negative amax are errors naming the file (exit 2); inf and NaN amax (an overflowed step) are data.
    @Test func scalerTracesAreValidated() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cases: [(String, [String], String)] = [
            (#"{"overflow": [true, false], "overflow": [false]}"#, ["--scaler", "torch"], "the key 'overflow' appears twice"),
            (#"{"overflow": []}"#, ["--scaler", "torch"], "\"overflow\" is empty"),
            (#"{"overflow": [false], "skip": 1}"#, ["--scaler", "torch"], "unknown key 'skip'"),
            (#"{"overflow": [false, false], "amax": [-1, 1]}"#, ["--scaler", "amax"], "amax[0] is -1.0; an amax is a magnitude"),
        ]
        for (k, (text, args, message)) in cases.enumerated() {
            let path = dir.appendingPathComponent("trace\(k).json").path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            let r = try CLI.run(["scaler", "replay", path] + args)
            r.expectUsageError(naming: path)
            #expect(r.stderr.contains(message), "\(text): \(r.stderr)")
        }
        let path = dir.appendingPathComponent("ok.json").path
        try #"{"overflow": [false, true], "amax": ["inf", "nan"]}"#.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try CLI.run(["scaler", "replay", path, "--scaler", "amax"]).status == 0)
        // check takes --threads like the other commands that compute, and gives the same verdict on one thread.
        let file = CLI.fixture("reductions/example.safetensors")
        let exact = try JSONValue(parsing: try CLI.run(["norm", file, "--algorithms", "none", "--json"]).stdout)["total"]!["exact"]!.numberValue!
        for threads in ["1", "2"] {
            let r = try CLI.run(["check", file, "--expect", "\(exact)", "--threads", threads])
            #expect(r.status == 0, "\(r.stderr)")
        }
        #expect(try CLI.run(["check", file, "--expect", "1", "--threads", "0"]).stderr.contains("--threads must be between 1 and 256"))
    }

    /// The crashes of item 1, as the issue quoted them: a scale that reaches 0 in the replay and diff tables (170
    /// overflows under torch, `--init-scale 1e-45`), and a negative expected value in `--expect-file` (a failed
    /// check, exit 1, with its distance).
    @Test func formerCrashesGiveTheirVerdicts() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let trace = dir.appendingPathComponent("overflows.json").path
        try "{\"overflow\": [\(Array(repeating: "true", count: 170).joined(separator: ", "))]}".write(toFile: trace, atomically: true, encoding: .utf8)
        for args in [["replay", trace, "--scaler", "torch"], ["replay", trace, "--scaler", "torch", "--init-scale", "1e-45"], ["diff", trace]] {
            let r = try CLI.run(["scaler"] + args)
            #expect(r.status == 0 && r.stdout.contains("| 169 |") && r.stderr.isEmpty, "\(args): \(r.status) \(r.stderr)")
        }
        let replay = try CLI.run(["scaler", "replay", trace, "--scaler", "torch"])
        // GradScaler keeps its scale in Float32: 65536 · 2^-170 is 0 there, and the table says so.
        #expect(replay.stdout.contains("| 169 | yes | 0 | skipped |"), "the scale reaches 0: \(replay.stdout.suffix(300))")
        let expectations = dir.appendingPathComponent("negative.json").path
        try #"{"total": -5}"#.write(toFile: expectations, atomically: true, encoding: .utf8)
        let check = try CLI.run(["check", CLI.fixture("reductions/example.safetensors"), "--expect-file", expectations])
        #expect(check.status == 1 && check.stderr.contains("out of tolerance") && check.stdout.contains("FAIL"), "\(check.stderr)")
    }

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
        // Suite files: every mistake is named, with the file, before anything runs.
        let mistakes: [(String, String)] = [
            (#""task": "adding", "optimizer": 1"#, "\"optimizer\" must be \"sgd\" or \"adam\", not 1"),
            (#""task": "spirals", "batch": 64"#, "\"batch\" is not used by the spirals task"),
            (#""task": "spirals", "faults": {"f": ["spike-batch@2,"]}"#, "fault \"spike-batch@2,\" is not"),
            (#""task": "spirals", "steps": 5, "steps": 6"#, "the key \"steps\" appears twice"),
        ]
        for (body, message) in mistakes {
            try "{\"name\": \"t\", \"blocks\": [{\"name\": \"b\", \(body)}]}".write(to: dir.appendingPathComponent("t.json"), atomically: true, encoding: .utf8)
            let r = try CLI.run(["suite", "run", "t", "--suites", dir.path, "--out", dir.appendingPathComponent("out").path])
            r.expectUsageError(naming: dir.appendingPathComponent("t.json").path)
            #expect(r.stderr.contains(message), "\(body): \(r.stderr)")
        }
        let long = String(repeating: "n", count: 300)
        try "{\"name\": \"\(long)\", \"blocks\": [{\"name\": \"b\", \"task\": \"spirals\"}]}".write(to: dir.appendingPathComponent("t.json"), atomically: true, encoding: .utf8)
        #expect(try CLI.run(["suite", "run", "t", "--suites", dir.path, "--out", dir.appendingPathComponent("out").path]).stderr.contains("at most 128"))
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("out").path))
        // norm --algorithms: a name twice, or one that cannot compute the order, is an error, not a duplicate JSON key or
        // a silently dropped column.
        let twice = try CLI.run(["norm", file, "--algorithms", "naive,naive", "--json"])
        #expect(twice.status == 2 && twice.stderr.contains("names naive twice") && twice.stdout.isEmpty, "\(twice.stderr)")
        let dropped = try CLI.run(["norm", file, "--ord", "inf", "--algorithms", "naive,kahan"])
        #expect(dropped.status == 2 && dropped.stderr.contains("no algorithm applies to the inf-norm"), "\(dropped.stderr)")
        let p3 = try CLI.run(["norm", file, "--ord", "3", "--algorithms", "naive-wide,naive"])
        #expect(p3.status == 2 && p3.stderr.contains("naive does not compute the 3-norm (these do: naive-wide)"), "\(p3.stderr)")
        // After `--` a negative number is an argument, not a value.
        #expect(try CLI.run(["norm", "--ord", "2", "--", "-1"]).stderr.contains("-1"))
    }
}
