import Foundation
import Testing
import TestSupport

/// The README's Slurm array recipe against a real Slurm (scripts/slurm-check.sh: slurmctld and slurmd on this machine,
/// `sbatch --array=0-2` of `suite run smoke`, the shards merged and compared with the unsharded run's bytes).
@Suite struct SlurmTests {
    /// Root and Debian's slurm-wlm and munge (`.ci/run` installs them); elsewhere the test is skipped, saying why.
    static let available: Bool = {
        let tools = ["/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/bin/sbatch", "/usr/sbin/munged"]
        return getuid() == 0 && tools.allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    @Test(.enabled(if: available, "needs root and slurm-wlm + munge (apt-get install -y slurm-wlm munge)"), .timeLimit(.minutes(10)))
    func arrayShardsMergeIntoTheUnshardedRun() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [Repository.path("scripts/slurm-check.sh"), CLI.executable.path]
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(stderr)")
        #expect(stderr.contains("the merged shards of the Slurm array are the unsharded run's bytes (20 runs)"), "\(stderr)")
    }
}
