import Formats

/// numpy's pairwise sum (`pairwise_sum` in loops_utils.h): below 8 terms a running sum; up to 128 terms eight
/// interleaved accumulators r[j] += t[i+j], combined ((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7)), then the remainder
/// added one by one; above 128 the range splits at n/2 rounded down to a multiple of 8 and the halves are added.
@inlinable public func pairwiseSum<A: AccumulatorScalar>(_ start: Int, _ n: Int, _ t: (Int) -> A) -> A {
    if n < 8 {
        var s: A = 0
        for i in 0..<n { s += t(start + i) }
        return s
    } else if n <= 128 {
        var r = (t(start), t(start + 1), t(start + 2), t(start + 3), t(start + 4), t(start + 5), t(start + 6), t(start + 7))
        var i = 8
        while i < n - n % 8 {
            r.0 += t(start + i); r.1 += t(start + i + 1); r.2 += t(start + i + 2); r.3 += t(start + i + 3)
            r.4 += t(start + i + 4); r.5 += t(start + i + 5); r.6 += t(start + i + 6); r.7 += t(start + i + 7)
            i += 8
        }
        var s = ((r.0 + r.1) + (r.2 + r.3)) + ((r.4 + r.5) + (r.6 + r.7))
        while i < n { s += t(start + i); i += 1 }
        return s
    } else {
        var half = n / 2
        half -= half % 8
        return pairwiseSum(start, half, t) + pairwiseSum(start + half, n - half, t)
    }
}

/// `pairwiseSum` with its eight interleaved accumulators as the lanes of one vector: the same additions in the
/// same order, so the same bits, from eight terms at a time. `vector(i)` is terms i..<i+8, `term(i)` one term
/// (below 8 terms and for the remainder of each block).
@inlinable public func pairwiseSum<A: AccumulatorScalar & SIMDScalar>(_ start: Int, _ n: Int, vector: (Int) -> SIMD8<A>,
                                                                      term: (Int) -> A) -> A {
    if n < 8 {
        var s: A = 0
        for i in 0..<n { s += term(start + i) }
        return s
    } else if n <= 128 {
        var r = vector(start)
        var i = 8
        while i < n - n % 8 {
            r += vector(start + i)
            i += 8
        }
        var s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        while i < n { s += term(start + i); i += 1 }
        return s
    } else {
        var half = n / 2
        half -= half % 8
        return pairwiseSum(start, half, vector: vector, term: term) + pairwiseSum(start + half, n - half, vector: vector, term: term)
    }
}
