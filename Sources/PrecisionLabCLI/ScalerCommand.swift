import ArgumentParser
import Foundation
import PrecisionLab

struct ScalerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scaler",
        abstract: "Replay loss-scaler state machines on an overflow trace.",
        subcommands: [ScalerReplayCommand.self, ScalerDiffCommand.self]
    )
}

/// The scaler options shared by replay and diff.
struct ScalerOptions: ParsableArguments {
    @Option(help: "Initial scale (default: the system's own).")
    var initScale: Double?
    @Option(help: "Growth factor (DeepSpeed: its scale factor; jmp: its factor).")
    var growthFactor: Double?
    @Option(help: "Backoff factor (torch, megatron).")
    var backoffFactor: Double?
    @Option(help: "Clean steps before growth (DeepSpeed: scale window; Apex: scale sequence length; jmp: period).")
    var growthInterval: Int?
    @Option(help: "Overflows tolerated before backing off (DeepSpeed: delayed shift; megatron).")
    var hysteresis: Int?
    @Option(help: "Floor of the scale (deepspeed, megatron, apex, jmp).")
    var minScale: Double?
    @Flag(help: "DeepSpeed: refill the hysteresis on every clean step.")
    var consecutiveHysteresis = false
    @Option(help: "amax scaler: the largest finite value of the FP8 format (default 57344, E5M2).")
    var fp8Max: Double?
    @Option(help: "amax scaler: margin, a power of two the scale is divided by.")
    var margin: Int?
    @Option(help: "amax scaler: length of the amax history (default 1024).")
    var historyLength: Int?
    @Option(help: "DeepSpeed's raise_error_at_min_scale: true (its default) stops with its error when an overflow comes at the minimum scale; false keeps skipping steps there.")
    var raiseErrorAtMinScale: Bool?

    func validate() throws {
        for (name, value) in [("--init-scale", initScale), ("--min-scale", minScale), ("--fp8-max", fp8Max)] {
            if let value, !(value > 0 && value.isFinite) { throw ValidationError("\(name) must be a positive finite number") }
        }
        if let g = growthFactor, !(g > 1 && g.isFinite) { throw ValidationError("--growth-factor must be a finite number above 1") }
        if let b = backoffFactor, !(b > 0 && b < 1) { throw ValidationError("--backoff-factor must be between 0 and 1") }
        if let n = growthInterval, n < 1 { throw ValidationError("--growth-interval must be at least 1") }
        if let h = hysteresis, h < 1 { throw ValidationError("--hysteresis must be at least 1") }
        if let h = historyLength, h < 1 { throw ValidationError("--history-length must be at least 1") }
        if let m = margin, abs(m) > 64 { throw ValidationError("--margin must be between -64 and 64") }
    }

    var options: LossScalerKind.Options {
        var o = LossScalerKind.Options()
        o.initScale = initScale; o.growthFactor = growthFactor; o.backoffFactor = backoffFactor
        o.growthInterval = growthInterval; o.hysteresis = hysteresis; o.minScale = minScale
        o.consecutiveHysteresis = consecutiveHysteresis; o.fp8Max = fp8Max; o.margin = margin; o.historyLength = historyLength
        o.raiseErrorAtMinScale = raiseErrorAtMinScale
        return o
    }
}

struct ScalerReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay one loss scaler on a trace of overflow flags.",
        discussion: """
        TRACE.json is {"overflow": [false, true, ...]}, one flag per step (the amax scaler also reads "amax": \
        [numbers]). Each step, the scale that multiplied the loss is recorded, then the scaler sees the step's \
        flag, decides whether the step is skipped and updates itself, exactly as the named system does: torch \
        (GradScaler), deepspeed (DynamicLossScaler), megatron (DynamicGradScaler), apex (amp LossScaler), jmp \
        (DynamicLossScale), amax (TransformerEngine's delayed scaling). Unset options take the system's defaults. \
        With --json: {"scale": [...], "skipped": [...]} (and "error" if the system raised, with exit code 1).
        """
    )

    @Argument(help: "The trace (JSON).")
    var trace: String

    @Option(help: "none, static:SCALE, torch, deepspeed, megatron, apex, jmp or amax.")
    var scaler: String

    @OptionGroup var scalerOptions: ScalerOptions

    @Flag(help: "Print one JSON document instead of the table.")
    var json = false

    func validate() throws {
        guard LossScalerChoice(scaler) != nil else { throw ValidationError("--scaler: '\(scaler)' is not one of \(LossScalerChoice.syntax)") }
    }

    func run() throws {
        let t = try ScalerTrace(path: trace)
        let choice = LossScalerChoice(scaler)!
        let made: any LossScaler
        do { made = try choice.make(scalerOptions.options) } catch let e as LossScalerError { throw ValidationError(e.description) }
        if choice.kind == .amax && t.amax == nil { throw InputError(trace, "the amax scaler needs \"amax\": [numbers] in the trace") }
        let replay = ScalerReplay(made, overflow: t.overflow, amax: t.amax)
        if json {
            var members: [(key: String, value: JSONValue)] = [("scale", .array(replay.scales.map(JSONValue.double))),
                                                             ("skipped", .array(replay.skipped.map(JSONValue.bool)))]
            if let error = replay.error { members.append(("error", .string(error))) }
            print(JSONValue.object(members).prettyText())
        } else {
            print(ScalerText.replayTable(choice.description, overflow: t.overflow, replay: replay))
        }
        if let error = replay.error { throw CheckFailed(description: "\(choice.description) raised at step \(replay.scales.count - 1): \(error)") }
    }
}

