import Base
import Formats
import Results

/// The format table and the conformance report: pure functions from format descriptions and conformance
/// results to text.
public enum FormatReport {
    public static func formatTable(_ formats: [FloatFormat] = FloatFormat.all) -> TextTable {
        TextTable(
            header: ["format", "bits", "p", "exp bits", "bias", "emin", "emax", "largest finite", "smallest normal",
                     "smallest subnormal", "epsilon", "inf", "NaN", "MPFR (p, emin, emax)"],
            rows: formats.map { f in
                [f.name, "\(f.bitWidth)", "\(f.precision)", "\(f.exponentBitCount)", "\(f.exponentBias)", "\(f.emin)", "\(f.emax)",
                 Figures.constant(f.largestFinite), Figures.constant(f.smallestNormal), Figures.constant(f.smallestSubnormal), Figures.constant(f.epsilon),
                 f.hasInfinity ? "yes" : "no", f.specialEncoding == .ieee ? "exp all ones" : "S.1111.111",
                 "(\(f.precision), \(f.mpfrEmin), \(f.mpfrEmax))"]
            },
            numericColumns: Set(1...10))
    }

    public static func conformanceTable(_ results: [ConformanceResult]) -> TextTable {
        TextTable(
            header: ["format", "check", "cases", "mismatches", "result"],
            rows: results.map { r in
                [r.format.name, r.check, "\(r.cases)", "\(r.mismatches)",
                 r.passed ? "pass" : (r.testsLab ? "FAIL" : "finding")]
            },
            numericColumns: [2, 3])
    }

    /// The Markdown report: what the formats are, how they were checked, what was found.
    public static func markdown(results: [ConformanceResult], samples: Int, seed: UInt64, header: [(String, String)]) -> String {
        var out = "# Number formats and their conformance\n\n"
        for (key, value) in header { out += "- **\(key)**: \(value)\n" }
        out += """

        ## The formats

        \(formatTable().markdown)
        Values are rounded to nearest, ties to even, in one step from the source value; past the largest finite
        value they become inf, or NaN in float8_e4m3fn (which has no inf). `--saturate` clamps to ±largest finite
        instead, as FP8 training recipes do.

        ## Conformance against MPFR

        Every 8- and 16-bit pattern is decoded and compared with MPFR's reading of the same bits, and encoded back.
        Conversions from Float64 and Float32 into every format are compared with MPFR's correctly rounded result
        (MPFR with the format's exponent range and `mpfr_subnormalize`) on \(samples) seeded random values per
        conversion (uniform bit patterns, log-uniform magnitudes across the format's range, midpoints between
        neighbouring values and their neighbours) plus the edge cases (ties, overflow thresholds, subnormals, ±0,
        ±inf, NaN). Float16 and BFloat16 `+ - * / sqrt fma` are compared with MPFR's emulation of the format on
        \(samples) seeded operand sets each. Seed: \(seed).

        \(conformanceTable(results).markdown)
        """
        let failures = results.filter { !$0.passed }
        if failures.isEmpty {
            out += "\nAll \(results.count) checks agree with MPFR bit for bit.\n"
        } else {
            out += "\n## Findings\n\n"
            for r in failures {
                out += "- **\(r.format.name): \(r.check)**: \(r.mismatches) of \(r.cases) cases differ from MPFR"
                out += r.testsLab ? " (a failure of the lab).\n" : ".\n"
                if r.check.hasPrefix("Swift Float16.addingProduct") {
                    out += "  Swift's `Float16.addingProduct` is not correctly rounded on this target: near a Float16 tie it can "
                    out += "round the wrong way, as a Float fma rounded again to Float16 would. The lab's "
                    out += "`LabScalar.fusedMultiplyAdd` rounds to odd in Double first and is correctly rounded (row above).\n"
                }
                for example in r.examples { out += "  - `\(example)`\n" }
            }
        }
        return out
    }
}
