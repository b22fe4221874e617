import Training

/// A deterministic slice of a suite's matrix: shard `index` of `count` runs every count-th run starting at `index`.
public struct SuiteShard: Sendable, Equatable, CustomStringConvertible {
    public var index: Int
    public var count: Int

    public init?(index: Int, count: Int) {
        guard count >= 1, (0..<count).contains(index) else { return nil }
        self.index = index
        self.count = count
    }

    /// `I/N` with 0 <= I < N.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else { return nil }
        self.init(index: i, count: n)
    }

    public var description: String { "\(index)/\(count)" }

    /// The shard a job array gives this process: Slurm's `SLURM_ARRAY_TASK_ID` (counted from `SLURM_ARRAY_TASK_MIN`,
    /// default 0) of `SLURM_ARRAY_TASK_COUNT`, or a Kubernetes indexed Job's `JOB_COMPLETION_INDEX` of
    /// `PRECISIONLAB_SHARDS` (the Job's `completions`, which Kubernetes does not export). Nil when neither is set;
    /// an error when the variables are set but inconsistent.
    public static func fromEnvironment(_ environment: [String: String]) throws -> SuiteShard? {
        func int(_ name: String) throws -> Int? {
            guard let text = environment[name] else { return nil }
            guard let value = Int(text) else { throw SuiteError(description: "\(name)=\(text) is not an integer") }
            return value
        }
        if let id = try int("SLURM_ARRAY_TASK_ID") {
            guard let count = try int("SLURM_ARRAY_TASK_COUNT") else { throw SuiteError(description: "SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not") }
            let index = id - (try int("SLURM_ARRAY_TASK_MIN") ?? 0)
            guard let shard = SuiteShard(index: index, count: count) else {
                throw SuiteError(description: "SLURM_ARRAY_TASK_ID=\(id) is not one of \(count) array tasks (use --array=0-\(count - 1))")
            }
            return shard
        }
        if let index = try int("JOB_COMPLETION_INDEX") {
            guard let count = try int("PRECISIONLAB_SHARDS") else {
                throw SuiteError(description: "JOB_COMPLETION_INDEX is set but PRECISIONLAB_SHARDS (the Job's completions) is not")
            }
            guard let shard = SuiteShard(index: index, count: count) else {
                throw SuiteError(description: "JOB_COMPLETION_INDEX=\(index) is not below PRECISIONLAB_SHARDS=\(count)")
            }
            return shard
        }
        return nil
    }
}

extension SuiteSpec.Block {
    /// One line for a report's configuration section.
    public var summary: String {
        let c = base
        var task = "\(c.task.rawValue) / \(c.model.rawValue)"
        if c.task == .adding { task += ", sequence length \(c.length)" }
        var hyper = "\(c.steps) steps, batch \(c.batch), \(c.optimizer.rawValue) lr \(c.learningRate)"
        if c.lossMultiplier != 1 { hyper += ", loss × \(c.lossMultiplier)" }
        if !c.skipNonFinite { hyper += ", inf/NaN steps applied when there is no scaler" }
        let faults = faultSets.map { set in set.faults.isEmpty ? set.label : "\(set.label) (\(set.faults.map(\.description).joined(separator: ", ")))" }
        return "\(task); \(hyper); policies \(policies.map(\.description).joined(separator: ", ")); scalers \(scalers.joined(separator: ", ")); "
            + "clippers \(clippers.map { $0.label + Self.parameters($0.configuration) }.joined(separator: ", ")); "
            + "faults \(faults.joined(separator: ", ")); seeds \(seeds.map(String.init).joined(separator: ", "))"
    }
}

extension SuiteSpec.Block {
    /// A clipper's threshold and arithmetic, in brackets ("" for none).
    static func parameters(_ c: ClipperConfiguration) -> String {
        var parts = [String]()
        switch c.method {
        case .none, .autoclip: break
        case .globalNorm, .perTensor: parts.append("max_norm \(c.maxNorm)")
        case .value: parts.append("±\(c.maxNorm)")
        case .agc: parts.append("clipping \(c.clipping)")
        case .blockRMS: parts.append("rms \(c.maxNorm)")
        case .zclip: parts.append("cap \(c.maxNorm)")
        }
        if c.order != 2 { parts.append("order \(c.order)") }
        if c.semantics == .optax { parts.append("optax") }
        if let n = c.norm { parts.append("norm \(n.name)") }
        return parts.isEmpty ? "" : " [\(parts.joined(separator: ", "))]"
    }
}
