import Base
import Formats
import Results
import TensorIO
#if canImport(Glibc)
import Glibc
#endif

/// `kernels test`: every selected case of a case directory run through a kernel and judged.
public enum KernelTest {
    /// The cases of `manifest` that `selection` keeps.
    public static func select(_ manifest: KernelManifest, _ selection: KernelExport.Selection) -> [KernelCase] {
        let families = Set(selection.families.map(\.rawValue))
        return manifest.cases.filter {
            selection.reductions.contains($0.reduction) && selection.formats.contains($0.format) && families.contains($0.family)
        }
    }

    /// Runs `runner` `repeats` times on each case and judges it. `progress` hears each case's name.
    public static func run<R: KernelRunner>(_ cases: [KernelCase], directory: String, runner: inout R, repeats: Int,
                                            tolerance: KernelTolerance, progress: (String) -> Void = { _ in }) throws -> [KernelCaseResult] {
        var results = [KernelCaseResult]()
        var opened = [String: KernelInputs]()
        for c in cases {
            progress(c.name)
            let inputs = try opened[c.file] ?? KernelInputs(c, directory: directory)
            opened[c.file] = inputs
            var runs = [Result<[Double], KernelHarnessError>]()
            for _ in 0..<repeats {
                let run = try runner.run(c, inputs: inputs, directory: directory)
                runs.append(run)
                if case .failure = run { break }
            }
            results.append(KernelJudge.judge(c, runs: runs, inputs: inputs, tolerance: tolerance))
        }
        return results
    }

    /// `--batch`: the command runs once per repeat over a manifest of all `cases`, writing `<outdir>/<name>.<ext>`
    /// per case; then each case is judged. The whole batch may take `timeout` seconds per case.
    public static func runBatch(_ cases: [KernelCase], directory: String, template: CommandTemplate, scratch: String,
                                timeout: Double, repeats: Int, tolerance: KernelTolerance) throws -> [KernelCaseResult] {
        let manifestPath = scratch + "/manifest.json"
        try AtomicFile.writeText(path: manifestPath, contents: KernelManifest(root: directory, cases: cases).json.prettyText() + "\n")
        var runs = [[Result<[Double], KernelHarnessError>]](repeating: [], count: cases.count)
        for r in 0..<repeats {
            let outdir = scratch + "/run\(r)"
            mkdir(outdir, 0o755)
            let child = try ChildProcess(template.arguments(["manifest": manifestPath, "outdir": outdir]))
            let failure = CommandRunner.wait(child, timeout: timeout * Double(max(cases.count, 1)), what: "the batch command")
            for (i, c) in cases.enumerated() {
                let found = ["npy", "json", "safetensors"].map { outdir + "/" + c.name + "." + $0 }.first { access($0, F_OK) == 0 }
                if let found {
                    runs[i].append(CommandRunner.read(found, c))
                } else {
                    runs[i].append(.failure(KernelHarnessError(c.name, failure ?? "the batch command wrote no \(c.name).npy, .json or .safetensors")))
                }
            }
        }
        var opened = [String: KernelInputs]()
        return try cases.enumerated().map { i, c in
            let inputs = try opened[c.file] ?? KernelInputs(c, directory: directory)
            opened[c.file] = inputs
            return KernelJudge.judge(c, runs: runs[i], inputs: inputs, tolerance: tolerance)
        }
    }
}
