import Formats

/// The summation orders of the algorithm zoo, over terms t(i) already in the accumulator format. Each states
/// its accumulation order exactly and the length of its longest chain of roundings (its error "depth").

/// Recursive summation: ((t0 + t1) + t2) + ...
@inline(__always) func recursiveSum<A: AccumulatorScalar>(_ n: Int, _ t: (Int) -> A) -> A {
    var s: A = 0
    for i in 0..<n { s += t(i) }
    return s
}

/// Longest rounding chain of `pairwiseSum` over n terms.
func pairwiseDepth(_ n: Int) -> Int {
    if n < 8 { return n }
    if n <= 128 { return n / 8 - 1 + 3 + n % 8 }
    var half = n / 2
    half -= half % 8
    return 1 + max(pairwiseDepth(half), pairwiseDepth(n - half))
}

/// PyTorch CPU's cascade sum (`multi_row_sum`/`row_sum` in SumKernel.cpp) as its vectorized inner sum runs on
/// AVX2: terms are grouped in vectors of W lanes (8 for float, 4 for double); the vectors are read as rows of 4
/// (ILP factor 4) into 4 levels of accumulators, level 0 taking 2^k rows (k = max(4, ceil(log2 rows) / 4))
/// and flushing into level j when the row index is a multiple of 2^(jk); leftovers and levels are then added,
/// then the scalar tail, then the W lanes in order.
func cascadeSum<A: AccumulatorScalar>(_ n: Int, lanes w: Int, _ t: (Int) -> A) -> A {
    let vectors = n / w
    let rows = vectors / 4
    let levelPower = max(4, ceilLog2(rows) / 4)
    let levelStep = 1 << levelPower, levelMask = levelStep - 1
    // acc[level][ilp][lane]
    var acc = [A](repeating: 0, count: 4 * 4 * w)
    @inline(__always) func at(_ level: Int, _ k: Int, _ lane: Int) -> Int { (level * 4 + k) * w + lane }
    var i = 0
    while i + levelStep <= rows {
        for _ in 0..<levelStep {
            for k in 0..<4 { for lane in 0..<w { acc[at(0, k, lane)] += t(((i * 4) + k) * w + lane) } }
            i += 1
        }
        for j in 1..<4 {
            for k in 0..<4 { for lane in 0..<w { acc[at(j, k, lane)] += acc[at(j - 1, k, lane)]; acc[at(j - 1, k, lane)] = 0 } }
            if i & (levelMask << (j * levelPower)) != 0 { break }
        }
    }
    while i < rows {
        for k in 0..<4 { for lane in 0..<w { acc[at(0, k, lane)] += t(((i * 4) + k) * w + lane) } }
        i += 1
    }
    for j in 1..<4 { for k in 0..<4 { for lane in 0..<w { acc[at(0, k, lane)] += acc[at(j, k, lane)] } } }
    // row_sum: leftover vectors into partial 0, then partials 1...3 into 0.
    for v in (rows * 4)..<vectors { for lane in 0..<w { acc[at(0, 0, lane)] += t(v * w + lane) } }
    for k in 1..<4 { for lane in 0..<w { acc[at(0, 0, lane)] += acc[at(0, k, lane)] } }
    var total: A = 0
    for index in (vectors * w)..<n { total += t(index) }
    for lane in 0..<w { total += acc[at(0, 0, lane)] }
    return total
}

/// ATen's CeilLog2: 1 for x <= 2, else ceil(log2 x).
func ceilLog2(_ x: Int) -> Int { x <= 2 ? 1 : Int.bitWidth - (x - 1).leadingZeroBitCount }

/// Longest rounding chain of `cascadeSum`.
func cascadeDepth(_ n: Int, lanes w: Int) -> Int {
    let rows = n / w / 4
    let step = 1 << max(4, ceilLog2(rows) / 4)
    return 4 * step + (rows / (step * step * step) + 1) + 8 + w + 4 * w
}

/// A GPU-style reduction: blocks of 256 threads in warps of 32, at most 1024 blocks (a grid-stride loop
/// when there are more elements). Thread g sums elements g, g+T, g+2T... in order; each warp then reduces by
/// shuffles (lane += lane + offset for offsets 16, 8, 4, 2, 1); warp results go through the same shuffle tree in
/// the first warp; block results are reduced by one more block of 256 threads the same way.
func gpuTreeSum<A: AccumulatorScalar>(_ n: Int, _ t: (Int) -> A) -> A {
    let blockSize = 256
    let blocks = max(1, min(1024, (n + blockSize - 1) / blockSize))
    func blockReduce(_ values: [A]) -> A {  // values.count == 256
        func warpReduce(_ lanes: [A]) -> A {
            var v = lanes
            var offset = 16
            while offset > 0 {
                for lane in 0..<offset { v[lane] += v[lane + offset] }
                offset /= 2
            }
            return v[0]
        }
        var warpSums = [A](repeating: 0, count: 32)
        for warp in 0..<(blockSize / 32) { warpSums[warp] = warpReduce(Array(values[(warp * 32)..<(warp * 32 + 32)])) }
        return warpReduce(warpSums)
    }
    func grid(_ count: Int, _ blocks: Int, _ value: (Int) -> A) -> [A] {
        let threads = blocks * blockSize
        return (0..<blocks).map { b in
            blockReduce((0..<blockSize).map { lane in
                var s: A = 0
                var i = b * blockSize + lane
                while i < count { s += value(i); i += threads }
                return s
            })
        }
    }
    let partials = grid(n, blocks, t)
    return grid(partials.count, 1) { partials[$0] }[0]
}

func gpuTreeDepth(_ n: Int) -> Int {
    let blocks = max(1, min(1024, (n + 255) / 256))
    return (n + blocks * 256 - 1) / (blocks * 256) + 10 + (blocks + 255) / 256 + 10
}
