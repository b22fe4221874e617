import Formats
import Results
#if canImport(Glibc)
import Glibc
#endif

/// The statistics of a comparison across seeds: survival as a proportion with Wilson's interval, a metric's
/// median with a seeded percentile-bootstrap interval, and paired differences judged by whether their interval
/// excludes zero. Everything is deterministic: the bootstrap draws from a `SeededGenerator`, so a report built on
/// these figures is the same bytes on every run.
public enum Statistics {
    /// The 0.975 quantile of the standard normal distribution (two-sided 95%).
    public static let z95 = 1.959963984540054

    /// Wilson's score interval for `successes` of `trials` (Wilson 1927; the interval `statsmodels`'
    /// `proportion_confint(method="wilson")` computes): well behaved at 0 and n, where the normal approximation
    /// collapses to a point. The estimate is the observed proportion.
    public static func wilson(successes k: Int, trials n: Int, z: Double = z95) -> Interval {
        precondition(n > 0 && k >= 0 && k <= n, "wilson(\(k) of \(n))")
        let p = Double(k) / Double(n), nn = Double(n), z2 = z * z
        let center = (p + z2 / (2 * nn)) / (1 + z2 / nn)
        let half = z / (1 + z2 / nn) * (p * (1 - p) / nn + z2 / (4 * nn * nn)).squareRoot()
        return Interval(estimate: p, low: max(0, center - half), high: min(1, center + half))
    }

    /// The median (the mean of the middle two for an even count).
    public static func median(_ values: [Double]) -> Double {
        precondition(!values.isEmpty, "median of nothing")
        let s = values.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    /// The `q` quantile of sorted values, by linear interpolation between order statistics (numpy's default,
    /// `method="linear"`).
    public static func quantile(sorted s: [Double], _ q: Double) -> Double {
        precondition(!s.isEmpty && q >= 0 && q <= 1)
        let h = Double(s.count - 1) * q
        let below = Int(h.rounded(.down)), above = min(below + 1, s.count - 1)
        return s[below] + (h - Double(below)) * (s[above] - s[below])
    }

    /// The median of `values` with a 95% percentile-bootstrap interval: `resamples` resamples drawn with
    /// replacement from a generator seeded with `seed`, the 2.5% and 97.5% quantiles of their medians.
    public static func bootstrapMedian(_ values: [Double], resamples: Int = 4000, seed: UInt64 = 0x5EED) -> Interval {
        precondition(!values.isEmpty && resamples > 0)
        var rng = SeededGenerator(seed: seed)
        var medians = [Double]()
        medians.reserveCapacity(resamples)
        var sample = [Double](repeating: 0, count: values.count)
        for _ in 0..<resamples {
            for i in sample.indices { sample[i] = values[Int(rng.next() % UInt64(values.count))] }
            medians.append(median(sample))
        }
        medians.sort()
        return Interval(estimate: median(values), low: quantile(sorted: medians, 0.025), high: quantile(sorted: medians, 0.975))
    }

    /// What a paired comparison can say.
    public enum Verdict: String, Sendable {
        case better, worse
        case noMeasurableDifference = "no measurable difference"
    }

    /// A paired comparison of A against B on the same seeds and faults: the median of the differences a − b with
    /// its bootstrap interval, and the verdict for A: better or worse only when the interval excludes zero
    /// (`higherIsBetter` says which side is better: accuracy yes, a loss or an error no).
    public struct Paired: Sendable, Equatable {
        public var difference: Interval
        public var pairs: Int
        public var verdict: Verdict
    }

    public static func paired(_ a: [Double], _ b: [Double], higherIsBetter: Bool, seed: UInt64 = 0x5EED) -> Paired {
        precondition(a.count == b.count && !a.isEmpty, "paired comparison of \(a.count) and \(b.count) values")
        let d = bootstrapMedian(zip(a, b).map { $0 - $1 }, seed: seed)
        let verdict: Verdict
        if d.low > 0 { verdict = higherIsBetter ? .better : .worse } else if d.high < 0 { verdict = higherIsBetter ? .worse : .better } else {
            verdict = .noMeasurableDifference
        }
        return Paired(difference: d, pairs: a.count, verdict: verdict)
    }
}
