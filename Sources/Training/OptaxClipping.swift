import Base
import Formats
import Tensors

/// optax's clipping transforms (optax 0.2.8 on JAX's CPU backend) with every intermediate in the dtype JAX
/// holds it in. Python floats are weakly typed in JAX: `max_norm`, `threshold` and `clipping` take the dtype of
/// the array they meet (they are rounded to Float16 next to a Float16 leaf). Sums of 16-bit leaves are
/// accumulated in Float32 and rounded back to the leaf dtype (`jnp.sum`), in XLA's order (`XLASum`).
public enum OptaxClipping {
    /// `optax.tree.norm(tree, ord)` for ord 2 (`jnp.sum(jnp.square(leaf))` per leaf), 1 (`jnp.sum(jnp.abs)`) and
    /// inf (`jnp.max(jnp.abs)`); the per-leaf results are combined in leaf order with JAX's promotion, starting from
    /// a weak 0 (`jax.tree.reduce(add, sums, initializer=0)`); the 2-norm ends with `jnp.sqrt` in that dtype.
    public static func treeNorm(_ leaves: [GradientTensor], order p: Double) -> NormValue {
        guard !leaves.isEmpty else { return NormValue(value: 0, format: .float32) }
        var total = 0.0
        var format: FloatFormat? = nil
        for leaf in leaves {
            let part = leaf.visit(LeafReduction(order: p, shape: leaf.shape))
            let combined = format.map { promoted($0, leaf.format) } ?? leaf.format
            if p == .infinity {
                total = (total.isNaN || part.isNaN) ? .nan : max(total, part)
            } else {
                total = combined.round(total + part)
            }
            format = combined
        }
        let resultFormat = format ?? .float32
        if p == 2 { total = resultFormat.round(total.squareRoot()) }
        return NormValue(value: total, format: resultFormat)
    }

    /// JAX's promotion lattice for floating dtypes: f16 with bf16 gives f32; otherwise the wider.
    public static func promoted(_ a: FloatFormat, _ b: FloatFormat) -> FloatFormat {
        if a == b { return a }
        if a == .float64 || b == .float64 { return .float64 }
        return .float32
    }

    /// `clip_by_global_norm`: when `norm < max_norm` (max_norm in the norm's dtype) the leaves are kept; otherwise
    /// each leaf becomes `(t / norm.astype(t.dtype)) * max_norm`, both operations rounded in the leaf's dtype
    /// (NaN norms clip, as the comparison is false). Returns whether the leaves were rewritten.
    @discardableResult
    public static func clip(_ leaves: [GradientTensor], norm: NormValue, maxNorm: Double) -> Bool {
        if norm.value < norm.format.round(maxNorm) { return false }
        for leaf in leaves { leaf.visit(DivideMultiply(norm: norm.value, maxNorm: maxNorm)) }
        return true
    }

    /// `adaptive_grad_clip` on one leaf: unit-wise norms of gradient and parameter (whole tensor when the
    /// squeezed rank is ≤ 1, axis 0 for rank 2–3, axes 0–2 for rank 4, 0–3 for rank 5), computed in each one's
    /// dtype; max = clipping · max(‖p‖, eps) in the parameter's dtype; where ‖g‖ < max the gradient is kept,
    /// else g · (max / max(‖g‖, 1e-6)).
    public static func adaptiveClip(_ g: GradientTensor, parameter p: GradientTensor, clipping: Double, eps: Double) throws
        -> (clipped: Bool, largestRatio: Double) {
        let axes = try unitAxes(g.shape, name: g.name)
        let gNorms = g.visit(UnitNorms(shape: g.shape, reducedAxes: axes))
        let pNorms = p.visit(UnitNorms(shape: p.shape, reducedAxes: axes))
        let pf = p.format, gf = g.format
        let product = promoted(pf, gf)
        var factors = [Double?](repeating: nil, count: gNorms.count)
        var largest = 0.0
        for u in gNorms.indices {
            let maxNorm = pf.round(pf.round(clipping) * max(pNorms[u], pf.round(eps)))
            if maxNorm > 0 { largest = max(largest, gNorms[u] / maxNorm) }
            let gn = gNorms[u]
            // g_norm < max_norm compares in the promoted dtype (both values convert exactly).
            if gn < maxNorm { continue }
            let denominator = product.round(max(gn, gf.round(1e-6)))
            factors[u] = product.round(maxNorm / denominator)
        }
        let changed = factors.contains { $0 != nil }
        if changed { g.visit(UnitScale(shape: g.shape, reducedAxes: axes, factors: factors, product: product)) }
        return (changed, largest)
    }

