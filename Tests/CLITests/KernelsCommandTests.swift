import Foundation
import PrecisionLab
import Testing
import TestSupport

/// `kernels export` and `kernels test` end to end, with the example kernels of examples/kernels/ built by the system
/// C compiler: the harness must fail the naive Float16 norm on the overflow family, pass the correctly rounded one at
/// 0 ulps, flag the thread-arrival-order one under --repeat, and report crashes, hangs and malformed outputs as
/// failed cases with their names.
@Suite(.serialized) struct KernelsCommandTests {
    /// A directory with a space in its name, the norm2 cases exported into it, and the example kernels built.
    final class Workspace {
        let root: URL
        var cases: String { root.appendingPathComponent("cases dir").path }
        init(formats: String = "f16,bf16,f32,f64") throws {
            root = try CLI.temporaryDirectory().appendingPathComponent("with space")
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            let export = try CLI.run(["kernels", "export", cases, "--reductions", "norm2", "--formats", formats])
            #expect(export.status == 0, "\(export.stderr)")
        }
        deinit { try? FileManager.default.removeItem(at: root.deletingLastPathComponent()) }

        /// Builds C sources (paths relative to the repository, or absolute) into root/name with extra cc flags.
        func build(_ name: String, _ sources: [String], _ flags: [String]) throws -> String {
            let out = root.appendingPathComponent(name).path
            let cc = Process()
            cc.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            cc.arguments = ["cc", "-O2", "-I", Repository.path("include")] + sources.map { $0.hasPrefix("/") ? $0 : Repository.path($0) } + ["-o", out] + flags
            try cc.run()
            cc.waitUntilExit()
            #expect(cc.terminationStatus == 0, "cc \(sources) failed")
            return out
        }

        func library(_ example: String, _ flags: [String] = []) throws -> String {
            try build(example + ".so", ["examples/kernels/\(example).c"], ["-shared", "-fPIC", "-lm"] + flags)
        }

