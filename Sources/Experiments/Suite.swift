import Base
import Formats
import Results
import TensorIO
import Training

/// A suite: named blocks, each a matrix of training runs (policies × scalers × clippers × fault sets × seeds) on
/// one task. Read from JSON (`fixtures/suites/NAME.json`):
///
/// ```json
/// {"name": "default", "description": "...",
///  "blocks": [{"name": "clipping", "task": "adding", "model": "rnn", "length": 50, "steps": 300,
///              "optimizer": "sgd", "lr": 0.05, "batch": 64, "loss_multiplier": 1, "skip_nonfinite": false, "seeds": [1],
///              "policies": ["f32"], "scalers": ["none"],
///              "clippers": [{"method": "none"}, {"method": "global-norm", "max_norm": 1}],
///              "faults": {"spike": ["spike-batch@150x30"], "clean": []}}]}
/// ```
/// Scalers are `none`, `static:SCALE`, or a dynamic scaler's name; a clipper is a `ClipperConfiguration`
/// (`method`, `max_norm`, `ord`, `semantics`, `norm`, `clipping`, `eps`, `label`).
public struct SuiteSpec: Sendable {
    public struct Block: Sendable {
        public var name: String
        public var base: TrainingConfiguration
        public var seeds: [UInt64]
        public var policies: [PrecisionPolicy]
        public var scalers: [String]
        public var clippers: [(label: String, configuration: ClipperConfiguration)]
        public var faultSets: [(label: String, faults: [Fault])]
    }

    public var name: String
    public var description: String
    public var blocks: [Block]

