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
        // GELU with the exact normal CDF (PyTorch's default, approximate="none"): x Φ(x), the vector code for
        // Float (VectorMath.gelu) in every lane, so that a value gets the same bits wherever it sits.
        case .gelu: return C.gelu(x)
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
        case .gelu: return C.geluDerivative(x)
        case .tanh: return 1 - y * y
        case .sigmoid: return y * (1 - y)
        case .exp: return y
        case .log: return 1 / x
        case .sqrt: return 1 / (2 * y)
        }
    }
}

/// Φ(x) = erfc(-x/√2)/2: erfc keeps the left tail accurate, where 1 + erf(x/√2) would cancel (libm, for Double).
@inlinable public func normalCDF<C: ComputeScalar>(_ x: C) -> C {
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
        case .gelu:
            while i + 8 <= n { T.store8(T.Compute.gelu8(T.load8(x + i)), y + i); i += 8 }
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
        case .gelu:
            while i + 8 <= n { T.store8(T.load8(dx + i) + T.load8(dy + i) * T.Compute.geluDerivative8(T.load8(x + i)), dx + i); i += 8 }
        default:
            break
        }
        while i < n {
            dx[i] = T(compute: dx[i].compute + dy[i].compute * f.derivative(x: x[i].compute, y: y[i].compute))
            i += 1
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

    /// y += x (rounded once per element).
    static func add<T: TensorScalar>(_: T.Type, _ x: UnsafePointer<T>, into y: UnsafeMutablePointer<T>, _ n: Int) {
        var i = 0
        while i + 8 <= n { T.store8(T.load8(y + i) + T.load8(x + i), y + i); i += 8 }
        while i < n { y[i] = T(compute: y[i].compute + x[i].compute); i += 1 }
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
            Self.add(T.self, x, into: y, n)
        } else {
            while i + 8 <= n { T.store8(T.load8(y + i) + av * T.load8(x + i), y + i); i += 8 }
            while i < n { y[i] = T(compute: y[i].compute + a * x[i].compute); i += 1 }
        }
    }
}
