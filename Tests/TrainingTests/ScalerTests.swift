import Base
import Foundation
import TensorIO
import Testing
import TestSupport
import Training

@Suite struct ScalerTests {

    /// Every case of fixtures/scalers/scalers.json, made by the real torch GradScaler, DeepSpeed
    /// DynamicLossScaler, Megatron DynamicGradScaler and jmp DynamicLossScale: the same scale bits at every
    /// step, the same skipped steps, the same error.
    @Test func agreesWithTheRealSystems() throws {
        let data = try Data(contentsOf: Repository.url("fixtures/scalers/scalers.json"))
        let json = try JSONValue(parsing: String(decoding: data, as: UTF8.self))
        let cases = try #require(json["cases"]?.arrayValue)
        #expect(cases.count >= 60)
        for (k, c) in cases.enumerated() {
            let kind = try #require(LossScalerKind(rawValue: c["scaler"]?.stringValue ?? ""))
            var o = LossScalerKind.Options()
            for (key, value) in c["options"]?.objectValue ?? [] {
                switch key {
                case "init-scale": o.initScale = value.doubleValue
                case "growth-factor": o.growthFactor = value.doubleValue
                case "backoff-factor": o.backoffFactor = value.doubleValue
                case "growth-interval": o.growthInterval = value.intValue
                case "hysteresis": o.hysteresis = value.intValue
                case "min-scale": o.minScale = value.doubleValue
                case "consecutive-hysteresis": o.consecutiveHysteresis = value == .bool(true)
                default: Issue.record("case \(k): unknown option \(key)")
                }
            }
            let overflow = (c["overflow"]?.arrayValue ?? []).map { $0 == .bool(true) }
            let expectedScales = try (c["scale"]?.arrayValue ?? []).map { try #require($0.numberValue) }
            let expectedSkipped = (c["skipped"]?.arrayValue ?? []).map { $0 == .bool(true) }
            let replay = ScalerReplay(try kind.make(o), overflow: overflow)
            #expect(replay.scales.map(\.bitPattern) == expectedScales.map(\.bitPattern), "case \(k) \(kind): \(replay.scales) vs \(expectedScales)")
            #expect(replay.skipped == expectedSkipped, "case \(k) \(kind)")
            #expect(replay.error == c["error"]?.stringValue, "case \(k) \(kind): \(String(describing: replay.error))")
        }
    }

    func replay(_ scaler: any LossScaler, _ trace: String, amax: [Double]? = nil) -> ScalerReplay {
        ScalerReplay(scaler, overflow: trace.map { $0 == "x" }, amax: amax)
    }

    /// Hand-made traces from REFERENCE.md's rules ("." clean, "x" overflow).
    @Test func torchGrowsExactlyAtTheInterval() {
        let r = replay(TorchGradScaler(initScale: 8, growthInterval: 3), "......x...")
        #expect(r.scales == [8, 8, 8, 16, 16, 16, 32, 16, 16, 16])
        #expect(r.skipped == [false, false, false, false, false, false, true, false, false, false])
        #expect(TorchGradScaler(initScale: 3).inverseScale == Float(1.0 / 3.0))
    }

    @Test func deepSpeedHysteresisAndFloor() {
        // Hysteresis 2: the first overflow only spends hysteresis; the second halves. Window 2 after the last overflow.
        let r = replay(DeepSpeedLossScaler(initScale: 16, scaleWindow: 2, minScale: 4, delayedShift: 2), "xx....x")
        #expect(r.scales == [16, 16, 8, 8, 8, 16, 16])
        // At the floor the next overflow raises, as DeepSpeed does.
        let floor = replay(DeepSpeedLossScaler(initScale: 2, minScale: 1, delayedShift: 1), "xxx")
        #expect(floor.scales == [2, 1])
        #expect(floor.error?.contains("already at minimum") == true)
        let noRaise = replay(DeepSpeedLossScaler(initScale: 2, minScale: 1, delayedShift: 1, raiseErrorAtMinScale: false), "xxx")
        #expect(noRaise.scales == [2, 1, 1] && noRaise.error == nil)
    }

    @Test func megatronHysteresisTrackerAndFloor() {
        // The hysteresis tracker refills only when the scale grows.
        let r = replay(MegatronGradScaler(initialScale: 64, minScale: 16, growthInterval: 2, hysteresis: 2), "x.x.xx..")
        #expect(r.scales == [64, 64, 64, 32, 32, 16, 16, 16])
        let overflowing = replay(MegatronGradScaler(initialScale: 0x1p127, growthInterval: 1), "...")
        #expect(overflowing.scales[1].isInfinite)
    }

    @Test func apexHalvesAndCapsAt2To24() {
        let r = replay(ApexLossScaler(initScale: 0x1p23, scaleWindow: 2), "....x..")
        #expect(r.scales == [0x1p23, 0x1p23, 0x1p24, 0x1p24, 0x1p24, 0x1p23, 0x1p23])
        let floor = replay(ApexLossScaler(initScale: 4, minScale: 2), "xxx")
        #expect(floor.scales == [4, 2, 2])
    }

    @Test func jmpRefusesNonFiniteGrowth() {
        let r = replay(JmpLossScale(lossScale: 0x1p127, period: 2, factor: 2, minScale: 1), "....x.")
        #expect(r.scales == [0x1p127, 0x1p127, 0x1p127, 0x1p127, 0x1p127, 0x1p126])
        let counter = replay(JmpLossScale(lossScale: 4, period: 3, minScale: 2), "..x....x")
        #expect(counter.scales == [4, 4, 4, 2, 2, 2, 4, 4])
    }

    @Test func amaxHistoryScaler() {
        let r = replay(AmaxHistoryScaler(fp8Max: 448, margin: 1, historyLength: 2), ".....", amax: [4, 2, 0, .infinity, 1])
        // After 4: 448/4/2 = 56; after 2 (history [2, 4]): still max 4; after 0 (history [0, 2]): max 2 -> 112;
        // after inf: the old scale is kept; after 1 (history [1, inf]): inf -> kept.
        #expect(r.scales == [1, 56, 56, 112, 112])
    }

    @Test func optionsAreCheckedPerSystem() {
        var o = LossScalerKind.Options()
        o.hysteresis = 2
        #expect(throws: LossScalerError.self) { try LossScalerKind.torch.make(o) }
        #expect(throws: LossScalerError.self) { try LossScalerKind.apex.make(o) }
        #expect((try? LossScalerKind.megatron.make(o)) != nil)
    }
}
