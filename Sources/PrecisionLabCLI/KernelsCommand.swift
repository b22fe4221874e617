import ArgumentParser
import Foundation
import PrecisionLab

struct KernelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "Regression-test reduction kernels: export adversarial cases with exact answers, run any kernel on them, judge it.",
        subcommands: [KernelsExportCommand.self, KernelsTestCommand.self, KernelsWorkerCommand.self]
    )
}

/// The case selection both subcommands share.
struct KernelSelectionOptions: ParsableArguments {
    @Option(help: "Reductions, comma-separated: \(KernelReduction.allCases.map(\.rawValue).joined(separator: ",")) (amax = norminf). Default: all.")
    var reductions: String?

    @Option(help: "Formats, comma-separated: f16,bf16,f32,f64 (or other names of them). Default: all four.")
    var formats: String?

    @Option(help: "Families, comma-separated: \(KernelFamily.allCases.map(\.rawValue).joined(separator: ",")). Default: all.")
    var families: String?

    @Option(help: "Elements of each 1-D family's input (default: the families' own, 1024-4096; rows and lengths keep theirs). Inputs of 2^20 elements or more are reduced streaming from the memory-mapped file.")
    var length: Int?

    func selection() throws -> KernelExport.Selection {
        if let length, !(1...(1 << 31)).contains(length) { throw ValidationError("--length must be between 1 and 2^31") }
        func list<T>(_ text: String?, _ flag: String, all: [T], _ parse: (String) -> T?) throws -> [T] {
            guard let text else { return all }
            let items = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard !items.isEmpty else { throw ValidationError("\(flag) is empty") }
            return try items.map { item in
                guard let value = parse(item) else { throw ValidationError("\(flag): unknown '\(item)'") }
                return value
            }
        }
        return KernelExport.Selection(
            reductions: try list(reductions, "--reductions", all: KernelReduction.allCases, KernelReduction.init(name:)),
            formats: try list(formats, "--formats", all: FloatFormat.arithmetic) { name in
                FloatFormat(named: name).flatMap { FloatFormat.arithmetic.contains($0) ? $0 : nil }
            },
            families: try list(families, "--families", all: KernelFamily.allCases, KernelFamily.init(rawValue:)), length: length)
    }
}

struct KernelsExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the adversarial cases as .safetensors (and .npy) files with DIR/manifest.json of exact results.",
        discussion: """
        Each family and format gives one .safetensors file with tensors x and y (y is the second input of dot). \
        manifest.json lists every case: its file, tensors, reduction, axis (null: the whole tensor; -1: each row) and \
        the exact result of each row, correctly rounded to the case's dtype (hex float and decimal) and to 30 digits.
        """
    )

    @Argument(help: "The directory to write into (created if missing; its parent must exist).")
    var directory: String

    @OptionGroup var selection: KernelSelectionOptions

    @Flag(help: "Also write each input as .npy (x and y; not for bf16, which numpy cannot store).")
    var npy = false

    @Option(help: "Threads: SLURM_CPUS_PER_TASK when set, else one per core.")
    var threads = Parallel.defaultThreads

    func validate() throws {
        try Vocabulary.checkThreads(threads)
        _ = try selection.selection()
    }

    func run() throws {
        try KernelsCommand.makeDirectory(directory)
        let manifest = try KernelExport.write(to: directory, selection: try selection.selection(), npy: npy, threads: threads) {
            Terminal.progress("export: \($0)...")
        }
        Terminal.endProgress()
        let files = Set(manifest.cases.map(\.file)).count
        print("wrote \(manifest.cases.count) cases over \(files) input files to \(directory)/manifest.json")
    }
}

extension KernelsCommand {
    static func makeDirectory(_ path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw InputError(path, "exists and is not a directory") }
            return
        }
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false) } catch {
            throw InputError(path, "cannot create the directory (does its parent exist?)")
        }
    }
}

struct KernelsWorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker", abstract: "The child process that runs a C ABI kernel for 'kernels test --library'.", shouldDisplay: false)

    @Option var library: String
    @Option var symbol: String

    func run() throws {
        throw ExitCode(KernelWorker.serve(library: library, symbol: symbol))
    }
}
