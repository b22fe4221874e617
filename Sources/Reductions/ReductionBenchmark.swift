import Base
import Formats
import Reference
import Results

/// Throughput of the reductions on one large array per input format, next to a streaming read of the same
/// array measured in the same run (the memory-bandwidth baseline). Computing only: printing is the CLI's.
public enum ReductionBenchmark {
    public typealias Row = BenchmarkRow

    /// The array the benchmark reduces: seeded normal-like values (a sum of uniforms), scaled to 1e-3 as
    /// gradients are, stored in `format`.
    public static func makeInput(format: FloatFormat, count: Int, seed: UInt64) -> [UInt8] {
        var rng = SeededGenerator(seed: seed)
        let size = format.bitWidth / 8
        var bytes = [UInt8](repeating: 0, count: count * size)
        bytes.withUnsafeMutableBytes { raw in
            for i in 0..<count {
                let v = (rng.nextUnit() + rng.nextUnit() + rng.nextUnit() - 1.5) * 2e-3
                let bits: UInt64
                switch format {
                case .float16: bits = UInt64(Float16(v).bitPattern)
                case .float32: bits = UInt64(Float(v).bitPattern)
                case .float64: bits = v.bitPattern
                default: bits = format.encode(v, saturating: false)
                }
                switch size {
                case 2: raw.storeBytes(of: UInt16(truncatingIfNeeded: bits), toByteOffset: 2 * i, as: UInt16.self)
                case 4: raw.storeBytes(of: UInt32(truncatingIfNeeded: bits), toByteOffset: 4 * i, as: UInt32.self)
                default: raw.storeBytes(of: bits, toByteOffset: 8 * i, as: UInt64.self)
                }
            }
        }
        return bytes
    }

    /// Rows for `formats` × (read, each algorithm, exact), L2 norms of `count` elements.
    ///
    /// The streaming read, the vectorized algorithms and the exact norm are timed round-robin, `repetitions`
    /// times each after a warm-up, and their medians reported, so that a slow moment of the machine affects
    /// them alike and their ratios stay meaningful. The scalar algorithms (emulated 16-bit arithmetic, models
    /// of other libraries' summation orders) are timed once each.
    public static func run(count: Int, formats: [FloatFormat], algorithms: [ReductionAlgorithm], repetitions: Int = 9,
                           seed: UInt64 = 1, threads: Int = ChunkedParallel.defaultThreadCount,
                           progress: (String) -> Void = { _ in }) -> [Row] {
        var rows = [Row]()
        for format in formats {
            progress("\(format.shortName): making \(count) values")
            let bytes = makeInput(format: format, count: count, seed: seed)
            bytes.withUnsafeBytes { raw in
                let x = FloatBuffer(format: format, base: raw.baseAddress ?? UnsafeRawPointer(bitPattern: 64)!, count: count)
                var sink = 0.0
                var measured = [(name: String, fast: Bool, body: () -> Void)]()
                measured.append(("read", true, { sink += Double(streamingRead(x, threads: threads) & 1) }))
                for algorithm in algorithms {
                    measured.append((algorithm.rawValue, algorithm.isFast, { sink += algorithm.evaluate([x], order: .two, threads: threads) }))
                }
                measured.append(("exact", true, { sink += FastExactNorm.norm(x, order: .two, threads: threads) }))
                var times = [String: [Double]]()
                let fast = measured.filter(\.fast)
                for m in fast { m.body() }
                for r in 0..<max(1, repetitions) {
                    progress("\(format.shortName): fast kernels, round \(r + 1) of \(repetitions)")
                    for m in fast { times[m.name, default: []].append(Stopwatch.seconds(m.body)) }
                }
                for m in measured where !m.fast {
                    progress("\(format.shortName) \(m.name)")
                    times[m.name] = [Stopwatch.seconds(m.body)]
                }
                for m in measured {
                    let sorted = times[m.name]!.sorted()
                    rows.append(Row(format: format, algorithm: m.name, seconds: sorted[sorted.count / 2], count: count, bytes: x.byteCount))
                }
                if sink == 42 { progress("") }  // keeps the results alive
            }
        }
        return rows
    }
}
