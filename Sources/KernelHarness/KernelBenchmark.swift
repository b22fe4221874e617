import Base
import Formats
import Reductions
import Results

/// Time of the streaming exact references on one long array per format, next to the correctly rounded 2-norm
/// (`FastExactNorm`, the lab's exact norm) and a streaming read of the same array, measured round-robin in one run.
public enum KernelBenchmark {
    public struct Row: Sendable {
        public var format: FloatFormat
        /// "read", "exact norm", or a reduction's name.
        public var name: String
        public var seconds: Double
        public var count: Int
    }

    public static func run(count: Int, formats: [FloatFormat], reductions: [KernelReduction], repetitions: Int, threads: Int,
                           progress: (String) -> Void = { _ in }) -> [Row] {
        var rows = [Row]()
        for format in formats {
            progress("\(format.shortName): making \(count) values")
            let (xb, yb) = (ReductionBenchmark.makeInput(format: format, count: count, seed: 1), ReductionBenchmark.makeInput(format: format, count: count, seed: 2))
            xb.withUnsafeBytes { x in yb.withUnsafeBytes { y in
                let bx = FloatBuffer(format: format, base: x.baseAddress!, count: count), by = FloatBuffer(format: format, base: y.baseAddress!, count: count)
                var sink = 0.0
                var measured: [(String, () -> Void)] = [
                    ("read", { sink += Double(streamingRead(bx, threads: threads) & 1) }),
                    ("exact norm", { sink += FastExactNorm.norm(bx, order: .two, format: format, threads: threads) }),
                ]
                for r in reductions {
                    measured.append((r.rawValue, { sink += KernelStreaming.evaluate(r, x: bx, y: by, format: format, threads: threads)?.rounded ?? 0 }))
                }
                var times = [String: [Double]]()
                for (_, body) in measured { body() }
                for round in 0..<repetitions {
                    progress("\(format.shortName): round \(round + 1) of \(repetitions)")
                    for (name, body) in measured { times[name, default: []].append(Stopwatch.seconds(body)) }
                }
                for (name, _) in measured {
                    let sorted = times[name]!.sorted()
                    rows.append(Row(format: format, name: name, seconds: sorted[sorted.count / 2], count: count))
                }
                if sink == 42 { progress("") }
            } }
        }
        return rows
    }
}
