import Formats

/// A kernel run on the concrete element type of its tensors. Public kernel functions take generic tensors,
/// switch once on the format (`dispatch`) and run a loop specialized for it, so callers generic over the
/// format (the autograd tape) pay one indirect call per kernel, not one per element.
public protocol TypedKernel {
    func run<T: TensorScalar>(_: T.Type)
}

/// Runs `kernel` on the concrete type of `kind`.
public func dispatch<K: TypedKernel>(_ kind: ScalarKind, _ kernel: K) {
    switch kind {
    case .float16: kernel.run(Float16.self)
    case .bfloat16: kernel.run(BFloat16.self)
    case .float32: kernel.run(Float.self)
    case .float64: kernel.run(Double.self)
    }
}

/// The tensor's elements as a pointer of type T (T is the tensor's format, as `dispatch` guarantees).
@inline(__always) func typed<S: TensorScalar, T: TensorScalar>(_ x: Tensor<S>, _: T.Type) -> UnsafeMutablePointer<T> {
    UnsafeMutableRawPointer(x.pointer).assumingMemoryBound(to: T.self)
}

// MARK: - Unary functions

/// Elementwise functions of one tensor, computed in the compute format and rounded once.
public enum UnaryFunction: String, Sendable, CaseIterable {
    case neg, relu, gelu, tanh, sigmoid, exp, log, sqrt

    @inlinable public func value<C: ComputeScalar>(_ x: C) -> C {
        switch self {
        case .neg: return -x
        // NaN passes through, as in PyTorch (clamp_min): the lab must not hide a NaN.
        case .relu: return x < 0 ? 0 : x
        // GELU with the exact normal CDF (PyTorch's default, approximate="none"): x Φ(x).
        case .gelu: return x * normalCDF(x)
        case .tanh: return C.tanh(x)
        // Split by sign so that exp never overflows.
        case .sigmoid:
            if x >= 0 { return 1 / (1 + C.exp(-x)) }
            let e = C.exp(x)
            return e / (1 + e)
        case .exp: return C.exp(x)
        case .log: return C.log(x)
        case .sqrt: return x.squareRoot()
        }
    }

    /// f'(x), given x and y = f(x).
    @inlinable public func derivative<C: ComputeScalar>(x: C, y: C) -> C {
        switch self {
        case .neg: return -1
        case .relu: return x > 0 ? 1 : 0
        case .gelu: return normalCDF(x) + x * C.exp(-x * x / 2) * C(0.3989422804014327)
        case .tanh: return 1 - y * y
        case .sigmoid: return y * (1 - y)
        case .exp: return y
        case .log: return 1 / x
        case .sqrt: return 1 / (2 * y)
        }
    }
}

/// Φ(x) = erfc(-x/√2)/2: erfc keeps the left tail accurate, where 1 + erf(x/√2) would cancel.
@inlinable func normalCDF<C: ComputeScalar>(_ x: C) -> C {
    C.erfc(-x * C(0.7071067811865476)) / 2
}

/// y = f(x) elementwise (same count).
public func unary<S: TensorScalar>(_ f: UnaryFunction, _ x: Tensor<S>, into y: Tensor<S>) {
    precondition(x.count == y.count, "\(f): \(x.shape) into \(y.shape)")
    dispatch(S.kind, UnaryKernel(f: f, x: UnsafeRawPointer(x.pointer), y: UnsafeMutableRawPointer(y.pointer), n: x.count))
}

struct UnaryKernel: TypedKernel {
    let f: UnaryFunction, x: UnsafeRawPointer, y: UnsafeMutableRawPointer, n: Int
    // Blocks of 8: a vector loaded in the storage format, computed in the compute format, stored. The selects
    // come from ComputeScalar, written per concrete type (generic SIMD comparisons and closures are not
    // always inlined, and a ternary on floats becomes a branch that stops vectorization).
    func run<T: TensorScalar>(_: T.Type) {
        let x = x.assumingMemoryBound(to: T.self), y = y.assumingMemoryBound(to: T.self)
        var i = 0
        switch f {
        case .relu:
            while i + 8 <= n { T.store8(T.Compute.relu8(T.load8(x + i)), y + i); i += 8 }
        case .neg:
            while i + 8 <= n { T.store8(-T.load8(x + i), y + i); i += 8 }
        case .tanh:
            while i + 8 <= n { T.store8(T.Compute.tanh8(T.load8(x + i)), y + i); i += 8 }
        case .sigmoid:
            while i + 8 <= n { T.store8(T.Compute.sigmoid8(T.load8(x + i)), y + i); i += 8 }
        case .exp:
            while i + 8 <= n { T.store8(T.Compute.exp8(T.load8(x + i)), y + i); i += 8 }
        default:
            break
        }
        let f = f
        while i < n { y[i] = T(compute: f.value(x[i].compute)); i += 1 }
    }
}