    /// Parses a suite; errors name the place in the file.
    public init(json text: String, path: String) throws {
        let fail = { (problem: String) in SuiteError(description: "\(path): \(problem)") }
        let root: JSONValue
        do { root = try JSONValue(parsing: text) } catch { throw fail("not JSON: \(error)") }
        guard let name = root["name"]?.stringValue, !name.isEmpty else { throw fail("needs a \"name\"") }
        // The name becomes file names (results, report, chart directory).
        guard !name.hasPrefix("."), name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) else {
            throw fail("the name \(name) must be letters, digits, '.', '_' or '-' (it names the results and report files)")
        }
        guard name.count <= 128 else { throw fail("the name is \(name.count) characters long; at most 128 (it names the results and report files)") }
        if let key = root.repeatedKey { throw fail("the key \"\(key)\" appears twice in the same object") }
        for (key, _) in root.objectValue ?? [] where !["name", "description", "blocks"].contains(key) { throw fail("unknown key \"\(key)\"") }
        self.name = name
        description = root["description"]?.stringValue ?? ""
        guard let blocks = root["blocks"]?.arrayValue, !blocks.isEmpty else { throw fail("needs a non-empty \"blocks\" list") }
        self.blocks = try blocks.enumerated().map { k, b in try Self.block(b, fail: { fail("block \(k): \($0)") }) }
        var seen = Set<String>()
        for b in self.blocks where !seen.insert(b.name).inserted { throw fail("two blocks are named \(b.name)") }
    }

    static func block(_ b: JSONValue, fail: (String) -> SuiteError) throws -> Block {
        guard let name = b["name"]?.stringValue else { throw fail("needs a \"name\"") }
        var c = TrainingConfiguration()
        guard let task = b["task"]?.stringValue.flatMap(TrainingConfiguration.Task.init(rawValue:)) else { throw fail("\"task\" must be spirals, adding or zipf") }
        c.task = task
        c.model = TrainingConfiguration.defaultModel(task)
        if let m = b["model"]?.stringValue {
            guard let model = TrainingConfiguration.Model(rawValue: m) else { throw fail("unknown model \(m)") }
            c.model = model
        }
        let known = ["name", "task", "model", "steps", "lr", "batch", "length", "loss_multiplier", "skip_nonfinite", "optimizer", "seeds",
                     "policies", "scalers", "clippers", "faults"]
        for (key, _) in b.objectValue ?? [] where !known.contains(key) { throw fail("unknown key \"\(key)\"") }
        try settings(b, into: &c, fail: fail)
        func list(_ key: String) throws -> [JSONValue]? {
            guard let v = b[key] else { return nil }
            guard let l = v.arrayValue, !l.isEmpty else { throw fail("\"\(key)\" must be a non-empty list") }
            return l
        }
        let seeds = try (list("seeds") ?? [.integer(1)]).map { v -> UInt64 in
            guard let i = v.intValue, i >= 0 else { throw fail("seeds must be integers >= 0") }
            return UInt64(i)
        }
        let policies = try (list("policies") ?? [.string("f32")]).map { v -> PrecisionPolicy in
            guard let p = v.stringValue.flatMap(PrecisionPolicy.init) else { throw fail("unknown policy \(v.compactText)") }
            return p
        }
        let scalers = try (list("scalers") ?? [.string("none")]).map { v -> String in
            guard let s = v.stringValue, LossScalerChoice(s) != nil else { throw fail("unknown scaler \(v.compactText) (\(LossScalerChoice.syntax))") }
            return s
        }
        let clippers = try (list("clippers") ?? [.object([("method", .string("none"))])]).map { v in try clipper(v, fail: fail) }
        let faultSets = try Self.faultSets(b["faults"], steps: c.steps, fail: fail)
        let block = Block(name: name, base: c, seeds: seeds, policies: policies, scalers: scalers, clippers: clippers, faultSets: faultSets)
        try validate(block, fail: fail)
        return block
    }

    /// The block's scalar settings (steps, lr, batch, length, loss_multiplier, skip_nonfinite, optimizer).
    static func settings(_ b: JSONValue, into c: inout TrainingConfiguration, fail: (String) -> SuiteError) throws {
        func int(_ key: String) throws -> Int? {
            guard let v = b[key] else { return nil }
            guard case .number = v, let i = v.intValue else { throw fail("\"\(key)\" must be an integer, not \(v.compactText)") }
            return i
        }
        func number(_ key: String) throws -> Double? {
            guard let v = b[key] else { return nil }
            guard case .number = v, let d = v.doubleValue else { throw fail("\"\(key)\" must be a number, not \(v.compactText)") }
            return d
        }
        if let v = try int("steps") { c.steps = v }
        if let v = try number("lr") { c.learningRate = v }
        if let v = try int("batch") { c.batch = v }
        if let v = try int("length") { c.length = v }
        if let v = try number("loss_multiplier") { c.lossMultiplier = v }
        if let v = b["skip_nonfinite"] {
            guard let skip = v.boolValue else { throw fail("\"skip_nonfinite\" must be true or false") }
            c.skipNonFinite = skip
        }
        if let v = b["optimizer"] {
            guard let o = v.stringValue.flatMap(TrainingConfiguration.OptimizerKind.init(rawValue:)) else {
                throw fail("\"optimizer\" must be \"sgd\" or \"adam\", not \(v.compactText)")
            }
            c.optimizer = o
        }
        if c.task == .spirals, b["batch"] != nil {
            throw fail("\"batch\" is not used by the spirals task (every step trains on all 400 points): remove it")
        }
    }

    /// The block's named fault sets ("clean": none, when the block names none).
    static func faultSets(_ value: JSONValue?, steps: Int, fail: (String) -> SuiteError) throws -> [(String, [Fault])] {
        var faultSets: [(String, [Fault])] = []
        if let v = value, v.objectValue?.isEmpty != false { throw fail("\"faults\" must be a non-empty object of named fault lists") }
        for (label, faultList) in value?.objectValue ?? [("clean", .array([]))] {
            guard let items = faultList.arrayValue else { throw fail("fault set \(label) must be a list of faults ([] for none)") }
            let faults = try items.map { f -> Fault in
                guard let fault = f.stringValue.flatMap(Fault.init) else { throw fail("fault \(f.compactText) is not \(Fault.syntax)") }
                if let late = fault.steps.first(where: { $0 >= steps }) { throw fail("fault \(fault) is at step \(late), past the block's \(steps) steps") }
                return fault
            }
            guard !faultSets.contains(where: { $0.0 == label }) else { throw fail("two fault sets are named \(label)") }
            faultSets.append((label, faults))
        }
        return faultSets
    }

    /// Every run of the block is distinct and valid.
    static func validate(_ block: Block, fail: (String) -> SuiteError) throws {
        var ids = Set<String>()
        for run in SuiteRun.expand(block, suite: "") {
            guard ids.insert(run.id).inserted else {
                throw fail("two runs are both \(run.id): give the clippers distinct labels, and list each seed, policy and scaler once")
            }
            if let problem = run.configuration.problem { throw fail("run \(run.id): \(problem)") }
            let p = run.configuration.policy
            if run.configuration.scaler == .dynamic(.torch), p.compute == .float16, !p.masterWeights {
                throw fail("run \(run.id): GradScaler refuses Float16 gradients (\"Attempting to unscale FP16 gradients.\"); use mixed-f16 or another scaler")
            }
        }
    }

    static func clipper(_ v: JSONValue, fail: (String) -> SuiteError) throws -> (String, ClipperConfiguration) {
        guard let methodName = v["method"]?.stringValue, let method = ClipMethod(rawValue: methodName) else { throw fail("clipper \(v.compactText) needs a known \"method\"") }
        var c = ClipperConfiguration(method: method)
        for (key, value) in v.objectValue ?? [] {
            switch key {
            case "method", "semantics", "norm", "label":
                guard value.stringValue != nil else { throw fail("clipper \(v.compactText): \"\(key)\" must be a string") }
            case "ord":
                guard value.numberValue != nil else { throw fail("clipper \(v.compactText): \"ord\" must be a number or \"inf\"") }
            case "max_norm", "clipping", "eps":
                guard case .number = value else { throw fail("clipper \(v.compactText): \"\(key)\" must be a number") }
            default: throw fail("clipper \(v.compactText): unknown key \"\(key)\"")
            }
        }
        if let x = v["max_norm"]?.doubleValue { c.maxNorm = x }
        if let x = v["clipping"]?.doubleValue { c.clipping = x }
        if let x = v["eps"]?.doubleValue { c.eps = x }
        if let x = v["ord"]?.numberValue { c.order = x }
        if let x = v["semantics"]?.stringValue {
            guard let s = ClipSemantics(name: x) else { throw fail("semantics must be torch or optax (pytorch is accepted for torch)") }
            c.semantics = s
        }
        var label = methodName
        if let x = v["norm"]?.stringValue {
            guard let n = ClipNorm.named(x, threads: 1) else { throw fail("unknown clip norm \(x)") }
            c.norm = n
            label += "(\(x))"
        }
        if let l = v["label"]?.stringValue { label = l }
        if let problem = c.problem { throw fail("clipper \(label): \(problem)") }
        return (label, c)
    }
}