    /// The axes optax's `unitwise_norm` reduces over.
    static func unitAxes(_ shape: [Int], name: String) throws -> [Int] {
        let squeezedRank = shape.filter { $0 != 1 }.count
        if squeezedRank <= 1 { return Array(shape.indices) }
        switch shape.count {
        case 2, 3: return [0]
        case 4: return [0, 1, 2]
        case 5: return [0, 1, 2, 3]
        default: throw ClipperError("tensor '\(name)' has rank \(shape.count); adaptive clipping handles ranks 1 to 5")
        }
    }

    /// `clip_by_block_rms`: u / max(1, sqrt(mean(u²)) / threshold), all in the leaf's dtype.
    public static func blockRMSClip(_ leaf: GradientTensor, threshold: Double) -> (clipped: Bool, rms: Double) {
        leaf.visit(BlockRMS(threshold: threshold, shape: leaf.shape))
    }
}

/// The per-leaf reduction of `tree.norm`: Σx² (squares rounded to the leaf dtype), Σ|x| or max|x|, summed in
/// the accumulator of `jnp.sum` (Float32 for 16-bit leaves) in XLA's order, and rounded to the leaf dtype.
private struct LeafReduction: GradientVisitor {
    let order: Double
    let shape: [Int]
    func visit<S: TensorScalar>(_ values: UnsafeMutableBufferPointer<S>) -> Double {
        if order == .infinity {
            var m = S.Compute(0)
            for x in values {
                let a = x.compute.magnitude
                if a.isNaN { return .nan }
                m = max(m, a)
            }
            return Double(m)
        }
        let square = order == 2
        let sum = xlaSum(values, shape: shape) { v in square ? S(compute: v.compute * v.compute).compute : v.compute.magnitude }
        return Double(S(compute: sum))
    }
}

/// `jnp.sum` of the terms of a whole leaf in its accumulator (Float32 for 16- and 32-bit leaves) in XLA's order;
/// Float64 leaves (JAX with x64 enabled) are summed in order.
private func xlaSum<S: TensorScalar>(_ values: UnsafeMutableBufferPointer<S>, shape: [Int], term: (S) -> S.Compute) -> S.Compute {
    if S.Compute.self == Double.self {
        var s = S.Compute(0)
        for v in values { s += term(v) }
        return s
    }
    let terms = values.map { unsafeBitCast(term($0), to: Float.self) }
    let dims = shape.reduce(1, *) == values.count ? shape : [values.count]
    return unsafeBitCast(XLASum.sumAll(terms, shape: dims, bfloat16Input: S.kind == .bfloat16), to: S.Compute.self)
}

/// `(t / norm) * max_norm` in the leaf's dtype, the division as XLA's CPU backend does it.
private struct DivideMultiply: GradientVisitor {
    let norm: Double
    let maxNorm: Double
    func visit<S: TensorScalar>(_ values: UnsafeMutableBufferPointer<S>) {
        let reciprocal = xlaReciprocal(S(rounding: norm, saturating: false))
        let m = S(rounding: maxNorm, saturating: false).compute
        for i in values.indices { values[i] = S(compute: S(compute: values[i].compute * reciprocal).compute * m) }
    }
}

/// XLA's CPU backend divides by a broadcast scalar as a multiplication by its reciprocal (measured): computed in
/// Float32 for Float32 and BFloat16 (which it widens to Float32 first), but rounded to Float16 for Float16 (which
/// it computes natively), so Float16 quotients are not always correctly rounded.
@inline(__always)
private func xlaReciprocal<S: TensorScalar>(_ x: S) -> S.Compute {
    let r = 1 / x.compute
    return S.kind == .float16 ? S(compute: r).compute : r
}

