import Foundation
import Testing
import TestSupport

/// Runs the built `precision-lab` executable (it sits next to the test bundle) and captures what it prints.
struct CLIResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

enum CLI {
    static let executable: URL = {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        return bundle.deletingLastPathComponent().appendingPathComponent("precision-lab")
    }()

    static func fixture(_ path: String) -> String { Repository.path("fixtures/" + path) }

    static func run(_ arguments: [String], environment: [String: String] = [:], directory: URL? = nil) throws -> CLIResult {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        if let directory { process.currentDirectoryURL = directory }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read before waiting, so a large output cannot fill the pipe and block the child.
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CLIResult(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                         stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// A fresh temporary directory, removed by the caller with `cleanUp`.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("precision-lab-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

extension CLIResult {
    /// The one-line error contract: exit code 2, a single line on stderr that names `path`.
    func expectUsageError(naming path: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(status == 2, "exit \(status), stderr: \(stderr)", sourceLocation: sourceLocation)
        let lines = stderr.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(stderr)", sourceLocation: sourceLocation)
        #expect(stderr.contains(path), "stderr does not name \(path): \(stderr)", sourceLocation: sourceLocation)
        #expect(stdout.isEmpty, sourceLocation: sourceLocation)
    }
}
