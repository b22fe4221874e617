import Base
import Formats
import Results
import TensorIO
#if canImport(Glibc)
import Glibc
#endif

/// Runs a kernel on one case: one value per result, or a one-line reason the case failed (a crash, a timeout, an
/// error code, a malformed output). Throws only when the kernel cannot be run at all (exit code 2).
public protocol KernelRunner {
    mutating func run(_ c: KernelCase, inputs: KernelInputs, directory: String) throws(KernelHarnessError) -> Result<[Double], KernelHarnessError>
}

/// A kernel that is a command: one process per case, the template's placeholders filled in.
public struct CommandRunner: KernelRunner {
    public let template: CommandTemplate
    public let timeout: Double
    /// Where `{output}` files go; their extension tells the kernel which format to write.
    public let scratch: String
    public let outputExtension: String

    public init(template: CommandTemplate, timeout: Double, scratch: String, outputExtension: String) {
        self.template = template
        self.timeout = timeout
        self.scratch = scratch
        self.outputExtension = outputExtension
    }

    /// The placeholder values of one case.
    public static func values(_ c: KernelCase, directory: String) -> [String: String] {
        [
            "input": directory + "/" + c.file, "x": c.npy["x"].map { directory + "/" + $0 } ?? "",
            "y": c.npy["y"].map { directory + "/" + $0 } ?? "", "reduction": c.reduction.rawValue, "dtype": c.format.shortName,
            "axis": c.axis == nil ? "none" : "-1", "rows": String(c.resultCount), "length": String(c.length), "name": c.name,
        ]
    }

    public mutating func run(_ c: KernelCase, inputs: KernelInputs, directory: String) throws(KernelHarnessError) -> Result<[Double], KernelHarnessError> {
        let output = scratch + "/" + c.name + "." + outputExtension
        unlink(output)
        var values = Self.values(c, directory: directory)
        values["output"] = output
        let arguments = template.arguments(values)
        let child = try ChildProcess(arguments)
        if let failure = Self.wait(child, timeout: timeout, what: "the kernel") { return .failure(KernelHarnessError(c.name, failure)) }
        return Self.read(output, c)
    }

    /// Waits for a child to end; nil if it exited with status 0, else why it did not (with its last line of stderr).
    static func wait(_ child: ChildProcess, timeout: Double, what: String) -> String? {
        child.closeStdin()
        var out = [UInt8](), err = [UInt8]()
        let late = child.read(until: ChildProcess.now() + timeout, line: false, stdout: &out, stderr: &err)
        let ending = child.finish(kill: late)
        if ending == .exited(0) { return nil }
        let last = String(decoding: err, as: UTF8.self).split(separator: "\n").last.map { ": " + $0.prefix(300) } ?? ""
        if ending == .timedOut { return "\(what) timed out after \(Figures.constant(timeout)) s" }
        return "\(what) \(ending.description)\(last)"
    }

    /// The values the kernel wrote for case `c`; a failure names the case first, then the file.
    static func read(_ path: String, _ c: KernelCase) -> Result<[Double], KernelHarnessError> {
        KernelOutput.read(path: path).mapError { KernelHarnessError(c.name, $0.description) }.flatMap { shaped($0, c) }
    }

    /// The kernel's values if there is one per result of the case.
    static func shaped(_ values: [Double], _ c: KernelCase) -> Result<[Double], KernelHarnessError> {
        guard values.count == c.resultCount else {
            return .failure(KernelHarnessError(c.name, "wrong shape: the kernel wrote \(values.count) value(s), the case has \(c.resultCount) result(s)"))
        }
        return .success(values)
    }
}

/// A C ABI kernel (include/precision_lab_kernel.h) run by a worker process (`precision-lab kernels worker`), so
/// that a crash or a hang is a failed case: the worker is restarted for the next case.
public struct LibraryRunner: KernelRunner {
    public let library: String
    public let symbol: String
    public let timeout: Double
    /// The lab's own executable, which serves as the worker.
    public let executable: String
    private var worker: ChildProcess?

    public init(library: String, symbol: String, timeout: Double, executable: String) {
        // dlopen searches the library path for a bare name: a file of that name here is meant, as a shell user means it.
        self.library = !library.contains("/") && access(library, F_OK) == 0 ? "./" + library : library
        self.symbol = symbol
        self.timeout = timeout
        self.executable = executable
        signal(SIGPIPE, SIG_IGN)  // a worker that died must not take the lab with it
    }

    /// Starts the worker; throws when the library or its symbol cannot be loaded (the kernel cannot run at all).
    mutating func start() throws(KernelHarnessError) -> ChildProcess {
        if let worker { return worker }
        // No Swift backtrace when the kernel crashes the worker: the kernel's own last words are the ones to quote.
        let child = try ChildProcess([executable, "kernels", "worker", "--library", library, "--symbol", symbol],
                                     environment: ["SWIFT_BACKTRACE": "enable=no"])
        var out = [UInt8](), err = [UInt8]()
        let late = child.read(until: ChildProcess.now() + max(timeout, 10), line: true, stdout: &out, stderr: &err)
        let reply = String(decoding: out, as: UTF8.self)
        guard reply.hasPrefix("ready") else {
            if reply.hasPrefix("fail ") { throw KernelHarnessError(library, String(reply.dropFirst(5)).trimmingNewline) }
            throw KernelHarnessError(library, late ? "the kernel worker did not start" : "the kernel worker \(child.finish().description) while loading the library")
        }
        worker = child
        return child
    }

    public mutating func run(_ c: KernelCase, inputs: KernelInputs, directory: String) throws(KernelHarnessError) -> Result<[Double], KernelHarnessError> {
        let deadline = ChildProcess.now() + timeout
        var values = [Double]()
        for row in 0..<c.resultCount {
            let child = try start()
            let request = ["call", inputs.file.path, c.inputs[0], c.inputs.count > 1 ? c.inputs[1] : "-", String(row * c.length),
                           String(c.length), String(KernelManifest.dtypeCode(c.format))].joined(separator: "\t") + "\n"
            var out = [UInt8](), err = [UInt8]()
            let sent = child.write(request)
            let late = sent && child.read(until: deadline, line: true, stdout: &out, stderr: &err)
            let reply = String(decoding: out, as: UTF8.self)
            let at = c.resultCount > 1 ? " on row \(row)" : ""
            if reply.hasPrefix("ok "), let bits = UInt64(reply.dropFirst(3).trimmingNewline, radix: 16) {
                values.append(Double(bitPattern: bits))
                continue
            }
            if reply.hasPrefix("err ") { return .failure(KernelHarnessError(c.name, "the kernel returned error code \(reply.dropFirst(4).trimmingNewline)\(at)")) }
            if reply.hasPrefix("bad ") { return .failure(KernelHarnessError(c.name, String(reply.dropFirst(4)).trimmingNewline)) }
            worker = nil
            let said = String(decoding: err, as: UTF8.self).split(separator: "\n").last.map { ": " + $0.prefix(300) } ?? ""
            if late { return .failure(KernelHarnessError(c.name, "the kernel timed out after \(Figures.constant(timeout)) s\(at)\(said)")) }
            if !reply.isEmpty {
                child.finish(kill: true)
                return .failure(KernelHarnessError(c.name, "the kernel worker replied '\(reply.prefix(80).trimmingNewline)'\(at)"))
            }
            return .failure(KernelHarnessError(c.name, "the kernel \(child.finish().description)\(at)\(said)"))
        }
        return .success(values)
    }
}

extension StringProtocol {
    var trimmingNewline: String { String(self).split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? "" }
}
