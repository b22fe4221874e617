import Formats

// MARK: - Binary functions with broadcasting

public enum BinaryFunction: String, Sendable, CaseIterable {
    case add, sub, mul, div

    @inlinable public func value<C: FloatingPoint>(_ a: C, _ b: C) -> C {
        switch self {
        case .add: return a + b
        case .sub: return a - b
        case .mul: return a * b
        case .div: return a / b
        }
    }
}

/// How two broadcast operands map onto their result: element strides (0 on broadcast axes) per result axis,
/// held inline (no allocation).
struct BroadcastMap {
    let shape: Shape
    let aStrides: Shape, bStrides: Shape
    /// b repeats along the leading axes of the result and a has the result's shape (a bias row, a scalar).
    let bIsInnerBlock: Bool
    let aIsInnerBlock: Bool

    init(_ a: Shape, _ b: Shape, result: Shape) {
        shape = result
        func strides(_ s: Shape) -> Shape {
            var st = Shape(rank: result.rank, d: (0, 0, 0, 0, 0, 0))
            var stride = 1
            var i = s.rank - 1
            while i >= 0 {
                st[i + result.rank - s.rank] = s[i] == 1 ? 0 : stride
                stride *= s[i]
                i -= 1
            }
            return st
        }
        aStrides = strides(a)
        bStrides = strides(b)
        func isInnerBlock(_ s: Shape) -> Bool {
            // s (without leading 1s) equals the trailing dimensions of the result.
            var k = 0
            while k < s.rank && s[k] == 1 { k += 1 }
            let tail = s.rank - k
            for i in 0..<tail where s[k + i] != result[result.rank - tail + i] { return false }
            return true
        }
        bIsInnerBlock = a == result && isInnerBlock(b)
        aIsInnerBlock = b == result && isInnerBlock(a)
    }

    /// The offsets into a and b of every result element, in row-major order.
    func forEach(_ body: (Int, Int, Int) -> Void) {
        let rank = shape.rank
        var index = Shape(rank: rank, d: (0, 0, 0, 0, 0, 0))
        var ia = 0, ib = 0
        for i in 0..<shape.count {
            body(i, ia, ib)
            var axis = rank - 1
            while axis >= 0 {
                index[axis] += 1
                ia += aStrides[axis]; ib += bStrides[axis]
                if index[axis] < shape[axis] { break }
                ia -= aStrides[axis] * shape[axis]; ib -= bStrides[axis] * shape[axis]
                index[axis] = 0
                axis -= 1
            }
        }
    }
}

/// c = f(a, b) with numpy broadcasting; c has the broadcast shape.
public func binary<S: TensorScalar>(_ f: BinaryFunction, _ a: Tensor<S>, _ b: Tensor<S>, into c: Tensor<S>) {
    guard let shape = Shape.broadcast(a.shape, b.shape) else { preconditionFailure("\(f): \(a.shape) and \(b.shape) do not broadcast") }
    precondition(c.shape.count == shape.count, "\(f): result \(c.shape) for \(shape)")
    dispatch(S.kind, BinaryKernel(f: f, a: UnsafeRawPointer(a.pointer), b: UnsafeRawPointer(b.pointer), c: UnsafeMutableRawPointer(c.pointer),
                                  aShape: a.shape, bShape: b.shape, shape: shape))
}

struct BinaryKernel: TypedKernel {
    let f: BinaryFunction, a: UnsafeRawPointer, b: UnsafeRawPointer, c: UnsafeMutableRawPointer
    let aShape: Shape, bShape: Shape, shape: Shape

    func run<T: TensorScalar>(_: T.Type) {
        let a = a.assumingMemoryBound(to: T.self), b = b.assumingMemoryBound(to: T.self), c = c.assumingMemoryBound(to: T.self)
        let n = shape.count
        switch f {
        case .add: apply(T.self, a, b, c, n) { $0 + $1 } scalar: { $0 + $1 }
        case .sub: apply(T.self, a, b, c, n) { $0 - $1 } scalar: { $0 - $1 }
        case .mul: apply(T.self, a, b, c, n) { $0 * $1 } scalar: { $0 * $1 }
        case .div: apply(T.self, a, b, c, n) { $0 / $1 } scalar: { $0 / $1 }
        }
    }

