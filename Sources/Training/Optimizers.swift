import Autograd
import Formats
import Tensors
#if canImport(Glibc)
import Glibc
#endif

/// Updates parameters from their gradients.
public protocol Optimizer: AnyObject {
    var learningRate: Double { get set }
    /// One update of every parameter from its current gradient.
    func step()
}

/// The parameters an optimizer updates, each with optimizer state tensors of format St.
///
/// The updates follow PyTorch's single-tensor implementations op by op, each op computed in the compute
/// format of its output (Float for Float16, BFloat16 and Float; Double for Double) and rounded once to it:
/// state ops round to St, the parameter update rounds to P. With St = Float16, Adam's default eps = 1e-8
/// rounds away (below half the smallest subnormal): the lab can show that.
public final class SGD<P: TensorScalar, St: TensorScalar>: Optimizer {
    public let parameters: [Parameter<P>]
    public var learningRate: Double
    public let momentum: Double, weightDecay: Double, dampening: Double, nesterov: Bool
    public private(set) var buffers: [Tensor<St>]
    var started = false

    public init(_ parameters: [Parameter<P>], learningRate: Double, momentum: Double = 0, weightDecay: Double = 0,
                dampening: Double = 0, nesterov: Bool = false, state: St.Type = St.self) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.dampening = dampening
        self.nesterov = nesterov
        buffers = momentum == 0 ? [] : parameters.map { Tensor(zeros: $0.shape) }
    }

    /// d_p = g (+ wd p); with momentum: buf = d_p on the first step, then buf = buf·μ (rounded) + (1 - dampening) d_p
    /// (rounded); d_p = buf (or d_p + μ buf, Nesterov); p = p - lr d_p (rounded once).
    public func step() {
        for k in parameters.indices {
            let p = parameters[k]
            let kernel = SGDKernel(p: UnsafeMutableRawPointer(p.value.pointer), g: UnsafeRawPointer(p.grad.pointer),
                                   buffer: buffers.isEmpty ? nil : UnsafeMutableRawPointer(buffers[k].pointer), n: p.value.count,
                                   lr: learningRate, momentum: momentum, weightDecay: weightDecay, dampening: dampening,
                                   nesterov: nesterov, first: !started, stateKind: St.kind)
            dispatch(P.kind, kernel)
        }
        started = true
    }
}

struct SGDKernel: TypedKernel {
    let p: UnsafeMutableRawPointer, g: UnsafeRawPointer, buffer: UnsafeMutableRawPointer?, n: Int
    let lr: Double, momentum: Double, weightDecay: Double, dampening: Double, nesterov: Bool, first: Bool
    let stateKind: ScalarKind

    func run<T: TensorScalar>(_: T.Type) { dispatch(stateKind, Typed<T>(outer: self)) }

    struct Typed<P: TensorScalar>: TypedKernel {
        let outer: SGDKernel
        func run<St: TensorScalar>(_: St.Type) {
            let o = outer
            let p = o.p.assumingMemoryBound(to: P.self), g = o.g.assumingMemoryBound(to: P.self)
            let buf = o.buffer?.assumingMemoryBound(to: St.self)
            let lr = P.Compute(o.lr), wd = P.Compute(o.weightDecay)
            let mu = St.Compute(o.momentum), keep = St.Compute(1 - o.dampening)
            var start = 0
            if P.self == St.self && o.weightDecay == 0 && !o.nesterov && !o.first, let buf {
                // The common case, in blocks of 8 (the same roundings as the loop below).
                let b = UnsafeMutableRawPointer(buf).assumingMemoryBound(to: P.self)
                let muP = P.Compute(o.momentum), keepP = P.Compute(1 - o.dampening)
                while start + 8 <= o.n {
                    let nb = P.round8(P.load8(b + start) * muP) + keepP * P.load8(g + start)
                    P.store8(nb, b + start)
                    P.store8(P.load8(p + start) - lr * P.round8(nb), p + start)
                    start += 8
                }
            }
            for i in start..<o.n {
                var d = g[i]
                if o.weightDecay != 0 { d = P(compute: d.compute + wd * p[i].compute) }
                var step = d.compute
                if let buf {
                    let di = St.Compute(Double(d.compute))
                    let b: St = o.first ? St(compute: di) : St(compute: St(compute: buf[i].compute * mu).compute + keep * di)
                    buf[i] = b
                    step = o.nesterov ? P.Compute(Double(P(compute: d.compute + P.Compute(Double(mu * b.compute))).compute))
                                      : P.Compute(Double(b.compute))
                }
                p[i] = P(compute: p[i].compute - lr * step)
            }
        }
    }
}

/// Adam (Kingma and Ba), and AdamW (Loshchilov and Hutter) with `decoupled`, as PyTorch's single-tensor
/// implementation: (AdamW: p = p·(1 - lr·wd)); (Adam with wd: g = g + wd·p); m = m + (1-β1)(g - m) (lerp);
/// v = v·β2 (rounded), + (1-β2) g² (rounded); denom = sqrt(v) (rounded) / sqrt(1-β2^t) (rounded) + eps
/// (rounded), all in St; p = p - (lr/(1-β1^t)) m / denom, rounded once in P.
public final class Adam<P: TensorScalar, St: TensorScalar>: Optimizer {
    public let parameters: [Parameter<P>]
    public var learningRate: Double
    public let beta1: Double, beta2: Double, eps: Double, weightDecay: Double, decoupled: Bool
    public private(set) var firstMoments: [Tensor<St>], secondMoments: [Tensor<St>]
    public private(set) var stepCount = 0

