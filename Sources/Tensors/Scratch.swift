#if canImport(Glibc)
import Glibc
#endif

/// Reusable scratch memory for kernels (GEMM packing). Each thread keeps its own stack of buffers, so a
/// training step reuses the same ones and allocates nothing once warm, whatever else runs on other threads.
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

    /// The calling thread's buffers; `depth` of them are in use (nested kernels take one each).
    final class Stack {
        var buffers: [Scratch] = []
        var depth = 0
    }

    static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { raw in
            if let raw { Unmanaged<Stack>.fromOpaque(raw).release() }
        }
        return key
    }()

    static func stack() -> Stack {
        if let raw = pthread_getspecific(key) { return Unmanaged<Stack>.fromOpaque(raw).takeUnretainedValue() }
        let stack = Stack()
        pthread_setspecific(key, Unmanaged.passRetained(stack).toOpaque())
        return stack
    }

    /// `body` with a buffer of the calling thread that no enclosing call is using.
    public static func with<R>(_ body: (Scratch) -> R) -> R {
        let s = stack()
        if s.depth == s.buffers.count { s.buffers.append(Scratch()) }
        let scratch = s.buffers[s.depth]
        s.depth += 1
        defer { s.depth -= 1 }
        return body(scratch)
    }
}
