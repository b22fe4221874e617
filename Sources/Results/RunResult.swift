import Base

/// The measurements of one run of a suite: what the reports are rendered from. Pure data; one JSON line each.
public struct RunResult: Sendable, Equatable {
    /// Position in the suite's full matrix (results files are sorted by it, whatever order runs finished in).
    public var index: Int
    public var suite: String
    public var id: String
    /// A fingerprint of the run's whole configuration (hyperparameters, fault steps and magnitudes...): results of an
    /// edited suite are told apart from the current one's even where the id is the same.
    public var configuration: String
    public var block: String
    public var task: String
    public var model: String
    public var policy: String
    public var scaler: String
    public var clipper: String
    public var faults: String
    /// The faults injected (written `KIND@STEPS[xMAGNITUDE]` in the results file).
    public var faultList: [Fault]
    public var seed: Int
    public var steps: Int
    public var finalLoss: Double
    public var referenceFinalLoss: Double
    /// ‖w − w_ref‖ / ‖w_ref‖ after the last step, against the fault-free Float64 run of the same strategy.
    public var weightDistance: Double
    public var divergedAt: Int?
    public var skippedSteps: Int
    public var clippedSteps: Int
    public var lossSpikes: [Int]
    /// The loss spikes of the fault-free Float64 reference (same rule).
    public var referenceSpikes: [Int]
    /// Steps where the clipper's norm was inf or NaN while the exact norm was finite (an accumulator overflowed).
    public var normOverflowSteps: [Int]
    public var maxGradNorm: Double
    /// The largest error of the clipper's global norm against the exact norm, in ulps of its format (NaN for per-tensor
    /// and unit-wise clippers, whose norm is not the global one).
    public var maxNormErrorUlps: Double
    public var meanUnderflowFraction: Double
    /// The largest share of gradient elements lost to underflow at any step where the loss was finite.
    public var maxUnderflowFraction: Double
    public var firstNonFinite: String?
    public var metricName: String
    /// The held-out metric at the end of the run.
    public var metric: Double
    public var series: Series
    /// The held-out metric of the fault-free Float64 run of the same strategy (same clipper and optimizer): the run's
    /// metric minus it is what precision and faults cost the strategy.
    public var referenceMetric: Double
    /// The held-out metric of the fault-free Float64 run without clipping: `referenceMetric` minus it is what the
    /// strategy itself costs.
    public var unclippedReferenceMetric: Double
    /// ‖w − w_ref‖ / ‖w_ref‖ against the fault-free Float64 run without clipping.
    public var unclippedWeightDistance: Double
    /// Underflow told apart (means over the steps with a finite loss): gradient elements that are zero in the compute
    /// format, the same for the fault-free Float64 run of the strategy (its zeros are structural: inactive ReLUs,
    /// unused embeddings), and subnormal elements with the bits of precision they lost on average.
    public var meanZeroFraction: Double
    public var referenceZeroFraction: Double
    public var meanSubnormalFraction: Double
    public var meanSubnormalBitsLost: Double

    /// Flushed to zero: the share of gradient elements that are zero beyond the Float64 run's structural zeros, lost.
    public var lostFraction: Double { max(0, meanZeroFraction - referenceZeroFraction) }

    /// The steps where a fault was injected, in order.
    public var faultSteps: [Int] { Array(Set(faultList.flatMap(\.steps))).sorted() }
    public var diverged: Bool { divergedAt != nil }
    /// Clipped steps over the steps the optimizer took before the run diverged: the clipper acting on finite gradients
    /// of a live run (a dead run's steps and skipped steps are not clips, and do not count in the denominator).
    public var clipRate: Double {
        let live = divergedAt ?? steps
        return Double(clippedSteps) / Double(max(live - series.skipped.filter { $0 < live }.count, 1))
    }
    public var lossGap: Double { finalLoss - referenceFinalLoss }
    public var strategy: String { "\(policy) · \(scaler) · \(clipper)" }

