import Foundation
import Testing
import TestSupport

@Suite struct SuiteCommandTests {
    static let suites = Repository.path("fixtures/suites")

    func read(_ url: URL) throws -> String { try String(contentsOf: url, encoding: .utf8) }

    @Test func listShowsTheSuites() throws {
        let r = try CLI.run(["suite", "list", "--suites", Self.suites])
        #expect(r.status == 0)
        #expect(r.stdout.contains("default") && r.stdout.contains("smoke"))
    }

    /// Two runs give byte-identical results; an interrupted run resumes from its partial file to the same results; shards
    /// from a Slurm array merge into the same results and report.
    @Test func runResumeShardAndMerge() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let first = dir.appendingPathComponent("first"), second = dir.appendingPathComponent("second")
        for out in [first, second] {
            let r = try CLI.run(["suite", "run", "smoke", "--suites", Self.suites, "--out", out.path])
            #expect(r.status == 0, "\(r.stderr)")
        }
        let results = try read(first.appendingPathComponent("smoke.results.jsonl"))
        #expect(results.split(separator: "\n").count == 20)
        #expect(try read(second.appendingPathComponent("smoke.results.jsonl")) == results)
        let report = try read(first.appendingPathComponent("smoke.md"))
        #expect(report.contains("## Recommendations") && report.contains("## Findings") && report.contains("(smoke-runs.md)"))
        let appendix = try read(first.appendingPathComponent("smoke-runs.md"))
        #expect(appendix.contains("![rnn/f32/none/none/bad-labels-at-40/seed1](smoke/"))
        // 20 runs' charts, a grid per block (2) and an overlay per block and fault set (3).
        let charts = try FileManager.default.contentsOfDirectory(atPath: first.appendingPathComponent("smoke").path)
        #expect(charts.filter { $0.hasSuffix(".svg") }.count == 25)
        #expect(FileManager.default.fileExists(atPath: first.appendingPathComponent("smoke.timings.jsonl").path))
        #expect(!FileManager.default.fileExists(atPath: first.appendingPathComponent("smoke.results.partial.jsonl").path))

        // Resume: 5 finished runs and half a line, as a killed run leaves them.
        let resumed = dir.appendingPathComponent("resumed")
        try FileManager.default.createDirectory(at: resumed, withIntermediateDirectories: true)
        let lines = results.split(separator: "\n")
        try (lines.prefix(5).joined(separator: "\n") + "\n" + lines[5].prefix(200))
            .write(to: resumed.appendingPathComponent("smoke.results.partial.jsonl"), atomically: true, encoding: .utf8)
        let r = try CLI.run(["suite", "run", "smoke", "--suites", Self.suites, "--out", resumed.path])
        #expect(r.status == 0 && r.stdout.contains("5 already done"), "\(r.stdout) \(r.stderr)")
        #expect(try read(resumed.appendingPathComponent("smoke.results.jsonl")) == results)

        // Shards from a Slurm job array (task ids 1-3), then merge.
        let sharded = dir.appendingPathComponent("sharded")
        var files = [String]()
        for id in 1...3 {
            let s = try CLI.run(["suite", "run", "smoke", "--suites", Self.suites, "--out", sharded.path],
                                environment: ["SLURM_ARRAY_TASK_ID": "\(id)", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "3"])
            #expect(s.status == 0, "\(s.stderr)")
            files.append(sharded.appendingPathComponent("smoke.shard-\(id - 1)-of-3.results.jsonl").path)
        }
        #expect(!FileManager.default.fileExists(atPath: sharded.appendingPathComponent("smoke.md").path), "a shard writes no report")
        let merged = dir.appendingPathComponent("merged")
        // Two shards are not the suite.
        try CLI.run(["suite", "merge", files[0], files[2], "--suites", Self.suites, "--out", merged.path]).expectUsageError(naming: "smoke")
        let m = try CLI.run(["suite", "merge"] + files + ["--suites", Self.suites, "--out", merged.path])
        #expect(m.status == 0, "\(m.stderr)")
        #expect(try read(merged.appendingPathComponent("smoke.results.jsonl")) == results)
        #expect(try read(merged.appendingPathComponent("smoke.md")) == report)
        #expect(try read(merged.appendingPathComponent("smoke.timings.jsonl")).split(separator: "\n").count == 20)
    }

    @Test func badInputExitsTwoAndWritesNothing() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out").path
        try CLI.run(["suite", "run", "nosuch", "--suites", Self.suites, "--out", out]).expectUsageError(naming: "nosuch.json")
        let broken = dir.appendingPathComponent("broken.json")
        try #"{"name": "broken", "blocks": [{"name": "b", "task": "spirals", "policies": ["f12"]}]}"#.write(to: broken, atomically: true, encoding: .utf8)
        try CLI.run(["suite", "run", broken.path, "--out", out]).expectUsageError(naming: "broken.json")
        let shard = try CLI.run(["suite", "run", "smoke", "--suites", Self.suites, "--out", out, "--shard", "3/3"])
        #expect(shard.status == 2 && shard.stderr.contains("--shard"))
        let env = try CLI.run(["suite", "run", "smoke", "--suites", Self.suites, "--out", out], environment: ["JOB_COMPLETION_INDEX": "1"])
        env.expectUsageError(naming: "PRECISIONLAB_SHARDS")
        #expect(!FileManager.default.fileExists(atPath: out), "nothing written")
        // A partial file from another version of the suite is refused, not silently mixed in.
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let snapshot = try read(Repository.url("fixtures/suites/snapshots/smoke.results.jsonl"))
        let foreign = snapshot.split(separator: "\n")[0].replacingOccurrences(of: "\"id\":\"spirals/f16/none/none/clean/seed1\"", with: "\"id\":\"spirals/f16/none/other/clean/seed1\"")
        try (foreign + "\n").write(toFile: out + "/smoke.results.partial.jsonl", atomically: true, encoding: .utf8)
        let stale = try CLI.run(["suite", "run", "smoke", "--suites", Self.suites, "--out", out])
        stale.expectUsageError(naming: "smoke.results.partial.jsonl")
        #expect(stale.stderr.contains("--fresh"))
        #expect(!FileManager.default.fileExists(atPath: out + "/smoke.results.jsonl"))
        try CLI.run(["suite", "merge", dir.appendingPathComponent("missing.results.jsonl").path, "--suites", Self.suites, "--out", out])
            .expectUsageError(naming: "missing.results.jsonl")
        // A run that raises (DeepSpeed's scaler at its minimum, after a burst of NaN gradients) names the suite and the run.
        let burst = dir.appendingPathComponent("burst.json")
        try (#"{"name": "burst", "blocks": [{"name": "b", "task": "spirals", "steps": 40, "policies": ["f16"], "scalers": ["deepspeed"], "#
             + #""faults": {"nan": ["gradient-nan@\#((0..<40).map(String.init).joined(separator: ","))"]}}]}"#)
            .write(to: burst, atomically: true, encoding: .utf8)
        let failed = try CLI.run(["suite", "run", burst.path, "--out", out])
        failed.expectUsageError(naming: "burst.json")
        #expect(failed.stderr.contains("run b/f16/deepspeed/none/nan/seed1") && failed.stderr.contains("minimum"), "\(failed.stderr)")
    }
}
