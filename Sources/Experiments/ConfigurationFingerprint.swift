import Training

extension TrainingConfiguration {
    /// An explicit, canonical encoding of every setting that can change a run's result: one `key=value` line
    /// per setting, sorted by key. Numbers are written in Swift's shortest round-trip form, enums by their
    /// names. Settings that do not change a result (the tensor engine's `threads`: its results are the same
    /// bits on any count) are left out, and so is an optional setting that is not set: a setting added later
    /// must be optional or left out at its default, so that results already committed keep their fingerprint.
    public var canonicalEncoding: String {
        var fields: [String: String] = [
            "task": task.rawValue, "model": model.rawValue,
            "policy": policy.description, "policy.accumulator": policy.accumulator.rawValue,
            "scaler": scaler.kind?.rawValue ?? "none", "overflow-check": overflowCheck.rawValue,
            "optimizer": optimizer.rawValue, "lr": Self.number(learningRate), "steps": String(steps),
            "seed": String(seed), "batch": String(batch), "length": String(length),
            "loss-multiplier": Self.number(lossMultiplier), "skip-non-finite": String(skipNonFinite),
            "faults": faults.map(\.description).joined(separator: ";"),
            "clip.method": clip.method.rawValue, "clip.semantics": clip.semantics.rawValue,
            "clip.max-norm": Self.number(clip.maxNorm), "clip.order": Self.number(clip.order),
            "clip.clipping": Self.number(clip.clipping), "clip.eps": Self.number(clip.eps),
            "clip.error-if-nonfinite": String(clip.errorIfNonFinite),
            // torch's CPU kernels chunk long reductions by thread count: it changes the norm's bits.
            "clip.threads": String(clip.threads),
        ]
        if let s = scaler.fixedScale { fields["static-scale"] = Self.number(s) }
        if let n = clip.norm { fields["clip.norm"] = n.name }
        let o = scalerOptions
        let options: [(String, Double?)] = [
            ("init-scale", o.initScale), ("growth-factor", o.growthFactor), ("backoff-factor", o.backoffFactor),
            ("growth-interval", o.growthInterval.map(Double.init)), ("hysteresis", o.hysteresis.map(Double.init)),
            ("min-scale", o.minScale), ("fp8-max", o.fp8Max), ("margin", o.margin.map(Double.init)),
            ("history-length", o.historyLength.map(Double.init)),
        ]
        for case let (key, value?) in options { fields["scaler." + key] = Self.number(value) }
        if o.consecutiveHysteresis { fields["scaler.consecutive-hysteresis"] = "true" }
        if let raise = o.raiseErrorAtMinScale { fields["scaler.raise-error-at-min-scale"] = raise ? "true" : "false" }
        return fields.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)\n" }.joined()
    }

    /// A fingerprint of `canonicalEncoding`: FNV-1a (64 bits), 16 hex digits.
    public var fingerprint: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in canonicalEncoding.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    private static func number(_ x: Double) -> String { x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : x.description }
}
