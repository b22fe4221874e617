import Formats
import Tensors
#if canImport(Glibc)
import Glibc
#endif

/// `torch.linalg.vector_norm` as PyTorch 2.15 computes it on the CPU, bit for bit (checked against the real
/// torch by `fixtures/clip`).
///
/// - p = 2 on Float32, Float64 and BFloat16 (the "last-dimension" fast path of ReduceOpsKernel.cpp): AVX2
///   vectors of 8 floats (4 doubles) accumulate `acc += x * x` (a rounded product, no FMA) over whole vectors
///   of the input (16 elements per step for BFloat16, added as two halves); the lanes are then added in
///   order into lane 0, the tail is added element by element (see `fastTwoNorm` for where FMA is used), and the
///   square root is rounded to the dtype.
/// - everything else (Float16 at p = 2, p = 1, inf, -inf, 0, any other p): the generic reduction in the
///   accumulator type (Float for the 16- and 32-bit formats, Double for Double) element by element; inputs
///   longer than 32,768 elements are cut into min(threads, ⌈n/32768⌉) equal chunks (⌈n/chunks⌉ each) whose
///   partial results are combined in order. General p adds `powf(|x|, p)` and finishes with
///   `powf(acc, 1/p)`, 1/p rounded to the accumulator; inf and -inf are max|x| and min|x| with NaN kept.
public enum TorchNorm {
    /// ATen's grain size for parallel reductions.
    public static let grainSize = 32_768

    public static func vectorNorm<S: TensorScalar>(_ x: UnsafeBufferPointer<S>, order p: Double, threads: Int) -> S {
        if p == 2 && S.kind != .float16 { return fastTwoNorm(x) }
        typealias C = S.Compute
        if p == .infinity || p == -.infinity {
            let isMax = p > 0
            return S(compute: reduce(x, threads: threads, initial: isMax ? C(0) : C.infinity, combine: { a, b in
                if a.isNaN { return a }
                if b.isNaN { return b }
                return isMax ? max(a, b) : min(a, b)
            }, term: { $0.compute.magnitude }))
        }
        if p == 0 {
            return S(compute: reduce(x, threads: threads, initial: C(0), combine: +, term: { $0 == 0 ? C(0) : C(1) }))
        }
        if p == 1 {
            return S(compute: reduce(x, threads: threads, initial: C(0), combine: +, term: { $0.compute.magnitude }))
        }
        if p == 2 {
            let sum = reduce(x, threads: threads, initial: C(0), combine: +, term: { let v = $0.compute; return v * v })
            return S(compute: sum.squareRoot())
        }
        let exponent = C(p)
        let sum = reduce(x, threads: threads, initial: C(0), combine: +, term: { power($0.compute.magnitude, exponent) })
        return S(compute: power(sum, C(1) / exponent))
    }

    /// The generic ATen reduction: sequential `acc = combine(acc, term(x))`, or per-chunk partials combined in order.
    @inline(__always)
    static func reduce<S: TensorScalar>(_ x: UnsafeBufferPointer<S>, threads: Int, initial: S.Compute,
                                        combine: (S.Compute, S.Compute) -> S.Compute,
                                        term: (S) -> S.Compute) -> S.Compute {
        let n = x.count
        let chunks = n > grainSize ? min(max(threads, 1), (n + grainSize - 1) / grainSize) : 1
        let size = (n + chunks - 1) / max(chunks, 1)
        var total = initial
        for c in 0..<chunks {
            var acc = initial
            for i in (c * size)..<min(n, (c + 1) * size) { acc = combine(acc, term(x[i])) }
            total = combine(total, acc)
        }
        return total
    }

    /// ATen's vectorized last-dimension 2-norm (Float32, Float64, BFloat16).
    static func fastTwoNorm<S: TensorScalar>(_ x: UnsafeBufferPointer<S>) -> S {
        typealias C = S.Compute
        let lanes = S.kind == .float64 ? 4 : 8
        let step = S.kind == .bfloat16 ? 16 : lanes
        var acc = SIMD8<C>(repeating: 0)
        let n = x.count
        var d = 0
        while d + step <= n {
            for half in stride(from: 0, to: step, by: lanes) {
                for l in 0..<lanes {
                    let v = x[d + half + l].compute
                    acc[l] = acc[l] + v * v
                }
            }
            d += step
        }
        var sum = acc[0]
        for l in 1..<lanes { sum = sum + acc[l] }
        // The tail, as the compiled code does it (measured): for Float and BFloat16, whole groups of four are added
        // in order with rounded squares and the last one to three with FMA; for Double all of them with FMA.
        if S.kind != .float64 {
            let grouped = d + (n - d) / 4 * 4
            while d < grouped {
                let v = x[d].compute
                sum += v * v
                d += 1
            }
        }
        while d < n {
            let v = x[d].compute
            sum = sum.addingProduct(v, v)
            d += 1
        }
        return S(compute: sum.squareRoot())
    }

    /// powf for Float, pow for Double (glibc's, as ATen calls them).
    @inline(__always)
    static func power<C: ComputeScalar>(_ a: C, _ b: C) -> C {
        if C.self == Float.self { return unsafeBitCast(powf(unsafeBitCast(a, to: Float.self), unsafeBitCast(b, to: Float.self)), to: C.self) }
        return unsafeBitCast(pow(unsafeBitCast(a, to: Double.self), unsafeBitCast(b, to: Double.self)), to: C.self)
    }
}
