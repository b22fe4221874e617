import Formats
import Reference
import Testing
import Tensors

@Suite struct ElementwiseTests {
    /// + - * / on Float16 and BFloat16 tensors are correctly rounded (computed in Float, rounded once), checked
    /// against MPFR's emulation of the format on seeded operands over a wide range.
    @Test func sixteenBitArithmeticIsCorrectlyRounded() {
        func check<S: TensorScalar>(_: S.Type) {
            var rng = SeededGenerator(seed: 3)
            let n = 20_000
            func value() -> Double {
                Double(sign: rng.next() & 1 == 0 ? .plus : .minus, exponent: Int(rng.next() % 20) - 10, significand: 1 + rng.nextUnit())
            }
            let a = Tensor<S>(shape: [n], rounding: (0..<n).map { _ in value() })
            let b = Tensor<S>(shape: [n], rounding: (0..<n).map { _ in value() })
            let c = Tensor<S>(zeros: [n])
            for f in BinaryFunction.allCases {
                binary(f, a, b, into: c)
                FormatEmulator.with(S.format) { emulator in
                    for i in 0..<n {
                        let x = Double(a[flat: i].compute), y = Double(b[flat: i].compute)
                        let exact: Double
                        switch f {
                        case .add: exact = emulator.add(x, y)
                        case .sub: exact = emulator.subtract(x, y)
                        case .mul: exact = emulator.multiply(x, y)
                        case .div: exact = emulator.divide(x, y)
                        }
                        #expect(Double(c[flat: i].compute).bitPattern == exact.bitPattern, "\(S.kind) \(f) \(x) \(y)")
                    }
                }
            }
        }
        check(Float16.self)
        check(BFloat16.self)
    }

    /// Unary functions against Double's value. Float16 and BFloat16: within one ulp of the format (the function is
    /// computed in Float, whose error is far below their ulp, and rounded once). Float and Double: within one
    /// ulp for exp, log and sqrt, 2.5 for tanh and sigmoid (Float's are vectorized, see VectorMathTests), and
    /// 32 for GELU, whose left tail erfc(-x/√2) amplifies the rounding of its argument by about x².
    @Test func unaryFunctionsAgreeWithDouble() {
        func check<S: TensorScalar>(_: S.Type) {
            let x: Tensor<S> = randomTensor(S.self, [1001], scale: 4, seed: 11)
            let positive = Tensor<S>(shape: [1001], rounding: x.doubles.map { $0.magnitude + 0.01 })
            let y = Tensor<S>(zeros: [1001])
            for f in UnaryFunction.allCases {
                let input = f == .log || f == .sqrt ? positive : x
                unary(f, input, into: y)
                let wide = S.kind == .float32 || S.kind == .float64
                let ulps: Double = !wide ? 1 : f == .gelu ? 32 : f == .tanh || f == .sigmoid ? 2.5 : 1
                for i in 0..<1001 {
                    let exact = f.value(Double(input[flat: i].compute))
                    let got = Double(y[flat: i].compute)
                    #expect((got - exact).magnitude <= ulps * ulp(S.self, exact), "\(S.kind) \(f)(\(input[flat: i])) = \(got), exact \(exact)")
                }
            }
        }
        check(Float16.self); check(BFloat16.self); check(Float.self); check(Double.self)
    }

