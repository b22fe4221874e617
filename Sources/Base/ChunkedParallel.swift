/// Fixed partitioning of a reduction: chunk k covers elements [k C, (k+1) C), chunks are reduced independently
/// and their results kept in chunk order, so the partial results, and anything combined from them in a fixed
/// order, are the same bits for any thread count. Threads claim the next chunk from a shared counter, so a core
/// slowed by something else on the machine takes fewer chunks instead of holding the others up.
public enum ChunkedParallel {
    /// Elements per chunk of the fast kernels.
    public static let chunkSize = 1 << 18
    /// Inputs below this many elements run on the calling thread.
    public static let parallelThreshold = 1 << 20
    /// The threads a large reduction uses by default: one per core.
    public static var defaultThreadCount: Int { Parallel.defaultThreads }

    /// `body` applied to every chunk of `0..<count`, results in chunk order.
    public static func map<R>(count: Int, chunkSize: Int = chunkSize, threads: Int = defaultThreadCount,
                              _ body: (Range<Int>) -> R) -> [R] {
        let chunks = max(1, (count + chunkSize - 1) / chunkSize)
        @Sendable func range(_ k: Int) -> Range<Int> { (k * chunkSize)..<min(count, (k + 1) * chunkSize) }
        let workers = count < parallelThreshold ? 1 : min(max(1, threads), chunks)
        if workers == 1 { return (0..<chunks).map { body(range($0)) } }
        let results = UnsafeMutableBufferPointer<R?>.allocate(capacity: chunks)
        results.initialize(repeating: nil)
        defer { results.deallocate() }
        let slots = SendableBox(results)
        Parallel.forEach(parts: chunks, threads: workers) { k in slots.value[k] = body(range(k)) }
        return results.map { $0! }
    }
}

