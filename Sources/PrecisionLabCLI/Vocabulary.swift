import ArgumentParser
import PrecisionLab

/// The words every command shares: format names (every alias FloatFormat knows, in every command) and old
/// spellings of flags.
enum Vocabulary {
    /// A format by any of its names (f16, fp16, half, float16, bf16, e4m3, ...), among `allowed`.
    static func format(_ text: String, _ flag: String, among allowed: [FloatFormat]) throws -> FloatFormat {
        guard let format = FloatFormat(named: text), allowed.contains(format) else {
            throw ValidationError("\(flag) '\(text)' is not one of \(allowed.map(\.shortName).joined(separator: ", ")) (or another name of one: fp16, half, float32, ...)")
        }
        return format
    }

    /// The one thread cap of every command: 1 to 256.
    static let threadRange = 1...256

    static func checkThreads(_ threads: Int) throws {
        guard threadRange.contains(threads) else {
            throw ValidationError("--threads must be between \(threadRange.lowerBound) and \(threadRange.upperBound) (got \(threads))")
        }
    }
}

/// Old spellings of flags: they keep working for one release, with a note on stderr.
enum Deprecated {
    static func note(_ value: (some Any)?, _ old: String, use new: String) {
        if value != nil { Terminal.stderr("precision-lab: \(old) is deprecated and goes away in the next release; use \(new)") }
    }

    /// The value of a setting given by its name or by its old one (an error when both are given).
    static func either(_ value: String, default: String, old: String?, _ name: String, _ oldName: String) throws -> String {
        guard let old else { return value }
        guard value == `default` else { throw ValidationError("give \(name) or its old spelling \(oldName), not both") }
        return old
    }
}
