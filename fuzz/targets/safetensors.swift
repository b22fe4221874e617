// libFuzzer target: the safetensors parser. Any input must give either a parsed file whose every view lies inside
// the input (touched byte by byte below, so AddressSanitizer sees any view that does not) or a TensorIOError.
import TensorIO

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafeRawPointer?, _ size: Int) -> CInt {
    FuzzTensors.parse(data, size, format: .safetensors)
}
