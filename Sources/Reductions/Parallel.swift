import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Work split into parts that run on up to `threads` threads, each part on exactly one thread. Kernels split
/// their output (or sums into fixed chunks combined in a fixed order), so their results are the same bits
/// for any thread count.
public enum Parallel {
    /// One thread per core.
    public static let defaultThreads: Int = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))

    /// `body(part)` for every part in 0..<parts; threads claim parts from a shared counter.
    @inlinable public static func forEach(parts: Int, threads: Int, _ body: (Int) -> Void) {
        let workers = min(max(1, threads), parts)
        if workers <= 1 {
            for part in 0..<parts { body(part) }
            return
        }
        let next = Atomic<Int>(0)
        withoutActuallyEscaping(body) { body in
            let work = SendableBox(body)
            DispatchQueue.concurrentPerform(iterations: workers) { _ in
                while true {
                    let part = next.add(1, ordering: .relaxed).oldValue
                    guard part < parts else { break }
                    work.value(part)
                }
            }
        }
    }
}

/// Hands a value to worker threads that use disjoint parts of what it points to.
public struct SendableBox<T>: @unchecked Sendable {
    public let value: T
    @inlinable public init(_ value: T) { self.value = value }
}

/// Reusable scratch memory for kernels (GEMM packing): taken from a pool and given back, so that a training
/// step reuses the same buffers and allocates nothing once warm.
public final class Scratch: @unchecked Sendable {
    public private(set) var pointer: UnsafeMutableRawPointer
    public private(set) var capacity: Int

    init() {
        capacity = 1 << 16
        pointer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64)
    }

    deinit { pointer.deallocate() }

    /// At least `bytes` bytes (contents not kept when it grows).
    public func reserve(_ bytes: Int) -> UnsafeMutableRawPointer {
        if bytes > capacity {
            pointer.deallocate()
            capacity = max(bytes, 2 * capacity)
            pointer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64)
        }
        return pointer
    }

    static let pool = Mutex<[Scratch]>([])

    /// `body` with a scratch buffer no other caller is using.
    @inlinable public static func with<R>(_ body: (Scratch) -> R) -> R {
        let scratch = take()
        defer { give(scratch) }
        return body(scratch)
    }

    @usableFromInline static func take() -> Scratch {
        pool.withLock { $0.popLast() } ?? Scratch()
    }

    @usableFromInline static func give(_ scratch: Scratch) {
        pool.withLock { $0.append(scratch) }
    }
}
