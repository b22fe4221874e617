// libFuzzer target: results files (one run per line), partial files and timings, as `suite run` resumes from them.
import Experiments
import Results

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafeRawPointer?, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeRawBufferPointer(start: data, count: size), as: UTF8.self)
    if let results = try? ResultsFile.parse(text, path: "fuzz.results.jsonl") {
        // What was read writes back and reads again to the same runs.
        let again = try? ResultsFile.parse(ResultsFile.text(results), path: "again")
        precondition(again?.count == results.count, "a results file did not survive writing and reading back")
    }
    _ = try? SuiteResultSet.parsePartial(text, path: "fuzz.partial.jsonl")
    _ = RunTiming.parse(text)
    return 0
}