    @inline(__always) func apply<T: TensorScalar>(_: T.Type, _ a: UnsafePointer<T>, _ b: UnsafePointer<T>, _ c: UnsafeMutablePointer<T>, _ n: Int,
                                                   _ vector: (SIMD8<T.Compute>, SIMD8<T.Compute>) -> SIMD8<T.Compute>,
                                                   scalar: (T.Compute, T.Compute) -> T.Compute) {
        if aShape == bShape {
            rows(T.self, a, b, c, n, vector, scalar)
            return
        }
        let map = BroadcastMap(aShape, bShape, result: shape)
        if map.bIsInnerBlock {
            let inner = bShape.count
            if inner == 1 {
                let s = SIMD8(repeating: b[0].compute), s1 = b[0].compute
                var i = 0
                while i + 8 <= n { T.store8(vector(T.load8(a + i), s), c + i); i += 8 }
                while i < n { c[i] = T(compute: scalar(a[i].compute, s1)); i += 1 }
            } else {
                for row in stride(from: 0, to: n, by: inner) { rows(T.self, a + row, b, c + row, inner, vector, scalar) }
            }
        } else if map.aIsInnerBlock {
            let inner = aShape.count
            for row in stride(from: 0, to: n, by: inner) { rows(T.self, a, b + row, c + row, inner, vector, scalar) }
        } else {
            map.forEach { i, ia, ib in c[i] = T(compute: scalar(a[ia].compute, b[ib].compute)) }
        }
    }

    @inline(__always) func rows<T: TensorScalar>(_: T.Type, _ a: UnsafePointer<T>, _ b: UnsafePointer<T>, _ c: UnsafeMutablePointer<T>, _ n: Int,
                                                  _ vector: (SIMD8<T.Compute>, SIMD8<T.Compute>) -> SIMD8<T.Compute>,
                                                  _ scalar: (T.Compute, T.Compute) -> T.Compute) {
        var i = 0
        while i + 8 <= n { T.store8(vector(T.load8(a + i), T.load8(b + i)), c + i); i += 8 }
        while i < n { c[i] = T(compute: scalar(a[i].compute, b[i].compute)); i += 1 }
    }
}

/// Accumulates the gradients of c = f(a, b) into da and db (either may be nil): each operand's gradient is
/// summed over the axes it was broadcast along in the compute format (in row-major order of c), then added
/// to it with one rounding.
public func binaryBackward<S: TensorScalar>(_ f: BinaryFunction, a: Tensor<S>, b: Tensor<S>, dc: Tensor<S>, da: Tensor<S>?, db: Tensor<S>?) {
    dispatch(S.kind, BinaryBackwardKernel(f: f, a: UnsafeRawPointer(a.pointer), b: UnsafeRawPointer(b.pointer), dc: UnsafeRawPointer(dc.pointer),
                                          da: da.map { UnsafeMutableRawPointer($0.pointer) }, db: db.map { UnsafeMutableRawPointer($0.pointer) },
                                          aShape: a.shape, bShape: b.shape, shape: dc.shape))
}

struct BinaryBackwardKernel: TypedKernel {
    let f: BinaryFunction, a: UnsafeRawPointer, b: UnsafeRawPointer, dc: UnsafeRawPointer
    let da: UnsafeMutableRawPointer?, db: UnsafeMutableRawPointer?
    let aShape: Shape, bShape: Shape, shape: Shape

    /// ∂c/∂a and ∂c/∂b at (a, b).
    @inline(__always) func partials<C: ComputeScalar>(_ x: C, _ y: C) -> (C, C) {
        switch f {
        case .add: return (1, 1)
        case .sub: return (1, -1)
        case .mul: return (y, x)
        case .div: return (1 / y, -x / (y * y))
        }
    }