/// dx += dy * f'(x) elementwise, with y = f(x) (rounded once into dx).
public func unaryBackward<S: TensorScalar>(_ f: UnaryFunction, x: Tensor<S>, y: Tensor<S>, dy: Tensor<S>, into dx: Tensor<S>) {
    precondition(x.count == dx.count && y.count == x.count && dy.count == x.count)
    dispatch(S.kind, UnaryBackwardKernel(f: f, x: UnsafeRawPointer(x.pointer), y: UnsafeRawPointer(y.pointer),
                                         dy: UnsafeRawPointer(dy.pointer), dx: UnsafeMutableRawPointer(dx.pointer), n: x.count))
}

struct UnaryBackwardKernel: TypedKernel {
    let f: UnaryFunction, x: UnsafeRawPointer, y: UnsafeRawPointer, dy: UnsafeRawPointer, dx: UnsafeMutableRawPointer, n: Int
    func run<T: TensorScalar>(_: T.Type) {
        let x = x.assumingMemoryBound(to: T.self), y = y.assumingMemoryBound(to: T.self)
        let dy = dy.assumingMemoryBound(to: T.self), dx = dx.assumingMemoryBound(to: T.self)
        let f = f
        var i = 0
        // The derivatives that need no transcendental function, in blocks of 8.
        switch f {
        case .relu:
            while i + 8 <= n {
                T.store8(T.load8(dx + i) + T.Compute.passPositive8(T.load8(x + i), T.load8(dy + i)), dx + i)
                i += 8
            }
        case .tanh:
            while i + 8 <= n { let yv = T.load8(y + i); T.store8(T.load8(dx + i) + T.load8(dy + i) * (1 - yv * yv), dx + i); i += 8 }
        case .sigmoid:
            while i + 8 <= n { let yv = T.load8(y + i); T.store8(T.load8(dx + i) + T.load8(dy + i) * (yv * (1 - yv)), dx + i); i += 8 }
        case .exp:
            while i + 8 <= n { T.store8(T.load8(dx + i) + T.load8(dy + i) * T.load8(y + i), dx + i); i += 8 }
        default:
            break
        }
        while i < n {
            dx[i] = T(compute: dx[i].compute + dy[i].compute * f.derivative(x: x[i].compute, y: y[i].compute))
            i += 1
        }
    }
}

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
            // A bias row: da += dc; db += ±Σ over rows of dc, summed row by row in the compute format.
            if let da { AxpyKernel(x: UnsafeRawPointer(dc), y: da, n: n, alpha: 1, accumulate: true).run(T.self) }
            if let db = db?.assumingMemoryBound(to: T.self) {
                let nb = bShape.count
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
}

/// y += alpha * x (rounded once per element).
public func addScaled<S: TensorScalar>(_ x: Tensor<S>, alpha: Double, into y: Tensor<S>) {
    precondition(x.count == y.count, "adding \(x.shape) into \(y.shape)")
    dispatch(S.kind, AxpyKernel(x: UnsafeRawPointer(x.pointer), y: UnsafeMutableRawPointer(y.pointer), n: x.count, alpha: alpha, accumulate: true))
}

/// y = alpha * x (rounded once per element).
public func scale<S: TensorScalar>(_ x: Tensor<S>, by alpha: Double, into y: Tensor<S>) {
    precondition(x.count == y.count, "scaling \(x.shape) into \(y.shape)")
    dispatch(S.kind, AxpyKernel(x: UnsafeRawPointer(x.pointer), y: UnsafeMutableRawPointer(y.pointer), n: x.count, alpha: alpha, accumulate: false))
}

/// y = alpha x (+ y when accumulating), computed in the compute format and rounded once.
struct AxpyKernel: TypedKernel {
    /// y += u ⊙ v (rounded once per element).
    static func multiplyAccumulate<T: TensorScalar>(_: T.Type, _ u: UnsafePointer<T>, _ v: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ n: Int) {
        var i = 0
        while i + 8 <= n { T.store8(T.load8(y + i) + T.load8(u + i) * T.load8(v + i), y + i); i += 8 }
        while i < n { y[i] = T(compute: y[i].compute + u[i].compute * v[i].compute); i += 1 }
    }

    let x: UnsafeRawPointer, y: UnsafeMutableRawPointer, n: Int, alpha: Double, accumulate: Bool
    func run<T: TensorScalar>(_: T.Type) {
        let x = x.assumingMemoryBound(to: T.self), y = y.assumingMemoryBound(to: T.self)
        let a = T.Compute(alpha), av = SIMD8(repeating: a)
        var i = 0
        if !accumulate {
            while i + 8 <= n { T.store8(av * T.load8(x + i), y + i); i += 8 }
            while i < n { y[i] = T(compute: a * x[i].compute); i += 1 }
        } else if alpha == 1 {
            while i + 8 <= n { T.store8(T.load8(y + i) + T.load8(x + i), y + i); i += 8 }
            while i < n { y[i] = T(compute: y[i].compute + x[i].compute); i += 1 }
        } else {
            while i + 8 <= n { T.store8(T.load8(y + i) + av * T.load8(x + i), y + i); i += 8 }
            while i < n { y[i] = T(compute: y[i].compute + a * x[i].compute); i += 1 }
        }
    }
}
