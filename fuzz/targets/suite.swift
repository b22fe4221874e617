// libFuzzer target: suite files. Any input gives a validated suite (expanded into its runs, each run's training
// configuration checked for the memory it would need, as `suite run` does) or a SuiteError.
import Experiments

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafeRawPointer?, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeRawBufferPointer(start: data, count: size), as: UTF8.self)
    guard let spec = try? SuiteSpec(json: text, path: "fuzz.json") else { return 0 }
    var n = 0
    for block in spec.blocks { n += block.seeds.count * block.policies.count * block.scalers.count * block.clippers.count * block.faultSets.count }
    guard n <= 100_000 else { return 0 }  // expanding a huge matrix is slow, not wrong
    let runs = SuiteRun.expand(spec)
    precondition(runs.count == n, "expanded \(runs.count) runs from a matrix of \(n)")
    return 0
}
