import Base
import Formats
import Results
import TensorIO

/// A case's inputs read back from its file: the values (for bounds and checks) and the raw bytes (for the C ABI).
public struct KernelInputs {
    public let file: TensorFile
    public let x: TensorView
    public let y: TensorView?

    /// Opens the case's file under `directory` and checks that it holds what the manifest says.
    public init(_ c: KernelCase, directory: String) throws(KernelHarnessError) {
        let path = directory + "/" + c.file
        do { file = try TensorFile(path: path, format: .safetensors) } catch { throw KernelHarnessError(path, error.message) }
        var views = [TensorView]()
        for name in c.inputs {
            guard let view = file.tensor(named: name) else { throw KernelHarnessError(path, "has no tensor '\(name)' (case \(c.name))") }
            guard view.dtype.format == c.format, view.shape == c.shape else {
                throw KernelHarnessError(path, "tensor '\(name)' is \(view.dtype.rawValue) \(view.shape), the manifest says \(c.format.shortName) \(c.shape) (case \(c.name))")
            }
            views.append(view)
        }
        x = views[0]
        y = views.count > 1 ? views[1] : nil
    }

    /// Elements `range` of a view as exact Doubles.
    public static func values(_ view: TensorView, _ range: Range<Int>) -> [Double] { range.map { view.value(at: $0) } }
}

extension String {
    var trimmingBlanks: String {
        let blanks: Set<Character> = [" ", "\n", "\t", "\r"]
        return String(drop { blanks.contains($0) }.reversed().drop { blanks.contains($0) }.reversed())
    }
}

/// Reads what a kernel wrote: `.npy` (by its magic), `.safetensors` (by its header; the first tensor), or JSON (a
/// number or an array of numbers, non-finite values as "inf", "-inf", "nan"); every value as a Double.
public enum KernelOutput {
    /// The values in `path`, or a one-line reason why they cannot be read.
    public static func read(path: String) -> Result<[Double], KernelHarnessError> {
        let mapping: MappedFile
        do { mapping = try MappedFile(path: path) } catch { return .failure(KernelHarnessError(path, "no output: \(error.message)")) }
        return parse(mapping.bytes, path: path)
    }

    public static func parse(_ bytes: UnsafeRawBufferPointer, path: String) -> Result<[Double], KernelHarnessError> {
        guard !bytes.isEmpty else { return .failure(KernelHarnessError(path, "the output is empty")) }
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]
        if bytes.count >= 6 && Array(bytes[0..<6]) == magic { return tensorValues(bytes, path: path, format: .npy) }
        if bytes.count >= 9 && bytes[8] == UInt8(ascii: "{") {
            let length = bytes.loadUnaligned(as: UInt64.self)
            if length >= 2 && length <= UInt64(bytes.count - 8) { return tensorValues(bytes, path: path, format: .safetensors) }
        }
        // A number or a flat array of numbers, read leniently: Python's json writes NaN and Infinity bare, C's
        // printf writes inf, nan and hex floats; quoted "inf", "-inf", "nan" are the lab's own spelling.
        var text = String(decoding: bytes, as: UTF8.self).trimmingBlanks
        let isArray = text.hasPrefix("[")
        if isArray {
            guard text.hasSuffix("]") else { return .failure(KernelHarnessError(path, "the output is not .npy, .safetensors or JSON (an array without its ']')")) }
            text = String(text.dropFirst().dropLast())
        }
        let items = text.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingBlanks }
        if isArray && items == [""] { return .success([]) }
        var values = [Double]()
        for (i, item) in items.enumerated() {
            let unquoted = item.count >= 2 && item.hasPrefix("\"") && item.hasSuffix("\"") ? String(item.dropFirst().dropLast()) : item
            guard let v = KernelManifest.parseFloat(unquoted) else {
                let what = isArray ? "item \(i) (\(item.prefix(40)))" : "'\(item.prefix(40))'"
                return .failure(KernelHarnessError(path, "the output is not .npy, .safetensors or JSON numbers: \(what) is not a number"))
            }
            values.append(v)
        }
        return .success(values)
    }

    static func tensorValues(_ bytes: UnsafeRawBufferPointer, path: String, format: TensorFileFormat) -> Result<[Double], KernelHarnessError> {
        do {
            let parsed = try TensorFile.parse(bytes: bytes, path: path, format: format)
            guard let view = parsed.tensors.first else { return .failure(KernelHarnessError(path, "the output holds no tensor")) }
            guard view.dtype.isFloatingPoint else { return .failure(KernelHarnessError(path, "the output tensor is \(view.dtype.rawValue), not a floating-point dtype")) }
            return .success((0..<view.count).map { view.value(at: $0) })
        } catch {
            return .failure(KernelHarnessError(path, error.message))
        }
    }
}
