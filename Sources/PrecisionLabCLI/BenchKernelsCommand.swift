import ArgumentParser
import Foundation
import PrecisionLab

struct BenchKernelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "Speed of the kernel harness's exact references on long inputs, next to the exact norm and a streaming read.",
        discussion: """
        For each format one array of --size seeded values (and a second, the y of dot) is reduced by each streaming \
        exact reference of 'kernels export' (inputs of 2^20 elements or more), by the correctly rounded 2-norm \
        ("exact norm") and read once ("read"), round-robin; medians of --repetitions runs after a warm-up.
        """
    )

    @Option(help: "Elements per array (100000000 = 10^8).")
    var size = 100_000_000

    @Option(help: "Input formats, comma-separated: f16, bf16, f32, f64.")
    var formats = "f16,bf16,f32,f64"

    @Option(help: "Timed runs per measurement (the median is reported).")
    var repetitions = 3

    @Option(help: "Threads: SLURM_CPUS_PER_TASK when set, else one per core.")
    var threads = Parallel.defaultThreads

    func validate() throws {
        guard size >= 1 && size <= 1 << 31 else { throw ValidationError("--size must be between 1 and 2^31") }
        guard repetitions >= 1 && repetitions <= 1000 else { throw ValidationError("--repetitions must be between 1 and 1000") }
        try Vocabulary.checkThreads(threads)
    }

    func run() throws {
        let chosen = try formats.split(separator: ",").map { try Vocabulary.format(String($0), "--formats", among: FloatFormat.arithmetic) }
        let streamed = KernelReduction.allCases.filter { $0 != .logsumexp && $0 != .softmaxDenominator }
        let rows = KernelBenchmark.run(count: size, formats: chosen, reductions: streamed, repetitions: repetitions, threads: threads) {
            Terminal.progress("bench: \($0)")
        }
        Terminal.endProgress()
        print("Exact references of \(size) elements, \(threads) thread(s); ratios against the exact 2-norm and the streaming read of the same array\n")
        var table = TextTable(header: ["format", "reference", "ms", "× exact norm", "× read"], numericColumns: [2, 3, 4])
        for row in rows {
            let norm = rows.first { $0.format == row.format && $0.name == "exact norm" }!.seconds
            let read = rows.first { $0.format == row.format && $0.name == "read" }!.seconds
            table.rows.append([row.format.shortName, row.name, Figures.significant(row.seconds * 1000, 3), Figures.fixed(row.seconds / norm, 2), Figures.fixed(row.seconds / read, 2)])
        }
        print(table.markdown)
    }
}
