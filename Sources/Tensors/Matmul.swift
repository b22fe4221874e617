import Base
import Formats

/// The format a matrix product accumulates in.
public enum MatmulAccumulator: String, Sendable, CaseIterable {
    /// Float for Float16, BFloat16 and Float inputs (as tensor cores do for 16-bit inputs), Double for Double:
    /// products and sums in the wide format, rounded once to the output's format at the end.
    case wide
    /// The storage format itself: every multiply-add rounded once to it (an FMA unit of that format), in order
    /// of k. Slow (element by element); it shows what accumulating in 16 bits costs.
    case storage
}

/// The operands of C = op(A) op(B): pointers to row-major matrices with their leading dimensions.
public struct GemmOperands<S: TensorScalar> {
    public var m: Int, n: Int, k: Int
    public var a: UnsafePointer<S>, lda: Int, transposeA: Bool
    public var b: UnsafePointer<S>, ldb: Int, transposeB: Bool
    public var c: UnsafeMutablePointer<S>, ldc: Int

    @inlinable public init(m: Int, n: Int, k: Int, a: UnsafePointer<S>, lda: Int, transposeA: Bool,
                           b: UnsafePointer<S>, ldb: Int, transposeB: Bool, c: UnsafeMutablePointer<S>, ldc: Int) {
        self.m = m; self.n = n; self.k = k
        self.a = a; self.lda = lda; self.transposeA = transposeA
        self.b = b; self.ldb = ldb; self.transposeB = transposeB
        self.c = c; self.ldc = ldc
    }

    /// op(A)[i, p].
    @inlinable func aAt(_ i: Int, _ p: Int) -> S { transposeA ? a[p * lda + i] : a[i * lda + p] }
    /// op(B)[p, j].
    @inlinable func bAt(_ p: Int, _ j: Int) -> S { transposeB ? b[j * ldb + p] : b[p * ldb + j] }
}

/// C = op(A) op(B), or C += op(A) op(B) when `accumulate` (the product added to C in the accumulator, then
/// rounded once). Each element of C is computed by one thread, in order of k, so the result is the same bits
/// for any thread count.
public func gemm<S: TensorScalar>(_ g: GemmOperands<S>, accumulate: Bool, accumulator: MatmulAccumulator = .wide,
                                  threads: Int = Parallel.defaultThreads) {
    guard g.m > 0, g.n > 0 else { return }
    if g.k == 0 {
        if !accumulate { for i in 0..<g.m { (g.c + i * g.ldc).update(repeating: 0, count: g.n) } }
        return
    }
    // Small products are not worth a second thread.
    let work = g.m * g.n * g.k
    let t = work < 1 << 21 ? 1 : threads
    if accumulator == .storage {
        storageGemm(g, accumulate: accumulate, threads: t)
        return
    }
    switch S.kind {
    case .float16: packedGemm(unsafeBitCast(g, to: GemmOperands<Float16>.self), FloatTile<Float16>.self, accumulate, t)
    case .bfloat16: packedGemm(unsafeBitCast(g, to: GemmOperands<BFloat16>.self), FloatTile<BFloat16>.self, accumulate, t)
    case .float32: packedGemm(unsafeBitCast(g, to: GemmOperands<Float>.self), FloatTile<Float>.self, accumulate, t)
    case .float64: packedGemm(unsafeBitCast(g, to: GemmOperands<Double>.self), DoubleTile.self, accumulate, t)
    }
}

/// Rows of the micro-kernel's tile.
@usableFromInline let tileRows = 6

/// How a format's elements enter and leave the micro-kernel: packed into the wide format, a 6 x (2 vectors)
/// tile of wide accumulators stored back with one rounding.
@usableFromInline protocol GemmTile {
    associatedtype S: TensorScalar
    associatedtype V: SIMD where V.Scalar: BinaryFloatingPoint
    /// Lanes of V; the tile is 2 * lanes columns wide.
    static var lanes: Int { get }
    /// op(A) rows i0..<i0+rows, all k, into `ap` as ap[p * 6 + r] (zero rows past `rows`).
    static func packA(_ g: GemmOperands<S>, _ i0: Int, _ rows: Int, _ ap: UnsafeMutablePointer<V.Scalar>)
    /// op(B) columns j0..<j0+cols, all k, into `bp` as bp[p * width + j] (zero columns past `cols`).
    static func packB(_ g: GemmOperands<S>, _ j0: Int, _ cols: Int, _ bp: UnsafeMutablePointer<V.Scalar>)
    /// op(A)'s rows i0..<i0+6 read in place, when they are already rows of the wide format (Float or Double,
    /// not transposed): the micro-kernel then needs no packed copy. nil otherwise.
    static func directA(_ g: GemmOperands<S>, _ i0: Int) -> UnsafePointer<V.Scalar>?
    /// Stores (or adds) a row of the tile: `cols` columns from c.
    static func storeRow(_ lo: V, _ hi: V, _ c: UnsafeMutablePointer<S>, cols: Int, accumulate: Bool)
}

