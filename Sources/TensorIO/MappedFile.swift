#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only private memory map of a whole regular file, unmapped on deinit.
///
/// Mapping instead of reading means a 1 GiB checkpoint is paged in lazily, only where tensors are touched.
/// Caveat inherent to mmap: if another process truncates the file while it is mapped, touching the lost
/// pages raises SIGBUS; TensorIO cannot defend against that, so do not rewrite files in place (TensorWriter
/// never does: it renames a new file over the old one, which leaves existing maps intact).
public final class MappedFile {
    public let bytes: UnsafeRawBufferPointer

    public init(path: String) throws(TensorIOError) {
        // O_NONBLOCK so that opening a FIFO by mistake fails the regular-file check instead of hanging.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw TensorIOError(path: path, message: "cannot open: \(systemError())") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw TensorIOError(path: path, message: "cannot stat: \(systemError())") }
        switch info.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: throw TensorIOError(path: path, message: "is a directory, not a file")
        default: throw TensorIOError(path: path, message: "is not a regular file")
        }
        guard info.st_size > 0 else { throw TensorIOError(path: path, message: "file is empty") }
        guard let size = Int(exactly: info.st_size) else { throw TensorIOError(path: path, message: "file is too large to map") }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw TensorIOError(path: path, message: "cannot map \(size) bytes: \(systemError())")
        }
        bytes = UnsafeRawBufferPointer(start: base, count: size)
    }

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
    }
}

/// The current `errno` as text, e.g. "No such file or directory".
func systemError(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }
