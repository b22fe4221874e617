import ArgumentParser
import Foundation
import PrecisionLab

struct KernelsTestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run a kernel over every case and judge it against the exact results; the exit code tells CI.",
        discussion: """
        The kernel is a command (--command, one process per case, or --batch: one process for all cases) or a C ABI \
        function in a shared library (--library/--symbol, include/precision_lab_kernel.h), run in a child process so \
        a crash or a hang is a failed case. Placeholders of --command: {input} (the case's .safetensors, tensors x \
        and y), {x} {y} (.npy, with 'kernels export --npy'), {output} (where to write the result: .npy, .safetensors \
        or a JSON number/array, one value per row), {reduction} {dtype} {axis} (none or -1) {rows} {length} {name}; \
        with --batch: {manifest} {outdir} (write <outdir>/<case name>.npy, .json or .safetensors). The template is \
        split into words like a shell would (quotes, backslashes) but no shell runs it. Exit 0 when every case \
        passes, 1 when one fails, 2 when the kernel cannot be run at all or the input is bad.
        """
    )

    @Option(help: "The case directory of 'kernels export' (default: the default cases, exported to a temporary directory).")
    var cases: String?

    @Option(help: "The kernel as a command template (see the discussion).")
    var command: String?

    @Flag(help: "Run --command once over a manifest of all cases ({manifest} {outdir}) instead of once per case.")
    var batch = false

    @Option(help: "A shared library with the kernel: int NAME(const void *x, int64_t n, int32_t dtype, double *out).")
    var library: String?

    @Option(help: "The kernel's symbol in --library.")
    var symbol: String?

    @OptionGroup var selection: KernelSelectionOptions

    @Option(name: .customLong("tolerance-ulps"), help: "Allowed steps between adjacent values of the result's format.")
    var toleranceUlps: Double?

    @Option(help: "bound[:K] (K times the a-priori error bound of the textbook algorithm, default 1) or torch (assert_close's defaults).")
    var tolerance: String?

    @Option(help: "The accumulator format of --tolerance bound (default: f32 for 16-bit inputs, else the input's format).")
    var accumulator: String?

    @Option(help: "Runs of each case; any case whose bits differ between runs fails (run-to-run determinism).")
    var `repeat` = 1

    @Option(name: .customLong("timeout-s"), help: "Seconds a kernel may take on one case before the case fails.")
    var timeoutS = 30.0

    @Option(name: .customLong("output-format"), help: "The extension of {output}: json, npy or safetensors (the kernel's output is read whatever it is).")
    var outputFormat = "json"

    @Option(help: "Write the Markdown report here (and its histogram beside it, <name>-ulps.svg).")
    var out: String?

    @Option(help: "Write JUnit XML here: one testcase per case.")
    var junit: String?

    @Flag(help: "Print one JSON document instead of the table.")
    var json = false

    func validate() throws {
        guard (command == nil) != (library == nil) else { throw ValidationError("give exactly one of --command and --library") }
        guard (library == nil) == (symbol == nil) else { throw ValidationError("--library and --symbol go together") }
        guard !batch || command != nil else { throw ValidationError("--batch needs --command") }
        guard toleranceUlps == nil || tolerance == nil else { throw ValidationError("give --tolerance-ulps or --tolerance, not both") }
        if let toleranceUlps, !(toleranceUlps.isFinite && toleranceUlps >= 0) { throw ValidationError("--tolerance-ulps must be a finite number >= 0") }
        _ = try parsedTolerance()
        guard (1...1000).contains(`repeat`) else { throw ValidationError("--repeat must be between 1 and 1000") }
        guard timeoutS.isFinite && timeoutS > 0 && timeoutS <= 86400 else { throw ValidationError("--timeout-s must be a number of seconds in (0, 86400]") }
        guard ["json", "npy", "safetensors"].contains(outputFormat) else { throw ValidationError("--output-format must be json, npy or safetensors") }
        if let command { _ = try template(command) }
        _ = try selection.selection()
    }

    func template(_ text: String) throws -> CommandTemplate {
        do {
            return try CommandTemplate(text, placeholders: batch ? CommandTemplate.batchPlaceholders : CommandTemplate.casePlaceholders)
        } catch { throw ValidationError(error.description) }
    }

    func parsedTolerance() throws -> KernelTolerance {
        let named = try accumulator.map { try Vocabulary.format($0, "--accumulator", among: FloatFormat.arithmetic) }
        if let toleranceUlps { return .ulps(toleranceUlps) }
        guard let tolerance else { return .bound(1, accumulator: named) }
        if tolerance == "torch" { return .torch }
        let parts = tolerance.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.first == "bound", parts.count <= 2 else { throw ValidationError("--tolerance must be bound, bound:K or torch (got '\(tolerance)')") }
        let k = parts.count == 2 ? Double(parts[1]) : 1
        guard let k, k.isFinite, k >= 0 else { throw ValidationError("--tolerance bound:K needs a finite K >= 0 (got '\(tolerance)')") }
        return .bound(k, accumulator: named)
    }

    /// Long: the case directory (exported on the fly when not given), the runner, the run, then the outputs.
    func run() throws {
        for path in [out, junit].compactMap({ $0 }) { try checkOutputPath(path) }
        let started = ContinuousClock.now
        let chosen = try selection.selection()
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("precision-lab-kernels-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let directory: String
        let manifest: KernelManifest
        if let cases {
            directory = URL(fileURLWithPath: cases).standardizedFileURL.path
            let path = directory + "/manifest.json"
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw InputError(path, "cannot be read (is \(cases) a directory written by 'kernels export'?)") }
            do { manifest = try KernelManifest(parsing: text, path: path) } catch { throw InputError(error.description) }
        } else {
            directory = scratch + "/cases"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            Terminal.progress("exporting the cases...")
            manifest = try KernelExport.write(to: directory, selection: chosen, npy: command != nil) { Terminal.progress("exporting the cases: \($0)...") }
        }
        let selected = KernelTest.select(manifest, chosen)
        guard !selected.isEmpty else { throw InputError(directory + "/manifest.json", "has no case of the selected reductions, formats and families") }
        let tolerance = try parsedTolerance()
        let results: [KernelCaseResult]
        do {
            if let command, batch {
                results = try KernelTest.runBatch(selected, directory: directory, template: try template(command), scratch: scratch,
                                                  timeout: timeoutS, repeats: `repeat`, tolerance: tolerance)
            } else if let command {
                var runner = CommandRunner(template: try template(command), timeout: timeoutS, scratch: scratch, outputExtension: outputFormat)
                results = try KernelTest.run(selected, directory: directory, runner: &runner, repeats: `repeat`, tolerance: tolerance) { Terminal.progress("kernel: \($0)...") }
            } else {
                let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
                var runner = LibraryRunner(library: library!, symbol: symbol!, timeout: timeoutS, executable: executable)
                results = try KernelTest.run(selected, directory: directory, runner: &runner, repeats: `repeat`, tolerance: tolerance) { Terminal.progress("kernel: \($0)...") }
            }
        } catch let error as KernelHarnessError {
            throw InputError(error.description)
        }
        Terminal.endProgress()
        let elapsed = (ContinuousClock.now - started).components
        let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18
        let kernel = command ?? "\(library!) \(symbol!)"
        let run = KernelTestRun(kernel: kernel, tolerance: tolerance, repeats: `repeat`, casesDirectory: cases ?? "", results: results, seconds: seconds)
        try write(run)
        if !run.allPassed { throw CheckFailed(description: "\(run.failedCount) of \(run.results.count) kernel cases failed") }
    }

    func write(_ run: KernelTestRun) throws {
        if let out {
            let svgName = (URL(fileURLWithPath: out).deletingPathExtension().lastPathComponent) + "-ulps.svg"
            let svgPath = URL(fileURLWithPath: out).deletingLastPathComponent().appendingPathComponent(svgName).path
            let bounds = Set(run.results.map(\.reduction)).sorted { $0.rawValue < $1.rawValue }.map { ($0, KernelBounds.formula($0)) }
            try AtomicFile.writeText(path: svgPath, contents: KernelReport.histogramSVG(run.results))
            try AtomicFile.writeText(path: out, contents: KernelReport.markdown(run, histogramFile: svgName, bounds: bounds))
        }
        if let junit { try AtomicFile.writeText(path: junit, contents: KernelReport.junit(run)) }
        if json {
            print(KernelReport.json(run).prettyText())
            return
        }
        print(KernelReport.summaryTable(run.results).plain, terminator: "")
        let failed = run.results.filter { !$0.passed }
        for f in failed.prefix(20) { print("FAIL " + escapingControlCharacters(f.failure ?? f.name)) }
        if failed.count > 20 { print("… and \(failed.count - 20) more failed cases (every one is in --json, --junit and --out)") }
        print("\(run.results.count - run.failedCount) of \(run.results.count) cases passed (tolerance: \(run.tolerance.description))")
    }
}
