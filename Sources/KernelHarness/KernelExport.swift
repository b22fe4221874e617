import Base
import Formats
import Reference
import Results
import TensorIO

/// Writes the adversarial cases: one `.safetensors` file (tensors `x` and `y`) per family and format, `.npy` files
/// on request, and `manifest.json` with every case's exact results.
public enum KernelExport {
    public struct Selection: Sendable {
        public var reductions: [KernelReduction]
        public var formats: [FloatFormat]
        public var families: [KernelFamily]
        /// Elements of each 1-D family's input (nil: the families' own lengths; `rows` and `lengths` keep theirs).
        public var length: Int?
        public init(reductions: [KernelReduction] = KernelReduction.allCases, formats: [FloatFormat] = FloatFormat.arithmetic,
                    families: [KernelFamily] = KernelFamily.allCases, length: Int? = nil) {
            self.reductions = reductions
            self.formats = formats
            self.families = families
            self.length = length
        }
    }

    /// Long: the cases of `selection` with their exact answers; `inputs` receives each input set (to write it) and
    /// returns its .npy names. Inputs of `KernelStreaming.threshold` elements or more are reduced from their bytes
    /// (from the file written under `directory`, memory-mapped, when given), the others from their values.
    public static func cases(_ selection: Selection, threads: Int = Parallel.defaultThreads, directory: String? = nil,
                             progress: (String) -> Void = { _ in },
                             inputs: (KernelFamily.Input, String) throws -> [String: String] = { _, _ in [:] }) throws -> [KernelCase] {
        var cases = [KernelCase]()
        for format in selection.formats {
            for family in selection.families {
                for input in family.inputs(format: format, length: selection.length) {
                    let file = "\(input.label)-\(format.shortName).safetensors"
                    progress(file)
                    let npy = try inputs(input, file)
                    let rows = input.byRows ? input.shape[0] : 1, n = input.x.count / rows
                    var reductions = selection.reductions
                    if n >= KernelStreaming.threshold {
                        let streamed = try streamedCases(input, file: file, directory: directory, reductions: reductions, threads: threads)
                        cases += streamed.map { expected in makeCase(expected.0, input, family, file, npy, [expected.1]) }
                        reductions = reductions.filter { r in !streamed.contains { $0.0 == r } }
                    }
                    // One job per (reduction, row): the references are independent, and the MPFR ones dominate.
                    let jobs = reductions.flatMap { r in (0..<rows).map { (r, $0) } }
                    let expected = SendableBox(UnsafeMutableBufferPointer<KernelExpected>.allocate(capacity: jobs.count))
                    Parallel.forEach(parts: jobs.count, threads: threads) { j in
                        let (reduction, row) = jobs[j]
                        let x = Array(input.x[row * n..<(row + 1) * n]), y = Array(input.y[row * n..<(row + 1) * n])
                        (expected.value.baseAddress! + j).initialize(to: KernelReference.evaluate(reduction, x: x, y: y, format: format))
                    }
                    for (k, reduction) in reductions.enumerated() {
                        cases.append(makeCase(reduction, input, family, file, npy, Array(expected.value[k * rows..<(k + 1) * rows])))
                    }
                    expected.value.deinitialize()
                    expected.value.deallocate()
                }
            }
        }
        return cases
    }

    static func makeCase(_ reduction: KernelReduction, _ input: KernelFamily.Input, _ family: KernelFamily, _ file: String,
                       _ npy: [String: String], _ expected: [KernelExpected]) -> KernelCase {
        KernelCase(name: "\(reduction.rawValue).\(input.label).\(input.format.shortName)", reduction: reduction,
                   family: family.rawValue, format: input.format, file: file, npy: npy.filter { reduction.inputNames.contains($0.key) },
                   inputs: reduction.inputNames, shape: input.shape, axis: input.byRows ? -1 : nil, expected: expected)
    }

    /// The references `KernelStreaming` computes for a long 1-D input, from the written file or from its bytes.
    static func streamedCases(_ input: KernelFamily.Input, file: String, directory: String?, reductions: [KernelReduction],
                              threads: Int) throws -> [(KernelReduction, KernelExpected)] {
        func run(_ x: UnsafeRawPointer, _ y: UnsafeRawPointer) -> [(KernelReduction, KernelExpected)] {
            let bx = FloatBuffer(format: input.format, base: x, count: input.x.count), by = FloatBuffer(format: input.format, base: y, count: input.y.count)
            return reductions.compactMap { r in KernelStreaming.evaluate(r, x: bx, y: by, format: input.format, threads: threads).map { (r, $0) } }
        }
        if let directory {
            let mapped = try TensorFile(path: directory + "/" + file, format: .safetensors)
            guard let x = mapped.tensor(named: "x")?.bytes.baseAddress, let y = mapped.tensor(named: "y")?.bytes.baseAddress else { return [] }
            return run(x, y)
        }
        let (xb, yb) = (bytes(input.x, input.format), bytes(input.y, input.format))
        return xb.withUnsafeBytes { x in yb.withUnsafeBytes { y in run(x.baseAddress!, y.baseAddress!) } }
    }

    /// Writes the selection's input files and `manifest.json` into `directory` (which must exist); returns the manifest.
    public static func write(to directory: String, selection: Selection, npy: Bool, threads: Int = Parallel.defaultThreads,
                             progress: (String) -> Void = { _ in }) throws -> KernelManifest {
        let cases = try cases(selection, threads: threads, directory: directory, progress: progress) { input, file in
            try writeTensors(input, path: directory + "/" + file, format: .safetensors)
            guard npy, input.format.shortName != "bf16" else { return [:] }  // numpy has no bfloat16 dtype
            var names = [String: String]()
            for tensor in ["x", "y"] {
                let name = "\(input.label)-\(input.format.shortName).\(tensor).npy"
                try writeTensors(input, path: directory + "/" + name, format: .npy, only: tensor)
                names[tensor] = name
            }
            return names
        }
        let manifest = KernelManifest(root: directory, cases: cases)
        try AtomicFile.writeText(path: directory + "/manifest.json", contents: manifest.json.prettyText() + "\n")
        return manifest
    }

    static func writeTensors(_ input: KernelFamily.Input, path: String, format: TensorFileFormat, only: String? = nil) throws {
        let dtype = TensorDType(format: input.format)!
        let tensors = [("x", input.x), ("y", input.y)].filter { only == nil || $0.0 == only }
        try TensorWriter.write(path: path, format: format, tensors: tensors.map { (TensorSpec(name: $0.0, dtype: dtype, shape: input.shape), bytes($0.1, input.format)) })
    }

    /// Little-endian bytes of values of `format`.
    public static func bytes(_ values: [Double], _ format: FloatFormat) -> [UInt8] {
        let width = format.bitWidth / 8
        var out = [UInt8](repeating: 0, count: values.count * width)
        for (i, v) in values.enumerated() {
            let bits = format.encode(v, saturating: false)
            for b in 0..<width { out[i * width + b] = UInt8(truncatingIfNeeded: bits >> UInt64(8 * b)) }
        }
        return out
    }
}
