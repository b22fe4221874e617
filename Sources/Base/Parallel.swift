import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Work split into parts that run on up to `threads` threads, each part on exactly one thread. Kernels split
/// their output (or sums into fixed chunks combined in a fixed order), so their results are the same bits
/// for any thread count.
public enum Parallel {
    /// The thread count of every command's default: the CPUs a Slurm job step was given (SLURM_CPUS_PER_TASK)
    /// when it is set, else one thread per online core.
    public static let defaultThreads: Int = threads(slurmCPUsPerTask: getenv("SLURM_CPUS_PER_TASK").map { String(cString: $0) })

    static func threads(slurmCPUsPerTask: String?) -> Int {
        if let text = slurmCPUsPerTask, let n = Int(text), n > 0 { return n }
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// `job.run(part:)` for every part in 0..<parts; the calling thread and up to `threads - 1` workers of a
    /// persistent pool claim parts from a shared counter. Allocates nothing once the pool exists, provided
    /// the job is at most three words (it travels in an existential, inline); a training step relies on this.
    /// If another caller is using the pool, the parts run on the calling thread.
    public static func forEach<J: ParallelJob>(parts: Int, threads: Int, job: J) {
        let helpers = min(max(1, threads), parts) - 1
        if helpers <= 0 {
            for part in 0..<parts { job.run(part: part) }
            return
        }
        WorkerPool.shared.run(parts: parts, helpers: helpers, job: job)
    }

    /// `body(part)` for every part, as above. Making the closure callable from the workers allocates (Swift's
    /// withoutActuallyEscaping); code that must not allocate passes a `ParallelJob`.
    public static func forEach(parts: Int, threads: Int, _ body: (Int) -> Void) {
        if min(max(1, threads), parts) <= 1 {
            for part in 0..<parts { body(part) }
            return
        }
        withoutActuallyEscaping(body) { forEach(parts: parts, threads: threads, job: ClosureJob(body: $0)) }
    }
}

/// Work for `Parallel.forEach`: part k of a fixed partition. Keep it within three words (a pointer to state
/// on the caller's stack, say) so that it needs no allocation.
public protocol ParallelJob {
    func run(part: Int)
}

/// A job as a state pointer and a function of it. Form the function inside specialized code and let it
/// capture nothing: then it has no context to allocate, and the call through the existential lands in
/// specialized code (a generic type's conformance would be called unspecialized, with metadata lookups).
public struct RawJob: ParallelJob {
    public let state: UnsafeRawPointer
    public let body: (UnsafeRawPointer, Int) -> Void
    @inlinable public init(state: UnsafeRawPointer, _ body: @escaping (UnsafeRawPointer, Int) -> Void) {
        self.state = state
        self.body = body
    }
    @inlinable public func run(part: Int) { body(state, part) }
}

struct ClosureJob: ParallelJob {
    let body: (Int) -> Void
    func run(part: Int) { body(part) }
}

/// Hands a value to worker threads that use disjoint parts of what it points to.
public struct SendableBox<T>: @unchecked Sendable {
    public let value: T
    @inlinable public init(_ value: T) { self.value = value }
}

/// Worker threads that spin briefly, then wait on a condition variable, for the next job. A job is the address
/// of an existential on the caller's stack, valid for the duration of one `run`: the caller writes it and the
/// part count, then publishes a new generation; the workers claim parts and report done before the caller
/// returns. The generation is a sequence lock (odd while the caller writes), so that a worker that woke late
/// never reads half of the next job. Spinning for `spinNanoseconds` after each job matters: a training step
/// runs many products of tens of microseconds each, and a futex wake-up on a virtual machine costs as much as
/// one of them (without it a second thread made the benchmark MLP step slower, not faster).
final class WorkerPool: @unchecked Sendable {
    static let shared = WorkerPool(workers: Parallel.defaultThreads - 1)
    static let spinNanoseconds = 200_000

    private let workers: Int
    private var mutex = pthread_mutex_t()
    private var workReady = pthread_cond_t()
    private var workDone = pthread_cond_t()
    /// Serializes callers; a caller that cannot take it runs its parts alone.
    private var callerMutex = pthread_mutex_t()
    /// Twice the number of jobs published, plus one while a job is being written.
    private let generation = Atomic<Int>(0)
    private let job = Atomic<Int>(0)
    private let parts = Atomic<Int>(0)
    private let participants = Atomic<Int>(0)
    private let running = Atomic<Int>(0)
    private let next = Atomic<Int>(0)
    private var started = false

