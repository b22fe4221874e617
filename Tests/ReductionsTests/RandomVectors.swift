import Formats
import Foundation

/// Seeded test vectors: log-uniform lengths from 0 to `maxLength`, magnitudes over the whole range of the
/// format: uniform bit patterns of finite values, a cluster at one random scale, or two clusters far apart
/// with zeros and subnormals mixed in.
func randomVectors<T: LabScalar>(of type: T.Type, count: Int, maxLength: Int, seed: UInt64) -> [[T]] {
    var all = [[T]]()
    forEachRandomVector(of: type, count: count, maxLength: maxLength, seed: seed) { _, v in all.append(v) }
    return all
}

/// The same vectors one at a time (10,000 vectors of up to 100,000 Float64 values do not all fit in memory
/// comfortably).
func forEachRandomVector<T: LabScalar>(of _: T.Type, count: Int, maxLength: Int, seed: UInt64, _ body: (Int, [T]) -> Void) {
    var rng = SeededGenerator(seed: seed)
    let f = T.format
    let width = f.bitWidth
    func at(scale: Int) -> T {
        let v = Double(sign: rng.next() & 1 == 0 ? .plus : .minus, exponent: scale, significand: 1 + rng.nextUnit())
        return T(rounding: v, saturating: true)
    }
    func randomScale() -> Int { Int(rng.next() % UInt64(f.emax - f.emin + f.precision)) + f.emin - f.precision + 1 }
    for k in 0..<count {
        let length = k == 0 ? 0 : k == 1 ? maxLength : Int(pow(Double(maxLength + 1), rng.nextUnit())) - 1
        let mode = rng.next() % 3
        let scales = (randomScale(), randomScale())
        body(k, (0..<max(0, length)).map { _ -> T in
            switch mode {
            case 0:
                while true {
                    let bits = width == 64 ? rng.next() : rng.next() & ((1 << UInt64(width)) - 1)
                    let v = T(bitPattern: T.BitPattern(truncatingIfNeeded: bits))
                    if v.isFinite { return v }
                }
            case 1: return at(scale: scales.0)
            default:
                switch rng.next() % 8 {
                case 0: return 0
                case 1: return T(bitPattern: T.BitPattern(truncatingIfNeeded: rng.next() & ((1 << UInt64(f.precision - 1)) - 1)))
                case 2, 3: return at(scale: scales.1)
                default: return at(scale: scales.0)
                }
            }
        })
    }
}
