import Base
import Formats
import Foundation
import Reductions
import Results
import Reference
import TensorIO
import Testing
import TestSupport

/// The reduction fixtures: regenerated from their specs, their exact norms must match the stored hex bit for
/// bit, every algorithm must stay within its a-priori bound, and no algorithm's error may grow beyond the
/// recorded one. `PRECISIONLAB_RECORD_FIXTURES=1 swift test --filter FixtureTests` rewrites the record.
@Suite struct FixtureTests {
    static let path = Repository.path("fixtures/reductions/references.json")
    static let orders: [NormOrder] = [.two, .one, .infinity]

    static func hex(_ x: Double) -> JSONValue {
        x.isFinite ? .string(String(format: "%a", x)) : .double(x)
    }
    /// A recorded value: a hex float string, or a number as the lab writes numbers.
    static func parse(_ v: JSONValue?) -> Double? { v?.numberValue ?? v?.stringValue.flatMap(Double.init) }

    struct Measured {
        var exact: [NormOrder: Double] = [:], exactInFormat: [NormOrder: Double] = [:]
        var ulps: [NormOrder: [(ReductionAlgorithm, Double)]] = [:]
        var outOfBound: [String] = []
    }

    static func measure(_ fixture: ReductionFixture) -> Measured {
        var m = Measured()
        fixture.withBuffer { x in
            for order in orders {
                let e = NormEvaluator.evaluate([x], order: order, algorithms: ReductionAlgorithm.allCases)
                m.exact[order] = e.exact
                m.exactInFormat[order] = e.exactInStorage
                m.ulps[order] = e.algorithms.map { ($0.reductionAlgorithm, $0.ulps) }
                m.outOfBound += e.algorithms.filter { $0.withinBound == false }.map { "\($0.algorithm) ord \(order): \($0.ulps) > \($0.boundUlps) ulps" }
            }
        }
        return m
    }

    @Test func fixturesHoldTheirRecord() throws {
        let record = ProcessInfo.processInfo.environment["PRECISIONLAB_RECORD_FIXTURES"] == "1"
        let measured = ReductionFixture.standard.map { ($0, Self.measure($0)) }
        for (fixture, m) in measured {
            #expect(m.outOfBound.isEmpty, "\(fixture.name): \(m.outOfBound)")
            // The exact norms agree bit for bit with the MPFR-only path, in Float64 and in the fixture's format.
            let values = fixture.values()
            for order in Self.orders {
                let reduction = MPFRNorm.exactReduction(values, order: order)
                for (format, fast) in [(FloatFormat.float64, m.exact[order]!), (fixture.format, m.exactInFormat[order]!)] {
                    let slow = order.norm(ofReduction: reduction, format: format)
                    #expect(slow.bitPattern == fast.bitPattern || (slow.isNaN && fast.isNaN),
                            "\(fixture.name) ord \(order) in \(format): fast \(fast), MPFR \(slow)")
                }
            }
        }
        if record {
            // Recording and checking are separate runs: a recording run never passes.
            try write(measured)
            Issue.record("recorded \(Self.path); review the diff and run again without PRECISIONLAB_RECORD_FIXTURES to check it")
            return
        }
        let text = try String(contentsOfFile: Self.path, encoding: .utf8)
        let root = try JSONValue(parsing: text)
        let records = root["fixtures"]?.arrayValue ?? []
        for (fixture, m) in measured {
            guard let r = records.first(where: { $0["name"]?.stringValue == fixture.name }) else {
                Issue.record("\(fixture.name) has no record in \(Self.path); rerun with PRECISIONLAB_RECORD_FIXTURES=1")
                continue
            }
            #expect(r["family"]?.stringValue == fixture.family.rawValue && r["format"]?.stringValue == fixture.format.shortName
                    && r["count"]?.intValue == fixture.count && r["seed"]?.intValue == Int(fixture.seed), "\(fixture.name): spec changed")
            for order in Self.orders {
                let key = order.description
                let stored = Self.parse(r["exact"]?[key]), storedInFormat = Self.parse(r["exact_in_format"]?[key])
                #expect(stored?.bitPattern == m.exact[order]!.bitPattern || (stored?.isNaN == true && m.exact[order]!.isNaN),
                        "\(fixture.name) ord \(order): exact \(m.exact[order]!) != stored \(String(describing: stored))")
                #expect(storedInFormat?.bitPattern == m.exactInFormat[order]!.bitPattern || (storedInFormat?.isNaN == true && m.exactInFormat[order]!.isNaN),
                        "\(fixture.name) ord \(order): exact in format changed")
                for (algorithm, ulps) in m.ulps[order] ?? [] {
                    guard let allowed = Self.parse(r["ulps"]?[key]?[algorithm.rawValue]) else {
                        Issue.record("\(fixture.name) ord \(order) \(algorithm.rawValue): no recorded error")
                        continue
                    }
                    #expect(ulps <= allowed * (1 + 1e-9) || allowed.isNaN,
                            "\(fixture.name) ord \(order) \(algorithm.rawValue): error grew from \(allowed) to \(ulps) ulps")
                }
            }
        }
    }

    func write(_ measured: [(ReductionFixture, Measured)]) throws {
        let fixtures: [JSONValue] = measured.map { fixture, m in
            .object([
                ("name", .string(fixture.name)), ("family", .string(fixture.family.rawValue)),
                ("format", .string(fixture.format.shortName)), ("count", .integer(fixture.count)),
                ("seed", .integer(Int(fixture.seed))),
                ("exact", .object(Self.orders.map { ($0.description, Self.hex(m.exact[$0]!)) })),
                ("exact_in_format", .object(Self.orders.map { ($0.description, Self.hex(m.exactInFormat[$0]!)) })),
                ("ulps", .object(Self.orders.compactMap { order in
                    guard let list = m.ulps[order], !list.isEmpty else { return nil }
                    return (order.description, .object(list.map { ($0.0.rawValue, .double($0.1)) }))
                })),
            ])
        }
        let root = JSONValue.object([
            ("about", .string("Exact norms (Float64 and the fixture's format, correctly rounded, hex) and each algorithm's recorded error in ulps of its output format, for the fixtures of ReductionFixture.standard. Written by PRECISIONLAB_RECORD_FIXTURES=1 swift test --filter FixtureTests.")),
            ("fixtures", .array(fixtures)),
        ])
        try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: Self.path).deletingLastPathComponent().path, withIntermediateDirectories: true)
        try (root.prettyText() + "\n").write(toFile: Self.path, atomically: true, encoding: .utf8)
    }
}