    /// Broadcasting against an index-by-index reference, and the backward pass against sums in Double.
    @Test func broadcasting() {
        let cases: [(Shape, Shape)] = [([4, 5], [5]), ([4, 5], [4, 1]), ([3, 1, 5], [4, 1]), ([2, 3, 4], [1]), ([5], [2, 3, 5]), ([2, 3], [2, 3])]
        for (k, (sa, sb)) in cases.enumerated() {
            let a: Tensor<Double> = randomTensor(Double.self, sa, seed: UInt64(20 + k))
            let b: Tensor<Double> = randomTensor(Double.self, sb, seed: UInt64(40 + k))
            let shape = Shape.broadcast(sa, sb)!
            let c = Tensor<Double>(zeros: shape)
            func index(_ s: Shape, _ flat: Int) -> Int {
                var rem = flat, out = 0, step = 1
                for axis in stride(from: shape.rank - 1, through: 0, by: -1) {
                    let i = rem % shape[axis]; rem /= shape[axis]
                    let sAxis = axis - (shape.rank - s.rank)
                    if sAxis >= 0 { out += (s[sAxis] == 1 ? 0 : i) * step; step *= s[sAxis] }
                }
                return out
            }
            for f in BinaryFunction.allCases {
                binary(f, a, b, into: c)
                for i in 0..<shape.count {
                    #expect(c[flat: i] == f.value(a[flat: index(sa, i)], b[flat: index(sb, i)]), "\(f) \(sa) \(sb) at \(i)")
                }
                let dc: Tensor<Double> = randomTensor(Double.self, shape, seed: 99)
                let da = Tensor<Double>(zeros: sa), db = Tensor<Double>(zeros: sb)
                binaryBackward(f, a: a, b: b, dc: dc, da: da, db: db)
                var ea = [Double](repeating: 0, count: sa.count), eb = [Double](repeating: 0, count: sb.count)
                for i in 0..<shape.count {
                    let x = a[flat: index(sa, i)], y = b[flat: index(sb, i)], g = dc[flat: i]
                    let (pa, pb): (Double, Double) = f == .add ? (1, 1) : f == .sub ? (1, -1) : f == .mul ? (y, x) : (1 / y, -x / (y * y))
                    ea[index(sa, i)] += g * pa
                    eb[index(sb, i)] += g * pb
                }
                for i in 0..<sa.count { #expect((da[flat: i] - ea[i]).magnitude <= 1e-12 * (1 + ea[i].magnitude)) }
                for i in 0..<sb.count { #expect((db[flat: i] - eb[i]).magnitude <= 1e-12 * (1 + eb[i].magnitude)) }
            }
        }
    }

    /// Every Float16 and BFloat16 bit pattern: the scan finds exactly the non-finite ones.
    @Test func nonFiniteScanIsExhaustive() {
        func check<S: TensorScalar>(_: S.Type) where S.BitPattern == UInt16 {
            let all = Tensor<S>(shape: [65536], (0..<65536).map { S(bitPattern: UInt16($0)) })
            let expected = (0..<65536).filter { !S(bitPattern: UInt16($0)).isFinite }.count
            #expect(countNonFinite(all) == expected)
            #expect(containsNonFinite(all))
            let finite = Tensor<S>(shape: [65536], (0..<65536).map { S(bitPattern: UInt16($0)) }.filter(\.isFinite) + [S](repeating: 0, count: expected))
            #expect(!containsNonFinite(finite))
        }
        check(Float16.self)
        check(BFloat16.self)
        var rng = SeededGenerator(seed: 4)
        for n in [0, 1, 31, 32, 33, 1000] {
            let x: Tensor<Float> = randomTensor(Float.self, [n], seed: UInt64(n))
            let y: Tensor<Double> = randomTensor(Double.self, [n], seed: UInt64(n))
            var placed = Set<Int>()
            for _ in 0..<min(n, 5) { placed.insert(Int(rng.next() % UInt64(n))) }
            for i in placed { x[flat: i] = i % 2 == 0 ? .nan : -.infinity; y[flat: i] = .infinity }
            #expect(countNonFinite(x) == placed.count)
            #expect(countNonFinite(y) == placed.count)
        }
    }

    /// Conversions round once and count what happened.
    @Test func conversionEvents() {
        let x = Tensor<Float>(shape: [8], [70000, -65520, 65519, 1e-9, 3e-5, 1e-3, .nan, 0])
        var events = ConversionEvents()
        let h = Tensor<Float16>(converting: x, events: &events)
        #expect(h.scalars.map { Double($0) }.prefix(3) == [.infinity, -.infinity, 65504])
        #expect(events.overflowed == 2)
        #expect(events.underflowed == 1)
        #expect(events.subnormal == 1)
        #expect(events.nonFiniteInputs == 1)
        #expect(events.count == 8)
        // Every Float16 widens exactly and comes back unchanged.
        let all = Tensor<Float16>(shape: [65536], (0..<65536).map { Float16(bitPattern: UInt16($0)) })
        let back = Tensor<Float16>(converting: Tensor<Float>(converting: all))
        #expect(zip(all.scalars, back.scalars).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) })
        // Double to BFloat16 rounds once, not through Float.
        let tie = 1 + 0x1p-8 + 0x1p-40  // above a BFloat16 tie; through Float it would round to the tie and then down
        let once = Tensor<BFloat16>(converting: Tensor<Double>(shape: [1], [tie]))
        #expect(Double(once[flat: 0]) == 1 + 0x1p-7)
    }
}

/// The vectorized exp, tanh and logistic function at the edges of their ranges and over a dense sweep.
@Suite struct VectorMathTests {
    func ulps(_ got: Float, _ exact: Double) -> Double {
        if exact.isNaN { return got.isNaN ? 0 : .infinity }
        if got == Float(exact) { return 0 }
        return (Double(got) - exact).magnitude / Double(Float(exact).ulp == 0 ? Float.leastNonzeroMagnitude : Float(exact).ulp)
    }

    func worst(_ f: (SIMD8<Float>) -> SIMD8<Float>, _ exact: (Double) -> Double, _ xs: [Float]) -> (Double, Float) {
        var worst = (0.0, Float(0))
        var i = 0
        while i + 8 <= xs.count {
            let v = SIMD8<Float>(xs[i..<(i + 8)])
            let out = f(v)
            for l in 0..<8 {
                let e = ulps(out[l], exact(Double(v[l])))
                if e > worst.0 { worst = (e, v[l]) }
            }
            i += 8
        }
        return worst
    }

    @Test func accuracy() {
        var rng = SeededGenerator(seed: 8)
        let sweep = (0..<200_000).map { _ in Float((2 * rng.nextUnit() - 1) * 110) } + (0..<100_000).map { _ in Float((2 * rng.nextUnit() - 1) * 3) }
        let edges: [Float] = [0, -0, .infinity, -.infinity, .nan, 88.72, 88.73, 89, -87.3, -103.9, -104, -200, 1e-30, -1e-30, 0.625, -0.625,
                              0.62499, 9, -9, 20, -20, Float.leastNonzeroMagnitude, 1, -1]
        let xs = sweep + edges
        let (e, ex) = worst(VectorMath.exp, Foundation_exp, xs)
        #expect(e <= 1, "exp: \(e) ulps at \(ex)")
        let (t, tx) = worst(VectorMath.tanh, Foundation_tanh, xs)
        #expect(t <= 2, "tanh: \(t) ulps at \(tx)")
        // e^-|x| (1 ulp), 1 + e and the quotient (half an ulp each): 2 ulps, and a little more where the quotient
        // is subnormal.
        let (s, sx) = worst(VectorMath.sigmoid, { 1 / (1 + Foundation_exp(-$0)) }, xs)
        #expect(s <= 2.5, "sigmoid: \(s) ulps at \(sx)")
    }
}