    func run<T: TensorScalar>(_: T.Type) {
        let a = a.assumingMemoryBound(to: T.self), b = b.assumingMemoryBound(to: T.self), dc = dc.assumingMemoryBound(to: T.self)
        let n = shape.count
        if aShape == bShape && f != .div {
            // add, sub: da += dc, db += ±dc; mul: da += dc·b, db += dc·a.
            switch f {
            case .mul:
                if let da { AxpyKernel.multiplyAccumulate(T.self, dc, b, da.assumingMemoryBound(to: T.self), n) }
                if let db { AxpyKernel.multiplyAccumulate(T.self, dc, a, db.assumingMemoryBound(to: T.self), n) }
            default:
                if let da { AxpyKernel(x: UnsafeRawPointer(dc), y: da, n: n, alpha: 1, accumulate: true).run(T.self) }
                if let db { AxpyKernel(x: UnsafeRawPointer(dc), y: db, n: n, alpha: f == .sub ? -1 : 1, accumulate: true).run(T.self) }
            }
            return
        }
        if aShape == bShape {
            let da = da?.assumingMemoryBound(to: T.self), db = db?.assumingMemoryBound(to: T.self)
            for i in 0..<n {
                let g = dc[i].compute
                let (pa, pb) = partials(a[i].compute, b[i].compute)
                if let da { da[i] = T(compute: da[i].compute + g * pa) }
                if let db { db[i] = T(compute: db[i].compute + g * pb) }
            }
            return
        }
        let map = BroadcastMap(aShape, bShape, result: shape)
        if map.bIsInnerBlock && (f == .add || f == .sub) {
            // A bias row: da += dc; db += ±Σ over rows of dc.
            if let da { AxpyKernel(x: UnsafeRawPointer(dc), y: da, n: n, alpha: 1, accumulate: true).run(T.self) }
            if let db = db?.assumingMemoryBound(to: T.self) { accumulateRows(dc, n: n, into: db, count: bShape.count) }
            return
        }
        // Broadcast: sum each operand's contributions in Compute scratch, then add once.
        let na = aShape.count, nb = bShape.count
        Scratch.with { scratch in
            let acc = scratch.reserve((na + nb) * MemoryLayout<T.Compute>.stride).bindMemory(to: T.Compute.self, capacity: na + nb)
            acc.initialize(repeating: 0, count: na + nb)
            let accA = acc, accB = acc + na
            map.forEach { i, ia, ib in
                let g = dc[i].compute
                let (pa, pb) = partials(a[ia].compute, b[ib].compute)
                accA[ia] += g * pa
                accB[ib] += g * pb
            }
            if let da = da?.assumingMemoryBound(to: T.self) { for i in 0..<na { da[i] = T(compute: da[i].compute + accA[i]) } }
            if let db = db?.assumingMemoryBound(to: T.self) { for i in 0..<nb { db[i] = T(compute: db[i].compute + accB[i]) } }
        }
    }

    /// db += ±Σ over the rows of dc (rows of `nb`), summed row by row in the compute format and added with one rounding.
    func accumulateRows<T: TensorScalar>(_ dc: UnsafePointer<T>, n: Int, into db: UnsafeMutablePointer<T>, count nb: Int) {
        Scratch.with { scratch in
            let acc = scratch.reserve(nb * MemoryLayout<T.Compute>.stride).bindMemory(to: T.Compute.self, capacity: nb)
            acc.initialize(repeating: 0, count: nb)
            for row in stride(from: 0, to: n, by: nb) {
                var j = 0
                while j + 8 <= nb {
                    let sum = UnsafeMutableRawPointer(acc + j).loadUnaligned(as: SIMD8<T.Compute>.self) + T.load8(dc + row + j)
                    UnsafeMutableRawPointer(acc + j).storeBytes(of: sum, as: SIMD8<T.Compute>.self)
                    j += 8
                }
                while j < nb { acc[j] += dc[row + j].compute; j += 1 }
            }
            let sign: T.Compute = f == .sub ? -1 : 1
            for j in 0..<nb { db[j] = T(compute: db[j].compute + sign * acc[j]) }
        }
    }
}
