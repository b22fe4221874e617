import PrecisionLab

/// The JSON documents of `precision-lab formats --json`.
enum FormatsJSON {
    static func format(_ f: FloatFormat) -> JSONOutput {
        .object([
            ("name", .string(f.name)), ("short_name", .string(f.shortName)), ("bits", .int(f.bitWidth)),
            ("precision", .int(f.precision)), ("exponent_bits", .int(f.exponentBitCount)), ("bias", .int(f.exponentBias)),
            ("emin", .int(f.emin)), ("emax", .int(f.emax)), ("largest_finite", .number(f.largestFinite)),
            ("smallest_normal", .number(f.smallestNormal)), ("smallest_subnormal", .number(f.smallestSubnormal)),
            ("epsilon", .number(f.epsilon)), ("has_inf", .bool(f.hasInfinity)),
            ("mpfr", .object([("precision", .int(f.precision)), ("emin", .int(f.mpfrEmin)), ("emax", .int(f.mpfrEmax))])),
        ])
    }

    static func formats() -> String {
        JSONOutput.object([("formats", .array(FloatFormat.all.map(format)))]).rendered(indent: 2)
    }

    static func conformance(_ results: [ConformanceResult]) -> String {
        JSONOutput.object([
            ("formats", .array(FloatFormat.all.map(format))),
            ("conformance", .array(results.map { r in
                .object([("format", .string(r.format.name)), ("check", .string(r.check)), ("cases", .int(r.cases)),
                         ("mismatches", .int(r.mismatches)), ("tests_lab", .bool(r.testsLab)), ("passed", .bool(r.passed)),
                         ("examples", .array(r.examples.map(JSONOutput.string)))])
            })),
        ]).rendered(indent: 2)
    }
}
