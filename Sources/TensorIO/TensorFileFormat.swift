/// The two container formats TensorIO reads and writes.
public enum TensorFileFormat: Sendable {
    /// Hugging Face safetensors: many named tensors, any `TensorDType`, string metadata.
    case safetensors
    /// NumPy `.npy`: one little-endian f16/f32/f64 array, C or Fortran order.
    case npy

    /// Picks the format from the file extension (case-insensitive). Sniffing the contents instead would
    /// make a truncated or corrupt file produce a confusing "unsupported" error rather than a precise one.
    public init(path: String) throws(TensorIOError) {
        let name = path.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? path
        let lower = name.lowercased()
        if lower.hasSuffix(".safetensors") {
            self = .safetensors
        } else if lower.hasSuffix(".npy") {
            self = .npy
        } else {
            throw TensorIOError(path: path, message: "unsupported extension (expected .safetensors or .npy)")
        }
    }

    /// The lower-case extension, without the dot.
    public var fileExtension: String {
        switch self {
        case .safetensors: "safetensors"
        case .npy: "npy"
        }
    }
}
