import Foundation
import PrecisionLab
import Testing

/// `scaler replay` and `scaler diff` as a user runs them.
@Suite struct ScalerCommandTests {
    func write(_ text: String, in dir: URL, _ name: String = "trace.json") throws -> String {
        let url = dir.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    @Test func replayJSON() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let trace = try write(#"{"overflow": [false, false, true, false]}"#, in: dir)
        let r = try CLI.run(["scaler", "replay", trace, "--scaler", "torch", "--growth-interval", "2", "--init-scale", "8", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try JSONValue(parsing: r.stdout)
        #expect(json["scale"] == .array([.number("8.0"), .number("8.0"), .number("16.0"), .number("8.0")]))
        #expect(json["skipped"] == .array([.bool(false), .bool(false), .bool(true), .bool(false)]))
        // DeepSpeed raises at its minimum: the JSON says so, and the exit code is 1.
        let floor = try CLI.run(["scaler", "replay", trace, "--scaler", "deepspeed", "--init-scale", "1", "--hysteresis", "1", "--json"])
        #expect(floor.status == 1)
        #expect(try JSONValue(parsing: floor.stdout)["error"]?.stringValue?.contains("minimum") == true)
    }

    @Test func diffShowsWhereTheyPart() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let trace = try write(#"{"overflow": [false, true, false, false, false]}"#, in: dir)
        let r = try CLI.run(["scaler", "diff", trace, "--growth-interval", "10"])
        #expect(r.status == 0, "\(r.stderr)")
        // DeepSpeed and Megatron spend hysteresis on the first overflow; the others halve at once.
        #expect(r.stdout.contains("first differ at step 2"), "\(r.stdout)")
        let j = try JSONValue(parsing: try CLI.run(["scaler", "diff", trace, "--json"]).stdout)
        #expect(j["first_difference"] == .number("2"))
    }

    @Test func badInputsExit2WithOneLine() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = try write(#"{"overflow": [false]}"#, in: dir, "good.json")
        let cases: [(String, [String])] = [
            (try write(#"{"overflow": [false, 1]}"#, in: dir, "numbers.json"), ["--scaler", "torch"]),
            (try write(#"{"overflows": []}"#, in: dir, "key.json"), ["--scaler", "torch"]),
            (try write(#"{"overflow": [false"#, in: dir, "truncated.json"), ["--scaler", "jmp"]),
            (dir.appendingPathComponent("missing.json").path, ["--scaler", "torch"]),
            (good, ["--scaler", "amax"]),  // the amax scaler needs amax values
        ]
        for (path, options) in cases {
            let r = try CLI.run(["scaler", "replay", path] + options)
            r.expectUsageError(naming: URL(fileURLWithPath: path).lastPathComponent)
        }
        for options in [["--scaler", "nope"], ["--scaler", "torch", "--init-scale", "nan"], ["--scaler", "torch", "--hysteresis", "2"],
                        ["--scaler", "torch", "--growth-factor", "1"], ["--scaler", "megatron", "--backoff-factor", "1.5"]] {
            let r = try CLI.run(["scaler", "replay", good] + options)
            #expect(r.status == 2 && r.stderr.split(separator: "\n").count == 1 && r.stdout.isEmpty, "\(options): \(r.stderr)")
        }
    }
}
