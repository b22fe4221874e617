import Formats
import Results

/// Checks the lab's formats against MPFR: exhaustively where the format is small, on seeded random and edge
/// cases where it is not. The implementation under test is passed in as closures, so a test can also show that
/// a wrong implementation is caught.
public enum FormatConformance {
    /// Values agree when they are equal with the same sign (so -0 != +0), or both NaN with the same sign
    /// (ml_dtypes keeps the sign of NaN through casts).
    @inlinable public static func same(_ a: Double, _ b: Double) -> Bool {
        (a.isNaN && b.isNaN || a == b) && a.sign == b.sign
    }

    /// A value and, when it belongs to `format`, its bit pattern there; otherwise its Double bits.
    static func spell(_ x: Double, _ format: FloatFormat) -> String {
        if x.isNaN { return "nan" }
        let bits = format.encode(x)
        if format.decode(bits) == x { return "\(x) (0x\(String(bits, radix: 16)))" }
        return "\(x) (f64 0x\(String(x.bitPattern, radix: 16)))"
    }

    /// Every bit pattern of `format`: its value (`decode`) equals MPFR's decoding of the same bits, and
    /// `encode(decode(bits))` gives the bits back (any NaN pattern may come back as any NaN).
    public static func exhaustive(_ format: FloatFormat, decode: (UInt64) -> Double, encode: (Double) -> UInt64) -> ConformanceResult {
        var result = ConformanceResult(check: "all bit patterns: value = MPFR, round trip", format: format, cases: 0, mismatches: 0, examples: [])
        for bits in UInt64(0)..<(UInt64(1) << UInt64(format.bitWidth)) {
            let value = decode(bits)
            let reference = BigFloat(bitPattern: bits, format: format)
            let valueAgrees = reference.isNaN ? value.isNaN
                : (reference.compare(value) == 0 && (value.sign == .minus) == reference.isNegative)
            let back = encode(value)
            let roundTrips = back == bits || (format.isNaN(bits: bits) && format.isNaN(bits: back))
            result.cases += 1
            if !(valueAgrees && roundTrips) {
                result.mismatches += 1
                if result.examples.count < 5 {
                    result.examples.append("0x\(String(bits, radix: 16)): value \(spell(value, .float64)), MPFR \(reference.hexString), back 0x\(String(back, radix: 16))")
                }
            }
        }
        return result
    }

    /// Seeded inputs for conversion checks into `format`: uniform Double bit patterns, log-uniform magnitudes
    /// across and beyond the format's range, the format's midpoints (ties) and their neighbours, and the edge
    /// cases (`edgeCases`). `count` is the number of random values; the edge cases come on top.
    public static func conversionInputs(for format: FloatFormat, count: Int, seed: UInt64) -> [Double] {
        var rng = SeededGenerator(seed: seed)
        var values = edgeCases(for: format)
        let total = values.count + count
        values.reserveCapacity(total)
        let low = Double(format.emin - format.precision - 4), high = Double(format.emax + 4)
        let mask = format.bitWidth == 64 ? UInt64.max : (UInt64(1) << UInt64(format.bitWidth)) - 1
        while values.count < total {
            switch rng.next() % 4 {
            case 0:
                values.append(Double(bitPattern: rng.next()))
            case 1:
                let e = low + (high - low) * rng.nextUnit()
                let v = Double(sign: rng.next() & 1 == 0 ? .plus : .minus, exponent: Int(e.rounded(.down)), significand: 1 + rng.nextUnit())
                values.append(v)
            default:
                // A midpoint between two neighbouring values of the format, or one Double away from it.
                let bits = rng.next() & mask
                let v = format.decode(bits)
                let next = format.decode(bits < mask ? bits + 1 : bits)
                guard v.isFinite, next.isFinite, v != next, (v < 0) == (next < 0) || v == 0 || next == 0 else { continue }
                let mid = v / 2 + next / 2
                switch rng.next() % 3 {
                case 0: values.append(mid)
                case 1: values.append(mid.nextUp)
                default: values.append(mid.nextDown)
                }
            }
        }
        return values
    }

    /// Ties, overflow thresholds (65519.99 and 65520 for Float16), the subnormal range, signed zeros, inf, NaN.
    public static func edgeCases(for format: FloatFormat) -> [Double] {
        let maxFinite = format.largestFinite
        let maxUlp = Double(sign: .plus, exponent: format.emax - format.significandBitCount, significand: 1)
        let tiny = format.smallestSubnormal
        let normal = format.smallestNormal
        let threshold = maxFinite + maxUlp / 2
        var magnitudes: [Double] = [
            0, 1, maxFinite, threshold, threshold.nextDown, threshold.nextUp, threshold - maxUlp / 100, maxFinite + maxUlp,
            2 * maxFinite, .infinity, tiny, tiny / 2, (tiny / 2).nextUp, (tiny / 2).nextDown, tiny * 1.5, tiny * 2.5,
            tiny / 4, normal - tiny, normal - tiny / 2, (normal - tiny / 2).nextDown, normal, normal + tiny / 2,
            1 + format.epsilon / 2, 1 + format.epsilon * 1.5, (1 + format.epsilon / 2).nextUp, .leastNonzeroMagnitude,
            Double(Float.greatestFiniteMagnitude), Double(Float.leastNonzeroMagnitude), .greatestFiniteMagnitude,
        ]
        if format == .float16 { magnitudes += [65519.99, 65520, 65504, 65536] }
        if format == .float8E4M3FN { magnitudes += [448, 464, 464.0.nextUp, 480, 512] }
        if format == .float8E5M2 { magnitudes += [57344, 61440, 61440.0.nextDown, 65536] }
        return magnitudes.flatMap { [$0, -$0] } + [.nan, -.nan]
    }

