import Foundation
import Glibc
import Testing

/// A 1 GiB tensor file is cast through a memory map and streamed out: the process's peak resident memory
/// stays far below the file's size.
@Suite struct LargeFileTests {
    /// Runs the CLI as a child and returns its exit status and its own peak resident set size in bytes, read
    /// from /proc/<pid>/status (VmHWM) while it runs. (wait4's ru_maxrss is no good here: glibc's posix_spawn
    /// shares the parent's memory until exec, and Linux then records the parent's peak as the child's.)
    func runMeasuringMemory(_ arguments: [String]) throws -> (status: Int32, maxRSS: Int) {
        var pid: pid_t = 0
        let argv = ([CLI.executable.path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        let spawned = posix_spawn(&pid, CLI.executable.path, &actions, nil, argv, environ)
        guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EIO) }
        var status: Int32 = 0
        var peak = 0
        while true {
            if let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
               let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
               let kilobytes = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") {
                peak = max(peak, kilobytes * 1024)
            }
            let done = waitpid(pid, &status, WNOHANG)
            if done == pid { break }
            if done < 0 && errno != EINTR { break }
            usleep(2000)
        }
        return ((status >> 8) & 0xFF, peak)
    }

    @Test func castingAOneGiBFileNeedsLittleMemory() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // A sparse safetensors file: 2^28 float32 zeros (1 GiB of data) behind a valid header.
        let count = 1 << 28
        var header = Array("{\"g\":{\"dtype\":\"F32\",\"shape\":[\(count)],\"data_offsets\":[0,\(4 * count)]}}".utf8)
        while (8 + header.count) % 8 != 0 { header.append(UInt8(ascii: " ")) }
        let input = dir.appendingPathComponent("big.safetensors").path
        var bytes = withUnsafeBytes(of: UInt64(header.count).littleEndian, Array.init) + header
        bytes.append(contentsOf: [0x00, 0x00, 0x80, 0x3F])  // the first value is 1.0, the rest are holes (zeros)
        try Data(bytes).write(to: URL(fileURLWithPath: input))
        #expect(truncate(input, off_t(8 + header.count + 4 * count)) == 0)

        let out = dir.appendingPathComponent("big-bf16.safetensors").path
        let (status, maxRSS) = try runMeasuringMemory(["cast", input, "--format", "bf16", "--out", out])
        #expect(status == 0)
        let size = try FileManager.default.attributesOfItem(atPath: out)[.size] as? Int
        #expect(size.map { $0 >= 2 * count && $0 < 2 * count + 4096 } == true)
        #expect(maxRSS > 0 && maxRSS < 400 << 20, "peak RSS \(maxRSS >> 20) MiB for a 1 GiB input")
    }
}