/// 16- and 32-bit formats: Float accumulators, 8 lanes.
@usableFromInline enum FloatTile<T: FloatComputed>: GemmTile {
    @usableFromInline typealias S = T
    @usableFromInline typealias V = SIMD8<Float>
    @inlinable static var lanes: Int { 8 }

    @inlinable static func directA(_ g: GemmOperands<T>, _ i0: Int) -> UnsafePointer<Float>? {
        T.kind == .float32 && !g.transposeA ? UnsafeRawPointer(g.a + i0 * g.lda).assumingMemoryBound(to: Float.self) : nil
    }

    @inlinable static func packA(_ g: GemmOperands<T>, _ i0: Int, _ rows: Int, _ ap: UnsafeMutablePointer<Float>) {
        if g.transposeA && rows == tileRows && i0 + 8 <= g.m {
            // op(A)'s rows are columns of A: six contiguous values per p, loaded as eight (in bounds: i0 + 8 <= m,
            // inside A's row p even when A is a view with lda > m) and stored as eight, the last two overwritten by
            // the next p (the scratch has room past the end).
            for p in 0..<g.k {
                UnsafeMutableRawPointer(ap + p * tileRows).storeBytes(of: T.load8(g.a + p * g.lda + i0), as: SIMD8<Float>.self)
            }
        } else if g.transposeA {
            packContiguous(g.k, width: tileRows, count: rows, ap) { g.a + $0 * g.lda + i0 }
        } else {
            packStrided(g.k, width: tileRows, count: rows, ap) { g.a + (i0 + $0) * g.lda }
        }
    }

    @inlinable static func packB(_ g: GemmOperands<T>, _ j0: Int, _ cols: Int, _ bp: UnsafeMutablePointer<Float>) {
        if !g.transposeB && cols == 16 {
            for p in 0..<g.k {
                let row = g.b + p * g.ldb + j0
                let out = UnsafeMutableRawPointer(bp + p * 16)
                out.storeBytes(of: T.load8(row), as: SIMD8<Float>.self)
                out.storeBytes(of: T.load8(row + 8), toByteOffset: 32, as: SIMD8<Float>.self)
            }
        } else if !g.transposeB {
            packContiguous(g.k, width: 16, count: cols, bp) { g.b + $0 * g.ldb + j0 }
        } else {
            packStrided(g.k, width: 16, count: cols, bp) { g.b + (j0 + $0) * g.ldb }
        }
    }

    @inlinable @inline(__always) static func storeRow(_ lo: SIMD8<Float>, _ hi: SIMD8<Float>, _ c: UnsafeMutablePointer<T>, cols: Int, accumulate: Bool) {
        if cols == 16 {
            T.store8(accumulate ? T.load8(c) + lo : lo, c)
            T.store8(accumulate ? T.load8(c + 8) + hi : hi, c + 8)
        } else {
            for j in 0..<cols {
                let v = j < 8 ? lo[j] : hi[j - 8]
                c[j] = T(compute: accumulate ? c[j].compute + v : v)
            }
        }
    }
}

/// Double: Double accumulators, 4 lanes.
@usableFromInline enum DoubleTile: GemmTile {
    @usableFromInline typealias S = Double
    @usableFromInline typealias V = SIMD4<Double>
    @inlinable static var lanes: Int { 4 }

    @inlinable static func directA(_ g: GemmOperands<Double>, _ i0: Int) -> UnsafePointer<Double>? {
        g.transposeA ? nil : g.a + i0 * g.lda
    }

    @inlinable static func packA(_ g: GemmOperands<Double>, _ i0: Int, _ rows: Int, _ ap: UnsafeMutablePointer<Double>) {
        if g.transposeA && rows == tileRows {
            // op(A)'s rows are columns of A: six contiguous values per p.
            for p in 0..<g.k {
                let column = UnsafeRawPointer(g.a + p * g.lda + i0), out = UnsafeMutableRawPointer(ap + p * tileRows)
                out.storeBytes(of: column.loadUnaligned(as: SIMD4<Double>.self), as: SIMD4<Double>.self)
                out.storeBytes(of: column.loadUnaligned(fromByteOffset: 32, as: SIMD2<Double>.self), toByteOffset: 32, as: SIMD2<Double>.self)
            }
        } else if g.transposeA {
            packContiguous(g.k, width: tileRows, count: rows, ap) { g.a + $0 * g.lda + i0 }
        } else {
            packStrided(g.k, width: tileRows, count: rows, ap) { g.a + (i0 + $0) * g.lda }
        }
    }

