// libFuzzer target: the .npy parser (versions 1.0, 2.0, 3.0), as the safetensors target.
import TensorIO

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafeRawPointer?, _ size: Int) -> CInt {
    FuzzTensors.parse(data, size, format: .npy)
}