public struct SuiteError: Error, CustomStringConvertible, Equatable {
    public var description: String
}

/// One run of a suite's matrix.
public struct SuiteRun: Sendable, Equatable {
    public var suite: String
    public var block: String
    public var policy: String
    public var scaler: String
    public var clipper: String
    public var faults: String
    public var seed: UInt64
    public var configuration: TrainingConfiguration

    /// A stable name: block/policy/scaler/clipper/faults/seed.
    public var id: String { "\(block)/\(policy)/\(scaler)/\(clipper)/\(faults)/seed\(seed)" }

    /// The fault-free Float64 run of the same strategy: the same task, model, seed, hyperparameters, clipper and
    /// optimizer (Float64 needs no loss scaler). Against it a run shows what precision and faults cost the strategy.
    public var reference: TrainingConfiguration {
        var r = configuration
        r.policy = PrecisionPolicy(compute: .float64, masterWeights: false)
        r.scaler = .none
        r.faults = []
        r.overflowCheck = .elementwise
        return r
    }

    /// The fault-free Float64 run without clipping: against it the strategy's own cost shows (what clipping changes
    /// with exact-enough arithmetic and clean data).
    public var unclippedReference: TrainingConfiguration {
        var r = reference
        r.clip = ClipperConfiguration(method: .none)
        return r
    }

    /// A fingerprint of the whole configuration (see `TrainingConfiguration.canonicalEncoding`).
    public var fingerprint: String { configuration.fingerprint }

    /// The block's matrix in a fixed order: fault sets, policies, scalers, clippers, seeds.
    public static func expand(_ b: SuiteSpec.Block, suite: String) -> [SuiteRun] {
        var runs = [SuiteRun]()
        for (faultLabel, faults) in b.faultSets {
            for policy in b.policies {
                for scalerName in b.scalers {
                    for (clipLabel, clip) in b.clippers {
                        for seed in b.seeds {
                            var c = b.base
                            c.policy = policy
                            c.scaler = LossScalerChoice(scalerName)!
                            c.clip = clip
                            c.faults = faults
                            c.seed = seed
                            runs.append(SuiteRun(suite: suite, block: b.name, policy: policy.description, scaler: scalerName, clipper: clipLabel,
                                                 faults: faultLabel, seed: seed, configuration: c))
                        }
                    }
                }
            }
        }
        return runs
    }

    public static func expand(_ spec: SuiteSpec) -> [SuiteRun] { spec.blocks.flatMap { expand($0, suite: spec.name) } }
}
