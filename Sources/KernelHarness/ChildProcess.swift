#if canImport(Glibc)
import Glibc
#endif

/// A child process started with posix_spawnp (no shell), in its own process group so that a timeout kills
/// everything it started. Its stdout and stderr are pipes the parent reads; its stdin is a pipe the parent may write.
public final class ChildProcess {
    public let pid: pid_t
    public private(set) var stdinFD: Int32
    public let stdoutFD: Int32
    public let stderrFD: Int32
    private var reaped: Int32?

    /// How a child ended.
    public enum Ending: Equatable, Sendable {
        case exited(Int32)
        case signaled(Int32)
        case timedOut

        public var description: String {
            switch self {
            case .exited(let code): return "exited with status \(code)"
            case .signaled(let signal): return "was killed by signal \(signal) (\(ChildProcess.signalName(signal)))"
            case .timedOut: return "timed out"
            }
        }
    }

    /// Starts `arguments[0]` (searched on PATH when it has no '/') with this process's environment plus `environment`;
    /// throws when it cannot be started at all.
    public init(_ arguments: [String], environment: [String: String] = [:]) throws(KernelHarnessError) {
        var pipes: [[Int32]] = [[-1, -1], [-1, -1], [-1, -1]]
        for i in 0..<3 {
            guard pipe(&pipes[i]) == 0 else { throw KernelHarnessError(arguments[0], "cannot create a pipe: \(String(cString: strerror(errno)))") }
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipes[0][0], 0)
        posix_spawn_file_actions_adddup2(&actions, pipes[1][1], 1)
        posix_spawn_file_actions_adddup2(&actions, pipes[2][1], 2)
        for p in pipes.flatMap({ $0 }) { posix_spawn_file_actions_addclose(&actions, p) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)
        var cArguments = arguments.map { strdup($0) } + [nil]
        defer { for a in cArguments { free(a) } }
        var inherited = [String]()
        var entry = environ
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            if !environment.keys.contains(where: { text.hasPrefix($0 + "=") }) { inherited.append(text) }
            entry += 1
        }
        var cEnvironment = (inherited + environment.map { "\($0.key)=\($0.value)" }).map { strdup($0) } + [nil]
        defer { for e in cEnvironment { free(e) } }
        var child: pid_t = 0
        let status = posix_spawnp(&child, arguments[0], &actions, &attributes, &cArguments, &cEnvironment)
        close(pipes[0][0]); close(pipes[1][1]); close(pipes[2][1])
        guard status == 0 else {
            close(pipes[0][1]); close(pipes[1][0]); close(pipes[2][0])
            throw KernelHarnessError(arguments[0], "cannot be run: \(String(cString: strerror(status)))")
        }
        pid = child
        (stdinFD, stdoutFD, stderrFD) = (pipes[0][1], pipes[1][0], pipes[2][0])
        for fd in [stdinFD, stdoutFD, stderrFD] { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    }

    deinit {
        if reaped == nil { kill(-pid, SIGKILL); _ = waitFor() }
        for fd in [stdinFD, stdoutFD, stderrFD] where fd >= 0 { close(fd) }
    }

    public func closeStdin() {
        if stdinFD >= 0 { close(stdinFD); stdinFD = -1 }
    }

    /// Writes all of `text` to the child's stdin; false if the child is gone.
    public func write(_ text: String) -> Bool {
        var bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(stdinFD, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            done += n
        }
        return true
    }

    /// Reads stdout and stderr until both close or `deadline` (seconds on the monotonic clock) passes; stops early
    /// at the first newline of stdout when `line` is set. Returns what was read and whether the deadline passed.
    public func read(until deadline: Double, line: Bool, stdout: inout [UInt8], stderr: inout [UInt8]) -> Bool {
        var open = [stdoutFD, stderrFD]
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !open.isEmpty {
            if line, stdout.contains(UInt8(ascii: "\n")) { return false }
            let left = deadline - ChildProcess.now()
            if left <= 0 { return true }
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let ready = poll(&fds, nfds_t(fds.count), Int32(min(left * 1000 + 1, 1e9)))
            if ready < 0 && errno == EINTR { continue }
            for f in fds where f.revents != 0 {
                let n = buffer.withUnsafeMutableBytes { Glibc.read(f.fd, $0.baseAddress!, $0.count) }
                if n <= 0 { open.removeAll { $0 == f.fd }; continue }
                if f.fd == stdoutFD { if stdout.count < 1 << 20 { stdout += buffer[0..<n] } } else if stderr.count < 1 << 20 { stderr += buffer[0..<n] }
            }
        }
        return false
    }

    /// Waits for the child to end (killing its process group first when `kill` is set).
    @discardableResult public func finish(kill killing: Bool = false) -> Ending {
        if killing { kill(-pid, SIGKILL) }
        let status = waitFor()
        if killing { return .timedOut }
        // WIFEXITED/WTERMSIG are C macros: the low 7 bits are the signal, the next 8 the exit code.
        let signal = status & 0x7F
        return signal == 0 ? .exited((status >> 8) & 0xFF) : .signaled(signal)
    }

    private func waitFor() -> Int32 {
        if let reaped { return reaped }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        reaped = status
        return status
    }

    /// Seconds on the monotonic clock.
    public static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }

    static func signalName(_ s: Int32) -> String {
        switch s {
        case SIGSEGV: return "SIGSEGV"
        case SIGABRT: return "SIGABRT"
        case SIGBUS: return "SIGBUS"
        case SIGFPE: return "SIGFPE"
        case SIGILL: return "SIGILL"
        case SIGKILL: return "SIGKILL"
        case SIGTERM: return "SIGTERM"
        default: return "signal \(s)"
        }
    }
}
