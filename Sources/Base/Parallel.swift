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

/// Worker threads that wait on a condition variable for the next job. A job is the address of an existential
/// on the caller's stack, valid for the duration of one `run`: it is published under the lock, and the
/// workers call through it, claim parts and report done before the caller returns.
final class WorkerPool: @unchecked Sendable {
    static let shared = WorkerPool(workers: Parallel.defaultThreads - 1)

    private let workers: Int
    private var mutex = pthread_mutex_t()
    private var workReady = pthread_cond_t()
    private var workDone = pthread_cond_t()
    /// Serializes callers; a caller that cannot take it runs its parts alone.
    private var callerMutex = pthread_mutex_t()
    private var generation = 0
    private var job: UnsafeRawPointer?
    private var parts = 0
    private var participants = 0
    private var running = 0

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
        pthread_mutex_lock(&mutex)
        job = body
        self.parts = parts
        next.store(0, ordering: .relaxed)
        participants = min(workers, helpers)
        running = participants
        generation += 1
        pthread_cond_broadcast(&workReady)
        pthread_mutex_unlock(&mutex)
        claimParts(body)
        pthread_mutex_lock(&mutex)
        while running > 0 { pthread_cond_wait(&workDone, &mutex) }
        job = nil
        pthread_mutex_unlock(&mutex)
    }

    private func claimParts(_ job: UnsafeRawPointer) {
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

    private func workerLoop(index: Int) {
        var seen = 0
        while true {
            pthread_mutex_lock(&mutex)
            while generation == seen { pthread_cond_wait(&workReady, &mutex) }
            seen = generation
            let takesPart = index < participants
            pthread_mutex_unlock(&mutex)
            if takesPart {
                work()
                pthread_mutex_lock(&mutex)
                running -= 1
                if running == 0 { pthread_cond_signal(&workDone) }
                pthread_mutex_unlock(&mutex)
            }
        }
    }

    /// Claims parts of the current job.
    private func work() {
        pthread_mutex_lock(&mutex)
        let body = job
        pthread_mutex_unlock(&mutex)
        if let body { claimParts(body) }
    }
}

private final class WorkerContext {
    let pool: WorkerPool
    let index: Int
    init(pool: WorkerPool, index: Int) { self.pool = pool; self.index = index }
}
