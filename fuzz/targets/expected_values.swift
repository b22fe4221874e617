// libFuzzer target: the expected-values file of `check --expect-file`.
import TensorIO

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafeRawPointer?, _ size: Int) -> CInt {
    guard let values = try? ExpectedValues(parsing: UnsafeRawBufferPointer(start: data, count: size), path: "fuzz.json") else { return 0 }
    precondition(!values.entries.isEmpty && Set(values.entries.map(\.name)).count == values.entries.count, "accepted an empty or repeated entry")
    return 0
}
