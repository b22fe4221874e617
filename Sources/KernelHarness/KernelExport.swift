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
        public init(reductions: [KernelReduction] = KernelReduction.allCases, formats: [FloatFormat] = FloatFormat.arithmetic,
                    families: [KernelFamily] = KernelFamily.allCases) {
            self.reductions = reductions
            self.formats = formats
            self.families = families
        }
    }

    /// The cases of `selection` with their exact answers, without writing anything; `inputs` receives each input set.
    public static func cases(_ selection: Selection, threads: Int = Parallel.defaultThreads,
                             inputs: (KernelFamily.Input, String) throws -> [String: String] = { _, _ in [:] }) rethrows -> [KernelCase] {
        var cases = [KernelCase]()
        for format in selection.formats {
            for family in selection.families {
                for input in family.inputs(format: format) {
                    let file = "\(input.label)-\(format.shortName).safetensors"
                    let npy = try inputs(input, file)
                    let rows = input.byRows ? input.shape[0] : 1, n = input.x.count / rows
                    let reductions = selection.reductions
                    // One job per (reduction, row): the references are independent, and the MPFR ones dominate.
                    let jobs = reductions.flatMap { r in (0..<rows).map { (r, $0) } }
                    let expected = SendableBox(UnsafeMutableBufferPointer<KernelExpected>.allocate(capacity: jobs.count))
                    Parallel.forEach(parts: jobs.count, threads: threads) { j in
                        let (reduction, row) = jobs[j]
                        let x = Array(input.x[row * n..<(row + 1) * n]), y = Array(input.y[row * n..<(row + 1) * n])
                        (expected.value.baseAddress! + j).initialize(to: KernelReference.evaluate(reduction, x: x, y: y, format: format))
                    }
                    for (k, reduction) in reductions.enumerated() {
                        cases.append(KernelCase(
                            name: "\(reduction.rawValue).\(input.label).\(format.shortName)", reduction: reduction,
                            family: family.rawValue, format: format, file: file,
                            npy: npy.filter { reduction.inputNames.contains($0.key) }, inputs: reduction.inputNames,
                            shape: input.shape, axis: input.byRows ? -1 : nil,
                            expected: Array(expected.value[k * rows..<(k + 1) * rows])))
                    }
                    expected.value.deinitialize()
                    expected.value.deallocate()
                }
            }
        }
        return cases
    }

    /// Writes the selection's input files and `manifest.json` into `directory` (which must exist); returns the manifest.
    public static func write(to directory: String, selection: Selection, npy: Bool, threads: Int = Parallel.defaultThreads) throws -> KernelManifest {
        let cases = try cases(selection, threads: threads) { input, file in
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
