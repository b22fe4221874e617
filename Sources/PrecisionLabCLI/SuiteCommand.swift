import ArgumentParser
import Foundation
import PrecisionLab

struct SuiteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "suite",
        abstract: "Strategy-comparison suites: training runs under policies, loss scalers, clippers and faults, and their report.",
        subcommands: [SuiteListCommand.self, SuiteRunCommand.self, SuiteMergeCommand.self]
    )
}

/// Where suites are read and results and reports written.
struct SuitePaths: ParsableArguments {
    @Option(help: "The directory of suite files (NAME.json). (default: $PRECISIONLAB_HOME/fixtures/suites, else ./fixtures/suites, else the lab's own next to this binary)")
    var suites: String?

    @Option(help: "The directory of results and reports (relative to the current directory).")
    var out = "reports"

    /// The directory of suite files: --suites, else the first of `SuiteLocation`'s places that exists.
    var suiteDirectory: String {
        get throws {
            if let suites { return suites }
            let tried = SuiteLocation.candidates(environment: ProcessInfo.processInfo.environment, executable: Self.executable)
            guard let found = SuiteLocation.directory(among: tried) else {
                throw InputError("no suite directory found (tried \(tried.joined(separator: ", "))); pass --suites DIR or set PRECISIONLAB_HOME")
            }
            return found
        }
    }

    /// This executable's path (Linux: /proc/self/exe; elsewhere the bundle's).
    static var executable: String? {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? Bundle.main.executablePath
    }

    /// The suite named `name` (or the file `name` when it ends in .json), and where it was read from.
    func load(_ name: String) throws -> (spec: SuiteSpec, path: String) {
        let suites = name.hasSuffix(".json") ? "" : try suiteDirectory
        let path = name.hasSuffix(".json") ? name : "\(suites)/\(name).json"
        guard FileManager.default.fileExists(atPath: path) else {
            throw InputError(path, name.hasSuffix(".json") ? "no such file" : "no such suite (see 'precision-lab suite list --suites \(suites)')")
        }
        let text = try Self.read(path)
        do { return (try SuiteSpec(json: text, path: path), path) } catch let error as SuiteError { throw InputError(error.description) }
    }

    /// The workspace of a suite (or shard) in `--out`, created when missing.
    func workspace(_ suite: String, shard: SuiteShard? = nil) throws -> SuiteWorkspace {
        let workspace = SuiteWorkspace(directory: out, suite: suite, shard: shard)
        try Self.input { try workspace.prepare() }
        return workspace
    }

    /// Writes `<out>/<suite>.md` and its charts in `<out>/<suite>/`.
    func writeReport(_ results: [RunResult], spec: SuiteSpec, source: String, workspace: SuiteWorkspace) throws -> String {
        let context = SuiteResultSet.context(spec, source: source, version: PrecisionLabVersion.string, date: Self.today(),
                                             machine: MachineInfo.description, labReport: workspace.hasLabReport ? "lab.md" : nil)
        let report = SuiteReport.render(results, analysis: SuiteAnalysis(results), context: context, chartDirectory: spec.name)
        return try Self.input { try workspace.writeReport(markdown: report.markdown, appendix: report.appendix, charts: report.charts.map { ($0.path, $0.svg) }) }
    }

    /// A suite error as bad input (exit 2).
    static func input<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as SuiteError { throw InputError(e.description) }
    }

    /// Today's date (UTC), as the report's header states it.
    static func today() -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.string(from: Date())
    }

    static func read(_ path: String) throws -> String { try input { try SuiteWorkspace.read(path) } }
}

struct SuiteListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the suites and the size of their matrices.")

    @OptionGroup var paths: SuitePaths

    func run() throws {
        let directory = try paths.suiteDirectory
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
        guard !names.isEmpty else { throw InputError(directory, "no suite files (NAME.json) here") }
        var table = TextTable(header: ["suite", "runs", "blocks", "description"], numericColumns: [1])
        for name in names {
            let (spec, _) = try paths.load("\(directory)/\(name)")
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

    @Argument(help: "The suite's name (NAME.json in the suite directory, see --suites) or a suite file.")
    var suite: String

    @OptionGroup var paths: SuitePaths

    @Option(help: "Run shard I of N (0 <= I < N): every N-th run of the matrix, from the I-th.")
    var shard: String?

    @Option(help: "Runs at a time: SLURM_CPUS_PER_TASK when set, else one per core.")
    var threads: Int = Parallel.defaultThreads

    @Flag(help: "Ignore (and delete) the results of an interrupted run.")
    var fresh = false

    func validate() throws {
        if let shard, SuiteShard(shard) == nil { throw ValidationError("--shard must be I/N with 0 <= I < N (got \(shard))") }
        try Vocabulary.checkThreads(threads)
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
        let workspace = try paths.workspace(spec.name, shard: shard)
        try SuitePaths.input { try workspace.lock() }
        defer { workspace.unlock() }
        let done = try SuitePaths.input { try workspace.resume(runs: runs, mine: mine, fresh: fresh) }
        let shardText = shard.map { ", shard \($0) (\(mine.count) runs)" } ?? ""
        let resumed = done.isEmpty ? "" : ", \(done.count) already done (resumed from \(workspace.partialPath))"
        if Terminal.stderrIsTerminal { Terminal.stderr("suite \(spec.name): \(runs.count) runs\(shardText)\(resumed)") }
        let results = try workspace.appending { record in
            let progress = ProgressCounter(done: done.count)
            defer { Terminal.endProgress() }
            do {
                return try SuiteRunner.run(mine, threads: threads, done: done) { result, seconds in
                    record(result, seconds)
                    Terminal.progress("suite \(spec.name): \(progress.step()) of \(mine.count) runs, last \(result.id)")
                }
            } catch let e as SuiteError {
                throw InputError(source, e.description + " (finished runs are kept in \(workspace.partialPath))")
            }
        }
        var written = try SuitePaths.input { try workspace.finish(results) }
        if shard == nil { written.append(try paths.writeReport(results, spec: spec, source: source, workspace: workspace)) }
        let seconds = (ContinuousClock.now - started).inSeconds
        print("suite \(spec.name): \(results.count) runs\(shardText)\(resumed) in \(Figures.fixed(seconds, 1)) s; wrote \(written.joined(separator: ", "))")
        if shard == nil {
            for finding in SuiteAnalysis.findings(results) { print("- " + finding.replacingOccurrences(of: "**", with: "")) }
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
        let workspace = try paths.workspace(spec.name)
        var written = try SuitePaths.input { try workspace.finishMerged(merged, shardFiles: results) }
        written.append(try paths.writeReport(merged, spec: spec, source: source, workspace: workspace))
        print("suite \(spec.name): \(merged.count) runs from \(results.count) file(s); wrote \(written.joined(separator: ", "))")
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
