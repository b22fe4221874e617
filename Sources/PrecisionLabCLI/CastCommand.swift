import ArgumentParser
import Foundation
import PrecisionLab

struct CastCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cast",
        abstract: "Convert every tensor of a .safetensors or .npy file to another format, and say what it cost.",
        discussion: """
        Rounds to nearest, ties to even, once, from the source value: numpy's semantics, and ml_dtypes' for \
        Float32 sources. ml_dtypes and PyTorch round Float64 sources to Float32 first (two roundings), which \
        --via-f32 reproduces. Past the largest finite value a result \
        becomes inf, or NaN in e4m3 (no inf); --saturate clamps to ±largest finite instead. Names, shapes and \
        metadata are kept; integer tensors are copied unchanged. The output format follows the extension of \
        --out; bf16, e4m3 and e5m2 can only be written to .safetensors. Prints, per tensor, how many values became \
        inf or NaN, were flushed to zero or became subnormal, and the largest relative rounding error.
        """
    )

    @Argument(help: "The input: a .safetensors or .npy file.")
    var input: String

    @Option(help: "The target format: f16, bf16, f32, f64, e4m3 or e5m2 (or another of their names: fp16, half, bfloat16, float8_e4m3fn, ...).")
    var format: String?

    @Option(name: .customLong("to"), help: .hidden) var oldTo: String?

    @Option(name: .long, help: "The output file (.safetensors or .npy); written atomically.")
    var out: String

    @Flag(name: .long, help: "Clamp overflow and ±inf to ±largest finite instead of inf/NaN.")
    var saturate = false

    @Flag(name: .customLong("via-f32"), help: "Round Float64 values to Float32 first (ml_dtypes and PyTorch behaviour).")
    var viaFloat32 = false

    @Flag(name: .long, help: "Print one JSON document instead of the table.")
    var json = false

    /// The target format, from --format (or the old --to).
    func target() throws -> FloatFormat {
        if format != nil && oldTo != nil { throw ValidationError("give --format or its old spelling --to, not both") }
        guard let name = format ?? oldTo else { throw ValidationError("name the target format with --format (f16, bf16, f32, f64, e4m3 or e5m2)") }
        return try Vocabulary.format(name, format == nil ? "--to" : "--format", among: FloatFormat.all)
    }

    func validate() throws {
        let format = try target()
        guard let outFormat = try? TensorFileFormat(path: out) else {
            throw ValidationError("--out '\(out)' must end in .safetensors or .npy")
        }
        if outFormat == .npy && TensorDType(format: format)?.npyDescr == nil {
            throw ValidationError("\(format.shortName) cannot be stored in .npy (numpy has no \(format.name)); write .safetensors")
        }
        Deprecated.note(oldTo, "--to", use: "--format")
    }

    func run() throws {
        let target = try target()
        let dtype = TensorDType(format: target)!  // every format of FloatFormat.all has a dtype
        let file = try TensorFile(path: input)
        let outFormat = try TensorFileFormat(path: out)
        if outFormat == .npy && file.tensors.count != 1 {
            throw InputError(input, "has \(file.tensors.count) tensors but a .npy file holds exactly one; write .safetensors")
        }
        if outFormat == .npy, let other = file.tensors.first(where: { !$0.dtype.isFloatingPoint }) {
            throw InputError(input, "tensor '\(other.name)' has dtype \(other.dtype.rawValue), which .npy output does not support")
        }
        let caster = TensorCaster(target: target, saturating: saturate, viaFloat32: viaFloat32)
        // npy keeps Fortran order as it is; safetensors is always C order, so Fortran data is transposed.
        let specs = file.tensors.map { view in
            TensorSpec(name: view.name, dtype: view.dtype.isFloatingPoint ? dtype : view.dtype,
                       shape: view.shape, fortranOrder: outFormat == .npy && view.fortranOrder)
        }
        var statistics = [CastStatistics](repeating: CastStatistics(), count: file.tensors.count)
        let total = max(1, file.tensors.reduce(0) { $0 + $1.count })
        var done = 0
        try TensorWriter.write(path: out, format: outFormat, tensors: specs, metadata: file.metadata) { index, offset, chunk in
            let view = file.tensors[index]
            defer {
                done += chunk.count / specs[index].dtype.byteSize
                Terminal.progress("cast: \(view.name) (\(index + 1)/\(specs.count)), \(100 * done / total)%")
            }
            guard view.dtype.isFloatingPoint else {
                let start = offset * view.dtype.byteSize
                chunk.copyMemory(from: UnsafeRawBufferPointer(rebasing: view.bytes[start..<start + chunk.count]))
                return
            }
            let count = chunk.count / specs[index].dtype.byteSize
            let rowMajor = outFormat == .safetensors
            caster.convert(view, range: offset..<offset + count, rowMajor: rowMajor, into: chunk, statistics: &statistics[index])
            if !(rowMajor && view.fortranOrder) { file.releasePages(of: view, elements: offset..<offset + count) }
        }
        Terminal.endProgress()
        let rows = zip(file.tensors, statistics).map { CastReport.Row(view: $0, statistics: $1) }
        let report = CastReport(input: input, output: out, target: target, saturating: saturate, viaFloat32: viaFloat32, rows: rows)
        print(json ? report.json.prettyText(indent: 2) : report.table, terminator: json ? "\n" : "")
    }
}