    /// `convert(x)` (a bit pattern of `format`) decodes to MPFR's correctly rounded value of x, for every input.
    public static func conversions(_ format: FloatFormat, from source: String, inputs: [Double], saturating: Bool = false,
                                   convert: (Double) -> UInt64) -> ConformanceResult {
        var result = ConformanceResult(check: "\(source) -> \(format.shortName)\(saturating ? " (saturating)" : ""): correctly rounded",
                                       format: format, cases: inputs.count, mismatches: 0, examples: [])
        FormatEmulator.with(format) { emulator in
            for x in inputs {
                let expected = emulator.round(x, saturating: saturating)
                let got = format.decode(convert(x))
                if !same(got, expected) {
                    result.mismatches += 1
                    if result.examples.count < 5 { result.examples.append("\(spell(x, .float64)): got \(spell(got, format)), MPFR \(spell(expected, format))") }
                }
            }
        }
        return result
    }

    /// An arithmetic operation of a format under test, on exact values given as Doubles.
    public struct Operation: Sendable {
        public var name: String
        public var arity: Int
        public var apply: @Sendable (Double, Double, Double) -> Double
        public init(name: String, arity: Int, apply: @escaping @Sendable (Double, Double, Double) -> Double) {
            self.name = name; self.arity = arity; self.apply = apply
        }
    }

    /// The + - * / sqrt fma of a `LabScalar` type, each computed by the type itself.
    public static func operations<T: LabScalar>(of _: T.Type) -> [Operation] {
        return [
            Operation(name: "+", arity: 2) { a, b, _ in Double(T(a) + T(b)) },
            Operation(name: "-", arity: 2) { a, b, _ in Double(T(a) - T(b)) },
            Operation(name: "*", arity: 2) { a, b, _ in Double(T(a) * T(b)) },
            Operation(name: "/", arity: 2) { a, b, _ in Double(T(a) / T(b)) },
            Operation(name: "sqrt", arity: 1) { a, _, _ in Double(T(a).squareRoot()) },
            Operation(name: "fma", arity: 3) { a, b, c in Double(T.fusedMultiplyAdd(T(a), T(b), T(c))) },
        ]
    }

    /// Seeded operand sets: half uniform over all bit patterns of the format, half with exponents within a few
    /// binades of each other (cancellation, ties, and results near 1) and a quarter of those near the subnormal
    /// or overflow boundary.
    public static func operands(for format: FloatFormat, count: Int, seed: UInt64) -> [(Double, Double, Double)] {
        var rng = SeededGenerator(seed: seed)
        let patterns = UInt64(1) << UInt64(format.bitWidth)
        func random(near center: Int) -> Double {
            let e = center + Int(rng.next() % 7) - 3
            let m = rng.next() % (UInt64(1) << UInt64(format.significandBitCount))
            let v = Double(sign: rng.next() & 1 == 0 ? .plus : .minus, exponent: e - format.significandBitCount,
                           significand: Double(m | (UInt64(1) << UInt64(format.significandBitCount))))
            return format.round(v)
        }
        return (0..<count).map { i in
            if i % 2 == 0 {
                return (format.decode(rng.next() % patterns), format.decode(rng.next() % patterns), format.decode(rng.next() % patterns))
            }
            let centers = [0, format.emin, format.emax, format.emin / 2, format.emax / 2]
            let center = i % 4 == 1 ? 0 : centers[Int(rng.next() % UInt64(centers.count))]
            return (random(near: center), random(near: center), random(near: i % 3 == 0 ? 2 * center : center))
        }
    }

    /// Each operation on each operand set equals MPFR's correctly rounded result in `format`.
    public static func arithmetic(_ format: FloatFormat, typeName: String, operations: [Operation],
                                  operands: [(Double, Double, Double)]) -> [ConformanceResult] {
        FormatEmulator.with(format) { emulator in
            operations.map { op in
                var result = ConformanceResult(check: "\(typeName) \(op.name): correctly rounded", format: format,
                                               cases: operands.count, mismatches: 0, examples: [])
                for (a, b, c) in operands {
                    let got = op.apply(a, b, c)
                    let expected: Double
                    switch op.name {
                    case "+": expected = emulator.add(a, b)
                    case "-": expected = emulator.subtract(a, b)
                    case "*": expected = emulator.multiply(a, b)
                    case "/": expected = emulator.divide(a, b)
                    case "sqrt": expected = emulator.squareRoot(a)
                    default: expected = emulator.fma(a, b, c)
                    }
                    if !same(got, expected) && !(got.isNaN && expected.isNaN) {
                        result.mismatches += 1
                        if result.examples.count < 5 {
                            let args = [a, b, c].prefix(op.arity).map { spell($0, format) }.joined(separator: ", ")
                            result.examples.append("\(op.name)(\(args)) = \(spell(got, format)), MPFR \(spell(expected, format))")
                        }
                    }
                }
                return result
            }
        }
    }
}
