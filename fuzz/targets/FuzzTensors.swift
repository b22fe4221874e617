// Shared by the tensor-file targets (compiled into each of them).
import TensorIO

enum FuzzTensors {
    static func parse(_ data: UnsafeRawPointer?, _ size: Int, format: TensorFileFormat) -> CInt {
        let bytes = UnsafeRawBufferPointer(start: data, count: size)
        guard let parsed = try? TensorFile.parse(bytes: bytes, path: "fuzz", format: format) else { return 0 }
        var checksum: UInt8 = 0
        for view in parsed.tensors {
            // A view's size is its element count times its dtype's size, and every byte is inside the input.
            precondition(view.bytes.count == view.count * view.dtype.byteSize, "view size disagrees with its shape")
            precondition(view.shape.reduce(1, { $0 * $1 }) == view.count, "count disagrees with the shape")
            for b in view.bytes { checksum &+= b }
            checksum &+= UInt8(truncatingIfNeeded: view.name.utf8.count)
        }
        for (key, value) in parsed.metadata { checksum &+= UInt8(truncatingIfNeeded: key.utf8.count &+ value.utf8.count) }
        blackHole(checksum)
        return 0
    }
}

@inline(never) func blackHole<T>(_ x: T) { withExtendedLifetime(x) {} }
