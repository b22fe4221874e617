import Base
import Formats
import Reductions
import Synchronization
import Results
import Training

/// Runs a suite's matrix (or a shard of it) on several threads, one run per thread, and turns each run into a
/// `RunResult` measured against its fault-free Float64 reference.
public enum SuiteRunner {
    /// The slice of `runs` shard `index` of `count` runs: every count-th run, starting at `index`.
    public static func shard(_ runs: [SuiteRun], index: Int, count: Int) -> [(index: Int, run: SuiteRun)] {
        runs.enumerated().filter { $0.offset % count == index }.map { ($0.offset, $0.element) }
    }

    /// Runs every (index, run) not in `done` and returns all results, sorted by index. `onResult` is called, one
    /// at a time, as each run finishes (for resumable partial files and progress).
    public static func run(_ runs: [(index: Int, run: SuiteRun)], threads: Int, done: [RunResult] = [],
                           onResult: @escaping @Sendable (RunResult, _ seconds: Double) -> Void) throws -> [RunResult] {
        let finished = Set(done.map(\.index))
        let todo = runs.filter { !finished.contains($0.index) }
        // The references first: each fault-free Float64 configuration once (by fingerprint), shared by every run that
        // needs it (a block's unclipped reference, a clipper's reference of its own).
        var referenceConfigurations = [String: TrainingConfiguration]()
        for (_, r) in todo {
            for c in [r.reference, r.unclippedReference] where referenceConfigurations[c.fingerprint] == nil { referenceConfigurations[c.fingerprint] = c }
        }
        let keys = referenceConfigurations.keys.sorted()
        let references = try parallelMap(keys, threads: threads) { key in
            do { return try TrainingRun.run(referenceConfigurations[key]!, telemetry: false) } catch {
                throw SuiteError(description: "a Float64 reference (\(referenceConfigurations[key]!.canonicalEncoding)): \(error)")
            }
        }
        var referenceByKey = [String: TrainingSummary]()
        for (k, key) in keys.enumerated() { referenceByKey[key] = references[k] }
        let callback = Mutex(())
        let results = try parallelMap(todo, threads: threads) { item -> RunResult in
            let started = ContinuousClock.now
            let summary: TrainingSummary
            do { summary = try TrainingRun.run(item.run.configuration) } catch { throw SuiteError(description: "run \(item.run.id): \(error)") }
            let result = measure(item.run, index: item.index, summary, reference: referenceByKey[item.run.reference.fingerprint]!,
                                 unclipped: referenceByKey[item.run.unclippedReference.fingerprint]!)
            let seconds = (ContinuousClock.now - started).inSeconds
            callback.withLock { _ in onResult(result, seconds) }
            return result
        }
        return (done + results).sorted { $0.index < $1.index }
    }