    @inlinable static func packB(_ g: GemmOperands<Double>, _ j0: Int, _ cols: Int, _ bp: UnsafeMutablePointer<Double>) {
        if !g.transposeB && cols == 8 {
            for p in 0..<g.k {
                let row = UnsafeRawPointer(g.b + p * g.ldb + j0), out = UnsafeMutableRawPointer(bp + p * 8)
                out.storeBytes(of: row.loadUnaligned(as: SIMD8<Double>.self), as: SIMD8<Double>.self)
            }
        } else if !g.transposeB {
            packContiguous(g.k, width: 8, count: cols, bp) { g.b + $0 * g.ldb + j0 }
        } else {
            packStrided(g.k, width: 8, count: cols, bp) { g.b + (j0 + $0) * g.ldb }
        }
    }

    @inlinable @inline(__always) static func storeRow(_ lo: SIMD4<Double>, _ hi: SIMD4<Double>, _ c: UnsafeMutablePointer<Double>, cols: Int, accumulate: Bool) {
        if cols == 8 {
            let out = UnsafeMutableRawPointer(c)
            let (l, h) = accumulate ? (out.loadUnaligned(as: SIMD4<Double>.self) + lo, out.loadUnaligned(fromByteOffset: 32, as: SIMD4<Double>.self) + hi)
                                    : (lo, hi)
            out.storeBytes(of: l, as: SIMD4<Double>.self)
            out.storeBytes(of: h, toByteOffset: 32, as: SIMD4<Double>.self)
            return
        }
        for j in 0..<cols {
            let v = j < 4 ? lo[j] : hi[j - 4]
            c[j] = accumulate ? c[j] + v : v
        }
    }
}

/// Packing where op(X)'s lanes (the rows of an A panel, the columns of a B panel) are contiguous for each p:
/// out[p * width + lane] = source(p)[lane] in the wide format for lane < count, 0 for the lanes past it.
@inlinable @inline(__always)
func packContiguous<S: TensorScalar>(_ k: Int, width: Int, count: Int, _ out: UnsafeMutablePointer<S.Compute>, _ source: (Int) -> UnsafePointer<S>) {
    for p in 0..<k {
        let s = source(p)
        for lane in 0..<width { out[p * width + lane] = lane < count ? s[lane].compute : 0 }
    }
}

/// Packing where each lane is contiguous in p: out[p * width + lane] = source(lane)[p] in the wide format (eight
/// loaded at a time) for lane < count, 0 for the lanes past it.
@inlinable @inline(__always)
func packStrided<S: TensorScalar>(_ k: Int, width: Int, count: Int, _ out: UnsafeMutablePointer<S.Compute>, _ source: (Int) -> UnsafePointer<S>) {
    for lane in 0..<width {
        guard lane < count else {
            for p in 0..<k { out[p * width + lane] = 0 }
            continue
        }
        let s = source(lane)
        var p = 0
        while p + 8 <= k {
            let v = S.load8(s + p)
            for l in 0..<8 { out[(p + l) * width + lane] = v[l] }
            p += 8
        }
        while p < k { out[p * width + lane] = s[p].compute; p += 1 }
    }
}

/// Columns of packed B kept at once (the packed block stays in L2 for the K of the lab's models).
@usableFromInline let gemmColumnBlock = 512

/// BLIS-style: a block of op(B) packed once into panels of 2 vectors' width, then row panels of 6 rows of
/// op(A) packed and multiplied by every panel with the 6 x 16 (Double: 6 x 8) micro-kernel. Threads take row
/// panels.
@inlinable func packedGemm<T: GemmTile>(_ g: GemmOperands<T.S>, _: T.Type, _ accumulate: Bool, _ threads: Int) {
    let width = 2 * T.lanes
    let rowPanels = (g.m + tileRows - 1) / tileRows
    let elementSize = MemoryLayout<T.V.Scalar>.stride
    Scratch.with { bScratch in
        var j0 = 0
        while j0 < g.n {
            let block = min(gemmColumnBlock, g.n - j0)
            let panels = (block + width - 1) / width
            let bp = bScratch.reserve(panels * width * g.k * elementSize).bindMemory(to: T.V.Scalar.self, capacity: panels * width * g.k)
            for panel in 0..<panels {
                T.packB(g, j0 + panel * width, min(width, block - panel * width), bp + panel * width * g.k)
            }
            var state = GemmBlock<T>(g: g, bp: bp, j0: j0, panels: panels, rowPanels: rowPanels, accumulate: accumulate,
                                     parts: min(rowPanels, threads == 1 ? 1 : 2 * threads))
            withUnsafePointer(to: &state) { block in
                let job = RawJob(state: UnsafeRawPointer(block)) { raw, part in
                    gemmRows(raw.assumingMemoryBound(to: GemmBlock<T>.self), part)
                }
                Parallel.forEach(parts: block.pointee.parts, threads: threads, job: job)
            }
            j0 += block
        }
    }
}

