import Base
import Formats
import Reference
import Results

/// `manifest.json` of an exported case directory: every case's file, tensors, reduction, axis and exact results,
/// so that a kernel in any language can be tested with no lab at hand.
///
/// ```
/// {"format": "precision-lab-kernel-cases", "version": 1, "root": "/abs/dir", "dtype_codes": {"f16": 1, ...},
///  "cases": [{"name": "norm2.overflow-squares.f16", "reduction": "norm2", "family": "overflow-squares",
///             "dtype": "f16", "file": "overflow-squares-f16.safetensors", "npy": {"x": "overflow-squares-f16.x.npy"},
///             "inputs": ["x"], "shape": [4096], "axis": null, "length": 4096,
///             "expected": [{"hex": "0x1.ffcp+15", "decimal": "65504", "exact": "65503.9..."}]}]}
/// ```
/// `file` and `npy` are relative to the manifest's directory (`root` is where it was written); `expected` has one
/// entry per result: `hex` and `decimal` are the exact value correctly rounded to `dtype`, `exact` the exact value
/// to 30 significant digits (for inputs of 2^20 elements or more, often the exact value correctly rounded to Float64:
/// see `KernelStreaming`). Non-finite values are the strings "inf", "-inf", "nan".
public struct KernelManifest: Sendable {
    public static let formatName = "precision-lab-kernel-cases"
    public var root: String
    public var cases: [KernelCase]

    public init(root: String, cases: [KernelCase]) {
        self.root = root
        self.cases = cases
    }

    /// The C ABI's dtype codes (include/precision_lab_kernel.h).
    public static let dtypeCodes: [(FloatFormat, Int32)] = [(.float16, 1), (.bfloat16, 2), (.float32, 3), (.float64, 4)]
    public static func dtypeCode(_ format: FloatFormat) -> Int32 { dtypeCodes.first { $0.0 == format }!.1 }

    public var json: JSONValue {
        .object([
            ("format", .string(Self.formatName)), ("version", .integer(1)), ("root", .string(root)),
            ("dtype_codes", .object(Self.dtypeCodes.map { ($0.0.shortName, .integer(Int($0.1))) })),
            ("cases", .array(cases.map(Self.json))),
        ])
    }