    init(workers: Int) {
        self.workers = max(0, workers)
        pthread_mutex_init(&mutex, nil)
        pthread_mutex_init(&callerMutex, nil)
        pthread_cond_init(&workReady, nil)
        pthread_cond_init(&workDone, nil)
    }

    func run<J: ParallelJob>(parts: Int, helpers: Int, job: J) {
        guard workers > 0, pthread_mutex_trylock(&callerMutex) == 0 else {
            for part in 0..<parts { job.run(part: part) }
            return
        }
        defer { pthread_mutex_unlock(&callerMutex) }
        startIfNeeded()
        var erased: any ParallelJob = job
        withUnsafePointer(to: &erased) { publish(UnsafeRawPointer($0), parts: parts, helpers: helpers) }
    }

    private func publish(_ body: UnsafeRawPointer, parts: Int, helpers: Int) {
        let g = generation.load(ordering: .relaxed)
        pthread_mutex_lock(&mutex)
        generation.store(g + 1, ordering: .releasing)
        job.store(Int(bitPattern: body), ordering: .relaxed)
        self.parts.store(parts, ordering: .relaxed)
        next.store(0, ordering: .relaxed)
        let n = min(workers, helpers)
        participants.store(n, ordering: .relaxed)
        running.store(n, ordering: .relaxed)
        generation.store(g + 2, ordering: .releasing)
        pthread_cond_broadcast(&workReady)
        pthread_mutex_unlock(&mutex)
        claimParts(body, parts)
        if !spin({ self.running.load(ordering: .acquiring) == 0 }) {
            pthread_mutex_lock(&mutex)
            while running.load(ordering: .acquiring) > 0 { pthread_cond_wait(&workDone, &mutex) }
            pthread_mutex_unlock(&mutex)
        }
    }

    /// Polls `done` for up to `spinNanoseconds`; whether it became true.
    private func spin(_ done: () -> Bool) -> Bool {
        var start = timespec(), now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        while true {
            for _ in 0..<64 where done() { return true }
            clock_gettime(CLOCK_MONOTONIC, &now)
            if (now.tv_sec - start.tv_sec) * 1_000_000_000 + (now.tv_nsec - start.tv_nsec) > WorkerPool.spinNanoseconds { return done() }
        }
    }

    private func claimParts(_ job: UnsafeRawPointer, _ parts: Int) {
        let body = job.assumingMemoryBound(to: (any ParallelJob).self)
        while true {
            let part = next.add(1, ordering: .relaxed).oldValue
            guard part < parts else { return }
            body.pointee.run(part: part)
        }
    }

    private func startIfNeeded() {
        guard !started else { return }
        started = true
        for index in 0..<workers {
            let context = Unmanaged.passRetained(WorkerContext(pool: self, index: index)).toOpaque()
            var thread = pthread_t()
            pthread_create(&thread, nil, { raw in
                let context = Unmanaged<WorkerContext>.fromOpaque(raw!).takeRetainedValue()
                context.pool.workerLoop(index: context.index)
                return nil
            }, context)
            pthread_detach(thread)
        }
    }

    /// Whether a job other than generation `seen` is completely written.
    private func hasJob(after seen: Int) -> Bool {
        let g = generation.load(ordering: .acquiring)
        return g != seen && g & 1 == 0
    }

    private func workerLoop(index: Int) {
        var seen = 0
        while true {
            let last = seen
            if !spin({ self.hasJob(after: last) }) {
                pthread_mutex_lock(&mutex)
                while !hasJob(after: last) { pthread_cond_wait(&workReady, &mutex) }
                pthread_mutex_unlock(&mutex)
            }
            let g = generation.load(ordering: .acquiring)
            let takesPart = index < participants.load(ordering: .relaxed)
            let body = job.load(ordering: .relaxed), parts = parts.load(ordering: .relaxed)
            // Written while we read (we woke after the job we saw had finished): read the next one again.
            guard generation.load(ordering: .acquiring) == g else { continue }
            seen = g
            if takesPart, let pointer = UnsafeRawPointer(bitPattern: body) {
                claimParts(pointer, parts)
                if running.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
                    pthread_mutex_lock(&mutex)
                    pthread_cond_signal(&workDone)
                    pthread_mutex_unlock(&mutex)
                }
            }
        }
    }
}

private final class WorkerContext {
    let pool: WorkerPool
    let index: Int
    init(pool: WorkerPool, index: Int) { self.pool = pool; self.index = index }
}
