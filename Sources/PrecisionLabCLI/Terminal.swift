import Foundation
import PrecisionLab
#if canImport(Glibc)
import Glibc
#endif

/// stderr output and progress. Progress is shown only when stderr is a terminal, and stays quiet otherwise.
enum Terminal {
    static func stderr(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    static let stderrIsTerminal = isatty(2) != 0

    static func progress(_ message: String) {
        guard stderrIsTerminal else { return }
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + message).utf8))
    }

    static func endProgress() {
        guard stderrIsTerminal else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}

/// Fails early (before any long computation) when `path` cannot be written: its directory is missing.
func checkOutputPath(_ path: String) throws {
    let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
        throw InputError(path, "directory \(directory.path) does not exist")
    }
}

/// Writes text atomically: to a temporary file beside the destination, then rename.
func writeAtomically(_ text: String, to path: String) throws {
    try checkOutputPath(path)
    try AtomicFile.writeText(path: path, contents: text)
}