    /// The run's measurements, against the fault-free Float64 run of its strategy (`reference`) and the one without
    /// clipping (`unclipped`).
    public static func measure(_ run: SuiteRun, index: Int, _ s: TrainingSummary, reference: TrainingSummary, unclipped: TrainingSummary) -> RunResult {
        let losses = s.records.map(\.loss)
        let first = losses.first ?? .nan
        // Diverged: from some step on, the loss stays non-finite or above 3x its starting value.
        var divergedAt: Int?
        for (k, l) in losses.enumerated().reversed() {
            if !l.isFinite || l > 3 * first { divergedAt = k } else { break }
        }
        let spikes = lossSpikes(losses)
        let referenceSpikes = lossSpikes(reference.records.map(\.loss))
        // The clipper's norm is the global gradient norm, comparable with the exact one, except for the per-tensor and
        // unit-wise clippers (their norm is the largest per-tensor norm or unit ratio).
        let globalNorm = ![.perTensor, .agc, .blockRMS].contains(run.configuration.clip.method)
        // Clippers that scale the gradients by their norm: an overflowed norm is theirs to act on (for none and value
        // clipping the norm is only telemetry).
        let scalesByNorm = [.globalNorm, .zclip, .autoclip].contains(run.configuration.clip.method)
        let normOverflows = scalesByNorm ? s.records.filter { !$0.gradientNorm.isFinite && $0.exactNorm.isFinite }.map(\.step) : []
        let weightDistance = relativeDistance(s.finalWeights, reference.finalWeights)
        let finite = s.records.filter { $0.loss.isFinite && !$0.skipped }
        let stride = max(1, (s.records.count + 499) / 500)
        let sampled = Swift.stride(from: 0, to: s.records.count, by: stride).map { s.records[$0] }
        let referenceSampled = Swift.stride(from: 0, to: reference.records.count, by: stride).map { reference.records[$0].loss }
        let series = RunResult.Series(stride: stride, loss: sampled.map(\.loss), referenceLoss: referenceSampled,
                                      gradNorm: sampled.map(\.gradientNorm), threshold: sampled.map { scalesByNorm || !globalNorm ? $0.threshold ?? .nan : .nan },
                                      scale: sampled.map(\.scale), underflow: sampled.map(\.underflowFraction),
                                      clipped: s.records.filter(\.clipped).map(\.step),
                                      skipped: s.records.filter(\.skipped).map(\.step))
        let c = run.configuration
        return RunResult(index: index, suite: run.suite, id: run.id, configuration: run.fingerprint, block: run.block, task: c.task.rawValue, model: c.model.rawValue, policy: run.policy,
                         scaler: run.scaler, clipper: run.clipper, faults: run.faults, faultList: c.faults, seed: Int(run.seed), steps: c.steps,
                         finalLoss: s.finalLoss, referenceFinalLoss: reference.finalLoss, weightDistance: weightDistance,
                         divergedAt: divergedAt, skippedSteps: s.skippedSteps, clippedSteps: s.records.prefix(divergedAt ?? s.records.count).filter(\.clipped).count, lossSpikes: spikes,
                         referenceSpikes: referenceSpikes, normOverflowSteps: normOverflows,
                         maxGradNorm: s.records.map(\.exactNorm).filter(\.isFinite).max() ?? .nan,
                         maxNormErrorUlps: globalNorm ? s.records.map { abs($0.normErrorUlps) }.filter(\.isFinite).max() ?? 0 : .nan,
                         meanUnderflowFraction: finite.isEmpty ? .nan : finite.map(\.underflowFraction).reduce(0, +) / Double(finite.count),
                         maxUnderflowFraction: finite.map(\.underflowFraction).max() ?? .nan,
                         firstNonFinite: s.firstNonFinite.map { "step \($0.step): \($0.origin)" },
                         metricName: s.metric.name, metric: s.metric.value, series: series,
                         referenceMetric: reference.metric.value, unclippedReferenceMetric: unclipped.metric.value,
                         unclippedWeightDistance: relativeDistance(s.finalWeights, unclipped.finalWeights),
                         meanZeroFraction: finite.map(\.zeroFraction).mean,
                         referenceZeroFraction: reference.records.filter { $0.loss.isFinite }.map(\.zeroFraction).mean,
                         meanSubnormalFraction: finite.map(\.subnormalFraction).mean,
                         meanSubnormalBitsLost: finite.map(\.subnormalBitsLost).filter { !$0.isNaN }.mean)
    }

    /// ‖w − r‖ / ‖r‖.
    static func relativeDistance(_ w: [Double], _ r: [Double]) -> Double {
        var difference = 0.0, size = 0.0
        for i in 0..<min(w.count, r.count) {
            difference += (w[i] - r[i]) * (w[i] - r[i])
            size += r[i] * r[i]
        }
        return (difference / size).squareRoot()
    }

    /// Loss spikes: steps whose loss is non-finite or above 3x the median of the 20 finite losses before it
    /// (from step 20 on).
    public static func lossSpikes(_ losses: [Double]) -> [Int] {
        var spikes = [Int]()
        guard losses.count > 20 else { return spikes }
        for k in 20..<losses.count {
            let window = losses[(k - 20)..<k].filter(\.isFinite).sorted()
            guard !window.isEmpty else { continue }
            if !losses[k].isFinite || losses[k] > 3 * window[window.count / 2] { spikes.append(k) }
        }
        return spikes
    }

    /// `body` over `items` on up to `threads` threads of the lab's worker pool (each thread claims the next item), results
    /// in the items' order; after the first error no more items start, and that error is rethrown.
    static func parallelMap<T, R>(_ items: [T], threads: Int, _ body: (T) throws -> R) throws -> [R] {
        let slots = UnsafeMutableBufferPointer<Result<R, Error>?>.allocate(capacity: items.count)
        slots.initialize(repeating: nil)
        defer {
            slots.deinitialize()
            slots.deallocate()
        }
        let results = SendableBox(slots)
        let failed = Atomic(false)
        // Each slot is written by the one thread that ran its item.
        Parallel.forEach(parts: items.count, threads: threads) { k in
            guard !failed.load(ordering: .relaxed) else { return }
            do { results.value[k] = .success(try body(items[k])) } catch {
                results.value[k] = .failure(error)
                failed.store(true, ordering: .relaxed)
            }
        }
        for case .failure(let error)? in slots { throw error }
        return slots.map { try! $0!.get() }
    }
}
