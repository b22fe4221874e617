import ArgumentParser
import Foundation
import PrecisionLab

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks, each against a baseline measured in the same run.",
        subcommands: [BenchReductionsCommand.self]
    )
}

struct BenchReductionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reductions",
        abstract: "Throughput of every norm algorithm and of the exact norm, next to a streaming read of the same array.",
        discussion: """
        For each input format, one array of --size seeded values is reduced (2-norm) by each algorithm, by the \
        correctly rounded norm ("exact"), and read once by a plain streaming read ("read", the memory-bandwidth \
        baseline), all on the same threads. Times are medians of --repetitions runs after a warm-up (scalar \
        algorithms in emulated 16-bit arithmetic run once). GB/s counts the bytes of the input array.
        """
    )

    @Option(help: "Elements per array (default 64M = 67108864).")
    var size = 1 << 26

    @Option(help: "Input formats, comma-separated: f16, bf16, f32, f64.")
    var formats = "f16,bf16,f32,f64"

    @Option(help: "Algorithms to time, comma-separated (default: all), besides read and exact.")
    var algorithms: String?

    @Option(help: "Timed runs per measurement (the median is reported).")
    var repetitions = 9

    @Option(help: "Threads (default: one per core).")
    var threads = ChunkedParallel.defaultThreadCount

    @Flag(help: "Print one JSON document instead of the table.")
    var json = false

    func validate() throws {
        guard size >= 1 && size <= 1 << 31 else { throw ValidationError("--size must be between 1 and 2^31") }
        guard repetitions >= 1 && repetitions <= 1000 else { throw ValidationError("--repetitions must be between 1 and 1000") }
        guard threads >= 1 && threads <= 256 else { throw ValidationError("--threads must be between 1 and 256") }
        _ = try parsedFormats()
        _ = try parseAlgorithms(algorithms)
    }

    func parsedFormats() throws -> [FloatFormat] {
        try formats.split(separator: ",").map { name in
            guard let f = FloatFormat(named: String(name)), FloatBuffer.arithmeticFormats.contains(f) else {
                throw ValidationError("--formats: '\(name)' is not one of f16, bf16, f32, f64")
            }
            return f
        }
    }

    func run() throws {
        let rows = ReductionBenchmark.run(count: size, formats: try parsedFormats(),
                                          algorithms: try parseAlgorithms(algorithms) ?? ReductionAlgorithm.allCases,
                                          repetitions: repetitions, threads: threads,
                                          progress: { Terminal.progress("bench: \($0)") })
        Terminal.endProgress()
        if json {
            print(JSONValue.array(rows.map(BenchmarkText.json)).prettyText())
        } else {
            print("2-norm of \(size) elements, \(threads) thread(s); ratio = time / streaming-read time of the same array\n")
            print(BenchmarkText.table(rows).markdown)
            print()
            print(BenchmarkReport.summary(rows).markdown)
        }
    }
}

/// Parses a comma-separated algorithm list (nil for all).
func parseAlgorithms(_ text: String?) throws -> [ReductionAlgorithm]? {
    guard let text else { return nil }
    return try text.split(separator: ",").map { name in
        guard let a = ReductionAlgorithm(rawValue: String(name)) else {
            throw ValidationError("'\(name)' is not an algorithm; use \(ReductionAlgorithm.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return a
    }
}
