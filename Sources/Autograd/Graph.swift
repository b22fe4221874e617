import Formats
import Base
import Tensors

/// A trainable tensor: its value, and the gradient that backward passes accumulate into.
public final class Parameter<Scalar: TensorScalar>: @unchecked Sendable {
    public let name: String
    public var value: Tensor<Scalar>
    public let grad: Tensor<Scalar>

    public init(_ name: String, _ value: Tensor<Scalar>) {
        self.name = name
        self.value = value
        grad = Tensor(zeros: value.shape)
    }

    public var shape: Shape { value.shape }
    public func zeroGrad() { grad.zero() }
}

/// A value recorded on a `Graph`: the index of its node.
public struct Var: Hashable, Sendable {
    public let id: Int
}

/// A tape of tensor operations in creation order, which is already a topological order, so backward is a
/// loop over the nodes in reverse. Values are computed when an op is recorded (define by run); gradients
/// always accumulate (`+=`), never overwrite.
///
/// Every value and gradient comes from the graph's arena, and `reset()` starts a new step reusing the
/// buffers and the node list of the last one: a step that records the same ops allocates nothing once warm.
public final class Graph<Scalar: TensorScalar> {
    struct Node {
        var op: Op<Scalar>
        var value: Tensor<Scalar>
        var grad: Tensor<Scalar>?
        let needsGrad: Bool
        /// Held in the autocast format (its value and gradient are rounded to it); false without autocast.
        var low = false
    }

    var nodes: [Node] = []
    /// Variable-length operand lists (concatenation), referenced by range from the op.
    var operands: [Int] = []
    let arena = TensorArena<Scalar>()
    /// The accumulator of matrix products (`wide`: Float for 16-bit inputs).
    public var accumulator: MatmulAccumulator
    public var threads: Int
    /// Floating-point operations of the matrix products since the last reset (2mnk per product, forward and
    /// backward).
    public internal(set) var matmulFlops = 0
    /// `torch.autocast`'s low format (Float16 or BFloat16) on a Float graph, nil for none: see `Autocast.swift`.
    public var autocast: ScalarKind? = nil {
        didSet { precondition(autocast == nil || (Scalar.self == Float.self && autocast!.format.bitWidth == 16), "autocast runs a Float graph in a 16-bit format") }
    }
    /// Autocast's cast cache: the low copy of each parameter, made once per step (by parameter).
    var castCache: [ObjectIdentifier: Int] = [:]

    public init(accumulator: MatmulAccumulator = .wide, threads: Int = Parallel.defaultThreads) {
        self.accumulator = accumulator
        self.threads = threads
    }

    /// Forgets the recorded ops and reuses their memory for the next step.
    public func reset() {
        nodes.removeAll(keepingCapacity: true)
        operands.removeAll(keepingCapacity: true)
        arena.reset()
        matmulFlops = 0
        castCache.removeAll(keepingCapacity: true)
    }

    public var nodeCount: Int { nodes.count }

    // MARK: Leaves

    /// A tensor that needs no gradient (data, masks).
    public func constant(_ value: Tensor<Scalar>) -> Var { record(.leaf, value, needsGrad: false) }

    /// A tensor whose gradient is kept (read it with `grad(_:)` after backward).
    public func input(_ value: Tensor<Scalar>) -> Var { record(.leaf, value, needsGrad: true) }

    /// A parameter: backward accumulates into `parameter.grad`.
    public func parameter(_ parameter: Parameter<Scalar>) -> Var {
        let v = record(.parameter(parameter), parameter.value, needsGrad: true)
        nodes[v.id].grad = parameter.grad
        return v
    }

    @_specialize(where Scalar == Float) @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float16) @_specialize(where Scalar == BFloat16)
    public func value(_ v: Var) -> Tensor<Scalar> { nodes[v.id].value }

    /// The gradient accumulated into `v` by backward passes (nil if none reached it).
    public func grad(_ v: Var) -> Tensor<Scalar>? { nodes[v.id].grad }

    /// The value of a one-element node as a Double.
    public func scalar(_ v: Var) -> Double { Double(nodes[v.id].value[flat: 0].compute) }

    // MARK: Recording

    @_specialize(where Scalar == Float) @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float16) @_specialize(where Scalar == BFloat16)
    func record(_ op: Op<Scalar>, _ value: Tensor<Scalar>, needsGrad: Bool) -> Var {
        var node = Node(op: op, value: value, grad: nil, needsGrad: needsGrad)
        if let kind = autocast, isLow(op) {
            node.low = true
            if producesNewValues(op) { roundElements(value, to: kind) }
        }
        nodes.append(node)
        return Var(id: nodes.count - 1)
    }

    /// A new output tensor from the arena (not zeroed: every op writes all of it).
    @_specialize(where Scalar == Float) @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float16) @_specialize(where Scalar == BFloat16)
    func output(_ shape: Shape) -> Tensor<Scalar> { arena.take(shape, zeroed: false) }

    func needsGrad(_ a: Var) -> Bool { nodes[a.id].needsGrad }
    func needsGrad(_ a: Var, _ b: Var) -> Bool { nodes[a.id].needsGrad || nodes[b.id].needsGrad }

    /// The gradient buffer of node `id`, made (zeroed) on first use; nil if the node needs no gradient.
    @_specialize(where Scalar == Float) @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float16) @_specialize(where Scalar == BFloat16)
    func gradient(_ id: Int) -> Tensor<Scalar>? {
        guard nodes[id].needsGrad else { return nil }
        if let g = nodes[id].grad { return g }
        let g = arena.take(nodes[id].value.shape, zeroed: true)
        nodes[id].grad = g
        return g
    }

    // MARK: Backward

    /// Accumulates d(root)/d(x) · seed into the gradient of every node that needs one: `seed` multiplies the
    /// root's gradient (a loss scale), rounded to the format. The root must have one element.
    public func backward(_ root: Var, seed: Double = 1) {
        precondition(nodes[root.id].value.count == 1, "backward from a non-scalar of shape \(nodes[root.id].value.shape)")
        guard let g = gradient(root.id) else { return }
        g[flat: 0] = Scalar(compute: g[flat: 0].compute + Scalar.Compute(seed))
        var id = root.id
        while id >= 0 {
            if let g = nodes[id].grad, nodes[id].needsGrad {
                propagate(id, g)
                if let kind = autocast { roundLowOperandGradients(of: id, to: kind) }
            }
            id -= 1
        }
    }
}
