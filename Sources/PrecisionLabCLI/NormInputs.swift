import ArgumentParser
import PrecisionLab

/// The tensors of a file that norms apply to: the named one, or every Float16/BFloat16/Float32/Float64 tensor.
struct NormInputs {
    let file: TensorFile
    let tensors: [(name: String, dtype: String, buffer: FloatBuffer)]

    init(path: String, tensor: String?) throws {
        file = try TensorFile(path: path)
        var selected = [(name: String, dtype: String, buffer: FloatBuffer)]()
        for view in file.tensors where tensor == nil || view.name == tensor {
            guard let format = view.dtype.format, FloatFormat.arithmetic.contains(format) else {
                if tensor != nil {
                    throw InputError(path, "tensor '\(view.name)' has dtype \(view.dtype.rawValue); norms need F16, BF16, F32 or F64 (cast it first)")
                }
                continue
            }
            selected.append((view.name, view.dtype.rawValue,
                             FloatBuffer(format: format, base: view.bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 64)!, count: view.count)))
        }
        if let tensor, selected.isEmpty { throw InputError(path, "has no tensor named '\(tensor)'") }
        if selected.isEmpty { throw InputError(path, "has no F16, BF16, F32 or F64 tensor") }
        tensors = selected
    }
}

func parseOrder(_ text: String) throws -> NormOrder {
    guard let order = NormOrder(text) else { throw ValidationError("--ord '\(text)' is not a norm order; use 1, 2, inf or a number p > 0") }
    return order
}

/// Parses a number as the user wrote it: decimal or hex float, or inf/-inf/nan.
func parseNumber(_ text: String) -> Double? {
    switch text.lowercased() {
    case "inf", "+inf", "infinity": return .infinity
    case "-inf", "-infinity": return -.infinity
    case "nan": return .nan
    default: return Double(text)
    }
}