/// One block of packed B and what the threads need to multiply their row panels by it.
@usableFromInline struct GemmBlock<T: GemmTile> {
    @usableFromInline let g: GemmOperands<T.S>
    @usableFromInline let bp: UnsafeMutablePointer<T.V.Scalar>
    @usableFromInline let j0: Int, panels: Int, rowPanels: Int
    @usableFromInline let accumulate: Bool
    @usableFromInline let parts: Int
    @inlinable init(g: GemmOperands<T.S>, bp: UnsafeMutablePointer<T.V.Scalar>, j0: Int, panels: Int, rowPanels: Int, accumulate: Bool, parts: Int) {
        self.g = g; self.bp = bp; self.j0 = j0; self.panels = panels; self.rowPanels = rowPanels; self.accumulate = accumulate; self.parts = parts
    }
}

/// Part k of a block: a contiguous run of row panels, each packed from op(A) and multiplied by every panel of B.
@inlinable func gemmRows<T: GemmTile>(_ block: UnsafePointer<GemmBlock<T>>, _ part: Int) {
    let b = block.pointee, g = b.g
    let width = 2 * T.lanes
    Scratch.with { aScratch in
        // Eight elements of room past the end: a packing may store a whole vector at its last p.
        let capacity = tileRows * g.k + 8
        let ap = aScratch.reserve(capacity * MemoryLayout<T.V.Scalar>.stride).bindMemory(to: T.V.Scalar.self, capacity: capacity)
        for rowPanel in (b.rowPanels * part / b.parts)..<(b.rowPanels * (part + 1) / b.parts) {
            let i0 = rowPanel * tileRows, rows = min(tileRows, g.m - i0)
            // The same products in the same order either way: rows read in place (row r at a + r lda, p by p) or
            // packed (ap[p * 6 + r]). Two loops: with the packed strides as constants the step runs 2% fewer instructions.
            if rows == tileRows, let a = T.directA(g, i0) {
                for panel in 0..<b.panels {
                    let jj = b.j0 + panel * width
                    microKernel(T.self, g.k, a, pStride: 1, rowStride: g.lda, b.bp + panel * width * g.k, g.c + i0 * g.ldc + jj, g.ldc,
                                rows: rows, cols: min(width, g.n - jj), accumulate: b.accumulate)
                }
                continue
            }
            T.packA(g, i0, rows, ap)
            for panel in 0..<b.panels {
                let jj = b.j0 + panel * width
                microKernel(T.self, g.k, ap, pStride: tileRows, rowStride: 1, b.bp + panel * width * g.k, g.c + i0 * g.ldc + jj, g.ldc,
                            rows: rows, cols: min(width, g.n - jj), accumulate: b.accumulate)
            }
        }
    }
}

