import ArgumentParser
import Foundation
import PrecisionLab

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks, each against a baseline measured in the same run.",
        subcommands: [BenchReductionsCommand.self, BenchTrainCommand.self, BenchGuardCommand.self, BenchKernelsCommand.self]
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

    @Option(help: "Elements per array (67108864 = 64M).")
    var size = 1 << 26

    @Option(help: "Input formats, comma-separated: f16, bf16, f32, f64.")
    var formats = "f16,bf16,f32,f64"

    @Option(help: "Algorithms to time, comma-separated (default: all), besides read and exact.")
    var algorithms: String?

    @Option(help: "Timed runs per measurement (the median is reported).")
    var repetitions = 9

    @Option(help: "Threads: SLURM_CPUS_PER_TASK when set, else one per core.")
    var threads = Parallel.defaultThreads

    @Flag(help: "Print one JSON document instead of the table.")
    var json = false

    func validate() throws {
        guard size >= 1 && size <= 1 << 31 else { throw ValidationError("--size must be between 1 and 2^31") }
        guard repetitions >= 1 && repetitions <= 1000 else { throw ValidationError("--repetitions must be between 1 and 1000") }
        try Vocabulary.checkThreads(threads)
        _ = try parsedFormats()
        _ = try parseAlgorithms(algorithms)
    }

    func parsedFormats() throws -> [FloatFormat] {
        try formats.split(separator: ",").map { try Vocabulary.format(String($0), "--formats", among: FloatFormat.arithmetic) }
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
/// `--algorithms a,b,...`: each a known algorithm, named once, and (with an order) able to compute that norm.
func parseAlgorithms(_ text: String?, order: NormOrder? = nil) throws -> [ReductionAlgorithm]? {
    guard let text else { return nil }
    var chosen = [ReductionAlgorithm]()
    for name in text.split(separator: ",", omittingEmptySubsequences: false) {
        guard let a = ReductionAlgorithm(rawValue: String(name)) else {
            throw ValidationError("--algorithms: '\(name)' is not an algorithm; use \(ReductionAlgorithm.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard !chosen.contains(a) else { throw ValidationError("--algorithms names \(a.rawValue) twice") }
        if let order, !a.supports(order) {
            let able = ReductionAlgorithm.allCases.filter { $0.supports(order) }.map(\.rawValue)
            throw ValidationError(able.isEmpty
                ? "--algorithms: no algorithm applies to the \(order)-norm (a maximum is exact in any order): leave out --algorithms"
                : "--algorithms: \(a.rawValue) does not compute the \(order)-norm (these do: \(able.joined(separator: ", ")))")
        }
        chosen.append(a)
    }
    return chosen
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
        With --compare-pytorch bench/pytorch_models.py, the same steps are timed in PyTorch in the same invocation \
        (model by model, the lab's runs then PyTorch's, with the same threads, steps and repetitions) and the table \
        adds PyTorch's time and the lab's speed as a multiple of PyTorch's.
        """
    )

    @Option(help: "Models, comma-separated: mlp, rnn, transformer.")
    var models = "mlp,rnn,transformer"

    @Option(name: .customLong("compare-pytorch"), help: ArgumentHelp("Time the same steps in PyTorch with this script (bench/pytorch_models.py).", valueName: "path"))
    var pytorchScript: String?

    @Option(help: "The Python interpreter for --compare-pytorch (looked up in PATH).")
    var python = "python3"

    @OptionGroup var options: StepBenchOptions

    func validate() throws {
        _ = try parsedModels()
        if let pytorchScript, !FileManager.default.isReadableFile(atPath: pytorchScript) {
            throw ValidationError("--compare-pytorch: \(pytorchScript): no such readable file")
        }
    }

    func parsedModels() throws -> [TrainingBenchmark.Model] {
        try models.split(separator: ",").map { name in
            guard let m = TrainingBenchmark.Model(rawValue: String(name)) else {
                throw ValidationError("--models: '\(name)' is not one of mlp, rnn, transformer")
            }
            return m
        }
    }

    func run() throws {
        var rows = [TrainingBenchmark.Row]()
        // PyTorch's seconds per step, by model and format.
        var pytorch = [TrainingBenchmark.Model: [ScalarKind: Double]]()
        let kinds = try options.kinds()
        for model in try parsedModels() {
            for kind in kinds {
                Terminal.progress("bench: \(model.rawValue) \(kind.rawValue)")
                rows.append(TrainingBenchmark.run(model, kind, steps: options.steps, repetitions: options.repetitions, threads: options.threads))
            }
            if let pytorchScript {
                Terminal.progress("bench: \(model.rawValue) in PyTorch")
                pytorch[model] = try PyTorchComparison.secondsPerStep(script: pytorchScript, python: python, model: model.rawValue, kinds: kinds,
                                                                      threads: options.threads, steps: options.steps, repetitions: options.repetitions)
            }
        }
        Terminal.endProgress()
        print(report(rows, pytorch: pytorchScript == nil ? nil : pytorch))
    }

    /// The table (or JSON) of the lab's rows, beside PyTorch's when it was timed: speed ratio = PyTorch's time ÷ the lab's.
    func report(_ rows: [TrainingBenchmark.Row], pytorch: [TrainingBenchmark.Model: [ScalarKind: Double]]?) -> String {
        func theirs(_ row: TrainingBenchmark.Row) -> Double? { pytorch.map { $0[row.model]![row.kind]! } }
        if options.json {
            return JSONValue.array(rows.map { row in
                var fields: [(String, JSONValue)] = [("model", .string(row.model.rawValue)), ("format", .string(row.kind.rawValue)),
                                                     ("steps_per_second", .double(row.stepsPerSecond)), ("gflops", .double(row.gflops))]
                if let t = theirs(row) { fields += [("pytorch_steps_per_second", .double(1 / t)), ("speed_vs_pytorch", .double(t / row.secondsPerStep))] }
                return .object(fields)
            }).prettyText()
        }
        var table = pytorch == nil
            ? TextTable(header: ["model", "format", "ms/step", "steps/s", "GFLOP/s", "× f32 time"], numericColumns: [2, 3, 4, 5])
            : TextTable(header: ["model", "format", "lab ms/step", "PyTorch ms/step", "lab speed ÷ PyTorch", "lab × f32 time"], numericColumns: [2, 3, 4, 5])
        for row in rows {
            let f32 = rows.first { $0.model == row.model && $0.kind == .float32 }
            let middle = theirs(row).map { [Figures.fixed($0 * 1e3, 3), Figures.fixed($0 / row.secondsPerStep, 2)] }
                ?? [Figures.fixed(row.stepsPerSecond, 0), Figures.fixed(row.gflops, 1)]
            table.rows.append([row.model.rawValue, row.kind.rawValue, Figures.fixed(row.secondsPerStep * 1e3, 3)] + middle
                              + [f32.map { Figures.fixed(row.secondsPerStep / $0.secondsPerStep, 2) } ?? "-"])
        }
        let beside = pytorchScript.map { ", beside PyTorch run by \($0)" } ?? ""
        return "One training step (forward, backward, clip, SGD), \(options.threads) thread(s)\(beside)\n\n" + table.markdown
    }
}

struct BenchGuardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "guard",
        abstract: "The cost of the non-finite guard and of exact-norm telemetry on the bench MLP step.",
        discussion: """
        The MLP step of `bench train` is timed three ways, round-robin, medians of --repetitions runs of --steps \
        steps: plain; with the guard (found_inf over every gradient, which skips the step and traces the origin \
        when set; nothing is wrong here, so it only scans); with the guard and the exact, correctly rounded \
        gradient norm that the telemetry records. The overhead is each one's time over the plain step's.
        """
    )

    @OptionGroup var options: StepBenchOptions

    func run() throws {
        var rows = [(ScalarKind, [(TrainingBenchmark.Instrumentation, Double)])]()
        for kind in try options.kinds() {
            Terminal.progress("bench guard: \(kind.rawValue)")
            rows.append((kind, TrainingBenchmark.instrumentationCost(kind, steps: options.steps, repetitions: options.repetitions, threads: options.threads)))
        }
        Terminal.endProgress()
        if options.json {
            print(JSONValue.array(rows.flatMap { kind, times in
                times.map { i, t in
                    JSONValue.object([("format", .string(kind.rawValue)), ("instrumentation", .string(i.rawValue)),
                                      ("ms_per_step", .double(t * 1e3)), ("overhead", .double(t / times[0].1 - 1))])
                }
            }).prettyText())
            return
        }
        print("MLP step (bench train's), \(options.threads) thread(s): plain, with the non-finite guard, with guard and exact-norm telemetry\n")
        var table = TextTable(header: ["format", "instrumentation", "ms/step", "overhead"], numericColumns: [2, 3])
        for (kind, times) in rows {
            for (i, t) in times {
                table.rows.append([kind.rawValue, i.rawValue, Figures.fixed(t * 1e3, 3),
                                   i == .none ? "-" : (t >= times[0].1 ? "+" : "") + Figures.fixed(100 * (t / times[0].1 - 1), 1) + "%"])
            }
        }
        print(table.markdown)
    }
}

/// Options shared by the training-step benchmarks.
struct StepBenchOptions: ParsableArguments {
    @Option(help: "Formats, comma-separated: f16, bf16, f32, f64.")
    var formats = "f16,bf16,f32,f64"

    @Option(help: "Steps per timed run.")
    var steps = 50

    @Option(help: "Timed runs per measurement (the median is reported).")
    var repetitions = 7

    @Option(help: "Threads: SLURM_CPUS_PER_TASK when set, else one per core.")
    var threads = Parallel.defaultThreads

    @Flag(help: "Print one JSON document instead of the table.")
    var json = false

    func validate() throws {
        guard steps >= 1 && steps <= 100_000 else { throw ValidationError("--steps must be between 1 and 100000") }
        guard repetitions >= 1 && repetitions <= 1000 else { throw ValidationError("--repetitions must be between 1 and 1000") }
        try Vocabulary.checkThreads(threads)
        _ = try kinds()
    }

    func kinds() throws -> [ScalarKind] {
        try formats.split(separator: ",").map { name in
            ScalarKind(format: try Vocabulary.format(String(name), "--formats", among: FloatFormat.arithmetic))!
        }
    }
}
