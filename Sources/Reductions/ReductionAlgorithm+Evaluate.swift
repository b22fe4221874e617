import Base
import Formats
import Reference
#if canImport(Glibc)
import Glibc
#endif

extension ReductionAlgorithm {
    /// The algorithm's norm of all elements of `buffers` (in order, as one vector), as the Double value of its
    /// result in `outputFormat`. Requires `supports(order)`.
    public func evaluate(_ buffers: [FloatBuffer], order: NormOrder, threads: Int = ChunkedParallel.defaultThreadCount) -> Double {
        precondition(supports(order), "\(rawValue) does not compute the \(order)-norm")
        let source = ReductionSource(buffers)
        let storage = source.storageFormat
        switch self {
        case .blockedSIMD:
            let squares = order == .two
            if storage.bitWidth == 16 && Set(buffers.map(\.format)).count == 1 {
                var s: Float = 0
                for b in buffers { s += Float(wideReduction(b, squares: squares, threads: threads)) }
                return Double(squares ? s.squareRoot() : s)
            }
            var s = 0.0
            for b in buffers { s += wideReduction(b, squares: squares, threads: threads) }
            return squares ? s.squareRoot() : s
        case .normOfNorms:
            return normOfNorms(buffers, order: order, storage: storage)
        default:
            switch accumulator(for: storage) {
            case .float16: return run(Float16.self, source, order)
            case .bfloat16: return run(BFloat16.self, source, order)
            case .float32: return run(Float.self, source, order)
            case .float64: return run(Double.self, source, order)
            default:
                #if arch(x86_64) || arch(i386)
                return run(Float80.self, source, order)
                #else
                return run(Double.self, source, order)
                #endif
            }
        }
    }

    private func normOfNorms(_ buffers: [FloatBuffer], order: NormOrder, storage: FloatFormat) -> Double {
        let perTensor = buffers.map { b in b.format.round(ReductionAlgorithm.cascade.evaluate([b], order: order)) }
        let stacked = perTensor.map { storage.round($0) }
        let accumulator = self.accumulator(for: storage)
        let lanes = accumulator.precision > 24 ? 4 : 8
        let value: Double
        if accumulator.precision > 24 {
            value = finish(cascadeSum(stacked.count, lanes: lanes) { term(Double.self, stacked[$0], order) }, order)
        } else {
            value = finish(cascadeSum(stacked.count, lanes: lanes) { term(Float.self, stacked[$0], order) }, order)
        }
        return storage.round(value)
    }

    @inline(__always) private func term<A: AccumulatorScalar>(_: A.Type, _ x: Double, _ order: NormOrder) -> A {
        let a = A(exactly: x, widening: ())
        switch order {
        case .two: return a * a
        case .one: return a.magnitude
        default: return A(pow(x.magnitude, order.exponent))
        }
    }

    @inline(__always) private func finish<A: AccumulatorScalar>(_ s: A, _ order: NormOrder) -> Double {
        switch order {
        case .two: return s.squareRoot().doubleValue
        case .one: return s.doubleValue
        default: return pow(s.doubleValue, 1 / order.exponent)
        }
    }

    private func run<A: AccumulatorScalar>(_: A.Type, _ x: ReductionSource, _ order: NormOrder) -> Double {
        let n = x.count
        switch self {
        case .naive, .naiveWide:
            var s: A = 0
            x.forEach { s += term(A.self, $0, order) }
            return finish(s, order)
        case .pairwise:
            return finish(pairwiseSum(0, n) { term(A.self, x[$0], order) }, order)
        case .cascade:
            return finish(cascadeSum(n, lanes: A.accumulatorFormat.precision > 24 ? 4 : 8) { term(A.self, x[$0], order) }, order)
        case .gpuTree:
            return finish(gpuTreeSum(n) { term(A.self, x[$0], order) }, order)
        case .kahan:
            var s: A = 0, c: A = 0
            x.forEach { v in
                let y = term(A.self, v, order) - c
                let t = s + y
                c = (t - s) - y
                s = t
            }
            return finish(s, order)
        case .neumaier:
            var s: A = 0, c: A = 0
            x.forEach { v in
                let y = term(A.self, v, order)
                let t = s + y
                if s.magnitude >= y.magnitude { c += (s - t) + y } else { c += (y - t) + s }
                s = t
            }
            return finish(s + c, order)
        case .dot2:
            return dot2(A.self, x, order)
        case .scaledTwoPass:
            return scaledTwoPass(A.self, x)
        case .blue:
            return blueNorm(A.self, x)
        case .blockedSIMD, .normOfNorms:
            preconditionFailure("handled in evaluate")
        }
    }