struct ScalerDiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Replay every scaler on the same trace and show where they part.",
        discussion: """
        Every scaler starts from the same --init-scale (default 65536) with its own other defaults, so that \
        their decisions can be compared; --growth-interval applies to all that have one. The table lists the \
        steps where some scaler's scale changes or a step is skipped, with each scaler's scale (and * when it \
        skipped), then the first step at which the scalers' scales differ. The amax scaler runs when the trace \
        has "amax".
        """
    )

    @Argument(help: "The trace (JSON).")
    var trace: String

    @Option(help: "The scale every scaler starts from.")
    var initScale: Double = 65536

    @Option(help: "Clean steps before growth, for every scaler.")
    var growthInterval: Int?

    @Flag(help: "Print one JSON document instead of the table.")
    var json = false

    func validate() throws {
        guard initScale > 0 && initScale.isFinite else { throw ValidationError("--init-scale must be a positive finite number") }
        if let n = growthInterval, n < 1 { throw ValidationError("--growth-interval must be at least 1") }
    }

    func run() throws {
        let t = try ScalerTrace(path: trace)
        var replays = [(String, ScalerReplay)]()
        for kind in LossScalerKind.allCases where kind != .amax || t.amax != nil {
            var o = LossScalerKind.Options()
            if kind != .amax {
                o.initScale = initScale
                o.growthInterval = growthInterval
            }
            replays.append((kind.rawValue, ScalerReplay(try kind.make(o), overflow: t.overflow, amax: t.amax)))
        }
        let parting = ScalerText.firstDifference(replays)
        if json {
            print(JSONValue.object([
                ("scalers", .object(replays.map { name, r in
                    (name, .object([("scale", .array(r.scales.map(JSONValue.double))), ("skipped", .array(r.skipped.map(JSONValue.bool))),
                                   ("error", r.error.map(JSONValue.string) ?? .null)]))
                })),
                ("first_difference", parting.map(JSONValue.integer) ?? .null),
            ]).prettyText())
        } else {
            print(ScalerText.diffTable(overflow: t.overflow, replays: replays))
            print(parting.map { "The scalers' scales first differ at step \($0)." } ?? "The scalers agree at every step.")
        }
    }
}

/// Text output of the scaler commands.
enum ScalerText {
    static func format(_ x: Double) -> String { Figures.constant(x, plain: -9...9) }

    static func replayTable(_ name: String, overflow: [Bool], replay: ScalerReplay) -> String {
        var table = TextTable(header: ["step", "overflow", "scale", "skipped"], numericColumns: [0, 2])
        for i in replay.scales.indices where i == 0 || overflow[i] || replay.skipped[i] || replay.scales[i] != replay.scales[i - 1]
            || i == replay.scales.count - 1 {
            table.rows.append(["\(i)", overflow[i] ? "yes" : "", format(replay.scales[i]), replay.skipped[i] ? "skipped" : ""])
        }
        let skipped = replay.skipped.filter { $0 }.count
        var text = "\(name): \(overflow.count) steps, \(skipped) skipped; the steps where something happens:\n\n" + table.markdown
        if let error = replay.error { text += "\nraised at step \(replay.scales.count - 1): \(error)\n" }
        return text
    }

    static func diffTable(overflow: [Bool], replays: [(String, ScalerReplay)]) -> String {
        var table = TextTable(header: ["step", "overflow"] + replays.map(\.0), numericColumns: Set(0..<(replays.count + 2)).subtracting([1]))
        for i in overflow.indices {
            let changes = replays.contains { _, r in
                i < r.scales.count && (r.skipped[i] || (i > 0 && r.scales[i] != r.scales[i - 1]))
            }
            guard i == 0 || overflow[i] || changes else { continue }
            table.rows.append(["\(i)", overflow[i] ? "yes" : ""] + replays.map { _, r in
                i < r.scales.count ? format(r.scales[i]) + (r.skipped[i] ? " *" : "") : "(raised)"
            })
        }
        return table.markdown
    }

    /// The first step at which two scalers use different scales.
    static func firstDifference(_ replays: [(String, ScalerReplay)]) -> Int? {
        let n = replays.map { $0.1.scales.count }.min() ?? 0
        return (0..<n).first { i in Set(replays.map { $0.1.scales[i].bitPattern }).count > 1 }
    }
}
