import ArgumentParser
import PrecisionLab

/// The tensors of a file that norms apply to: the named one, or every Float16/BFloat16/Float32/Float64 tensor. A
/// named FP8 tensor is measured through its values in Float64 (each exact there).
struct NormInputs {
    let file: TensorFile
    let tensors: [(name: String, dtype: String, buffer: FloatBuffer)]
    /// Float64 copies of FP8 tensors, alive as long as the buffers that point into them.
    private let widened: [WidenedValues]

    init(path: String, tensor: String?) throws {
        file = try TensorFile(path: path)
        var selected = [(name: String, dtype: String, buffer: FloatBuffer)]()
        var widened = [WidenedValues]()
        for view in file.tensors where tensor == nil || view.name == tensor {
            guard let format = view.dtype.format, FloatFormat.arithmetic.contains(format) else {
                if tensor != nil {
                    guard view.dtype.isFloatingPoint else {
                        throw InputError(path, "tensor '\(view.name)' has dtype \(view.dtype.rawValue); norms need a floating-point tensor")
                    }
                    let values = WidenedValues(view)
                    widened.append(values)
                    selected.append((view.name, view.dtype.rawValue, values.buffer))
                }
                continue
            }
            selected.append((view.name, view.dtype.rawValue,
                             FloatBuffer(format: format, base: view.bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 64)!, count: view.count)))
        }
        if let tensor, selected.isEmpty { throw InputError(path, "has no tensor named '\(tensor)'") }
        if selected.isEmpty { throw InputError(path, "has no F16, BF16, F32 or F64 tensor (name an FP8 tensor with --tensor to measure it)") }
        tensors = selected
        self.widened = widened
    }

    /// Gives back the file's pages under elements of the tensors a pass has read: buffer k of the pass is
    /// `tensors[indices[k]]` (widened FP8 copies are not in the map, and are left alone).
    func release(tensors indices: [Int]) -> FastExactNorm.PageRelease {
        let buffers = indices.map { tensors[$0].buffer }
        return { [file] k, elements in
            let b = buffers[k], width = b.format.bitWidth / 8
            file.releasePages(UnsafeRawBufferPointer(start: b.base + elements.lowerBound * width, count: elements.count * width))
        }
    }
}

/// A tensor's values as Float64 (exact for every floating-point dtype), in memory of its own.
final class WidenedValues {
    private let storage: UnsafeMutableBufferPointer<Double>

    init(_ view: TensorView) {
        storage = .allocate(capacity: max(view.count, 1))
        for i in 0..<view.count { storage[i] = view.value(at: i) }
        count = view.count
    }

    private let count: Int
    var buffer: FloatBuffer { FloatBuffer(format: .float64, base: UnsafeRawPointer(storage.baseAddress!), count: count) }

    deinit { storage.deallocate() }
}

func parseOrder(_ text: String) throws -> NormOrder {
    guard let order = NormOrder(text) else { throw ValidationError("--ord '\(text)' is not a norm order; use 1, 2, inf or a number p > 0") }
    return order
}

/// Parses a number as the user wrote it: decimal or hex float, or inf/-inf/nan.
func parseNumber(_ text: String) -> Double? { Figures.parse(text) }
