#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Creates a file atomically: everything goes to a fresh temporary file in the destination's directory
/// (same file system, so `rename` is atomic), which replaces the destination only once complete. A reader
/// therefore never sees a half-written tensor file, and a failed write leaves the old file untouched.
public struct AtomicFile {
    let path: String
    private let temporaryPath: String
    private let fd: Int32
    /// Where the signal handler finds `temporaryPath` (see `TemporaryFiles`).
    private let slot: Int?

    /// Writes `contents` to `path` atomically (reports, JSON documents).
    public static func writeText(path: String, contents: String) throws {
        try create(path: path) { file in
            var text = contents
            try text.withUTF8 { try file.append(UnsafeRawBufferPointer($0)) }
        }
    }

    /// Runs `body` with a file open for appending, then renames it over `path`; on any error the
    /// temporary file is removed and the error rethrown.
    static func create(path: String, _ body: (inout AtomicFile) throws -> Void) throws {
        var file = try AtomicFile(path: path)
        do {
            try body(&file)
        } catch {
            close(file.fd)
            unlink(file.temporaryPath)
            TemporaryFiles.forget(file.slot)
            throw error
        }
        defer { TemporaryFiles.forget(file.slot) }
        try file.commit()
    }

    private init(path: String) throws(TensorIOError) {
        self.path = path
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        TemporaryFiles.removeStale(in: directory)
        var candidate = ""
        var descriptor: Int32 = -1
        var slot: Int?
        var failure: Int32 = 0
        for _ in 0..<16 {   // O_EXCL: retry on the (astronomically unlikely) name collision only
            candidate = directory + TemporaryFiles.name(for: name)
            // Remembered before it exists, so that a signal arriving as it is created still removes it.
            slot = TemporaryFiles.remember(candidate)
            descriptor = open(candidate, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)   // umask applies
            if descriptor >= 0 { break }
            failure = errno
            TemporaryFiles.forget(slot)
            if failure != EEXIST { break }
        }
        guard descriptor >= 0 else {
            throw TensorIOError(path: path, message: "cannot create a temporary file next to it: \(systemError(failure))")
        }
        // Held until the file is closed: a file whose lock anyone can take has no live writer.
        _ = flock(descriptor, LOCK_EX | LOCK_NB)
        temporaryPath = candidate
        fd = descriptor
        self.slot = slot
    }

    /// Appends all of `bytes`, retrying short writes and EINTR.
    func append(_ bytes: UnsafeRawBufferPointer) throws(TensorIOError) {
        var offset = 0
        while offset < bytes.count, let base = bytes.baseAddress {
            let written = write(fd, base + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw TensorIOError(path: path, message: "cannot write: \(systemError())")
            }
            offset += written
        }
    }

    private func commit() throws(TensorIOError) {
        // Data on disk before the rename makes it visible, so a crash cannot leave a short file under the name.
        if fsync(fd) != 0 {
            let reason = systemError()
            close(fd)
            unlink(temporaryPath)
            throw TensorIOError(path: path, message: "cannot write: \(reason)")
        }
        if close(fd) != 0 {
            let reason = systemError()
            unlink(temporaryPath)
            throw TensorIOError(path: path, message: "cannot write: \(reason)")
        }
        if rename(temporaryPath, path) != 0 {
            let reason = systemError()
            unlink(temporaryPath)
            throw TensorIOError(path: path, message: "cannot move the finished temporary file into place: \(reason)")
        }
    }
}
