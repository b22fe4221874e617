import PrecisionLab

/// The JSON documents of `precision-lab formats --json`.
enum FormatsJSON {
    static func format(_ f: FloatFormat) -> JSONValue {
        .object([
            ("name", .string(f.name)), ("short_name", .string(f.shortName)), ("bits", .integer(f.bitWidth)),
            ("precision", .integer(f.precision)), ("exponent_bits", .integer(f.exponentBitCount)), ("bias", .integer(f.exponentBias)),
            ("emin", .integer(f.emin)), ("emax", .integer(f.emax)), ("largest_finite", .double(f.largestFinite)),
            ("smallest_normal", .double(f.smallestNormal)), ("smallest_subnormal", .double(f.smallestSubnormal)),
            ("epsilon", .double(f.epsilon)), ("has_inf", .bool(f.hasInfinity)),
            ("mpfr", .object([("precision", .integer(f.precision)), ("emin", .integer(f.mpfrEmin)), ("emax", .integer(f.mpfrEmax))])),
        ])
    }

    static func formats() -> String {
        JSONValue.object([("formats", .array(FloatFormat.all.map(format)))]).prettyText(indent: 2)
    }

    static func conformance(_ results: [ConformanceResult]) -> String {
        JSONValue.object([
            ("formats", .array(FloatFormat.all.map(format))),
            ("conformance", .array(results.map { r in
                .object([("format", .string(r.format.name)), ("check", .string(r.check)), ("cases", .integer(r.cases)),
                         ("mismatches", .integer(r.mismatches)), ("tests_lab", .bool(r.testsLab)), ("passed", .bool(r.passed)),
                         ("examples", .array(r.examples.map(JSONValue.string)))])
            })),
        ]).prettyText(indent: 2)
    }
}
