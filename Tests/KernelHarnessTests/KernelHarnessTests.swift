import Base
import Foundation
import Formats
import KernelHarness
import Reference
import Results
import TensorIO
import Testing

@Suite struct KernelHarnessTests {
    static func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("precision-lab-kernels-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func theManifestRoundTripsAndItsFilesHoldTheValues() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let selection = KernelExport.Selection(reductions: [.sum, .dot, .logsumexp], formats: [.float16, .bfloat16],
                                               families: [.rows, .cancellation, .withNaN, .lengths])
        let written = try KernelExport.write(to: dir, selection: selection, npy: true)
        let text = try String(contentsOfFile: dir + "/manifest.json", encoding: .utf8)
        let read = try KernelManifest(parsing: text, path: "manifest.json")
        // Compared as documents: NaN expectations are not == to themselves as Doubles.
        #expect(KernelManifest(root: written.root, cases: read.cases).json.compactText == written.json.compactText, "the manifest read back differs")
        #expect(read.cases.count == 3 * 2 * (3 + KernelFamily.lengthVariants.count))
        for c in read.cases {
            let inputs = try KernelInputs(c, directory: dir)
            for row in 0..<c.resultCount {
                let range = row * c.length..<(row + 1) * c.length
                let x = KernelInputs.values(inputs.x, range), y = inputs.y.map { KernelInputs.values($0, range) } ?? []
                let again = KernelReference.evaluate(c.reduction, x: x, y: y, format: c.format)
                #expect(again.rounded.bitPattern == c.expected[row].rounded.bitPattern || (again.rounded.isNaN && c.expected[row].rounded.isNaN), "\(c.name) row \(row)")
            }
            #expect(c.format == .bfloat16 ? c.npy.isEmpty : c.npy.count == c.inputs.count, "\(c.name): \(c.npy)")
        }
        let rows = read.cases.first { $0.family == "rows" }!
        #expect(rows.axis == -1 && rows.resultCount == 8 && rows.expected.count == 8)
        // The hex text is exact: it reads back as the same Double.
        for c in read.cases { for e in c.expected { #expect(KernelManifest.parseFloat(KernelManifest.hexText(e.rounded))?.bitPattern == e.rounded.bitPattern || e.rounded.isNaN) } }
    }

    @Test func aHandEditedManifestIsRejectedWithTheCaseNamed() throws {
        let good = KernelManifest(root: "/x", cases: try KernelExport.cases(.init(reductions: [.norm2], formats: [.float32], families: [.rows]))).json.compactText
        let broken = good.replacingOccurrences(of: "\"axis\":-1", with: "\"axis\":0")
        #expect(throws: KernelHarnessError.self) { try KernelManifest(parsing: broken, path: "m.json") }
        do { _ = try KernelManifest(parsing: broken, path: "m.json") } catch {
            #expect(error.description.contains("m.json") && error.description.contains("norm2.rows.f32") && error.description.contains("axis"))
        }
        #expect(throws: KernelHarnessError.self) { try KernelManifest(parsing: "{\"cases\": []}", path: "m.json") }
        func rejects(_ edited: String, _ problem: String) {
            do { _ = try KernelManifest(parsing: edited, path: "m.json"); Issue.record("accepted: \(problem)") } catch {
                #expect(error.description.contains(problem), "\(error.description)")
            }
        }
        rejects(good.replacingOccurrences(of: "\"version\":1", with: "\"version\":99"), "version")
        rejects(good.replacingOccurrences(of: "\"file\":\"rows-f32.safetensors\"", with: "\"file\":\"../../etc/passwd\""), "inside the manifest's directory")
        let cases = try KernelExport.cases(.init(reductions: [.sum, .mean], formats: [.float32], families: [.gradients]))
        let twice = KernelManifest(root: "/x", cases: [cases[0], cases[0]]).json.compactText
        rejects(twice, "appears twice")
        let decimal = KernelManifest(root: "/x", cases: [cases[0]]).json.compactText
        let shown = Figures.exact(cases[0].expected[0].rounded)
        rejects(decimal.replacingOccurrences(of: "\"decimal\":\"\(shown)\"", with: "\"decimal\":\"1.5\""), "is not the \"hex\"")
        #expect(throws: KernelHarnessError.self) { try KernelManifest(parsing: "[1", path: "m.json") }
    }

    @Test func commandTemplatesSplitLikeAShellAndKeepPathsWhole() throws {
        let t = try CommandTemplate(#"python3 "my kernel.py" --in={input} '{output}' a\ b {{literal}} "x {dtype} y""#, placeholders: CommandTemplate.casePlaceholders)
        let args = t.arguments(["input": "/tmp/with space/in.safetensors", "output": "/tmp/o u t.json", "dtype": "f16"])
        #expect(args == ["python3", "my kernel.py", "--in=/tmp/with space/in.safetensors", "/tmp/o u t.json", "a b", "{literal}", "x f16 y"])
        #expect(t.placeholders == ["input", "output", "dtype"])
        for bad in ["run {nope}", "run {input", "run 'open", "run }", "", "   ", "run \\"] {
            #expect(throws: KernelHarnessError.self, "\(bad)") { try CommandTemplate(bad, placeholders: CommandTemplate.casePlaceholders) }
        }
        #expect(throws: KernelHarnessError.self) { try CommandTemplate("k {input}", placeholders: CommandTemplate.batchPlaceholders) }
    }

    @Test func kernelOutputsAreReadInEveryFormatAndBadOnesNamed() throws {
        func parse(_ bytes: [UInt8]) -> Result<[Double], KernelHarnessError> { bytes.withUnsafeBytes { KernelOutput.parse($0, path: "out") } }
        #expect(try parse(Array("[1.5, \"inf\", \"nan\", -2]".utf8)).get().map { Figures.exact($0) } == ["1.5", "inf", "nan", "-2.0"])
        #expect(try parse(Array(" 0.125\n".utf8)).get() == [0.125])
        let npy = try TensorWriter.encode(format: .npy, tensors: [(TensorSpec(name: "r", dtype: .f16, shape: [2]), [0x00, 0x3C, 0x00, 0x7C])])
        #expect(try parse(npy).get() == [1, .infinity])
        let st = try TensorWriter.encode(format: .safetensors, tensors: [(TensorSpec(name: "r", dtype: .f32, shape: []), [0, 0, 0x80, 0x3F])])
        #expect(try parse(st).get() == [1])
        let ints = try TensorWriter.encode(format: .safetensors, tensors: [(TensorSpec(name: "r", dtype: .i32, shape: [1]), [1, 0, 0, 0])])
        #expect(throws: KernelHarnessError.self) { try parse(ints).get() }
        #expect(throws: KernelHarnessError.self) { try parse([]).get() }
        #expect(throws: KernelHarnessError.self) { try parse(Array("{\"a\": 1}".utf8)).get() }
        #expect(try parse(Array("[NaN, Infinity, -Infinity, 0x1p-3, -nan]".utf8)).get().map { Figures.exact($0) } == ["nan", "inf", "-inf", "0.125", "nan"])
        #expect(throws: KernelHarnessError.self) { try parse(Array("[1, 2".utf8)).get() }
        #expect(throws: KernelHarnessError.self) { try parse(Array("[1, \"x\"]".utf8)).get() }
    }

    @Test func theBoundsHoldForTheTextbookAlgorithmsInFloat32() {
        // A recursive Float32 sum, a two-pass Float32 variance and a max-shifted Float32 log-sum-exp stay within
        // their stated bounds on every family (and the bounds are not vacuous: below 1 of the value on gradients).
        for input in KernelFamily.allCases.flatMap({ $0.inputs(format: .float32) }) where !input.byRows && input.x.allSatisfy(\.isFinite) {
            let x = input.x.map { Float($0) }
            var s: Float = 0
            for v in x { s += v }
            var m: Float = 0
            for v in x { m += v }
            m /= Float(x.count)
            var q: Float = 0
            for v in x { q += (v - m) * (v - m) }
            let variance = q / Float(x.count)
            let top = x.max()!
            var e: Float = 0
            for v in x { e += Foundation.exp(v - top) }
            let lse = top + Foundation.log(e)
            for (r, value) in [(KernelReduction.sum, s), (.variance, variance), (.logsumexp, lse)] {
                let exact = KernelReference.evaluate(r, x: input.x, format: .float32).rounded
                guard exact.isFinite, Double(value).isFinite else { continue }
                let b = KernelBounds.bound(r, x: input.x, y: [], exact: exact, accumulator: .float32, output: .float32)
                #expect((Double(value) - exact).magnitude <= b + FloatFormat.float32.ulp(of: exact) / 2, "\(r.rawValue) on \(input.label): \(value) vs \(exact), bound \(b)")
                if input.family == .gradients { #expect(b < exact.magnitude) }
            }
        }
    }
}
