import Base
import Foundation
import Results
import TensorIO
#if canImport(Glibc)
import Glibc
#endif

/// The files of one suite (or one shard of it) in an output directory, and what resuming and finishing a run does
/// with them:
///
/// - `<suite>[.shard-I-of-N].results.partial.jsonl` and `.timings.partial.jsonl`: finished runs, appended one line
///   per run as they complete, so an interrupted run resumes from them;
/// - `<suite>[.shard-I-of-N].results.jsonl` and `.timings.jsonl`: the finished suite (the results are the same bytes
///   on every run; timings are kept apart because they are not);
/// - `<suite>.md` and its charts in `<suite>/` (charts of runs no longer in the report are removed).
///
/// Every whole-file write is atomic. Errors are `SuiteError`s naming the file.
public struct SuiteWorkspace: Sendable {
    public let directory: String
    public let suite: String
    public let shard: SuiteShard?

    public init(directory: String, suite: String, shard: SuiteShard? = nil) {
        self.directory = directory
        self.suite = suite
        self.shard = shard
    }

    var stem: String { "\(directory)/\(suite)" + (shard.map { ".shard-\($0.index)-of-\($0.count)" } ?? "") }
    public var resultsPath: String { stem + ".results.jsonl" }
    public var partialPath: String { stem + ".results.partial.jsonl" }
    public var timingsPath: String { stem + ".timings.jsonl" }
    public var partialTimingsPath: String { stem + ".timings.partial.jsonl" }
    public var reportPath: String { "\(directory)/\(suite).md" }
    /// Held (flock) while a run of this suite (or shard) writes here: a second run on the same files is refused.
    public var lockPath: String { stem + ".lock" }

    /// Takes the workspace's lock for the rest of the process (released when it exits, however it exits): a second
    /// `suite run` of the same suite and shard into the same directory would interleave its partial files and leave
    /// the timings empty. The error names the lock and the process that holds it.
    public func lock() throws {
        let fd = open(lockPath, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SuiteError(description: "\(lockPath): cannot create the lock file") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: lockPath, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            close(fd)
            throw SuiteError(description: "\(lockPath): another suite run\(holder.isEmpty ? "" : " (pid \(holder))") is writing this suite's files here; "
                             + "wait for it, or use another --out")
        }
        let pid = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = pid.withCString { Glibc.write(fd, $0, strlen($0)) }
        // The descriptor stays open (and locked) until the process ends.
    }

    /// Removes the lock file once the run has finished.
    public func unlock() { unlink(lockPath) }
    /// Every run's chart, linked from the report.
    public var appendixPath: String { "\(directory)/\(suite)-runs.md" }
    public var chartDirectory: String { "\(directory)/\(suite)" }