/// Row-major unit indexing: an element's unit is its index with the reduced axes dropped.
private func unitIndex(of flat: Int, shape: [Int], reducedAxes: [Int]) -> Int {
    var rest = flat, unit = 0, unitStride = 1
    for axis in shape.indices.reversed() {
        let coordinate = rest % shape[axis]
        rest /= shape[axis]
        if !reducedAxes.contains(axis) {
            unit += coordinate * unitStride
            unitStride *= shape[axis]
        }
    }
    return unit
}

private func unitCount(shape: [Int], reducedAxes: [Int]) -> Int {
    shape.indices.filter { !reducedAxes.contains($0) }.reduce(1) { $0 * shape[$1] }
}

/// sqrt(Σ x²) per unit: squares rounded to the dtype, sums in the `jnp.sum` accumulator in element order, the
/// sum and the root rounded to the dtype.
private struct UnitNorms: GradientVisitor {
    let shape: [Int]
    let reducedAxes: [Int]
    func visit<S: TensorScalar>(_ values: UnsafeMutableBufferPointer<S>) -> [Double] {
        let units = unitCount(shape: shape, reducedAxes: reducedAxes)
        if units == 1 {
            let sum = xlaSum(values, shape: shape) { v in S(compute: v.compute * v.compute).compute }
            return [Double(S(compute: S(compute: sum).compute.squareRoot()))]
        }
        let squares = values.map { v in Double(S(compute: v.compute * v.compute).compute) }
        let sums: [Double]
        if S.Compute.self == Double.self {
            var s = [Double](repeating: 0, count: units)
            for i in squares.indices { s[unitIndex(of: i, shape: shape, reducedAxes: reducedAxes)] += squares[i] }
            sums = s
        } else {
            sums = XLASum.treeReduce(squares.map { Float($0) }, shape: shape, reduced: Set(reducedAxes)).map { Double($0) }
        }
        return sums.map { Double(S(compute: S(rounding: $0, saturating: false).compute.squareRoot())) }
    }
}

/// g · factor[unit] for the units that clip, in the promoted dtype, stored in g's dtype.
private struct UnitScale: GradientVisitor {
    let shape: [Int]
    let reducedAxes: [Int]
    let factors: [Double?]
    let product: FloatFormat
    func visit<S: TensorScalar>(_ values: UnsafeMutableBufferPointer<S>) {
        for i in values.indices {
            guard let f = factors[unitIndex(of: i, shape: shape, reducedAxes: reducedAxes)] else { continue }
            values[i] = S(rounding: product.round(Double(values[i]) * f), saturating: false)
        }
    }
}

private struct BlockRMS: GradientVisitor {
    let threshold: Double
    let shape: [Int]
    func visit<S: TensorScalar>(_ values: UnsafeMutableBufferPointer<S>) -> (clipped: Bool, rms: Double) {
        let sum = xlaSum(values, shape: shape) { v in S(compute: v.compute * v.compute).compute }
        // jnp.mean: XLA multiplies the Float32 sum by the Float32 constant 1/n, then rounds to the dtype.
        let mean = S(compute: sum * S.Compute(1 / Double(values.count)))
        let rms = S(compute: mean.compute.squareRoot())
        let ratio = S(compute: rms.compute / S(rounding: threshold, saturating: false).compute)
        let denominator = ratio.isNaN ? ratio : max(S(1), ratio)
        if denominator == 1 { return (false, Double(rms)) }
        let reciprocal = xlaReciprocal(denominator)
        for i in values.indices { values[i] = S(compute: values[i].compute * reciprocal) }
        return (true, Double(rms))
    }
}