    static func json(_ c: KernelCase) -> JSONValue {
        .object([
            ("name", .string(c.name)), ("reduction", .string(c.reduction.rawValue)), ("family", .string(c.family)),
            ("dtype", .string(c.format.shortName)), ("file", .string(c.file)),
            ("npy", .object(c.npy.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
            ("inputs", .array(c.inputs.map { .string($0) })), ("shape", .array(c.shape.map { .integer($0) })),
            ("axis", c.axis.map { .integer($0) } ?? .null), ("length", .integer(c.length)),
            ("expected", .array(c.expected.map { e in
                .object([("hex", .string(hexText(e.rounded))), ("decimal", .string(Figures.exact(e.rounded))), ("exact", .string(e.exact))])
            })),
        ])
    }

    /// A Double in C99 hexadecimal notation (exact), or "inf", "-inf", "nan".
    public static func hexText(_ x: Double) -> String { Figures.nonFinite(x) ?? BigFloat(x).hexString }

    /// Parses a manifest; `path` names it in errors.
    public init(parsing text: String, path: String) throws(KernelHarnessError) {
        let document: JSONValue
        do { document = try JSONValue(parsing: text) } catch { throw KernelHarnessError(path, "not JSON: \(error)") }
        guard document["format"]?.stringValue == Self.formatName else {
            throw KernelHarnessError(path, "not a kernel case manifest (\"format\" is not \"\(Self.formatName)\")")
        }
        guard document["version"]?.intValue == 1 else { throw KernelHarnessError(path, "has \"version\" \(document["version"]?.compactText ?? "missing"); this lab reads version 1") }
        guard let items = document["cases"]?.arrayValue else { throw KernelHarnessError(path, "has no \"cases\" array") }
        root = document["root"]?.stringValue ?? ""
        cases = []
        var names = Set<String>()
        for (i, item) in items.enumerated() {
            let c = try Self.parseCase(item, index: i, path: path)
            guard names.insert(c.name).inserted else { throw KernelHarnessError(path, "case \(c.name) appears twice (names must be unique: outputs are named after them)") }
            cases.append(c)
        }
    }

    /// Long: one case object, every field checked (a hand-edited manifest gets a message naming the case and field).
    static func parseCase(_ item: JSONValue, index: Int, path: String) throws(KernelHarnessError) -> KernelCase {
        let label = item["name"]?.stringValue ?? "#\(index)"
        func fail(_ problem: String) -> KernelHarnessError { KernelHarnessError(path, "case \(label): \(problem)") }
        guard let name = item["name"]?.stringValue, !name.isEmpty, !name.contains("/") else { throw fail("needs a \"name\" without '/'") }
        guard let reduction = item["reduction"]?.stringValue.flatMap(KernelReduction.init(name:)) else { throw fail("unknown \"reduction\"") }
        guard let dtype = item["dtype"]?.stringValue, let format = FloatFormat.arithmetic.first(where: { $0.shortName == dtype }) else {
            throw fail("\"dtype\" must be f16, bf16, f32 or f64")
        }
        func inside(_ file: String) -> Bool { !file.isEmpty && !file.hasPrefix("/") && !file.split(separator: "/").contains("..") }
        guard let file = item["file"]?.stringValue, inside(file) else { throw fail("needs a \"file\" inside the manifest's directory (a relative path without '..')") }
        guard let inputs = item["inputs"]?.arrayValue?.compactMap(\.stringValue), inputs.count == reduction.inputNames.count else {
            throw fail("\"inputs\" must name \(reduction.inputNames.count) tensor(s)")
        }
        guard let shape = item["shape"]?.arrayValue?.compactMap(\.intValue), !shape.isEmpty, shape.allSatisfy({ $0 > 0 }) else {
            throw fail("\"shape\" must be a non-empty array of positive integers")
        }
        let axis: Int?
        switch item["axis"] {
        case nil, .null?: axis = nil
        case let value?:
            guard value.intValue == -1, shape.count == 2 else { throw fail("\"axis\" must be null, or -1 with a 2-D shape") }
            axis = -1
        }
        var npy = [String: String]()
        for (key, value) in item["npy"]?.objectValue ?? [] {
            guard let name = value.stringValue, inside(name) else { throw fail("an \"npy\" file must be a relative path inside the manifest's directory") }
            npy[key] = name
        }
        guard let list = item["expected"]?.arrayValue else { throw fail("needs an \"expected\" array") }
        var expected = [KernelExpected]()
        for entry in list {
            guard let hex = entry["hex"]?.stringValue, let value = parseFloat(hex) else { throw fail("an expected \"hex\" is not a number") }
            if let decimal = entry["decimal"]?.stringValue, let d = parseFloat(decimal), d.bitPattern != value.bitPattern, !(d.isNaN && value.isNaN) {
                throw fail("an expected \"decimal\" (\(decimal)) is not the \"hex\" (\(hex))")
            }
            expected.append(KernelExpected(rounded: value, exact: entry["exact"]?.stringValue ?? hex))
        }
        let made = KernelCase(name: name, reduction: reduction, family: item["family"]?.stringValue ?? "", format: format, file: file,
                              npy: npy, inputs: inputs, shape: shape, axis: axis, expected: expected)
        guard expected.count == made.resultCount else { throw fail("has \(expected.count) expected values for \(made.resultCount) result(s)") }
        return made
    }

    /// A number as the lab writes it (`Figures.parse`).
    public static func parseFloat(_ text: String) -> Double? { Figures.parse(text) }
}

/// A problem with the harness's inputs or the kernel: one line naming the file (or kernel) and the problem.
public struct KernelHarnessError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ path: String, _ problem: String) { description = "\(path): \(problem)" }
}
