import Experiments
import Foundation
import Results
import Testing
import TestSupport

/// The suite workspace: partial files, resume, finishing, and the report's charts, on the smoke suite's committed
/// results (no training needed).
@Suite struct SuiteWorkspaceTests {
    static func smoke() throws -> (runs: [SuiteRun], results: [RunResult], lines: [String]) {
        let spec = try SuiteSpec(json: try Repository.text("fixtures/suites/smoke.json"), path: "smoke.json")
        let text = try Repository.text("fixtures/suites/snapshots/smoke.results.jsonl")
        return (SuiteRun.expand(spec), try ResultsFile.parse(text, path: "smoke"), text.split(separator: "\n").map(String.init))
    }

    static func write(_ text: String, _ path: String) throws { try text.write(toFile: path, atomically: false, encoding: .utf8) }

    @Test func resumeKeepsCompleteLinesAndTheirTimingsOnly() throws {
        let (runs, results, lines) = try Self.smoke()
        try withTemporaryDirectory { dir in
            let w = SuiteWorkspace(directory: dir.path, suite: "smoke")
            // Two finished runs and a third cut off mid-write; timings of runs 0, 1 and 5 (5 did not finish).
            try Self.write(lines[0] + "\n" + lines[1] + "\n" + lines[2].prefix(40), w.partialPath)
            try Self.write(RunTiming.text([RunTiming(index: 0, id: results[0].id, seconds: 1), RunTiming(index: 1, id: results[1].id, seconds: 2),
                                           RunTiming(index: 5, id: results[5].id, seconds: 3)]), w.partialTimingsPath)
            let mine = SuiteRunner.shard(runs, index: 0, count: 1)
            let done = try w.resume(runs: runs, mine: mine, fresh: false)
            #expect(done == Array(results[0...1]))
            #expect(try String(contentsOfFile: w.partialPath, encoding: .utf8) == lines[0] + "\n" + lines[1] + "\n")
            #expect(SuiteWorkspace.timings(w.partialTimingsPath).map(\.index) == [0, 1])
            // A shard keeps only its own runs.
            let odd = runs.indices.filter { $0 % 2 == 1 }.map { ($0, runs[$0]) }
            #expect(try w.resume(runs: runs, mine: odd, fresh: false) == [results[1]])
            // --fresh starts over.
            #expect(try w.resume(runs: runs, mine: mine, fresh: true).isEmpty)
            #expect(!FileManager.default.fileExists(atPath: w.partialPath))
        }
    }

    @Test func resumeRefusesResultsOfAnotherConfiguration() throws {
        let (runs, _, lines) = try Self.smoke()
        try withTemporaryDirectory { dir in
            let w = SuiteWorkspace(directory: dir.path, suite: "smoke")
            let edited = lines[0].replacingOccurrences(of: #""configuration":""#, with: #""configuration":"0"#)
            #expect(edited != lines[0])
            try Self.write(edited + "\n", w.partialPath)
            let error = #expect(throws: SuiteError.self) { try w.resume(runs: runs, mine: SuiteRunner.shard(runs, index: 0, count: 1), fresh: false) }
            #expect(error?.description.contains("another configuration") == true)
            #expect(error?.description.hasSuffix("(pass --fresh to start over)") == true)
            // Nothing was rewritten.
            #expect(try String(contentsOfFile: w.partialPath, encoding: .utf8) == edited + "\n")
        }
    }

    @Test func finishWritesTheResultsAndRemovesThePartialFiles() throws {
        let (_, results, lines) = try Self.smoke()
        try withTemporaryDirectory { dir in
            let w = SuiteWorkspace(directory: dir.appendingPathComponent("new/out").path, suite: "smoke", shard: SuiteShard("1/3"))
            try w.prepare()
            #expect(w.resultsPath.hasSuffix("/new/out/smoke.shard-1-of-3.results.jsonl"))
            try w.appending { record in
                for r in results { record(r, 0.5) }
            }
            #expect(try w.finish(results) == [w.resultsPath, w.timingsPath])
            #expect(try String(contentsOfFile: w.resultsPath, encoding: .utf8) == lines.joined(separator: "\n") + "\n")
            #expect(SuiteWorkspace.timings(w.timingsPath).count == results.count)
            #expect(!FileManager.default.fileExists(atPath: w.partialPath) && !FileManager.default.fileExists(atPath: w.partialTimingsPath))
        }
    }

    @Test func aFileWhereTheDirectoryShouldBeIsAnError() throws {
        try withTemporaryDirectory { dir in
            let file = dir.appendingPathComponent("taken").path
            try Self.write("x", file)
            let error = #expect(throws: SuiteError.self) { try SuiteWorkspace(directory: file, suite: "smoke").prepare() }
            #expect(error?.description == "\(file): is not a directory")
        }
    }

    @Test func theReportPrunesChartsItNoLongerNames() throws {
        try withTemporaryDirectory { dir in
            let w = SuiteWorkspace(directory: dir.path, suite: "s")
            try FileManager.default.createDirectory(atPath: w.chartDirectory, withIntermediateDirectories: true)
            try Self.write("<svg/>", w.chartDirectory + "/old.svg")
            try Self.write("notes", w.chartDirectory + "/notes.txt")
            let path = try w.writeReport(markdown: "# s\n", appendix: "# runs\n", charts: [("s/a.svg", "<svg>a</svg>")])
            #expect(path == dir.path + "/s.md")
            #expect(try String(contentsOfFile: dir.path + "/s-runs.md", encoding: .utf8) == "# runs\n")
            let names = try FileManager.default.contentsOfDirectory(atPath: w.chartDirectory).sorted()
            #expect(names == ["a.svg", "notes.txt"])
        }
    }
}
