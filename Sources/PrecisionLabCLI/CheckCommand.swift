import ArgumentParser
import Foundation
import PrecisionLab

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check a norm computed by another kernel against the exact norm; the exit code tells CI.",
        discussion: """
        The expected value is rounded to --format (auto: each tensor's own dtype), and its distance from the exact norm correctly rounded to \
        --format is counted in ulps (steps between adjacent values of the format; 0 means correctly rounded). \
        The check passes when that distance is at most --tolerance-ulps; a NaN or inf passes only against the \
        same. Without --tensor the value is checked against the total norm of all F16/BF16/F32/F64 tensors \
        (a one-tensor file: that tensor's norm). --expect-file takes a JSON object {"tensor name": value, ...} \
        (values as numbers or "inf"/"-inf"/"nan"; the key "total" is the total norm unless a tensor has that \
        name). Exit 0 when every check passes, 1 when one fails, 2 for bad input.
        """
    )

    @Argument(help: "A .safetensors or .npy file.")
    var input: String

    @Option(help: "The value to check (decimal, hex float, inf or nan).")
    var expect: String?

    @Option(name: .customLong("expect-file"), help: "A JSON object of expected values by tensor name.")
    var expectFile: String?

    @Option(help: "Check against this tensor's norm (default: the total norm).")
    var tensor: String?

    @Option(help: "Norm order: 1, 2, inf, or any p > 0.")
    var ord = "2"

    @Option(name: .customLong("tolerance-ulps"), help: "Allowed distance in ulps of --format.")
    var toleranceUlps = 0.0

    @Option(help: "Threads: SLURM_CPUS_PER_TASK when set, else one per core.")
    var threads = Parallel.defaultThreads

    @Option(help: "The format the kernel's result is in: f16, bf16, f32, f64 (or another of their names), or auto: each tensor's own dtype (the total norm: torch's promotion of the tensors' dtypes).")
    var format = "f64"

    @Flag(help: "Print one JSON document instead of the table.")
    var json = false

    func validate() throws {
        try Vocabulary.checkThreads(threads)
        _ = try parseOrder(ord)
        guard toleranceUlps.isFinite && toleranceUlps >= 0 else {
            throw ValidationError("--tolerance-ulps must be a finite number >= 0")
        }
        if format != "auto" { _ = try Vocabulary.format(format, "--format", among: FloatFormat.arithmetic) }
        guard (expect == nil) != (expectFile == nil) else {
            throw ValidationError("give exactly one of --expect and --expect-file")
        }
        if let expect, parseNumber(expect) == nil { throw ValidationError("--expect '\(expect)' is not a number") }
        if expectFile != nil && tensor != nil { throw ValidationError("--tensor cannot be combined with --expect-file") }
    }

    func run() throws {
        let order = try parseOrder(ord)
        let inputs = try NormInputs(path: input, tensor: tensor)
        // Each check's tensors, as indices into inputs.tensors.
        var wanted = [(name: String, expected: Double, tensors: [Int])]()
        let all = Array(inputs.tensors.indices)
        if let expect {
            wanted.append((tensor ?? (inputs.tensors.count == 1 ? inputs.tensors[0].name : "total"), parseNumber(expect)!, all))
        } else if let expectFile {
            for (key, value) in try ExpectedValues(path: expectFile).entries {
                if let t = inputs.tensors.firstIndex(where: { $0.name == key }) {
                    wanted.append((key, value, [t]))
                } else if key == "total" {
                    wanted.append((key, value, all))
                } else {
                    throw InputError(expectFile, "names tensor '\(key)', which \(input) has no F16/BF16/F32/F64 tensor of")
                }
            }
        }
        let fixed = format == "auto" ? nil : try Vocabulary.format(format, "--format", among: FloatFormat.arithmetic)
        let results = wanted.map { w -> NormCheck in
            let buffers = w.tensors.map { inputs.tensors[$0].buffer }
            let target = fixed ?? TorchClipping.promoted(buffers.map(\.format))
            let exact = FastExactNorm.norms(of: buffers, order: order, formats: [target], threads: threads,
                                                release: inputs.release(tensors: w.tensors)).values[0]
            return NormCheck(name: w.name, expected: w.expected, exact: exact, format: target, tolerance: toleranceUlps)
        }
        let formatName = fixed?.shortName ?? "auto"
        if json {
            print(JSONValue.object([
                ("ord", order == .infinity ? .string("inf") : .double(order.exponent)),
                ("format", .string(formatName)),
                ("tolerance_ulps", .double(toleranceUlps)),
                ("checks", .array(results.map { r in
                    .object([("name", .string(r.name)), ("format", .string(r.format.shortName)), ("expected", .double(r.expected)), ("exact", .double(r.exact)),
                             ("ulps", .double(r.distance)), ("pass", .bool(r.passed))])
                })),
            ]).prettyText())
        } else {
            let table = TextTable(
                header: ["tensor", "format", "exact", "expected", "ulps", "result"],
                rows: results.map { [$0.name, $0.format.shortName, Figures.exact($0.exact), Figures.exact($0.expected),
                                     Figures.exact($0.distance), $0.passed ? "ok" : "FAIL"] },
                numericColumns: [2, 3, 4])
            let formatText = fixed.map { "in \($0.name)" } ?? "in each tensor's own format"
            print("\(input): \(order)-norm \(formatText), tolerance \(Figures.exact(toleranceUlps)) ulps\n")
            print(table.markdown)
        }
        let failed = results.filter { !$0.passed }
        if !failed.isEmpty {
            throw CheckFailed(description: "\(failed.count) of \(results.count) check(s) out of tolerance: "
                + failed.map { "\($0.name) is \(Figures.exact($0.distance)) ulps from the exact norm" }.joined(separator: "; "))
        }
    }
}

/// One expected value against the exact norm.
struct NormCheck {
    var name: String
    var expected: Double
    var exact: Double
    var format: FloatFormat
    var tolerance: Double

    /// Steps between the expected value rounded to the format and the correctly rounded exact norm.
    var distance: Double { UlpDistance.steps(expected, from: exact, in: format) }
    var passed: Bool { distance <= tolerance }
}