/// The order in which `jnp.sum` adds Float32 terms on XLA's CPU backend (jaxlib 0.10.2, measured on this
/// machine against the real JAX, see `fixtures/clip`). XLA picks one of two code paths per reduction:
///
/// - fewer than 4096 elements, XLA's own loops: while a reduced dimension is longer than 32, each reduced
///   dimension is cut into windows of min(extent, 32) with "same" padding (pad = ⌈e/32⌉·32 − e, low = pad/2),
///   each window summed in order from 0 walking the window's coordinates row-major; then one sequential loop
///   in row-major order. Plain Float32 adds, no FMA.
/// - 4096 elements or more, YNNPACK's kernel: with more than one core, chunks of 32,768 elements whose partial
///   sums are reduced again the same way; inside a chunk 16 lanes (element i to lane i mod 16), tiles of 1024
///   elements (a final remainder tile, or a zero tile), per tile greedy blocks of 16 rows
///   (((b4 + b4) + b4) + b4, b4 = ((r0 + r1) + r2) + r3) while ≥ 256 elements remain, then of 4 rows while ≥ 64
///   remain, then the remaining rows in order; tiles combined per lane by Kahan summation; lanes by a halving
///   tree. BFloat16 inputs (the conversion fused into the kernel) take rows of 32 elements, lane l adding
///   elements 2l+1 then 2l, and tiles of 2048.
///
/// Column sums (`axis=0`, AGC's units) of arrays of 4096 elements or more take YNNPACK's column kernel, whose
/// order is only partly known; the lab uses the windowed order there (last bits may differ).
public enum XLASum {
    /// Arrays at least this long go to YNNPACK.
    public static let kernelThreshold = 4096
    static let chunk = 32_768

    /// Σ of all elements of a row-major array of `shape` (terms already in Float32); `bfloat16Input` selects
    /// YNNPACK's BFloat16 kernel.
    public static func sumAll(_ terms: [Float], shape: [Int], bfloat16Input: Bool = false, cores: Int = ChunkedParallel.defaultThreadCount) -> Float {
        if terms.isEmpty { return 0 }
        if terms.count >= kernelThreshold { return kernelSum(terms[...], bfloat16Input: bfloat16Input, cores: cores) }
        return treeReduce(terms, shape: shape.isEmpty ? [terms.count] : shape, reduced: Set(shape.indices))[0]
    }

    /// Σ over the `reduced` axes of a row-major array: the results in row-major order of the kept axes.
    public static func treeReduce(_ terms: [Float], shape: [Int], reduced: Set<Int>) -> [Float] {
        var x = terms, dims = shape
        func strides(_ d: [Int]) -> [Int] {
            var s = [Int](repeating: 1, count: d.count)
            for k in stride(from: d.count - 2, through: 0, by: -1) { s[k] = s[k + 1] * d[k + 1] }
            return s
        }
        // One windowed round: every reduced axis cut into windows of min(e, 32) with "same" padding.
        while reduced.contains(where: { dims[$0] > 32 }) {
            let windows = dims.indices.map { reduced.contains($0) ? min(dims[$0], 32) : 1 }
            let outDims = dims.indices.map { reduced.contains($0) ? (dims[$0] + windows[$0] - 1) / windows[$0] : dims[$0] }
            let padLow = dims.indices.map { (outDims[$0] * windows[$0] - dims[$0]) / 2 }
            let inStrides = strides(dims)
            let outCount = outDims.reduce(1, *), windowCount = windows.reduce(1, *)
            let outStrides = strides(outDims), windowStrides = strides(windows)
            var next = [Float](repeating: 0, count: outCount)
            for o in 0..<outCount {
                var acc: Float = 0
                for w in 0..<windowCount {
                    var flat = 0, inside = true
                    for k in dims.indices {
                        let oc = (o / outStrides[k]) % outDims[k], wc = (w / windowStrides[k]) % windows[k]
                        let position = reduced.contains(k) ? oc * windows[k] + wc - padLow[k] : oc
                        if position < 0 || position >= dims[k] { inside = false; break }
                        flat += position * inStrides[k]
                    }
                    if inside { acc += x[flat] }
                }
                next[o] = acc
            }
            x = next
            dims = outDims
        }
        // The final loop: row-major over the reduced axes, for each index of the kept axes.
        let kept = dims.indices.filter { !reduced.contains($0) }
        let sums = dims.indices.filter { reduced.contains($0) }
        let inStrides = strides(dims)
        let keptDims = kept.map { dims[$0] }, sumDims = sums.map { dims[$0] }
        let keptCount = keptDims.reduce(1, *), sumCount = sumDims.reduce(1, *)
        let keptStrides = strides(keptDims), sumStrides = strides(sumDims)
        return (0..<keptCount).map { o in
            var base = 0
            for (j, k) in kept.enumerated() { base += ((o / keptStrides[j]) % keptDims[j]) * inStrides[k] }
            var acc: Float = 0
            for r in 0..<sumCount {
                var flat = base
                for (j, k) in sums.enumerated() { flat += ((r / sumStrides[j]) % sumDims[j]) * inStrides[k] }
                acc += x[flat]
            }
            return acc
        }
    }

