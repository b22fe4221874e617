import PrecisionLab
import Foundation
import Testing
import TestSupport

/// No temporary files left behind (issue 15, item 4): an interrupted `cast` or `clip` removes its temporary
/// output, and one killed outright (SIGKILL leaves no chance) has its file removed by the next run that writes
/// into the same directory, while files a live process holds stay.
@Suite(.serialized) struct DebrisTests {
    /// A 256 MB Float32 tensor: casting it to Float64 takes long enough to be interrupted mid-write.
    static func bigInput(in dir: URL) throws -> String {
        let path = dir.appendingPathComponent("big.safetensors").path
        let count = 64 << 20
        try TensorWriter.write(path: path, format: .safetensors, tensors: [TensorSpec(name: "g", dtype: .f32, shape: [count])]) { _, _, chunk in
            let floats = chunk.bindMemory(to: Float.self)
            for i in floats.indices { floats[i] = 1.5 }
        }
        return path
    }

    static func temporaryFiles(in dir: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".tmp-") }.sorted()
    }

    /// Starts the lab with `arguments` (stdout and stderr to /dev/null) and returns its pid.
    static func spawn(_ arguments: [String], attributes: UnsafePointer<posix_spawnattr_t>?) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd in [Int32(1), 2] { posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", O_WRONLY, 0) }
        let argv = ([CLI.executable.path] + arguments).map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, CLI.executable.path, &actions, attributes, argv, environ)
        #expect(spawned == 0, "posix_spawn: \(spawned)")
        return pid
    }

    /// Starts `arguments` as a shell would (no blocked signals, default dispositions: the test runner's threads
    /// block SIGINT, SIGTERM and SIGHUP, and Foundation's Process passes that mask on), waits until its temporary
    /// output exists in `dir`, then sends `sig`. Returns the signal it died of, or nil and its exit status.
    static func interrupt(_ arguments: [String], in dir: URL, with sig: Int32) throws -> (signal: Int32?, status: Int32) {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), defaults = sigset_t()
        sigemptyset(&none)
        sigemptyset(&defaults)
        for s in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let pid = try spawn(arguments, attributes: &attributes)
        let deadline = Date().addingTimeInterval(30)
        var status: Int32 = 0
        while try temporaryFiles(in: dir).isEmpty && waitpid(pid, &status, WNOHANG) == 0 && Date() < deadline { usleep(500) }
        kill(pid, sig)
        _ = waitpid(pid, &status, 0)
        let signalled = status & 0x7f
        return signalled != 0 ? (signalled, 0) : (nil, (status >> 8) & 0xff)
    }

    @Test func interruptedWritesRemoveTheirTemporaryFile() throws {
        let inputs = try CLI.temporaryDirectory(), outputs = try CLI.temporaryDirectory()
        defer { for d in [inputs, outputs] { try? FileManager.default.removeItem(at: d) } }
        let input = try Self.bigInput(in: inputs)
        let out = outputs.appendingPathComponent("out.safetensors").path
        let commands = [["cast", input, "--format", "f64", "--out", out], ["clip", input, "--max-norm", "1", "--out", out]]
        for (args, sig) in [(commands[0], SIGINT), (commands[0], SIGTERM), (commands[0], SIGHUP), (commands[1], SIGINT)] {
            let (signal, status) = try Self.interrupt(args, in: outputs, with: sig)
            // Died of the signal itself, as an uninterrupted program would (the shell sees 128 + signal).
            #expect(signal == sig, "\(args[0]) signal \(sig): died of \(signal.map(String.init) ?? "none"), exit \(status)")
            #expect(try Self.temporaryFiles(in: outputs) == [] && !FileManager.default.fileExists(atPath: out), "\(args[0]) signal \(sig)")
        }
    }

    @Test func theNextRunRemovesWhatAKilledRunLeft() throws {
        let inputs = try CLI.temporaryDirectory(), outputs = try CLI.temporaryDirectory()
        defer { for d in [inputs, outputs] { try? FileManager.default.removeItem(at: d) } }
        let input = try Self.bigInput(in: inputs)
        let (signal, _) = try Self.interrupt(["cast", input, "--format", "f64", "--out", outputs.appendingPathComponent("out.safetensors").path],
                                             in: outputs, with: SIGKILL)
        #expect(signal == SIGKILL)
        let left = try Self.temporaryFiles(in: outputs)
        #expect(left.count == 1, "\(left)")
        // Files that are not stale: one held (locked) by this live process, under its pid; one of the older naming
        // (no pid) written a minute ago; and a file that only looks alike.
        let held = outputs.appendingPathComponent(".mine.safetensors.tmp-\(getpid())-abc123").path
        let fd = open(held, O_CREAT | O_RDWR, 0o644)
        #expect(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
        defer { close(fd) }
        let recent = outputs.appendingPathComponent(".old.safetensors.tmp-0123abcd").path
        let unrelated = outputs.appendingPathComponent(".notes.tmp-plans").path
        for p in [recent, unrelated] { #expect(FileManager.default.createFile(atPath: p, contents: Data([1]))) }
        let r = try CLI.run(["cast", CLI.fixture("tensorio/single.safetensors"), "--format", "f16", "--out", outputs.appendingPathComponent("small.safetensors").path])
        #expect(r.status == 0, "\(r.stderr)")
        let remaining = try FileManager.default.contentsOfDirectory(atPath: outputs.path).sorted()
        #expect(remaining == [".mine.safetensors.tmp-\(getpid())-abc123", ".notes.tmp-plans", ".old.safetensors.tmp-0123abcd", "small.safetensors"], "\(remaining)")
        // An hour later the unlocked file of the older naming is stale too.
        var times = [timespec(tv_sec: time(nil) - 7200, tv_nsec: 0), timespec(tv_sec: time(nil) - 7200, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, recent, &times, 0) == 0)
        let again = try CLI.run(["cast", CLI.fixture("tensorio/single.safetensors"), "--format", "bf16", "--out", outputs.appendingPathComponent("small2.safetensors").path])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(!FileManager.default.fileExists(atPath: recent) && FileManager.default.fileExists(atPath: held))
    }
}

