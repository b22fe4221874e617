#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The temporary files of `AtomicFile`: named `.<name>.tmp-<pid>-<hex>` beside their destination, held under an
/// exclusive `flock` by the process writing them, removed when that process is interrupted (SIGINT, SIGTERM,
/// SIGHUP), and, when a process died without removing them (SIGKILL, power loss), by the next process of the lab
/// that writes into the same directory.
///
/// A file is stale when its lock can be taken (no live process holds it: the kernel drops a dead process's locks)
/// and the pid in its name is not a live process (a writer closes its file, dropping the lock, just before the
/// rename). Files of the older naming `.<name>.tmp-<hex>` (no pid) are stale when unlocked and over an hour old.
enum TemporaryFiles {
    /// Slots for the paths being written: the signal handler reads them without a lock, so each is a fixed buffer
    /// whose `active` flag is set only once the path is in it, and cleared before the slot is reused.
    private static let slotCount = 64, slotBytes = Int(PATH_MAX)
    nonisolated(unsafe) private static let paths = UnsafeMutablePointer<CChar>.allocate(capacity: slotCount * slotBytes)
    nonisolated(unsafe) private static let active: UnsafeMutablePointer<Int32> = {
        let p = UnsafeMutablePointer<Int32>.allocate(capacity: slotCount)
        p.initialize(repeating: 0, count: slotCount)
        return p
    }()
    nonisolated(unsafe) private static var mutex = pthread_mutex_t()
    nonisolated(unsafe) private static var cleanedDirectories = Set<String>()
    private static let setUp: Void = {
        pthread_mutex_init(&mutex, nil)
        for sig in [SIGINT, SIGTERM, SIGHUP] { installHandler(sig) }
    }()

    /// The name of a new temporary file for `name`, marked with this process.
    static func name(for name: String) -> String {
        ".\(name).tmp-\(getpid())-\(String(UInt64.random(in: .min ... .max), radix: 16))"
    }

    /// Records `path` as being written by this process (removed on SIGINT, SIGTERM, SIGHUP); the slot is
    /// given back with `forget`. nil when every slot is taken or the path is too long (the file is then only
    /// cleaned up by a later run).
    static func remember(_ path: String) -> Int? {
        _ = setUp
        let bytes = Array(path.utf8CString)
        guard bytes.count <= slotBytes else { return nil }
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        guard let slot = (0..<slotCount).first(where: { active[$0] == 0 }) else { return nil }
        bytes.withUnsafeBufferPointer { (paths + slot * slotBytes).update(from: $0.baseAddress!, count: bytes.count) }
        active[slot] = 1
        return slot
    }

    static func forget(_ slot: Int?) {
        guard let slot else { return }
        pthread_mutex_lock(&mutex)
        active[slot] = 0
        pthread_mutex_unlock(&mutex)
    }

    /// Installs the cleanup handler for `sig` unless the process already does something else with it (a shell's
    /// `nohup` ignores SIGHUP, and it stays ignored).
    private static func installHandler(_ sig: Int32) {
        var old = sigaction()
        guard sigaction(sig, nil, &old) == 0, old.__sigaction_handler.sa_handler == nil else { return }
        var new = sigaction()
        new.__sigaction_handler.sa_handler = { sig in
            // Async-signal-safe only: unlink, then die of the same signal (the shell sees the usual status).
            for slot in 0..<TemporaryFiles.slotCount where TemporaryFiles.active[slot] != 0 {
                unlink(TemporaryFiles.paths + slot * TemporaryFiles.slotBytes)
            }
            signal(sig, SIG_DFL)
            raise(sig)
        }
        sigemptyset(&new.sa_mask)
        new.sa_flags = 0
        sigaction(sig, &new, nil)
    }

    /// Removes the stale temporary files in `directory` ("" is the current directory), once per directory per
    /// process. Errors are ignored: cleaning up is a courtesy, not part of the write.
    static func removeStale(in directory: String) {
        _ = setUp
        pthread_mutex_lock(&mutex)
        let first = cleanedDirectories.insert(directory).inserted
        pthread_mutex_unlock(&mutex)
        guard first, let dir = opendir(directory.isEmpty ? "." : directory) else { return }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            guard let owner = owner(ofTemporaryName: name) else { continue }
            let path = directory + name
            if case .process(let pid) = owner, pid == getpid() || kill(pid, 0) == 0 || errno == EPERM { continue }
            let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            var info = stat()
            guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG, flock(fd, LOCK_EX | LOCK_NB) == 0 else { continue }
            if case .unknown = owner, time(nil) - info.st_mtim.tv_sec < 3600 { continue }
            unlink(path)
        }
    }

    enum Owner: Equatable { case process(pid_t), unknown }

    /// Whether `name` is one of the lab's temporary names, and whose: `.<name>.tmp-<pid>-<hex>` or the older
    /// `.<name>.tmp-<hex>`.
    static func owner(ofTemporaryName name: String) -> Owner? {
        let bytes = Array(name.utf8), marker = Array(".tmp-".utf8)
        guard bytes.first == UInt8(ascii: "."), bytes.count > marker.count + 1,
              let at = (1...(bytes.count - marker.count)).reversed().first(where: { bytes[$0..<($0 + marker.count)].elementsEqual(marker) }),
              at > 1 else { return nil }
        let tail = String(decoding: bytes[(at + marker.count)...], as: UTF8.self)
        let parts = tail.split(separator: "-", omittingEmptySubsequences: false)
        let isHex = { (s: Substring) in !s.isEmpty && s.count <= 16 && s.allSatisfy { $0.isASCII && $0.isHexDigit } }
        switch parts.count {
        case 1 where isHex(parts[0]): return .unknown
        case 2 where isHex(parts[1]) && parts[0].allSatisfy(\.isASCII) && parts[0].allSatisfy(\.isNumber):
            guard let pid = pid_t(parts[0]), pid > 0 else { return nil }
            return .process(pid)
        default: return nil
        }
    }
}
