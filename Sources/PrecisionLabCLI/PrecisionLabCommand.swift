import ArgumentParser
import PrecisionLab
#if canImport(Glibc)
import Glibc
#endif

/// The root command: configuration only.
struct PrecisionLabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "precision-lab",
        abstract: "A mixed-precision numerics lab: formats, exact references, exact norms and reduction algorithms, tensor files, training, loss scalers, training runs and strategy-comparison suites.",
        discussion: """
        Exit codes: 0 success; 1 a check failed; 2 bad usage or unreadable input (one line on stderr).
        """,
        version: PrecisionLabVersion.string,
        subcommands: [ReportCommand.self, FormatsCommand.self, CastCommand.self, NormCommand.self, CheckCommand.self, BenchCommand.self,
                      ScalerCommand.self, ClipCommand.self, TrainCommand.self, SuiteCommand.self, KernelsCommand.self]
    )
}

enum PrecisionLabVersion {
    static let string = "0.1.0"
}

/// A run whose checks failed: exit code 1, with the message on stderr.
struct CheckFailed: Error, CustomStringConvertible {
    var description: String
}

/// Input that cannot be used: exit code 2, one line naming the file and the problem.
struct InputError: Error, CustomStringConvertible {
    var description: String
    init(_ path: String, _ problem: String) { description = "\(path): \(problem)" }
    /// A message that already names its file.
    init(_ message: String) { description = message }
}

@main
enum Main {
    static func main() {
        do {
            var command = try PrecisionLabCommand.parseAsRoot(joiningNegativeValues(Array(CommandLine.arguments.dropFirst())))
            try command.run()
        } catch let error as TensorIOError {
            fail(error.description, code: 2)
        } catch let error as InputError {
            fail(error.description, code: 2)
        } catch let error as CheckFailed {
            fail(error.description, code: 1)
        } catch {
            let code = PrecisionLabCommand.exitCode(for: error)
            if code == .success {
                PrecisionLabCommand.exit(withError: error)  // --help, --version
            }
            // Usage errors: ArgumentParser's message (which may span lines with a usage hint), exit code 2.
            let message = PrecisionLabCommand.fullMessage(for: error)
            fail(message.split(separator: "\n").first.map(String.init) ?? message, code: 2,
                 hint: "see 'precision-lab --help'")
        }
    }

    /// `--max-norm -1` as `--max-norm=-1`: ArgumentParser reads a separate "-1" as an option and reports a missing value,
    /// where the user meant a (wrong, or valid) negative number that the command's own check should judge. An option
    /// followed by a negative number (or -inf) takes it as its value; `--` ends the options.
    static func joiningNegativeValues(_ arguments: [String]) -> [String] {
        var out = [String](), k = 0
        while k < arguments.count {
            let a = arguments[k]
            if a == "--" { out += arguments[k...]; break }
            if a.hasPrefix("--"), !a.contains("="), k + 1 < arguments.count, isNegativeNumber(arguments[k + 1]) {
                out.append(a + "=" + arguments[k + 1])
                k += 2
                continue
            }
            out.append(a)
            k += 1
        }
        return out
    }

    static func isNegativeNumber(_ text: String) -> Bool {
        guard text.hasPrefix("-"), text.count > 1 else { return false }
        let rest = text.dropFirst().lowercased()
        return rest == "inf" || rest == "infinity" || Double(rest) != nil
    }

    static func fail(_ message: String, code: Int32, hint: String? = nil) -> Never {
        // Paths and tensor names come from the user's files: escape control characters to keep one line.
        // ArgumentParser's messages start with "Error: "; only that prefix goes (a quoted "ModuleNotFoundError: " stays).
        let text = message.hasPrefix("Error: ") ? String(message.dropFirst("Error: ".count)) : message
        var line = "precision-lab: error: " + escapingControlCharacters(text)
        if let hint { line += " (\(hint))" }
        Terminal.stderr(line)
        exit(code)
    }
}