    /// Per-step curves, every `stride`-th step (at most a few hundred points).
    public struct Series: Sendable, Equatable {
        public var stride: Int
        public var loss: [Double]
        public var referenceLoss: [Double]
        public var gradNorm: [Double]
        public var threshold: [Double]
        public var scale: [Double]
        public var underflow: [Double]
        /// Every step (not strided) where clipping fired, or the step was skipped.
        public var clipped: [Int]
        public var skipped: [Int]

        public init(stride: Int, loss: [Double], referenceLoss: [Double], gradNorm: [Double], threshold: [Double], scale: [Double],
                    underflow: [Double], clipped: [Int], skipped: [Int]) {
            self.stride = stride
            self.loss = loss
            self.referenceLoss = referenceLoss
            self.gradNorm = gradNorm
            self.threshold = threshold
            self.scale = scale
            self.underflow = underflow
            self.clipped = clipped
            self.skipped = skipped
        }
    }

    public init(index: Int, suite: String, id: String, configuration: String, block: String, task: String, model: String, policy: String, scaler: String, clipper: String,
                faults: String, faultList: [Fault], seed: Int, steps: Int, finalLoss: Double, referenceFinalLoss: Double,
                weightDistance: Double, divergedAt: Int?, skippedSteps: Int, clippedSteps: Int, lossSpikes: [Int], referenceSpikes: [Int],
                normOverflowSteps: [Int], maxGradNorm: Double,
                maxNormErrorUlps: Double, meanUnderflowFraction: Double, maxUnderflowFraction: Double, firstNonFinite: String?,
                metricName: String, metric: Double, series: Series, referenceMetric: Double = .nan, unclippedReferenceMetric: Double = .nan,
                unclippedWeightDistance: Double = .nan, meanZeroFraction: Double = .nan, referenceZeroFraction: Double = .nan,
                meanSubnormalFraction: Double = .nan, meanSubnormalBitsLost: Double = .nan) {
        self.index = index
        self.suite = suite
        self.id = id
        self.configuration = configuration
        self.block = block
        self.task = task
        self.model = model
        self.policy = policy
        self.scaler = scaler
        self.clipper = clipper
        self.faults = faults
        self.faultList = faultList
        self.seed = seed
        self.steps = steps
        self.finalLoss = finalLoss
        self.referenceFinalLoss = referenceFinalLoss
        self.weightDistance = weightDistance
        self.divergedAt = divergedAt
        self.skippedSteps = skippedSteps
        self.clippedSteps = clippedSteps
        self.lossSpikes = lossSpikes
        self.referenceSpikes = referenceSpikes
        self.normOverflowSteps = normOverflowSteps
        self.maxGradNorm = maxGradNorm
        self.maxNormErrorUlps = maxNormErrorUlps
        self.meanUnderflowFraction = meanUnderflowFraction
        self.maxUnderflowFraction = maxUnderflowFraction
        self.firstNonFinite = firstNonFinite
        self.metricName = metricName
        self.metric = metric
        self.series = series
        self.referenceMetric = referenceMetric
        self.unclippedReferenceMetric = unclippedReferenceMetric
        self.unclippedWeightDistance = unclippedWeightDistance
        self.meanZeroFraction = meanZeroFraction
        self.referenceZeroFraction = referenceZeroFraction
        self.meanSubnormalFraction = meanSubnormalFraction
        self.meanSubnormalBitsLost = meanSubnormalBitsLost
    }

    // MARK: JSON