/// Memory a command keeps (issue 15, item 3): `norm` and `check` give back the pages of the mapped file as they
/// read them, and `clip` holds one copy of the gradients, not the copy and the mapped file.
@Suite(.serialized) struct ResidencyTests {
    /// Runs the lab with `arguments`; its exit status and peak resident set in bytes, the kernel's VmHWM of the
    /// child read every millisecond until it exits. (wait4's ru_maxrss cannot serve: a child spawned from this
    /// process inherits this process's high-water mark across exec, and the test process is large.) Growth that
    /// lasts a millisecond is seen; touching the 256 MiB these tests read takes tens of them.
    static func peakResident(_ arguments: [String]) throws -> (status: Int32, bytes: Int) {
        let pid = try DebrisTests.spawn(arguments, attributes: nil)
        var status: Int32 = 0, peak = 0
        while waitpid(pid, &status, WNOHANG) == 0 {
            if let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
               let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
               let kb = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") {
                peak = max(peak, kb * 1024)
            }
            usleep(1000)
        }
        return ((status >> 8) & 0xff, peak)
    }

    @Test func normAndCheckKeepAWindowOfTheFileResident() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = try DebrisTests.bigInput(in: dir)  // 256 MiB of Float32
        let size = 256 << 20
        // sqrt(2^26 · 1.5²) = 12288 exactly.
        for args in [["norm", input, "--algorithms", "none"], ["check", input, "--expect", "12288"]] {
            let (status, peak) = try Self.peakResident(args)
            #expect(status == 0 && peak > 0 && peak < size / 4, "\(args[0]): exit \(status), peak \(peak >> 20) MiB of a \(size >> 20) MiB file")
        }
        // clip reads the file twice (norm, then the scaled copy) and writes a file of the same size.
        let (status, peak) = try Self.peakResident(["clip", input, "--max-norm", "1", "--out", dir.appendingPathComponent("c.safetensors").path])
        #expect(status == 0 && Double(peak) > 0.9 * Double(size) && Double(peak) < 1.2 * Double(size), "clip: exit \(status), peak \(peak >> 20) MiB")
    }
}
