import Base
import Results
import TensorIO

/// Checks and joins results files against the suite matrix they came from.
public enum SuiteResultSet {
    /// The results of an interrupted run (`*.results.partial.jsonl`): complete lines only. A last line without its
    /// newline was cut off mid-write and is dropped; a bad complete line is an error.
    public static func parsePartial(_ text: String, path: String) throws -> [RunResult] {
        var text = text
        // A line ends in "\n" or "\r\n" (one Character in Swift: a file edited on Windows keeps its finished runs).
        let isNewline = { (c: Character) in c == "\n" || c == "\r\n" }
        if let last = text.last, !isNewline(last) {
            text = String(text[..<(text.lastIndex(where: isNewline).map { text.index(after: $0) } ?? text.startIndex)])
        }
        var seen = Set<Int>()
        var results = [RunResult]()
        // Two writers of one shard (a Job controller can start a second pod for an index) append the same lines.
        for r in try ResultsFile.parse(text, path: path) where seen.insert(r.index).inserted || !results.contains(r) { results.append(r) }
        return results
    }

    /// Each result must be the run the suite has at its index (same suite, same id), once.
    public static func check(_ results: [RunResult], against runs: [SuiteRun], suite: String, path: String) throws {
        var seen = Set<Int>()
        for r in results {
            guard r.suite == suite else { throw SuiteError(description: "\(path): results of suite \(r.suite), not \(suite)") }
            guard runs.indices.contains(r.index), runs[r.index].id == r.id else {
                let now = runs.indices.contains(r.index) ? "the suite's run \(r.index) is now \(runs[r.index].id)" : "the suite has \(runs.count) runs"
                throw SuiteError(description: "\(path): run \(r.index) (\(r.id)) is not in the suite as it is now (\(now)); rerun it, or delete the file")
            }
            guard r.configuration == runs[r.index].fingerprint else {
                throw SuiteError(description: "\(path): run \(r.index) (\(r.id)) was run with another configuration (the suite file changed since); rerun it, or delete the file")
            }
            guard seen.insert(r.index).inserted else { throw SuiteError(description: "\(path): run \(r.index) (\(r.id)) appears twice") }
        }
    }

    /// Shards joined into the results of the whole suite: every run exactly once (a run present in two shards must
    /// have the same results in both).
    public static func merge(_ shards: [(path: String, results: [RunResult])], runs: [SuiteRun], suite: String) throws -> [RunResult] {
        var byIndex = [Int: (path: String, result: RunResult)]()
        for (path, results) in shards {
            try check(results, against: runs, suite: suite, path: path)
            for r in results {
                if let other = byIndex[r.index] {
                    guard other.result == r else {
                        throw SuiteError(description: "\(path): run \(r.index) (\(r.id)) differs from the same run in \(other.path)")
                    }
                } else {
                    byIndex[r.index] = (path, r)
                }
            }
        }
        let missing = runs.indices.filter { byIndex[$0] == nil }
        guard missing.isEmpty else {
            let first = missing.prefix(3).map { "\($0) (\(runs[$0].id))" }.joined(separator: ", ")
            throw SuiteError(description: "\(missing.count) of \(runs.count) runs of suite \(suite) are in none of the files: \(first)\(missing.count > 3 ? ", ..." : "")")
        }
        return runs.indices.map { byIndex[$0]!.result }
    }

    /// The report's context from the suite.
    public static func context(_ spec: SuiteSpec, source: String, version: String, date: String, machine: String, labReport: String?) -> SuiteContext {
        SuiteContext(suite: spec.name, description: spec.description, source: source, blocks: spec.blocks.map { ($0.name, $0.summary) },
                     version: version, date: date, machine: machine, labReport: labReport)
    }
}

/// One line of a timings file: how long a run took (kept apart from the results, which are the same bytes on every run).
public struct RunTiming: Sendable, Equatable {
    public var index: Int
    public var id: String
    public var seconds: Double

    public init(index: Int, id: String, seconds: Double) {
        self.index = index
        self.id = id
        self.seconds = seconds
    }

    public var json: JSONValue { .object([("index", .integer(index)), ("id", .string(id)), ("seconds", .double(seconds))]) }

    /// Timing lines; unreadable lines (a cut-off last line) are skipped: timings are informative only.
    public static func parse(_ text: String) -> [RunTiming] {
        text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }).compactMap { line in
            guard let v = try? JSONValue(parsing: String(line)), let i = v["index"]?.intValue, let id = v["id"]?.stringValue,
                  let s = v["seconds"]?.doubleValue else { return nil }
            return RunTiming(index: i, id: id, seconds: s)
        }
    }

    public static func text(_ timings: [RunTiming]) -> String {
        var byIndex = [Int: RunTiming]()
        for t in timings { byIndex[t.index] = t }
        return byIndex.keys.sorted().map { byIndex[$0]!.json.compactText + "\n" }.joined()
    }
}