    /// Creates the output directory when it is missing.
    public func prepare() throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw SuiteError(description: "\(directory): is not a directory") }
        } else {
            do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
                throw SuiteError(description: "\(directory): cannot create the directory")
            }
        }
    }

    /// The finished runs of an interrupted run of `mine` (of the suite's `runs`), checked against the suite as it is
    /// now; the partial files are rewritten with those runs' complete lines only, so appends start on a fresh line.
    /// `fresh` deletes them instead.
    public func resume(runs: [SuiteRun], mine: [(index: Int, run: SuiteRun)], fresh: Bool) throws -> [RunResult] {
        if fresh {
            unlink(partialPath)
            unlink(partialTimingsPath)
        }
        var done = [RunResult]()
        if FileManager.default.fileExists(atPath: partialPath) {
            do {
                done = try SuiteResultSet.parsePartial(try Self.read(partialPath), path: partialPath)
                try SuiteResultSet.check(done, against: runs, suite: suite, path: partialPath)
            } catch let e as ResultsError {
                throw SuiteError(description: "\(e.description) (pass --fresh to start over)")
            } catch let e as SuiteError {
                throw SuiteError(description: "\(e.description) (pass --fresh to start over)")
            }
            let wanted = Set(mine.map(\.index))
            done = done.filter { wanted.contains($0.index) }
            try write(ResultsFile.text(done), to: partialPath)
        }
        let finished = Set(done.map(\.index))
        try write(RunTiming.text(Self.timings(partialTimingsPath).filter { finished.contains($0.index) }), to: partialTimingsPath)
        return done
    }

    /// Runs `body` with appenders of finished runs' result and timing lines to the partial files.
    public func appending<T>(_ body: (_ record: @escaping @Sendable (RunResult, Double) -> Void) throws -> T) throws -> T {
        let results = try LineAppender(partialPath), timings = try LineAppender(partialTimingsPath)
        return try body { result, seconds in
            results.append(result.json.compactText)
            timings.append(RunTiming(index: result.index, id: result.id, seconds: seconds).json.compactText)
        }
    }

    /// Writes the finished results and timings and removes the partial files; returns the paths written.
    public func finish(_ results: [RunResult]) throws -> [String] {
        let timings = Self.timings(partialTimingsPath)
        try write(ResultsFile.text(results), to: resultsPath)
        try write(RunTiming.text(timings), to: timingsPath)
        unlink(partialPath)
        unlink(partialTimingsPath)
        return [resultsPath, timingsPath]
    }

    /// Writes the results of merged shards, and their timings (from each shard's timings file beside its results
    /// file) when there are any; returns the paths written.
    public func finishMerged(_ results: [RunResult], shardFiles: [String]) throws -> [String] {
        var timings = [RunTiming]()
        for path in shardFiles where path.hasSuffix(".results.jsonl") {
            timings += Self.timings(String(path.dropLast(".results.jsonl".count)) + ".timings.jsonl")
        }
        try write(ResultsFile.text(results), to: resultsPath)
        guard !timings.isEmpty else { return [resultsPath] }
        try write(RunTiming.text(timings), to: timingsPath)
        return [resultsPath, timingsPath]
    }

    /// Writes the report and its charts (paths relative to the directory), removing the chart directory's SVG files
    /// that the report no longer names; returns the report's path.
    public func writeReport(markdown: String, appendix: String, charts: [(path: String, svg: String)]) throws -> String {
        try? FileManager.default.createDirectory(atPath: chartDirectory, withIntermediateDirectories: true)
        var written = Set<String>()
        for chart in charts {
            try write(chart.svg, to: "\(directory)/\(chart.path)")
            written.insert(String(chart.path.split(separator: "/").last ?? ""))
        }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: chartDirectory)) ?? [] where name.hasSuffix(".svg") && !written.contains(name) {
            unlink("\(chartDirectory)/\(name)")
        }
        try write(appendix, to: appendixPath)
        try write(markdown, to: reportPath)
        return reportPath
    }

    /// Whether the directory holds the lab's own report (the suite report links to it).
    public var hasLabReport: Bool { FileManager.default.fileExists(atPath: "\(directory)/lab.md") }

    func write(_ text: String, to path: String) throws {
        do { try AtomicFile.writeText(path: path, contents: text) } catch let e as TensorIOError { throw SuiteError(description: e.description) }
    }

    /// The timings in `path`, none if it is missing (timings are informative only).
    public static func timings(_ path: String) -> [RunTiming] {
        RunTiming.parse((try? String(contentsOfFile: path, encoding: .utf8)) ?? "")
    }

    /// A text file, or an error naming it.
    public static func read(_ path: String) throws -> String {
        guard FileManager.default.fileExists(atPath: path) else { throw SuiteError(description: "\(path): no such file") }
        do { return try String(contentsOfFile: path, encoding: .utf8) } catch { throw SuiteError(description: "\(path): cannot be read as UTF-8 text") }
    }
}

/// Appends whole lines to a file (O_APPEND, one write per line), so an interrupted run leaves complete lines.
final class LineAppender: @unchecked Sendable {
    private let fd: Int32
    /// After a failed write no more lines are appended (they would follow a cut one).
    private var broken = false

    init(_ path: String) throws {
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SuiteError(description: "\(path): cannot be opened for appending") }
    }

    deinit { close(fd) }

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
