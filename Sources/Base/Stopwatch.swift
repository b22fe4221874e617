/// Wall-clock timing for benchmarks and run timings (never for results: those must not depend on time).
public enum Stopwatch {
    /// Seconds of one run of `body`.
    public static func seconds(_ body: () -> Void) -> Double {
        let start = ContinuousClock.now
        body()
        return (ContinuousClock.now - start).inSeconds
    }
}

extension Duration {
    /// The duration in seconds, as a Double.
    public var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