/// What `cast` prints: computed by `run`, rendered here.
struct CastReport {
    struct Row {
        var view: TensorView
        var statistics: CastStatistics
    }
    var input: String, output: String
    var target: FloatFormat
    var saturating: Bool, viaFloat32: Bool
    var rows: [Row]

    static func shape(_ s: [Int]) -> String { "[" + s.map(String.init).joined(separator: ", ") + "]" }

    var table: String {
        var text = "\(input) -> \(output): \(target.name), round to nearest even"
        text += saturating ? ", saturating" : ""
        text += viaFloat32 ? ", Float64 through Float32" : ""
        text += "\n\n"
        let table = TextTable(
            header: ["tensor", "shape", "from", "values", "->inf", "->nan", "->0", "subnormal", "saturated", "max rel error", "at"],
            rows: rows.map { row in
                let s = row.statistics
                guard row.view.dtype.isFloatingPoint else {
                    return [row.view.name, Self.shape(row.view.shape), row.view.dtype.rawValue, "\(row.view.count)",
                            "", "", "", "", "", "copied", ""]
                }
                return [row.view.name, Self.shape(row.view.shape), row.view.dtype.rawValue, "\(s.count)",
                        "\(s.becameInfinite)", "\(s.becameNaN)", "\(s.flushedToZero)", "\(s.becameSubnormal)", "\(s.saturated)",
                        Figures.significant(s.maxRelativeError, 3), s.maxRelativeErrorIndex.map(String.init) ?? "-"]
            },
            numericColumns: Set(3...10))
        return text + table.plain
    }

    var json: JSONValue {
        .object([
            ("input", .string(input)), ("output", .string(output)), ("to", .string(target.shortName)),
            ("saturate", .bool(saturating)), ("via_f32", .bool(viaFloat32)),
            ("tensors", .array(rows.map { row in
                let s = row.statistics
                return .object([
                    ("name", .string(row.view.name)), ("shape", .array(row.view.shape.map(JSONValue.integer))),
                    ("dtype_in", .string(row.view.dtype.rawValue)),
                    ("dtype_out", .string(row.view.dtype.isFloatingPoint ? TensorDType(format: target)!.rawValue : row.view.dtype.rawValue)),
                    ("count", .integer(row.view.count)), ("became_inf", .integer(s.becameInfinite)), ("became_nan", .integer(s.becameNaN)),
                    ("flushed_to_zero", .integer(s.flushedToZero)), ("became_subnormal", .integer(s.becameSubnormal)),
                    ("saturated", .integer(s.saturated)), ("nonfinite_in", .integer(s.nonFiniteInputs)),
                    ("max_relative_error", .double(s.maxRelativeError)),
                    ("max_relative_error_index", s.maxRelativeErrorIndex.map(JSONValue.integer) ?? .null),
                ])
            })),
        ])
    }
}
