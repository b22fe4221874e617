import ArgumentParser
import Foundation
import PrecisionLab
#if canImport(Glibc)
import Glibc
#endif

struct SuiteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "suite",
        abstract: "Strategy-comparison suites: training runs under policies, loss scalers, clippers and faults, and their report.",
        subcommands: [SuiteListCommand.self, SuiteRunCommand.self, SuiteMergeCommand.self]
    )
}

/// Where suites are read and results and reports written.
struct SuitePaths: ParsableArguments {
    @Option(help: "The directory of suite files (NAME.json).")
    var suites = "fixtures/suites"

    @Option(help: "The directory of results and reports.")
    var out = "reports"

    /// The suite named `name` (or the file `name` when it ends in .json), and where it was read from.
    func load(_ name: String) throws -> (spec: SuiteSpec, path: String) {
        let path = name.hasSuffix(".json") ? name : "\(suites)/\(name).json"
        guard FileManager.default.fileExists(atPath: path) else {
            throw InputError(path, "no such suite (see 'precision-lab suite list --suites \(suites)')")
        }
        let text = try Self.read(path)
        do { return (try SuiteSpec(json: text, path: path), path) } catch let error as SuiteError { throw InputError(error.description) }
    }

    func prepareOutput() throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: out, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw InputError(out, "is not a directory") }
        } else {
            do { try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true) } catch {
                throw InputError(out, "cannot create the directory")
            }
        }
    }

    /// Writes `<out>/<suite>.md` and its charts in `<out>/<suite>/` (removing charts of earlier runs no longer there).
    func writeReport(_ results: [RunResult], spec: SuiteSpec, source: String) throws -> String {
        let lab = FileManager.default.fileExists(atPath: "\(out)/lab.md") ? "lab.md" : nil
        let context = SuiteResultSet.context(spec, source: source, version: PrecisionLabVersion.string, date: Self.today(),
                                             machine: MachineInfo.description, labReport: lab)
        let report = SuiteReport.render(results, context: context, chartDirectory: spec.name)
        let chartDirectory = "\(out)/\(spec.name)"
        try? FileManager.default.createDirectory(atPath: chartDirectory, withIntermediateDirectories: true)
        var written = Set<String>()
        for chart in report.charts {
            try writeAtomically(chart.svg, to: "\(out)/\(chart.path)")
            written.insert(URL(fileURLWithPath: chart.path).lastPathComponent)
        }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: chartDirectory)) ?? [] where name.hasSuffix(".svg") && !written.contains(name) {
            try? FileManager.default.removeItem(atPath: "\(chartDirectory)/\(name)")
        }
        let path = "\(out)/\(spec.name).md"
        try writeAtomically(report.markdown, to: path)
        return path
    }

    /// Today's date (UTC), as the report's header states it.
    static func today() -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.string(from: Date())
    }

    /// The timings in `path`, none if it is missing (timings are informative only).
    static func timings(_ path: String) -> [RunTiming] {
        RunTiming.parse((try? String(contentsOfFile: path, encoding: .utf8)) ?? "")
    }

    static func read(_ path: String) throws -> String {
        guard FileManager.default.fileExists(atPath: path) else { throw InputError(path, "no such file") }
        do { return try String(contentsOfFile: path, encoding: .utf8) } catch { throw InputError(path, "cannot be read as UTF-8 text") }
    }
}

struct SuiteListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the suites and the size of their matrices.")

    @OptionGroup var paths: SuitePaths

    func run() throws {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: paths.suites)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
        guard !names.isEmpty else { throw InputError(paths.suites, "no suite files (NAME.json) here") }
        var table = TextTable(header: ["suite", "runs", "blocks", "description"], numericColumns: [1])
        for name in names {
            let (spec, _) = try paths.load("\(paths.suites)/\(name)")
            table.rows.append([spec.name, "\(SuiteRun.expand(spec).count)", spec.blocks.map(\.name).joined(separator: ", "), spec.description])
        }
        print(table.plain, terminator: "")
    }
}

