// libFuzzer target: loss-scaler traces, replayed through every scaler with its defaults and each scale formatted
// as the replay table formats it.
import Base
import TensorIO
import Training

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafeRawPointer?, _ size: Int) -> CInt {
    guard let trace = try? ScalerTrace(parsing: UnsafeRawBufferPointer(start: data, count: size), path: "fuzz.json") else { return 0 }
    for kind in LossScalerKind.allCases where kind != .amax || trace.amax != nil {
        guard let scaler = try? kind.make(LossScalerKind.Options()) else { continue }
        let replay = ScalerReplay(scaler, overflow: trace.overflow, amax: trace.amax)
        precondition(replay.scales.count == replay.skipped.count, "scales and skipped flags differ in length")
        for s in replay.scales { _ = Figures.constant(s, plain: -9...9) }
    }
    return 0
}
