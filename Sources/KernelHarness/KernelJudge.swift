import Base
import Formats
import Reductions
import Results

/// Judges a kernel's results on one case against the exact ones.
///
/// Every value is first rounded to nearest into the case's format (the kernel returns a tensor of the input's
/// dtype, or a double that a framework would round so). Its error is counted in steps between adjacent values of
/// the format (`UlpDistance.steps`); a NaN or an infinity matches only the same. `--tolerance-ulps K` allows K
/// steps; `bound[:K]` allows |v − ref| ≤ K·B + ulp(ref)/2, B from `KernelBounds` (the half ulp covers the
/// reference's own rounding); `torch` allows atol + rtol·|ref|.
public enum KernelJudge {
    /// Long: the verdict from the kernel's runs on the case (one per repeat), in order: a failed run, different bits
    /// between runs, then each result against its tolerance.
    public static func judge(_ c: KernelCase, runs: [Result<[Double], KernelHarnessError>], inputs: KernelInputs,
                             tolerance: KernelTolerance) -> KernelCaseResult {
        var result = KernelCaseResult(name: c.name, reduction: c.reduction, family: c.family, format: c.format, file: c.file,
                                      passed: false, failure: nil, worstIndex: 0, worstUlps: .infinity, worstValue: nil,
                                      worstExpected: c.expected.first?.rounded ?? .nan, allowed: nil, ulps: [])
        var outputs = [[Double]]()
        for run in runs {
            switch run {
            case .failure(let error): result.failure = error.description; return result
            case .success(let values): outputs.append(values)
            }
        }
        guard let values = outputs.first else { result.failure = "\(c.name): the kernel was not run"; return result }
        let rounded = values.map { c.format.round($0) }
        var failures = [Int]()
        var allowances = [Double?]()
        for (i, v) in rounded.enumerated() {
            let ref = c.expected[i].rounded
            result.ulps.append(UlpDistance.steps(v, from: ref, in: c.format))
            let allowed = allowance(c, row: i, ref: ref, inputs: inputs, tolerance: tolerance)
            allowances.append(allowed)
            let ok: Bool
            if !v.isFinite || !ref.isFinite {
                ok = result.ulps[i] == 0
            } else if case .ulps(let k) = tolerance {
                ok = result.ulps[i] <= k
            } else {
                ok = (v - ref).magnitude <= allowed!
            }
            if !ok { failures.append(i) }
        }
        let candidates = failures.isEmpty ? Array(rounded.indices) : failures
        let worst = candidates.max { result.ulps[$0] < result.ulps[$1] } ?? 0
        result.worstIndex = worst
        result.worstUlps = result.ulps.isEmpty ? .infinity : result.ulps[worst]
        result.worstValue = rounded.isEmpty ? nil : values[worst]
        result.worstExpected = c.expected[worst].rounded
        result.allowed = allowances.isEmpty ? nil : allowances[worst]
        let distinct = Set(outputs.map { $0.map(\.bitPattern) })
        if distinct.count > 1 {
            let row = (0..<values.count).first { i in Set(outputs.map { $0[i].bitPattern }).count > 1 } ?? 0
            let seen = outputs.map { Figures.exact($0[row]) }
            result.failure = "\(c.name): not deterministic: \(distinct.count) different results in \(outputs.count) runs"
                + (c.resultCount > 1 ? " (row \(row): " : " (") + Array(Set(seen)).sorted().prefix(3).joined(separator: ", ") + ")"
            return result
        }
        if !failures.isEmpty {
            let first = worst  // the worst of the failed results
            let at = c.resultCount > 1 ? " at row \(first)" : ""
            let v = rounded[first], ref = c.expected[first].rounded
            let limit = !v.isFinite || !ref.isFinite ? " (a NaN or inf matches only the same)"
                : result.allowed.map { " ulps, allowed ±\(Figures.significant($0, 3))" } ?? " ulps, allowed \(tolerance.description)"
            let ulps = !v.isFinite || !ref.isFinite ? "" : ": " + Figures.ulps(result.ulps[first])
            let shown = v.bitPattern == values[first].bitPattern || (v.isNaN && values[first].isNaN)
                ? Figures.exact(v) : "\(Figures.exact(v)) (the kernel's \(Figures.exact(values[first])) rounded to \(c.format.shortName))"
            result.failure = "\(c.name): \(shown) against \(Figures.exact(ref))\(at)\(ulps)\(limit)"
            return result
        }
        result.passed = true
        return result
    }

    /// The largest |v − ref| the tolerance allows for result `row` (nil for an ulps tolerance).
    static func allowance(_ c: KernelCase, row: Int, ref: Double, inputs: KernelInputs, tolerance: KernelTolerance) -> Double? {
        switch tolerance {
        case .ulps: return nil
        case .torch:
            let (rtol, atol) = KernelTolerance.torchDefaults(c.format)
            return atol + rtol * ref.magnitude
        case .bound(let k, let named):
            let range = row * c.length..<(row + 1) * c.length
            let x = KernelInputs.values(inputs.x, range), y = inputs.y.map { KernelInputs.values($0, range) } ?? []
            let accumulator = KernelBounds.accumulator(named, input: c.format)
            let b = KernelBounds.bound(c.reduction, x: x, y: y, exact: ref, accumulator: accumulator, output: c.format)
            return k * b + c.format.ulp(of: ref) / 2
        }
    }
}