    public var json: JSONValue {
        func numbers(_ xs: [Double]) -> JSONValue { .array(xs.map(JSONValue.double)) }
        func ints(_ xs: [Int]) -> JSONValue { .array(xs.map(JSONValue.integer)) }
        return .object([
            ("index", .integer(index)), ("suite", .string(suite)), ("id", .string(id)), ("configuration", .string(configuration)), ("block", .string(block)), ("task", .string(task)), ("model", .string(model)),
            ("policy", .string(policy)), ("scaler", .string(scaler)), ("clipper", .string(clipper)), ("faults", .string(faults)),
            ("fault_list", .array(faultList.map { .string($0.description) })), ("fault_steps", ints(faultSteps)), ("seed", .integer(seed)), ("steps", .integer(steps)),
            ("final_loss", .double(finalLoss)), ("reference_final_loss", .double(referenceFinalLoss)), ("loss_gap", .double(lossGap)),
            ("weight_distance", .double(weightDistance)), ("diverged", .bool(diverged)), ("diverged_at", divergedAt.map(JSONValue.integer) ?? .null),
            ("skipped_steps", .integer(skippedSteps)), ("clipped_steps", .integer(clippedSteps)), ("clip_rate", .double(clipRate)),
            ("loss_spikes", ints(lossSpikes)), ("reference_spikes", ints(referenceSpikes)), ("norm_overflow_steps", ints(normOverflowSteps)),
            ("max_grad_norm", .double(maxGradNorm)), ("max_norm_error_ulps", .double(maxNormErrorUlps)),
            ("mean_underflow_fraction", .double(meanUnderflowFraction)), ("max_underflow_fraction", .double(maxUnderflowFraction)),
            ("first_nonfinite", firstNonFinite.map(JSONValue.string) ?? .null),
            ("metric_name", .string(metricName)), ("metric", .double(metric)), ("reference_metric", .double(referenceMetric)),
            ("unclipped_reference_metric", .double(unclippedReferenceMetric)), ("unclipped_weight_distance", .double(unclippedWeightDistance)),
            ("mean_zero_fraction", .double(meanZeroFraction)), ("reference_zero_fraction", .double(referenceZeroFraction)),
            ("lost_fraction", .double(lostFraction)), ("mean_subnormal_fraction", .double(meanSubnormalFraction)),
            ("mean_subnormal_bits_lost", .double(meanSubnormalBitsLost)),
            ("series", .object([("stride", .integer(series.stride)), ("loss", numbers(series.loss)), ("reference_loss", numbers(series.referenceLoss)),
                                ("grad_norm", numbers(series.gradNorm)), ("threshold", numbers(series.threshold)), ("scale", numbers(series.scale)),
                                ("underflow", numbers(series.underflow)), ("clipped", ints(series.clipped)), ("skipped", ints(series.skipped))])),
        ])
    }

