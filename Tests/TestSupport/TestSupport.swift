import Formats
import Foundation
import Testing

/// The repository the tests run from: found from this source file, so the tests work from any directory.
public enum Repository {
    public static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()   // Tests/TestSupport
        .deletingLastPathComponent()   // Tests
        .deletingLastPathComponent()   // the repository

    /// The URL of a path relative to the repository's root ("fixtures/suites/smoke.json").
    public static func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }

    /// The file-system path of a path relative to the repository's root.
    public static func path(_ relative: String) -> String { url(relative).path }

    /// The text of a committed file.
    public static func text(_ relative: String) throws -> String { try String(contentsOf: url(relative), encoding: .utf8) }

    /// The bytes of a committed file.
    public static func bytes(_ relative: String) throws -> [UInt8] { try [UInt8](Data(contentsOf: url(relative))) }
}

/// Snapshots of rendered text. Checking compares with the committed file; recording
/// (`PRECISIONLAB_RECORD_SNAPSHOTS=1`) writes the file and fails the test, so a recording run never passes by
/// comparing a file with itself: record, review the diff, then run again to check.
public enum Snapshot {
    public static let recording = ProcessInfo.processInfo.environment["PRECISIONLAB_RECORD_SNAPSHOTS"] == "1"

    public static func check(_ text: String, _ relative: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        if recording {
            try text.write(to: Repository.url(relative), atomically: true, encoding: .utf8)
            Issue.record("recorded \(relative); review the diff and run again without PRECISIONLAB_RECORD_SNAPSHOTS to check it",
                         sourceLocation: sourceLocation)
            return
        }
        let expected = try Repository.text(relative)
        #expect(text == expected, "\(relative) differs from its snapshot; re-record with PRECISIONLAB_RECORD_SNAPSHOTS=1 if intended",
                sourceLocation: sourceLocation)
    }
}

/// A fresh directory under the system temporary directory, removed when `body` returns.
public func withTemporaryDirectory<R>(_ body: (URL) throws -> R) throws -> R {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("precisionlab-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    return try body(url)
}

/// `count` seeded values uniform in [-scale, scale): the same values for the same seed on every machine.
public func seededUniform(count: Int, scale: Double = 1, seed: UInt64) -> [Double] {
    var rng = SeededGenerator(seed: seed)
    return (0..<count).map { _ in (2 * rng.nextUnit() - 1) * scale }
}

/// Helpers on the lab's seeded generator, so every randomized test replays exactly from its seed.
extension SeededGenerator {
    public mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
    public mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) } }
}