/// The 6 x (2 vectors) tile: C[0..<6, 0..<2w] = Σ_p A[r, p] * bp[p, j], twelve vector accumulators, with A[r, p]
/// at ap[p * pStride + r * rowStride].
@inlinable @inline(__always)
func microKernel<T: GemmTile>(_: T.Type, _ k: Int, _ ap: UnsafePointer<T.V.Scalar>, pStride: Int, rowStride: Int, _ bp: UnsafePointer<T.V.Scalar>,
                              _ c: UnsafeMutablePointer<T.S>, _ ldc: Int, rows: Int, cols: Int, accumulate: Bool) {
    typealias V = T.V
    var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V()
    var c30 = V(), c31 = V(), c40 = V(), c41 = V(), c50 = V(), c51 = V()
    let w = T.lanes
    var pa = ap, pb = bp
    for _ in 0..<k {
        let b0 = UnsafeRawPointer(pb).loadUnaligned(as: V.self)
        let b1 = UnsafeRawPointer(pb + w).loadUnaligned(as: V.self)
        var x = V(repeating: pa[0]); c00 = c00.addingProduct(x, b0); c01 = c01.addingProduct(x, b1)
        x = V(repeating: pa[rowStride]); c10 = c10.addingProduct(x, b0); c11 = c11.addingProduct(x, b1)
        x = V(repeating: pa[2 * rowStride]); c20 = c20.addingProduct(x, b0); c21 = c21.addingProduct(x, b1)
        x = V(repeating: pa[3 * rowStride]); c30 = c30.addingProduct(x, b0); c31 = c31.addingProduct(x, b1)
        x = V(repeating: pa[4 * rowStride]); c40 = c40.addingProduct(x, b0); c41 = c41.addingProduct(x, b1)
        x = V(repeating: pa[5 * rowStride]); c50 = c50.addingProduct(x, b0); c51 = c51.addingProduct(x, b1)
        pa += pStride
        pb += 2 * w
    }
    T.storeRow(c00, c01, c, cols: cols, accumulate: accumulate)
    if rows > 1 { T.storeRow(c10, c11, c + ldc, cols: cols, accumulate: accumulate) }
    if rows > 2 { T.storeRow(c20, c21, c + 2 * ldc, cols: cols, accumulate: accumulate) }
    if rows > 3 { T.storeRow(c30, c31, c + 3 * ldc, cols: cols, accumulate: accumulate) }
    if rows > 4 { T.storeRow(c40, c41, c + 4 * ldc, cols: cols, accumulate: accumulate) }
    if rows > 5 { T.storeRow(c50, c51, c + 5 * ldc, cols: cols, accumulate: accumulate) }
}

/// Accumulation in the storage format: c = fma(a, b, c) rounded once to S at every step, in order of k.
func storageGemm<S: TensorScalar>(_ g: GemmOperands<S>, accumulate: Bool, threads: Int) {
    let gBox = SendableBox(g)
    Parallel.forEach(parts: g.m, threads: threads) { i in
        let g = gBox.value
        for j in 0..<g.n {
            var acc: S = accumulate ? g.c[i * g.ldc + j] : 0
            for p in 0..<g.k { acc = S.fusedMultiplyAdd(g.aAt(i, p), g.bAt(p, j), acc) }
            g.c[i * g.ldc + j] = acc
        }
    }
}

/// c = op(a) op(b) (+= when `accumulate`) for tensors holding matrices in their last two axes: a batch of
/// products when a and b hold the same number of matrices, or one product with a's leading axes folded into
/// its rows when b is a single matrix (x [.., K] times a weight [K, N]).
public func matmul<S: TensorScalar>(_ a: Tensor<S>, _ b: Tensor<S>, into c: Tensor<S>, transposeA: Bool = false, transposeB: Bool = false,
                                    accumulate: Bool = false, accumulator: MatmulAccumulator = .wide, threads: Int = Parallel.defaultThreads) {
    precondition(a.shape.rank >= 2 && b.shape.rank >= 2, "matmul of \(a.shape) and \(b.shape)")
    let (ar, ac) = (a.shape[a.shape.rank - 2], a.shape[a.shape.rank - 1])
    let (br, bc) = (b.shape[b.shape.rank - 2], b.shape[b.shape.rank - 1])
    let batchA = a.count / max(1, ar * ac), batchB = b.count / max(1, br * bc)
    let (k, n) = transposeB ? (bc, br) : (br, bc)
    if batchB == 1 && !transposeA {
        // Fold a's leading axes into rows.
        let m = batchA * ar
        precondition(ac == k && c.count == m * n, "matmul: \(a.shape) x \(b.shape) into \(c.shape)")
        gemm(GemmOperands(m: m, n: n, k: k, a: a.pointer, lda: ac, transposeA: false, b: b.pointer, ldb: bc, transposeB: transposeB,
                          c: c.pointer, ldc: n), accumulate: accumulate, accumulator: accumulator, threads: threads)
        return
    }
    let (m, ka) = transposeA ? (ac, ar) : (ar, ac)
    precondition(batchA == batchB && ka == k && c.count == batchA * m * n, "matmul: \(a.shape) x \(b.shape) into \(c.shape)")
    let boxes = SendableBox((a.pointer, b.pointer, c.pointer))
    let single = batchA == 1
    Parallel.forEach(parts: batchA, threads: single ? 1 : threads) { i in
        let (pa, pb, pc) = boxes.value
        gemm(GemmOperands(m: m, n: n, k: k, a: pa + i * ar * ac, lda: ac, transposeA: transposeA, b: pb + i * br * bc, ldb: bc,
                          transposeB: transposeB, c: pc + i * m * n, ldc: n),
             accumulate: accumulate, accumulator: accumulator, threads: single ? threads : 1)
    }
}
