import Formats
import TensorIO
#if canImport(Glibc)
import Glibc
#endif

/// The child side of `LibraryRunner`: loads the kernel with dlopen and answers one request line per call on stdin
/// (`call <file> <x> <y or -> <first element> <n> <dtype code>`) with `ok <hex bits of the double>`, `err <code>`
/// (the kernel returned nonzero) or `bad <problem>`. A crash of the kernel ends this process, which the parent sees.
public enum KernelWorker {
    public typealias Kernel = @convention(c) (UnsafeRawPointer?, Int64, Int32, UnsafeMutablePointer<Double>?) -> Int32

    /// Where replies go: the original stdout. The kernel's own stdout is sent to stderr (which the parent reads and
    /// quotes when the kernel fails), so a kernel that prints cannot corrupt the protocol.
    nonisolated(unsafe) static var replies: Int32 = 1

    /// Serves requests until stdin closes; returns the exit code.
    public static func serve(library: String, symbol: String) -> Int32 {
        replies = dup(1)
        dup2(2, 1)
        guard let handle = dlopen(library, RTLD_NOW | RTLD_LOCAL) else {
            reply("fail cannot load the library: \(dlerror().map { String(cString: $0) } ?? "unknown error")")
            return 3
        }
        guard let address = dlsym(handle, symbol) else {
            reply("fail the library has no symbol '\(symbol)'")
            return 3
        }
        let kernel = unsafeBitCast(address, to: Kernel.self)
        reply("ready")
        var files = [String: TensorFile]()
        while let line = readLine() {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 7, fields[0] == "call", let start = Int(fields[4]), let n = Int(fields[5]), let dtype = Int32(fields[6]) else {
                reply("bad malformed request"); continue
            }
            do throws(TensorIOError) {
                let file: TensorFile
                if let known = files[fields[1]] { file = known } else { file = try TensorFile(path: fields[1], format: .safetensors) }
                files[fields[1]] = file
                reply(call(kernel, file: file, x: fields[2], y: fields[3] == "-" ? nil : fields[3], start: start, n: n, dtype: dtype))
            } catch {
                reply("bad \(error.description)")
            }
        }
        return 0
    }

    /// One call: the row's elements copied into a buffer of their own (x, then y for `dot`), so a kernel that reads
    /// past its input faults on its own memory's edge rather than reading the next row.
    static func call(_ kernel: Kernel, file: TensorFile, x: String, y: String?, start: Int, n: Int, dtype: Int32) -> String {
        let names = [x] + (y.map { [$0] } ?? [])
        var views = [TensorView]()
        for name in names {
            guard let view = file.tensor(named: name), start >= 0, n >= 0, start + n <= view.count else { return "bad \(file.path): no elements \(start)..<\(start + n) of tensor '\(name)'" }
            views.append(view)
        }
        let size = views[0].dtype.byteSize
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(1, n * size * views.count), alignment: 64)
        defer { buffer.deallocate() }
        for (k, view) in views.enumerated() {
            buffer.advanced(by: k * n * size).copyMemory(from: view.bytes.baseAddress!.advanced(by: start * size), byteCount: n * size)
        }
        var out = Double.nan
        let status = kernel(UnsafeRawPointer(buffer), Int64(n), dtype, &out)
        if status != 0 { return "err \(status)" }
        return "ok " + String(out.bitPattern, radix: 16)
    }

    static func reply(_ text: String) {
        let line = text + "\n"
        var bytes = Array(line.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(replies, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }
            done += n
        }
    }
}