struct SuiteRunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a suite (or one shard of it) and write its results and report.",
        discussion: """
        Runs every run of the suite's matrix, one run per thread, each measured against a fault-free Float64 run \
        with the same seed, and writes <out>/<suite>.results.jsonl (the same bytes on every run), \
        <out>/<suite>.timings.jsonl, and the report <out>/<suite>.md with its charts in <out>/<suite>/. \
        Finished runs are appended to <suite>.results.partial.jsonl as they complete: an interrupted suite \
        resumes from there (--fresh starts over). With --shard I/N (or SLURM_ARRAY_TASK_ID and \
        SLURM_ARRAY_TASK_COUNT, or JOB_COMPLETION_INDEX and PRECISIONLAB_SHARDS) only every N-th run from \
        the I-th is run and written to <suite>.shard-I-of-N.results.jsonl; 'suite merge' joins the shards \
        and writes the report.
        """
    )

    @Argument(help: "The suite's name (fixtures/suites/NAME.json) or a suite file.")
    var suite: String

    @OptionGroup var paths: SuitePaths

    @Option(help: "Run shard I of N (0 <= I < N): every N-th run of the matrix, from the I-th.")
    var shard: String?

    @Option(help: "Runs at a time (default: SLURM_CPUS_PER_TASK, else the machine's cores).")
    var threads: Int = Int(ProcessInfo.processInfo.environment["SLURM_CPUS_PER_TASK"] ?? "").flatMap { $0 > 0 ? $0 : nil }
        ?? ProcessInfo.processInfo.activeProcessorCount

    @Flag(help: "Ignore (and delete) the results of an interrupted run.")
    var fresh = false

    func validate() throws {
        if let shard, SuiteShard(shard) == nil { throw ValidationError("--shard must be I/N with 0 <= I < N (got \(shard))") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        let started = ContinuousClock.now
        let (spec, source) = try paths.load(suite)
        let shard: SuiteShard?
        do { shard = try self.shard.flatMap(SuiteShard.init) ?? SuiteShard.fromEnvironment(ProcessInfo.processInfo.environment) } catch let e as SuiteError {
            throw InputError("environment", e.description)
        }
        let runs = SuiteRun.expand(spec)
        let mine = SuiteRunner.shard(runs, index: shard?.index ?? 0, count: shard?.count ?? 1)
        try paths.prepareOutput()
        let stem = "\(paths.out)/\(spec.name)" + (shard.map { ".shard-\($0.index)-of-\($0.count)" } ?? "")
        let resultsPath = stem + ".results.jsonl", partialPath = stem + ".results.partial.jsonl"
        let timingsPath = stem + ".timings.jsonl", partialTimingsPath = stem + ".timings.partial.jsonl"
        if fresh {
            try? FileManager.default.removeItem(atPath: partialPath)
            try? FileManager.default.removeItem(atPath: partialTimingsPath)
        }
        var done = [RunResult]()
        if FileManager.default.fileExists(atPath: partialPath) {
            do {
                done = try SuiteResultSet.parsePartial(try SuitePaths.read(partialPath), path: partialPath)
                try SuiteResultSet.check(done, against: runs, suite: spec.name, path: partialPath)
            } catch let e as ResultsError {
                throw InputError("\(e.description) (pass --fresh to start over)")
            } catch let e as SuiteError {
                throw InputError("\(e.description) (pass --fresh to start over)")
            }
            let wanted = Set(mine.map(\.index))
            done = done.filter { wanted.contains($0.index) }
            // Rewrite the partial file with its complete lines only, so appends start on a fresh line.
            try writeAtomically(ResultsFile.text(done), to: partialPath)
        }
        // The timings of the finished runs only, rewritten whole, so appends start on a fresh line.
        let finished = Set(done.map(\.index))
        let kept = SuitePaths.timings(partialTimingsPath).filter { finished.contains($0.index) }
        try writeAtomically(RunTiming.text(kept), to: partialTimingsPath)
        let shardText = shard.map { ", shard \($0) (\(mine.count) runs)" } ?? ""
        let resumed = done.isEmpty ? "" : ", \(done.count) already done (resumed from \(partialPath))"
        if Terminal.stderrIsTerminal { Terminal.stderr("suite \(spec.name): \(runs.count) runs\(shardText)\(resumed)") }
        let results = try LineAppender.with(partialPath) { resultLines in
            try LineAppender.with(partialTimingsPath) { timingLines in
                let progress = ProgressCounter(done: done.count)
                let results: [RunResult]
                do {
                    results = try SuiteRunner.run(mine, threads: threads, done: done) { result, seconds in
                        resultLines.append(result.json.compactText)
                        timingLines.append(RunTiming(index: result.index, id: result.id, seconds: seconds).json.compactText)
                        Terminal.progress("suite \(spec.name): \(progress.step()) of \(mine.count) runs, last \(result.id)")
                    }
                } catch let e as SuiteError {
                    Terminal.endProgress()
                    throw InputError(source, e.description + " (finished runs are kept in \(partialPath))")
                }
                Terminal.endProgress()
                return results
            }
        }
        let timings = SuitePaths.timings(partialTimingsPath)
        try writeAtomically(ResultsFile.text(results), to: resultsPath)
        try writeAtomically(RunTiming.text(timings), to: timingsPath)
        try? FileManager.default.removeItem(atPath: partialPath)
        try? FileManager.default.removeItem(atPath: partialTimingsPath)
        var written = [resultsPath, timingsPath]
        if shard == nil { written.append(try paths.writeReport(results, spec: spec, source: source)) }
        let seconds = (ContinuousClock.now - started).inSeconds
        print("suite \(spec.name): \(results.count) runs\(shardText)\(resumed) in \(BenchmarkReport.fixed(seconds, 1)) s; wrote \(written.joined(separator: ", "))")
        if shard == nil {
            for finding in SuiteReport.findings(results) { print("- " + finding.replacingOccurrences(of: "**", with: "")) }
        } else {
            print("join the shards with: precision-lab suite merge \(paths.out)/\(spec.name).shard-*-of-\(shard!.count).results.jsonl")
        }
    }
}

struct SuiteMergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Join the results of a suite's shards and write the report, as one unsharded run would.",
        discussion: """
        Every run of the suite must be in exactly one of the files (or in several with identical results). Writes \
        <out>/<suite>.results.jsonl, <out>/<suite>.timings.jsonl (from the shards' timing files, when present) and \
        the report <out>/<suite>.md with its charts.
        """
    )

    @Argument(help: "Results files of the shards (*.results.jsonl).")
    var results: [String]

    @Option(help: "The suite's name or file, when it is not <suites>/<the results' suite name>.json.")
    var suite: String?

    @OptionGroup var paths: SuitePaths

    func validate() throws {
        guard !results.isEmpty else { throw ValidationError("name at least one results file") }
    }

    func run() throws {
        var shards = [(path: String, results: [RunResult])]()
        for path in results {
            do { shards.append((path, try ResultsFile.parse(try SuitePaths.read(path), path: path))) } catch let e as ResultsError {
                throw InputError(e.description)
            }
        }
        guard let suiteName = shards.lazy.flatMap(\.results).first?.suite else { throw InputError(results[0], "holds no results") }
        let (spec, source) = try paths.load(suite ?? suiteName)
        guard spec.name == suiteName else { throw InputError(source, "is suite \(spec.name), the results are of suite \(suiteName)") }
        let merged: [RunResult]
        do { merged = try SuiteResultSet.merge(shards, runs: SuiteRun.expand(spec), suite: spec.name) } catch let e as SuiteError {
            throw InputError(e.description)
        }
        try paths.prepareOutput()
        let resultsPath = "\(paths.out)/\(spec.name).results.jsonl", timingsPath = "\(paths.out)/\(spec.name).timings.jsonl"
        var timings = [RunTiming]()
        for path in results where path.hasSuffix(".results.jsonl") {
            let timingPath = String(path.dropLast(".results.jsonl".count)) + ".timings.jsonl"
            timings += SuitePaths.timings(timingPath)
        }
        try writeAtomically(ResultsFile.text(merged), to: resultsPath)
        var written = [resultsPath]
        if !timings.isEmpty {
            try writeAtomically(RunTiming.text(timings), to: timingsPath)
            written.append(timingsPath)
        }
        written.append(try paths.writeReport(merged, spec: spec, source: source))
        print("suite \(spec.name): \(merged.count) runs from \(results.count) file(s); wrote \(written.joined(separator: ", "))")
    }
}

/// Appends whole lines to a file (O_APPEND, one write per line), so an interrupted run leaves complete lines.
final class LineAppender: @unchecked Sendable {
    private let fd: Int32
    private let path: String
    /// After a failed write no more lines are appended (they would follow a cut one).
    private var broken = false

    private init(_ path: String) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw InputError(path, "cannot be opened for appending") }
    }

    deinit { close(fd) }

    static func with<T>(_ path: String, _ body: (LineAppender) throws -> T) throws -> T { try body(try LineAppender(path)) }

    func append(_ line: String) {
        guard !broken else { return }
        let bytes = Array((line + "\n").utf8)
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 {  // disk full: the cut line is dropped on resume, and the runs after it rerun
                    broken = true
                    break
                }
                offset += n
            }
        }
    }
}

/// Counts finished runs (called under the runner's callback lock).
final class ProgressCounter: @unchecked Sendable {
    private var count: Int
    init(done: Int) { count = done }
    func step() -> Int {
        count += 1
        return count
    }
}
