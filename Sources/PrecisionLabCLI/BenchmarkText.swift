import PrecisionLab

/// The JSON and table forms of benchmark rows.
enum BenchmarkText {
    static func json(_ row: ReductionBenchmark.Row) -> JSONValue {
        .object([
            ("format", .string(row.format.shortName)),
            ("algorithm", .string(row.algorithm)),
            ("ns_per_element", .double(row.nanosecondsPerElement)),
            ("gbps", .double(row.gigabytesPerSecond)),
        ])
    }

    static func table(_ rows: [ReductionBenchmark.Row]) -> TextTable { BenchmarkReport.table(rows) }
}
