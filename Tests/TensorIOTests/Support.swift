import Formats
import Foundation
import TensorIO
import TestSupport

/// The committed tensor fixtures.
enum Fixtures {
    static let directory = Repository.url("fixtures/tensorio")

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    static func bytes(_ name: String) throws -> [UInt8] { try [UInt8](Data(contentsOf: directory.appendingPathComponent(name))) }

    static let npyFiles = ["f16_vector.npy", "f32_matrix.npy", "f64_cube.npy", "f64_scalar.npy", "f32_fortran.npy",
                           "f32_empty.npy", "f32_v2.npy", "f32_v3.npy"]
    static let safetensorsFiles = ["mixed.safetensors", "single.safetensors", "edge.safetensors", "names.safetensors",
                                   "metadata_only.safetensors"]
}

func readFile(_ path: String) throws -> [UInt8] { try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))) }

func writeFile(_ path: String, _ bytes: [UInt8]) throws { try Data(bytes).write(to: URL(fileURLWithPath: path)) }

/// Parses an in-memory image and hands the (buffer-borrowing) result to `body`.
func withParsed<R>(_ bytes: [UInt8], path: String, format: TensorFileFormat, _ body: (ParsedTensors) throws -> R) throws -> R {
    try bytes.withUnsafeBytes { try body(TensorFile.parse(bytes: $0, path: path, format: format)) }
}

/// The error parsing `bytes` throws, or nil if it parses.
func parseError(_ bytes: [UInt8], path: String, format: TensorFileFormat) -> TensorIOError? {
    bytes.withUnsafeBytes { buffer in
        do throws(TensorIOError) {
            _ = try TensorFile.parse(bytes: buffer, path: path, format: format)
            return nil
        } catch {
            return error
        }
    }
}

/// The elements of a view, read unaligned as the format requires.
func elements<T: BitwiseCopyable>(_ view: TensorView, as type: T.Type) -> [T] {
    (0..<view.count).map { view.bytes.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self) }
}

/// Little-endian bytes of values.
func littleEndianBytes<T: BitwiseCopyable>(_ values: [T]) -> [UInt8] {
    values.withUnsafeBytes { Array($0) }   // the host is little-endian (x86-64)
}

/// Builds a safetensors image from raw header text, optionally lying about the header length.
func safetensorsImage(header: String, data: [UInt8], declaredLength: UInt64? = nil) -> [UInt8] {
    let text = Array(header.utf8)
    return withUnsafeBytes(of: (declaredLength ?? UInt64(text.count)).littleEndian, Array.init) + text + data
}

/// Builds a .npy image from raw dict text, padded like numpy (64-byte aligned, ending in '\n').
func npyImage(dict: String, data: [UInt8], major: UInt8 = 1) -> [UInt8] {
    var text = Array(dict.utf8)
    let prefix = major == 1 ? 10 : 12
    text += [UInt8](repeating: 0x20, count: 63 - (prefix + text.count) % 64) + [0x0A]
    var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [major, 0]
    if major == 1 {
        out += withUnsafeBytes(of: UInt16(text.count).littleEndian, Array.init)
    } else {
        out += withUnsafeBytes(of: UInt32(text.count).littleEndian, Array.init)
    }
    return out + text + data
}

/// Value of an fp8 E4M3FN bit pattern (bias 7, no infinities, 0x7F/0xFF are NaN).
func decodeE4M3FN(_ bits: UInt8) -> Double {
    let sign: FloatingPointSign = bits & 0x80 != 0 ? .minus : .plus
    let exponent = Int(bits >> 3 & 0xF), mantissa = Double(bits & 7)
    if exponent == 0xF && bits & 7 == 7 { return .nan }
    if exponent == 0 { return Double(sign: sign, exponent: -6, significand: mantissa / 8) }
    return Double(sign: sign, exponent: exponent - 7, significand: 1 + mantissa / 8)
}

/// Value of an fp8 E5M2 bit pattern (IEEE-like, bias 15).
func decodeE5M2(_ bits: UInt8) -> Double {
    let sign: FloatingPointSign = bits & 0x80 != 0 ? .minus : .plus
    let exponent = Int(bits >> 2 & 0x1F), mantissa = Double(bits & 3)
    if exponent == 0x1F { return mantissa == 0 ? (sign == .minus ? -.infinity : .infinity) : .nan }
    if exponent == 0 { return Double(sign: sign, exponent: -14, significand: mantissa / 4) }
    return Double(sign: sign, exponent: exponent - 15, significand: 1 + mantissa / 4)
}

/// True if `text` has no line break of any kind.
func isOneLine(_ text: String) -> Bool { !text.contains { $0.isNewline } }