    public init(_ parameters: [Parameter<P>], learningRate: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999,
                eps: Double = 1e-8, weightDecay: Double = 0, decoupled: Bool = false, state: St.Type = St.self) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
        self.decoupled = decoupled
        firstMoments = parameters.map { Tensor(zeros: $0.shape) }
        secondMoments = parameters.map { Tensor(zeros: $0.shape) }
    }

    /// AdamW: decoupled weight decay, PyTorch's default 0.01.
    public static func adamW(_ parameters: [Parameter<P>], learningRate: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999,
                             eps: Double = 1e-8, weightDecay: Double = 0.01, state: St.Type = St.self) -> Adam {
        Adam(parameters, learningRate: learningRate, beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay, decoupled: true)
    }

    public func step() {
        stepCount += 1
        let t = Double(stepCount)
        let correction1 = 1 - pow(beta1, t), correction2 = 1 - pow(beta2, t)
        for k in parameters.indices {
            let p = parameters[k]
            let kernel = AdamKernel(p: UnsafeMutableRawPointer(p.value.pointer), g: UnsafeRawPointer(p.grad.pointer),
                                    m: UnsafeMutableRawPointer(firstMoments[k].pointer), v: UnsafeMutableRawPointer(secondMoments[k].pointer),
                                    n: p.value.count, lr: learningRate, beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay,
                                    decoupled: decoupled, stepSize: learningRate / correction1, correction2Root: correction2.squareRoot(),
                                    stateKind: St.kind)
            dispatch(P.kind, kernel)
        }
    }
}

struct AdamKernel: TypedKernel {
    let p: UnsafeMutableRawPointer, g: UnsafeRawPointer, m: UnsafeMutableRawPointer, v: UnsafeMutableRawPointer, n: Int
    let lr: Double, beta1: Double, beta2: Double, eps: Double, weightDecay: Double, decoupled: Bool
    let stepSize: Double, correction2Root: Double
    let stateKind: ScalarKind

    func run<T: TensorScalar>(_: T.Type) { dispatch(stateKind, Typed<T>(outer: self)) }

    struct Typed<P: TensorScalar>: TypedKernel {
        let outer: AdamKernel
        func run<St: TensorScalar>(_: St.Type) {
            let o = outer
            let p = o.p.assumingMemoryBound(to: P.self), g = o.g.assumingMemoryBound(to: P.self)
            let m = o.m.assumingMemoryBound(to: St.self), v = o.v.assumingMemoryBound(to: St.self)
            let decay = P.Compute(1 - o.lr * o.weightDecay), wd = P.Compute(o.weightDecay)
            let w1 = St.Compute(1 - o.beta1), b2 = St.Compute(o.beta2), w2 = St.Compute(1 - o.beta2)
            let root2 = St.Compute(o.correction2Root), eps = St.Compute(o.eps), stepSize = P.Compute(o.stepSize)
            for i in 0..<o.n {
                if o.weightDecay != 0 && o.decoupled { p[i] = P(compute: p[i].compute * decay) }
                var gi = g[i]
                if o.weightDecay != 0 && !o.decoupled { gi = P(compute: gi.compute + wd * p[i].compute) }
                let gs = St.Compute(Double(gi.compute))
                let mi = St(compute: m[i].compute + w1 * (gs - m[i].compute))
                m[i] = mi
                let vi = St(compute: St(compute: v[i].compute * b2).compute + w2 * gs * gs)
                v[i] = vi
                let root = St(compute: vi.compute.squareRoot())
                let denom = St(compute: St(compute: root.compute / root2).compute + eps)
                let update = P.Compute(Double(mi.compute)) / P.Compute(Double(denom.compute))
                p[i] = P(compute: p[i].compute - stepSize * update)
            }
        }
    }
}

/// PyTorch's clip_grad_norm_ with a fixed choice of reduction: each gradient's 2-norm accumulated in Float
/// for 16-bit formats and in Double for the others (the lab's blocked SIMD kernel), the total norm
/// sqrt(Σ norms²), then every gradient multiplied by min(1, maxNorm / (total + 1e-6)). Returns the total.
/// A fixed choice for the training loop and the benchmark.
public func clipGradientNorm<S: TensorScalar>(_ parameters: [Parameter<S>], maxNorm: Double) -> Double {
    var sumOfSquares = 0.0
    for k in parameters.indices { sumOfSquares += squaredNorm(parameters[k].grad) }
    let total = sumOfSquares.squareRoot()
    let coefficient = min(1, maxNorm / (total + 1e-6))
    for k in parameters.indices { scale(parameters[k].grad, by: coefficient, into: parameters[k].grad) }
    return total
}