    /// Ogita, Rump and Oishi's Dot2 (Sum2 of the squares' TwoProduct parts, by FMA), in the accumulator format.
    private func dot2<A: AccumulatorScalar>(_: A.Type, _ x: ReductionSource, _ order: NormOrder) -> Double {
        var s: A = 0, c: A = 0
        x.forEach { v in
            let a = A(exactly: v, widening: ())
            let p: A, r: A
            if order == .two {
                p = a * a
                r = fusedMultiplyAdd(a, a, -p)
            } else {
                p = a.magnitude
                r = 0
            }
            let t = s + p
            let virtualP = t - s
            let q = (s - (t - virtualP)) + (p - virtualP)
            s = t
            c += q + r
        }
        return finish(s + c, order)
    }

    /// Two passes: the largest magnitude m, then m·sqrt(Σ(x/m)²) (no overflow or underflow of the squares).
    private func scaledTwoPass<A: AccumulatorScalar>(_: A.Type, _ x: ReductionSource) -> Double {
        var largest: A = 0, nan = false
        x.forEach { v in if v.isNaN { nan = true } else { largest = Swift.max(largest, A(exactly: v.magnitude, widening: ())) } }
        if nan { return .nan }
        if largest == 0 || !largest.isFinite { return largest.doubleValue }
        var s: A = 0
        x.forEach { v in
            let t = A(exactly: v, widening: ()) / largest
            s += t * t
        }
        return (largest * s.squareRoot()).doubleValue
    }

    /// LAPACK 3.10's nrm2 (Anderson, "Algorithm 978: Safe scaling in the Level 1 BLAS"), with the constants of
    /// la_constants.f90 derived from the accumulator format.
    private func blueNorm<A: AccumulatorScalar>(_: A.Type, _ x: ReductionSource) -> Double {
        let c = BlueConstants(A.accumulatorFormat)
        func power(_ k: Int) -> A { A(exactly: Double(sign: .plus, exponent: k, significand: 1), widening: ()) }
        let tsml = power(c.tsml), tbig = power(c.tbig), ssml = power(c.ssml), sbig = power(c.sbig)
        var asml: A = 0, amed: A = 0, abig: A = 0
        var notBig = true
        x.forEach { v in
            let ax = A(exactly: v, widening: ()).magnitude
            if ax > tbig {
                let t = ax * sbig
                abig += t * t
                notBig = false
            } else if ax < tsml {
                if notBig {
                    let t = ax * ssml
                    asml += t * t
                }
            } else {
                amed += ax * ax
            }
        }
        let scale: A, sumsq: A
        if abig > 0 {
            if amed > 0 || amed.isNaN { abig += (amed * sbig) * sbig }
            scale = 1 / sbig
            sumsq = abig
        } else if asml > 0 {
            if amed > 0 || amed.isNaN {
                let med = amed.squareRoot()
                let sml = asml.squareRoot() / ssml
                let (ymin, ymax) = sml > med ? (med, sml) : (sml, med)
                scale = 1
                let ratio = ymin / ymax
                sumsq = ymax * ymax * (1 + ratio * ratio)
            } else {
                scale = 1 / ssml
                sumsq = asml
            }
        } else {
            scale = 1
            sumsq = amed
        }
        return (scale * sumsq.squareRoot()).doubleValue
    }
}

/// a × b + c rounded once, in the accumulator's format.
@inline(__always) func fusedMultiplyAdd<A: AccumulatorScalar>(_ a: A, _ b: A, _ c: A) -> A {
    switch A.self {
    case is Float16.Type: return Float16.fusedMultiplyAdd(a as! Float16, b as! Float16, c as! Float16) as! A
    case is BFloat16.Type: return BFloat16.fusedMultiplyAdd(a as! BFloat16, b as! BFloat16, c as! BFloat16) as! A
    default: return c.addingProduct(a, b)
    }
}

/// The scaling constants of LAPACK's la_constants.f90 for a format, in Fortran's conventions
/// (minexponent = emin + 1, maxexponent = emax + 1, digits = p): exponents of the powers of two.
struct BlueConstants {
    let tsml, tbig, ssml, sbig: Int
    init(_ format: FloatFormat) {
        let minExponent = Double(format.emin + 1), maxExponent = Double(format.emax + 1), digits = Double(format.precision)
        tsml = Int(((minExponent - 1) * 0.5).rounded(.up))
        tbig = Int(((maxExponent - digits + 1) * 0.5).rounded(.down))
        ssml = -Int(((minExponent - digits) * 0.5).rounded(.down))
        sbig = -Int(((maxExponent + digits - 1) * 0.5).rounded(.up))
    }
}
