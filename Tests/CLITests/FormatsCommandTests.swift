import Foundation
import Testing

@Suite struct FormatsCommandTests {
    @Test func tableListsEveryFormat() throws {
        let result = try CLI.run(["formats"])
        #expect(result.status == 0)
        for name in ["float64", "float32", "float16", "bfloat16", "float8_e5m2", "float8_e4m3fn", "65504", "448", "57344"] {
            #expect(result.stdout.contains(name), "\(name)")
        }
        let json = try CLI.run(["formats", "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let formats = try #require(object?["formats"] as? [[String: Any]])
        #expect(formats.count == 6)
        #expect(formats.first { $0["short_name"] as? String == "e4m3" }?["largest_finite"] as? Double == 448)
    }

    @Test func reportIsWrittenAtomicallyAndPasses() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let report = dir.appendingPathComponent("formats.md").path
        let result = try CLI.run(["formats", "--report", report, "--samples", "20000"])
        #expect(result.status == 0, "\(result.stderr)")
        let text = try String(contentsOfFile: report, encoding: .utf8)
        #expect(text.contains("# Number formats") && text.contains("| float16 | all bit patterns"))
        #expect(!text.contains("FAIL"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["formats.md"])
    }

    @Test func badOptions() throws {
        try CLI.run(["formats", "--samples", "0"]).expectUsageError(naming: "--samples")
        try CLI.run(["formats", "--samples", "nan"]).expectUsageError(naming: "nan")
        try CLI.run(["formats", "--report", "/nonexistent/dir/r.md", "--samples", "10"]).expectUsageError(naming: "/nonexistent/dir/r.md")
        try CLI.run(["nosuchcommand"]).expectUsageError(naming: "nosuchcommand")
    }
}