    /// A result from its JSON line, every field checked.
    /// Long: one typed read per field of the line, with the helpers that name a missing or mistyped field.
    public init(json: JSONValue) throws {
        func need(_ key: String, in v: JSONValue = json) throws -> JSONValue {
            guard let x = v[key] else { throw ResultsError(description: "result has no \"\(key)\"") }
            return x
        }
        func double(_ v: JSONValue) throws -> Double {
            guard let d = v.numberValue else { throw ResultsError(description: "expected a number, got \(v.compactText)") }
            return d
        }
        func int(_ key: String, in v: JSONValue = json) throws -> Int {
            guard let i = try need(key, in: v).intValue else { throw ResultsError(description: "\"\(key)\" is not an integer") }
            return i
        }
        func string(_ key: String) throws -> String {
            guard let s = try need(key).stringValue else { throw ResultsError(description: "\"\(key)\" is not a string") }
            return s
        }
        func doubles(_ key: String, in v: JSONValue) throws -> [Double] {
            guard let list = try need(key, in: v).arrayValue else { throw ResultsError(description: "\"\(key)\" is not a list") }
            return try list.map(double)
        }
        func ints(_ key: String, in v: JSONValue = json) throws -> [Int] {
            guard let list = try need(key, in: v).arrayValue else { throw ResultsError(description: "\"\(key)\" is not a list") }
            return try list.map { x in
                guard let i = x.intValue else { throw ResultsError(description: "\"\(key)\" holds \(x.compactText), not an integer") }
                return i
            }
        }
        func optionalInt(_ key: String) throws -> Int? {
            let v = try need(key)
            if case .null = v { return nil }
            guard let i = v.intValue else { throw ResultsError(description: "\"\(key)\" is not an integer or null") }
            return i
        }
        func optionalString(_ key: String) throws -> String? {
            let v = try need(key)
            if case .null = v { return nil }
            guard let t = v.stringValue else { throw ResultsError(description: "\"\(key)\" is not a string or null") }
            return t
        }
        let s = try need("series")
        self.init(index: try int("index"), suite: try string("suite"), id: try string("id"), configuration: try string("configuration"), block: try string("block"), task: try string("task"), model: try string("model"),
                  policy: try string("policy"), scaler: try string("scaler"), clipper: try string("clipper"), faults: try string("faults"),
                  faultList: try (need("fault_list").arrayValue ?? []).map { v in
                      guard let f = v.stringValue.flatMap(Fault.init) else { throw ResultsError(description: "\"fault_list\" holds \(v.compactText), not a fault") }
                      return f
                  },
                  seed: try int("seed"), steps: try int("steps"),
                  finalLoss: try double(need("final_loss")), referenceFinalLoss: try double(need("reference_final_loss")),
                  weightDistance: try double(need("weight_distance")), divergedAt: try optionalInt("diverged_at"),
                  skippedSteps: try int("skipped_steps"), clippedSteps: try int("clipped_steps"), lossSpikes: try ints("loss_spikes"),
                  referenceSpikes: try ints("reference_spikes"), normOverflowSteps: try ints("norm_overflow_steps"),
                  maxGradNorm: try double(need("max_grad_norm")), maxNormErrorUlps: try double(need("max_norm_error_ulps")),
                  meanUnderflowFraction: try double(need("mean_underflow_fraction")), maxUnderflowFraction: try double(need("max_underflow_fraction")),
                  firstNonFinite: try optionalString("first_nonfinite"), metricName: try string("metric_name"), metric: try double(need("metric")),
                  series: Series(stride: try int("stride", in: s), loss: try doubles("loss", in: s), referenceLoss: try doubles("reference_loss", in: s),
                                 gradNorm: try doubles("grad_norm", in: s), threshold: try doubles("threshold", in: s), scale: try doubles("scale", in: s),
                                 underflow: try doubles("underflow", in: s), clipped: try ints("clipped", in: s), skipped: try ints("skipped", in: s)),
                  referenceMetric: try double(need("reference_metric")), unclippedReferenceMetric: try double(need("unclipped_reference_metric")),
                  unclippedWeightDistance: try double(need("unclipped_weight_distance")),
                  meanZeroFraction: try double(need("mean_zero_fraction")), referenceZeroFraction: try double(need("reference_zero_fraction")),
                  meanSubnormalFraction: try double(need("mean_subnormal_fraction")), meanSubnormalBitsLost: try double(need("mean_subnormal_bits_lost")))
    }

    /// Equality of the recorded values, NaN equal to NaN (results files must compare equal across runs).
    public static func == (a: RunResult, b: RunResult) -> Bool { a.json.compactText == b.json.compactText }
}

public struct ResultsError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(description: String) { self.description = description }
}

/// A results file: one `RunResult` per line, sorted by index.
public enum ResultsFile {
    public static func text(_ results: [RunResult]) -> String {
        results.sorted { $0.index < $1.index }.map { $0.json.compactText + "\n" }.joined()
    }

    public static func parse(_ text: String, path: String) throws -> [RunResult] {
        var results = [RunResult]()
        // Lines end in "\n" or "\r\n" (one Character in Swift).
        for (n, line) in text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated() {
            do {
                results.append(try RunResult(json: try JSONValue(parsing: String(line))))
            } catch {
                throw ResultsError(description: "\(path): line \(n + 1): \(error)")
            }
        }
        return results
    }
}
