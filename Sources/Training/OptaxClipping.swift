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
            let part = leaf.visit(LeafReduction(order: p))
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
        leaf.visit(BlockRMS(threshold: threshold))
    }
}

/// The per-leaf reduction of `tree.norm`: Σx² (squares rounded to the leaf dtype), Σ|x| or max|x|, summed in
/// the accumulator of `jnp.sum` (Float32 for 16-bit leaves) in XLA's order, and rounded to the leaf dtype.
private struct LeafReduction: GradientVisitor {
    let order: Double
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
        let sum = XLASum.sum(count: values.count) { i in
            let v = values[i].compute
            return square ? S(compute: v * v).compute : v.magnitude
        }
        return Double(S(compute: sum))
    }
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
            let sum = XLASum.sum(count: values.count) { i in let v = values[i].compute; return S(compute: v * v).compute }
            return [Double(S(compute: S(compute: sum).compute.squareRoot()))]
        }
        var sums = [S.Compute](repeating: 0, count: units)
        for i in values.indices {
            let v = values[i].compute
            let u = unitIndex(of: i, shape: shape, reducedAxes: reducedAxes)
            sums[u] += S(compute: v * v).compute
        }
        return sums.map { Double(S(compute: S(compute: $0).compute.squareRoot())) }
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
    func visit<S: TensorScalar>(_ values: UnsafeMutableBufferPointer<S>) -> (clipped: Bool, rms: Double) {
        let sum = XLASum.sum(count: values.count) { i in let v = values[i].compute; return S(compute: v * v).compute }
        // jnp.mean: the Float32 sum divided by n in Float32, then rounded to the dtype.
        let mean = S(compute: sum / S.Compute(Double(values.count)))
        let rms = S(compute: mean.compute.squareRoot())
        let ratio = S(compute: rms.compute / S(rounding: threshold, saturating: false).compute)
        let denominator = ratio.isNaN ? ratio : max(S(1), ratio)
        if denominator == 1 { return (false, Double(rms)) }
        let reciprocal = xlaReciprocal(denominator)
        for i in values.indices { values[i] = S(compute: values[i].compute * reciprocal) }
        return (true, Double(rms))
    }
}

/// The summation order of `jnp.sum` over a whole array on XLA's CPU backend.
public enum XLASum {
    /// Σ term(i) for i in 0..<count in the accumulator C.
    @inline(__always)
    public static func sum<C: ComputeScalar>(count: Int, _ term: (Int) -> C) -> C {
        var s = C(0)
        for i in 0..<count { s += term(i) }
        return s
    }
}
