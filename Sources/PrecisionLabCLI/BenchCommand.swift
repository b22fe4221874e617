import ArgumentParser
import Foundation
import PrecisionLab

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks, each against a baseline measured in the same run.",
        subcommands: [BenchReductionsCommand.self, BenchTrainCommand.self]
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

struct BenchTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Steps per second and GFLOP/s of one training step of the lab's models, for each format.",
        discussion: """
        One step is zero_grad, forward, backward, clip_grad_norm_(1.0) and SGD with momentum 0.9 (lr 0.01), on a \
        fixed seeded batch: mlp = MLP 64-256-256-10 (ReLU) at batch 128 with cross-entropy; rnn = Elman RNN, \
        2 inputs, 128 hidden, 20 steps, batch 128, mean-squared error on the adding problem; transformer = \
        vocabulary 64, context 32, width 64, 4 heads, 2 blocks, batch 16, cross-entropy. 16-bit formats store \
        everything in 16 bits and accumulate matrix products in Float. Times are medians of --repetitions runs \
        of --steps steps after a warm-up; GFLOP/s counts the matrix products' operations. \
        bench/pytorch_mlp.py times the same MLP step in PyTorch, for comparison.
        """
    )

    @Option(help: "Models, comma-separated: mlp, rnn, transformer.")
    var models = "mlp,rnn,transformer"

    @Option(help: "Formats, comma-separated: f16, bf16, f32, f64.")
    var formats = "f16,bf16,f32,f64"

    @Option(help: "Steps per timed run.")
    var steps = 50

    @Option(help: "Timed runs per measurement (the median is reported).")
    var repetitions = 7

    @Option(help: "Threads (default: one per core).")
    var threads = Parallel.defaultThreads

    @Flag(help: "Print one JSON document instead of the table.")
    var json = false

    func validate() throws {
        guard steps >= 1 && steps <= 100_000 else { throw ValidationError("--steps must be between 1 and 100000") }
        guard repetitions >= 1 && repetitions <= 1000 else { throw ValidationError("--repetitions must be between 1 and 1000") }
        guard threads >= 1 && threads <= 256 else { throw ValidationError("--threads must be between 1 and 256") }
        _ = try parsedModels()
        _ = try parsedKinds()
    }

    func parsedModels() throws -> [TrainingBenchmark.Model] {
        try models.split(separator: ",").map { name in
            guard let m = TrainingBenchmark.Model(rawValue: String(name)) else {
                throw ValidationError("--models: '\(name)' is not one of mlp, rnn, transformer")
            }
            return m
        }
    }

    func parsedKinds() throws -> [ScalarKind] {
        try formats.split(separator: ",").map { name in
            guard let k = ScalarKind(rawValue: String(name)) else { throw ValidationError("--formats: '\(name)' is not one of f16, bf16, f32, f64") }
            return k
        }
    }

    func run() throws {
        var rows = [TrainingBenchmark.Row]()
        for model in try parsedModels() {
            for kind in try parsedKinds() {
                Terminal.progress("bench: \(model.rawValue) \(kind.rawValue)")
                rows.append(TrainingBenchmark.run(model, kind, steps: steps, repetitions: repetitions, threads: threads))
            }
        }
        Terminal.endProgress()
        if json {
            print(JSONValue.array(rows.map { row in
                .object([("model", .string(row.model.rawValue)), ("format", .string(row.kind.rawValue)),
                         ("steps_per_second", .double(row.stepsPerSecond)), ("gflops", .double(row.gflops))])
            }).prettyText())
        } else {
            print("One training step (forward, backward, clip, SGD), \(threads) thread(s)\n")
            var table = TextTable(header: ["model", "format", "ms/step", "steps/s", "GFLOP/s", "× f32 time"], numericColumns: [2, 3, 4, 5])
            for row in rows {
                let f32 = rows.first { $0.model == row.model && $0.kind == .float32 }
                table.rows.append([row.model.rawValue, row.kind.rawValue, String(format: "%.3f", row.secondsPerStep * 1e3),
                                   String(format: "%.0f", row.stepsPerSecond), String(format: "%.1f", row.gflops),
                                   f32.map { String(format: "%.2f", row.secondsPerStep / $0.secondsPerStep) } ?? "-"])
            }
            print(table.markdown)
        }
    }
}
