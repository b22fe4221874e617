import Foundation
import PrecisionLab

/// Runs `bench/pytorch_models.py` (or a script with its interface) for one model and reads its JSON: PyTorch's
/// seconds per step for each format, measured in the same invocation as the lab's.
enum PyTorchComparison {
    /// The script's seconds per step for `model` in each of `kinds`. Throws an `InputError` naming the script
    /// when it cannot be run, fails (its last line of stderr is quoted), or prints something else than its rows.
    static func secondsPerStep(script: String, python: String, model: String, kinds: [ScalarKind], threads: Int,
                               steps: Int, repetitions: Int) throws -> [ScalarKind: Double] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, script, "--json", "--models", model, "--formats", kinds.map(\.rawValue).joined(separator: ","),
                             "--threads", String(threads), "--steps", String(steps), "--repetitions", String(repetitions)]
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { throw InputError(script, "cannot run \(python): \(error.localizedDescription)") }
        // stderr is drained on another thread, so that neither pipe can fill and stall the script.
        nonisolated(unsafe) var errorText = Data()
        let drained = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            errorText = errors.fileHandleForReading.readDataToEndOfFile()
            drained.signal()
        }
        let text = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        drained.wait()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            let last = String(decoding: errorText, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? "no message"
            throw InputError(script, "\(python) exited with status \(process.terminationStatus): \(last)")
        }
        return try parse(String(decoding: text, as: UTF8.self), script: script, model: model, expected: kinds)
    }

    /// [{"model", "format", "ms_per_step", ...}] → seconds per step by format; every expected format must be there.
    static func parse(_ text: String, script: String, model: String, expected: [ScalarKind]) throws -> [ScalarKind: Double] {
        guard let rows = (try? JSONValue(parsing: text))?.arrayValue else { throw InputError(script, "did not print a JSON array of rows") }
        var seconds = [ScalarKind: Double]()
        for row in rows {
            guard row["model"]?.stringValue == model, let name = row["format"]?.stringValue,
                  let kind = ScalarKind(rawValue: name),
                  let ms = row["ms_per_step"]?.numberValue, ms.isFinite, ms > 0 else {
                throw InputError(script, "a row is not {\"model\": \"\(model)\", \"format\", \"ms_per_step\" > 0}: \(row.compactText)")
            }
            seconds[kind] = ms / 1e3
        }
        for kind in expected where seconds[kind] == nil {
            throw InputError(script, "printed no \(model) \(kind.rawValue) row")
        }
        return seconds
    }
}