    /// YNNPACK's sum of a contiguous run of Float32 terms.
    static func kernelSum(_ x: ArraySlice<Float>, bfloat16Input: Bool, cores: Int) -> Float {
        if cores <= 1 || x.count <= chunk { return kernelChunk(x, bfloat16Input: bfloat16Input) }
        var partials = [Float]()
        var start = x.startIndex
        while start < x.endIndex {
            let end = min(start + chunk, x.endIndex)
            partials.append(kernelChunk(x[start..<end], bfloat16Input: bfloat16Input))
            start = end
        }
        if partials.count >= kernelThreshold { return kernelSum(partials[...], bfloat16Input: false, cores: cores) }
        return kernelChunk(partials[...], bfloat16Input: false)
    }

    static func kernelChunk(_ x: ArraySlice<Float>, bfloat16Input: Bool) -> Float {
        let rowWidth = bfloat16Input ? 32 : 16, tile = bfloat16Input ? 2048 : 1024
        let n = x.count, full = n / tile
        var s = SIMD16<Float>(repeating: 0), c = SIMD16<Float>(repeating: 0)
        func kahan(_ v: SIMD16<Float>) {
            let y = v - c, t = s + y
            c = (t - s) - y
            s = t
        }
        for t in 0..<full { kahan(tileValue(x, from: x.startIndex + t * tile, count: tile, rowWidth: rowWidth)) }
        kahan(n % tile == 0 ? SIMD16(repeating: 0) : tileValue(x, from: x.startIndex + full * tile, count: n % tile, rowWidth: rowWidth))
        var lanes = s
        let h8 = lanes.lowHalf + lanes.highHalf
        let h4 = h8.lowHalf + h8.highHalf
        let h2 = h4.lowHalf + h4.highHalf
        lanes[0] = h2[0] + h2[1]
        return lanes[0]
    }

    /// One tile: greedy blocks of rows, the blocks added in order.
    static func tileValue(_ x: ArraySlice<Float>, from start: Int, count k: Int, rowWidth: Int) -> SIMD16<Float> {
        func row(_ r: Int) -> SIMD16<Float> {
            // Row r of the tile; missing elements (the zero-padded last row) are 0.
            var v = SIMD16<Float>(repeating: 0)
            if rowWidth == 16 {
                for l in 0..<16 where r * 16 + l < k { v[l] = x[start + r * 16 + l] }
            }
            return v
        }
        func rowsSum(_ first: Int, _ count: Int, into acc: inout SIMD16<Float>) {
            for r in first..<(first + count) {
                if rowWidth == 16 {
                    acc += row(r)
                } else {
                    var odd = SIMD16<Float>(repeating: 0), even = SIMD16<Float>(repeating: 0)
                    for l in 0..<16 {
                        let i = r * 32 + 2 * l
                        if i + 1 < k { odd[l] = x[start + i + 1] }
                        if i < k { even[l] = x[start + i] }
                    }
                    acc += odd
                    acc += even
                }
            }
        }
        func chain(_ first: Int, _ count: Int) -> SIMD16<Float> {
            if rowWidth == 16 {
                var acc = row(first)
                for r in (first + 1)..<(first + count) { acc += row(r) }
                return acc
            }
            var acc = SIMD16<Float>(repeating: 0)
            rowsSum(first, count, into: &acc)
            return acc
        }
        var blocks: SIMD16<Float>?
        func add(_ b: SIMD16<Float>) { blocks = blocks.map { $0 + b } ?? b }
        var p = 0
        while k - p * rowWidth >= 16 * rowWidth {
            var b = chain(p, 4)
            for q in stride(from: 4, to: 16, by: 4) { b += chain(p + q, 4) }
            add(b)
            p += 16
        }
        while k - p * rowWidth >= 4 * rowWidth {
            add(chain(p, 4))
            p += 4
        }
        if k - p * rowWidth > 0 { add(chain(p, (k - p * rowWidth + rowWidth - 1) / rowWidth)) }
        return blocks ?? SIMD16(repeating: 0)
    }
}