        func test(_ arguments: [String]) throws -> (CLIResult, [[String: Any]]) {
            let result = try CLI.run(["kernels", "test", "--cases", cases, "--json"] + arguments)
            let document = (try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8))) as? [String: Any]
            return (result, document?["results"] as? [[String: Any]] ?? [])
        }
    }

    static func failures(_ results: [[String: Any]]) -> [String: String] {
        var out = [String: String]()
        for r in results where r["passed"] as? Bool == false { out[r["name"] as! String] = r["failure"] as? String ?? "" }
        return out
    }

    @Test func theNaiveFloat16NormFailsOnTheOverflowFamily() throws {
        let w = try Workspace()
        let (result, results) = try w.test(["--library", try w.library("naive_norm"), "--symbol", "naive_norm2"])
        #expect(result.status == 1, "\(result.stderr)")
        let failed = Self.failures(results)
        #expect(failed["norm2.overflow-squares.f16"]?.contains("inf against") == true, "\(failed)")
        #expect(failed["norm2.rows.f16"] != nil)
        #expect(failed["norm2.gradients.f64"] == nil, "a Float64 recursive sum is within the Float64 bound: \(failed)")
    }

    @Test func theCorrectlyRoundedNormPassesAtZeroUlpsAndTheFloat32OneWithinItsBound() throws {
        let w = try Workspace()
        let out = w.root.appendingPathComponent("report.md").path, junit = w.root.appendingPathComponent("junit.xml").path
        let (exact, results) = try w.test(["--library", try w.library("exact_norm", ["-lmpfr", "-lgmp"]), "--symbol", "exact_norm2",
                                           "--tolerance-ulps", "0", "--out", out, "--junit", junit])
        #expect(exact.status == 0, "\(Self.failures(results)) \(exact.stderr)")
        #expect(results.count == 96 && results.allSatisfy { $0["worst_ulps"] as? Double == 0 })
        let report = try String(contentsOfFile: out, encoding: .utf8)
        #expect(report.contains("**96 of 96 cases passed**") && report.contains("| norm2 | overflow-squares | f16 bf16 f32 f64 | 4 | 0 | 0 |"))
        let svg = try String(contentsOfFile: w.root.appendingPathComponent("report-ulps.svg").path, encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && !svg.contains("nan") && !svg.contains("inf\""))
        var xml = try String(contentsOfFile: junit, encoding: .utf8)
        #expect(xml.contains("<testsuites name=\"precision-lab kernels\" tests=\"96\" failures=\"0\"") && xml.components(separatedBy: "<testcase ").count == 97)
        // A case name with control characters (a hand-edited manifest) stays one escaped line on stdout and valid XML.
        let manifest = w.cases + "/manifest.json"
        let text = try String(contentsOfFile: manifest, encoding: .utf8)
        try text.replacingOccurrences(of: "\"norm2.gradients.f16\"", with: "\"evil\\u001b[31m\\nname\"").write(toFile: manifest, atomically: true, encoding: .utf8)
        let evil = try CLI.run(["kernels", "test", "--cases", w.cases, "--library", try w.library("naive_norm"), "--symbol", "naive_norm2", "--junit", junit])
        #expect(evil.status == 1 && !evil.stdout.contains("\u{1B}") && evil.stdout.contains("evil\\u{1b}[31m\\nname"), "\(evil.stdout.prefix(3000))")
        xml = try String(contentsOfFile: junit, encoding: .utf8)
        #expect(!xml.contains("\u{1B}") && xml.contains("name=\"evil\\u{1b}[31m\\nname\""))
        // Float32 accumulation: within the a-priori bound where nothing underflows; its subnormal squares vanish.
        let (f32, f32Results) = try w.test(["--library", try w.library("f32_norm"), "--symbol", "f32_norm2", "--formats", "f16,bf16,f32"])
        let failed = Self.failures(f32Results)
        #expect(f32.status == 1)
        #expect(failed["norm2.gradients.f16"] == nil && failed["norm2.gradients.f32"] == nil && failed["norm2.lengths-n65537.f32"] == nil, "\(failed)")
        #expect(failed["norm2.subnormal-only.f32"] != nil, "\(failed)")
    }

    @Test func theThreadArrivalOrderNormIsFlaggedUnderRepeat() throws {
        let w = try Workspace(formats: "f32")
        let racy = try w.library("racy_norm", ["-lpthread"])
        let (result, results) = try w.test(["--library", racy, "--symbol", "racy_norm2", "--repeat", "20", "--families", "mixed-magnitudes,rows,lengths,outlier"])
        #expect(result.status == 1)
        #expect(Self.failures(results).values.contains { $0.contains("not deterministic") }, "\(Self.failures(results))")
        // The deterministic kernel passes the same --repeat.
        let (again, _) = try w.test(["--library", try w.library("exact_norm", ["-lmpfr", "-lgmp"]), "--symbol", "exact_norm2", "--repeat", "3", "--tolerance-ulps", "0"])
        #expect(again.status == 0)
    }

    @Test func crashesHangsAndErrorCodesAreFailedCases() throws {
        let w = try Workspace(formats: "f32")
        let source = w.root.appendingPathComponent("bad.c").path
        try """
        #include <stdint.h>
        #include <stdio.h>
        #include <stdlib.h>
        int bad(const void *x, int64_t n, int32_t dtype, double *out) {
            if (n == 4096) { volatile int *p = 0; *p = 1; }
            if (n == 31) { printf("chatter on stdout\\n"); fflush(stdout); }
            if (n == 33) { fprintf(stderr, "bad row\\n"); abort(); }
            if (n == 1024) for (;;) {}
            if (n == 1000) return 7;
            *out = 1; return 0;
        }
        """.write(toFile: source, atomically: true, encoding: .utf8)
        let library = try w.build("bad.so", [source], ["-shared", "-fPIC"])
        let (result, results) = try w.test(["--library", library, "--symbol", "bad", "--timeout-s", "1"])
        #expect(result.status == 1)
        let failed = Self.failures(results)
        #expect(failed["norm2.gradients.f32"]?.contains("signal 11 (SIGSEGV)") == true, "\(failed)")
        #expect(failed["norm2.with-nan.f32"]?.contains("timed out after 1 s") == true, "\(failed)")
        #expect(failed["norm2.rows.f32"]?.contains("error code 7 on row 0") == true, "\(failed)")
        // A kernel that prints cannot break the worker's protocol; one that aborts is quoted.
        #expect(failed["norm2.lengths-n31.f32"]?.contains("1.0 against") == true, "\(failed)")
        #expect(failed["norm2.lengths-n33.f32"]?.contains("signal 6 (SIGABRT): bad row") == true, "\(failed)")
        #expect(results.count == 24)
        // A library or symbol that cannot be loaded: the kernel cannot run at all.
        let missing = try CLI.run(["kernels", "test", "--cases", w.cases, "--library", library, "--symbol", "nope"])
        missing.expectUsageError(naming: library)
    }

    @Test func commandKernelsGetWholePathsAndMalformedOutputsAreNamed() throws {
        let w = try Workspace(formats: "f32")
        // A command-line kernel: the correctly rounded example behind a main that reads the .safetensors input.
        let main = w.root.appendingPathComponent("main.c").path
        let source = """
        #include <stdio.h>
        #include <stdlib.h>
        #include "precision_lab_kernel.h"
        int exact_norm2(const void *x, int64_t n, int32_t dtype, double *out);
        int main(int argc, char **argv) {  /* input output rows length */
            FILE *f = fopen(argv[1], "rb"); uint64_t h; if (!f || fread(&h, 8, 1, f) != 1) return 3;
            long rows = atol(argv[3]), n = atol(argv[4]);
            float *x = malloc(sizeof(float) * rows * n); fseek(f, 8 + (long)h, SEEK_SET);
            if (fread(x, sizeof(float), rows * n, f) != (size_t)(rows * n)) return 4;
            FILE *o = fopen(argv[2], "w"); fputc('[', o);
            for (long r = 0; r < rows; r++) { double v; exact_norm2(x + r * n, n, PLK_DTYPE_F32, &v); fprintf(o, r ? ", %a" : "%a", v); }
            fputs("]", o); fclose(o); return 0;
        }
        """
        try source.write(toFile: main, atomically: true, encoding: .utf8)
        let kernel = try w.build("kernel bin", [main, "examples/kernels/exact_norm.c"], ["-lmpfr", "-lgmp", "-lm"])
        // Hex floats, as printf's %a writes them (exact), and %.17g with bare inf and nan are both read.
        let (hex, hexResults) = try w.test(["--command", "'\(kernel)' {input} {output} {rows} {length}", "--tolerance-ulps", "0"])
        #expect(hex.status == 0 && hexResults.count == 24, "\(Self.failures(hexResults)) \(hex.stderr)")
        try source.replacingOccurrences(of: "%a", with: "%.17g").write(toFile: main, atomically: true, encoding: .utf8)
        _ = try w.build("kernel bin", [main, "examples/kernels/exact_norm.c"], ["-lmpfr", "-lgmp", "-lm"])
        let (good, goodResults) = try w.test(["--command", "\"\(kernel)\" {input} {output} {rows} {length}", "--tolerance-ulps", "0"])
        #expect(good.status == 0 && goodResults.count == 24, "\(Self.failures(goodResults)) \(good.stderr)")
        // Malformed outputs: wrong shape, empty, not a float dtype, none at all; a failing exit status.
        let ints = w.root.appendingPathComponent("ints.safetensors").path
        try Data(TensorWriter.encode(format: .safetensors, tensors: [(TensorSpec(name: "r", dtype: .i32, shape: [1]), [1, 0, 0, 0])])).write(to: URL(fileURLWithPath: ints))
        for (script, message) in [("echo '[1, 2, 3]' > \"$1\"", "wrong shape: the kernel wrote 3 value(s)"), (": > \"$1\"", "empty"),
                                  ("echo '[1, oops]' > \"$1\"", "item 1 (oops) is not a number"),
                                  ("cp '\(ints)' \"$1\"", "I32, not a floating-point dtype"), ("true", "no output"), ("echo oops >&2; exit 3", "exited with status 3: oops")] {
            let (bad, badResults) = try w.test(["--command", "sh -c '\(script.replacingOccurrences(of: "'", with: "'\\''"))' kernel {output}", "--families", "gradients,rows"])
            let failed = Self.failures(badResults)
            #expect(bad.status == 1 && failed.count == 2 && failed.allSatisfy { $0.value.contains(message) && $0.value.contains($0.key) }, "\(script): \(failed) \(bad.stderr)")
        }
        // A command that does not exist, or a template that does not parse: exit 2.
        try CLI.run(["kernels", "test", "--cases", w.cases, "--command", "/no/such/kernel {input}"]).expectUsageError(naming: "/no/such/kernel")
        try CLI.run(["kernels", "test", "--cases", w.cases, "--command", "k {inptu}"]).expectUsageError(naming: "{inptu}")
        try CLI.run(["kernels", "test", "--cases", w.root.path, "--command", "k {input}"]).expectUsageError(naming: "manifest.json")
    }
}
