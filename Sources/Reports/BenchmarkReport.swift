import Base
import Formats
import Results

/// Tables of `precision-lab bench reductions`.
public enum BenchmarkReport {
    /// One row per (format, algorithm): median ms, ns/element, GB/s, and the time as a multiple of the
    /// streaming read of the same array.
    public static func table(_ rows: [BenchmarkRow]) -> TextTable {
        TextTable(
            header: ["format", "algorithm", "ms", "ns/element", "GB/s", "× read time"],
            rows: rows.map { row in
                let read = rows.first { $0.format == row.format && $0.algorithm == "read" }
                return [row.format.shortName, row.algorithm, Figures.fixed(row.seconds * 1e3, 2), Figures.fixed(row.nanosecondsPerElement, 3),
                        Figures.fixed(row.gigabytesPerSecond, 2), read.map { Figures.fixed(row.seconds / $0.seconds, 2) } ?? ""]
            },
            numericColumns: [2, 3, 4, 5]
        )
    }

    /// The acceptance ratios per format: the fastest wide-accumulator norm's bandwidth as a fraction of the
    /// streaming read's, and the exact norm's time as a multiple of the fastest norm's.
    public static func summary(_ rows: [BenchmarkRow]) -> TextTable {
        let formats = rows.reduce(into: [FloatFormat]()) { if !$0.contains($1.format) { $0.append($1.format) } }
        return TextTable(
            header: ["format", "read GB/s", "fastest norm", "its GB/s", "% of read", "exact GB/s", "exact ÷ fastest"],
            rows: formats.compactMap { format in
                let mine = rows.filter { $0.format == format }
                guard let read = mine.first(where: { $0.algorithm == "read" }),
                      let exact = mine.first(where: { $0.algorithm == "exact" }),
                      let fastest = mine.filter({ $0.algorithm != "read" && $0.algorithm != "exact" }).min(by: { $0.seconds < $1.seconds })
                else { return nil }
                return [format.shortName, Figures.fixed(read.gigabytesPerSecond, 2), fastest.algorithm, Figures.fixed(fastest.gigabytesPerSecond, 2),
                        Figures.fixed(100 * read.seconds / fastest.seconds, 1), Figures.fixed(exact.gigabytesPerSecond, 2),
                        Figures.fixed(exact.seconds / fastest.seconds, 2)]
            },
            numericColumns: [1, 3, 4, 5, 6]
        )
    }

}
