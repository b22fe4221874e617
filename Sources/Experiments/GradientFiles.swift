import Formats
import TensorIO
import Training

/// Reading gradient dumps into memory a clipper can rewrite, and writing them back.
public struct GradientFileError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ path: String, _ problem: String) { description = "\(path): \(problem)" }
}

extension OwnedTensors {
    /// Every tensor of a safetensors or `.npy` file, in file order, copied out of the file. All must be F16,
    /// BF16, F32 or F64 (a gradient list has no integer members).
    public static func read(path: String) throws -> OwnedTensors {
        let file = try TensorFile(path: path)
        let owned = OwnedTensors()
        for view in file.tensors {
            guard let format = view.dtype.format, FloatFormat.arithmetic.contains(format) else {
                throw GradientFileError(path, "tensor '\(view.name)' has dtype \(view.dtype.rawValue); gradients must be F16, BF16, F32 or F64")
            }
            owned.append(name: view.name, shape: view.shape, format: format, bytes: view.bytes, copied: { file.releasePages($0) })
        }
        return owned
    }

    /// Writes the tensors (names, dtypes, shapes as read) to a safetensors file, atomically.
    public func write(path: String, metadata: [(key: String, value: String)] = []) throws {
        // Their formats were read from dtypes (arithmetic ones), so each has a dtype.
        let specs = tensors.map { TensorSpec(name: $0.name, dtype: TensorDType(format: $0.format)!, shape: $0.shape) }
        try TensorWriter.write(path: path, format: .safetensors, tensors: specs, metadata: metadata) { index, elementOffset, chunk in
            let t = tensors[index]
            let width = t.format.bitWidth / 8
            chunk.copyMemory(from: UnsafeRawBufferPointer(start: t.floatBuffer.base + elementOffset * width, count: chunk.count))
        }
    }
}
