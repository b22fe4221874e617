import Base
import Foundation
import PrecisionLab
import Testing
import TestSupport

/// fixtures/clip: gradient dumps clipped by the real torch 2.15 (`clip_grad_norm_`, `clip_grad_value_`) and optax
/// 0.2.8 (`clip_by_global_norm`, `clip`, `adaptive_grad_clip`, `clip_by_block_rms`). The lab must produce the same
/// bits: every output element, the total norm, the coefficient, the error message.
@Suite struct ClipConformanceTests {
    static let directory = Repository.url("fixtures/clip")

    static func configuration(_ options: JSONValue) throws -> ClipperConfiguration {
        var c = ClipperConfiguration(method: try #require(ClipMethod(rawValue: options["method"]?.stringValue ?? "")))
        c.semantics = try #require(ClipSemantics(name: options["semantics"]?.stringValue ?? "torch"))
        if let v = options["max_norm"]?.doubleValue { c.maxNorm = v }
        if let v = options["norm_type"] { c.order = try #require(v.numberValue) }
        if let v = options["clipping"]?.doubleValue { c.clipping = v }
        if let v = options["threads"]?.intValue { c.threads = v }
        c.errorIfNonFinite = options["error_if_nonfinite"] == .bool(true)
        return c
    }

    static func hexValue(_ v: JSONValue?) -> Double? {
        guard let text = v?.stringValue else { return nil }
        switch text {
        case "nan": return .nan
        case "inf": return .infinity
        case "-inf": return -.infinity
        default: return Double(text)
        }
    }

    static func bits(_ t: GradientTensor) -> [UInt64] {
        let b = t.floatBuffer
        return (0..<b.count).map { i -> UInt64 in
            let v = b.value(at: i)
            return v.isNaN ? 0x7FF8_0000_0000_0000 : v.bitPattern  // NaN payloads and signs are not compared
        }
    }

    @Test func agreesWithTorchAndOptax() throws {
        let data = try Data(contentsOf: Self.directory.appendingPathComponent("cases.json"))
        let json = try JSONValue(parsing: String(decoding: data, as: UTF8.self))
        let cases = try #require(json["cases"]?.arrayValue)
        #expect(cases.count >= 150)
        var failures: [String] = []
        for c in cases {
            let name = c["name"]?.stringValue ?? "?"
            let config = try Self.configuration(try #require(c["options"]))
            #expect(config.problem == nil, "\(name)")
            let grads = try OwnedTensors.read(path: Self.directory.appendingPathComponent(c["input"]?.stringValue ?? "").path)
            let params = try c["params"]?.stringValue.map { try OwnedTensors.read(path: Self.directory.appendingPathComponent($0).path) }
            var clipper = config.make()
            do {
                let outcome = try clipper.clip(grads.tensors, parameters: params?.tensors ?? [])
                if let error = c["error"]?.stringValue { failures.append("\(name): expected error \(error)"); continue }
                if let total = Self.hexValue(c["total_norm"]), total.bitPattern != outcome.norm.bitPattern, !(total.isNaN && outcome.norm.isNaN) {
                    failures.append("\(name): total \(outcome.norm) expected \(total)")
                }
                if let coef = Self.hexValue(c["clip_coef"]), let ours = outcome.coefficient, coef.bitPattern != ours.bitPattern, !(coef.isNaN && ours.isNaN) {
                    failures.append("\(name): coefficient \(ours) expected \(coef)")
                }
                let expected = try OwnedTensors.read(path: Self.directory.appendingPathComponent(c["output"]?.stringValue ?? "").path)
                for (ours, theirs) in zip(grads.tensors, expected.tensors) {
                    let a = Self.bits(ours), b = Self.bits(theirs)
                    let differing = zip(a, b).filter { $0 != $1 }.count
                    if differing > 0 || a.count != b.count {
                        let first = a.indices.first { a[$0] != b[$0] } ?? 0
                        failures.append("\(name): \(ours.name) differs in \(differing) of \(a.count) elements, first [\(first)]: "
                                        + "\(ours.floatBuffer.value(at: first)) expected \(theirs.floatBuffer.value(at: first))")
                    }
                }
            } catch {
                if c["error"]?.stringValue != "\(error)" { failures.append("\(name): error \(error)") }
            }
        }
        #expect(failures.isEmpty, "\(failures.count) of \(cases.count) cases differ:\n\(failures.joined(separator: "\n"))")
    }
}
