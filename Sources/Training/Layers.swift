import Autograd
import Formats
import Tensors

/// Something with parameters.
public protocol ParameterContainer {
    associatedtype Scalar: TensorScalar
    var parameters: [Parameter<Scalar>] { get }
}

/// y = x W + b, with W [input, output] (the transpose of PyTorch's layout, so that no product needs a
/// transposed operand in the forward pass) and b [output].
public final class Linear<S: TensorScalar>: ParameterContainer {
    public let weight: Parameter<S>
    public let bias: Parameter<S>?

    public init(_ name: String, input: Int, output: Int, bias: Bool = true, initializer: Initializer = .kaimingUniform,
                rng: inout SeededGenerator) {
        weight = Parameter("\(name).weight", initializer.tensor(S.self, [input, output], fanIn: input, fanOut: output, rng: &rng))
        // PyTorch draws a Linear bias from U(±1/√fanIn) too.
        self.bias = bias ? Parameter("\(name).bias", Initializer.kaimingUniform.tensor(S.self, [output], fanIn: input, fanOut: output, rng: &rng)) : nil
    }

    public func callAsFunction(_ g: Graph<S>, _ x: Var) -> Var {
        let y = g.matmul(x, g.parameter(weight))
        guard let bias else { return y }
        // Autocast's linear casts its bias too.
        return g.add(y, g.autocastOperand(g.parameter(bias)))
    }

    public var parameters: [Parameter<S>] { [weight] + (bias.map { [$0] } ?? []) }
}

/// Linear layers with an activation between them (none after the last).
public final class MLP<S: TensorScalar>: ParameterContainer {
    public let layers: [Linear<S>]
    public let activation: UnaryFunction

    /// `sizes` = [input, hidden..., output].
    public init(_ name: String = "mlp", sizes: [Int], activation: UnaryFunction = .relu, initializer: Initializer = .kaimingUniform,
                rng: inout SeededGenerator) {
        precondition(sizes.count >= 2)
        var layers = [Linear<S>]()
        for i in 0..<(sizes.count - 1) {
            layers.append(Linear("\(name).\(i)", input: sizes[i], output: sizes[i + 1], initializer: initializer, rng: &rng))
        }
        self.layers = layers
        self.activation = activation
    }

    public func callAsFunction(_ g: Graph<S>, _ x: Var) -> Var {
        var h = x
        // Indices, not enumerated(): this runs in a training step, which must not allocate.
        for i in layers.indices {
            h = layers[i](g, h)
            if i < layers.count - 1 { h = g.unary(activation, h) }
        }
        return h
    }

    public var parameters: [Parameter<S>] { layers.flatMap(\.parameters) }
}

/// A recurrent network over a sequence with a linear head on the last hidden state. Each step computes
/// pre = x_t Wx + h_{t-1} Wh + b (no h term at t = 0, h_0 = 0) for `gates` blocks of `hidden` units, and the
/// cell turns it into the new state. Weights are drawn from U(±1/√hidden), as PyTorch's RNN and LSTM do.
public class RecurrentNetwork<S: TensorScalar>: ParameterContainer {
    public let inputWeight: Parameter<S>, hiddenWeight: Parameter<S>, bias: Parameter<S>
    public let head: Linear<S>
    public let hidden: Int

    init(_ name: String, input: Int, hidden: Int, output: Int, gates: Int, rng: inout SeededGenerator) {
        let a = 1 / Double(hidden).squareRoot()
        let width = gates * hidden
        inputWeight = Parameter("\(name).wx", Initializer.uniform(a).tensor(S.self, [input, width], fanIn: input, fanOut: hidden, rng: &rng))
        hiddenWeight = Parameter("\(name).wh", Initializer.uniform(a).tensor(S.self, [hidden, width], fanIn: hidden, fanOut: hidden, rng: &rng))
        bias = Parameter("\(name).b", Initializer.uniform(a).tensor(S.self, [width], fanIn: hidden, fanOut: hidden, rng: &rng))
        head = Linear("\(name).head", input: hidden, output: output, rng: &rng)
        self.hidden = hidden
    }

    /// The state after one step from `pre` (the cell); `cell` is the LSTM's memory, nil for other networks.
    func step(_ g: Graph<S>, _ pre: Var, h: Var?, cell: Var?) -> (h: Var, cell: Var?) { fatalError("a cell") }

    /// x: [batch, time, input] → the head's output on the last hidden state: [batch, output].
    public func callAsFunction(_ g: Graph<S>, _ x: Var) -> Var {
        let shape = g.value(x).shape
        let batch = shape[0], steps = shape[1], input = shape[2]
        let wx = g.parameter(inputWeight), wh = g.parameter(hiddenWeight), b = g.autocastOperand(g.parameter(bias))
        var h: Var? = nil, cell: Var? = nil
        for t in 0..<steps {
            let xt = g.reshape(g.slice(x, axis: 1, start: t, length: 1), [batch, input])
            var pre = g.add(g.matmul(xt, wx), b)
            if let h { pre = g.add(pre, g.matmul(h, wh)) }
            (h, cell) = step(g, pre, h: h, cell: cell)
        }
        return head(g, h!)
    }

    public var parameters: [Parameter<S>] { [inputWeight, hiddenWeight, bias] + head.parameters }
}

/// An Elman network: h_t = tanh(x_t Wx + h_{t-1} Wh + b).
public final class ElmanRNN<S: TensorScalar>: RecurrentNetwork<S> {
    public init(_ name: String = "rnn", input: Int, hidden: Int, output: Int, rng: inout SeededGenerator) {
        super.init(name, input: input, hidden: hidden, output: output, gates: 1, rng: &rng)
    }

    override func step(_ g: Graph<S>, _ pre: Var, h: Var?, cell: Var?) -> (h: Var, cell: Var?) { (g.tanh(pre), nil) }
}

/// A long short-term memory network: gates i, f, g, o from one product each for x and h (the forget gate's
/// bias starts at 1); c_t = f c_{t-1} + i g, h_t = o tanh(c_t).
public final class LSTM<S: TensorScalar>: RecurrentNetwork<S> {
    public init(_ name: String = "lstm", input: Int, hidden: Int, output: Int, rng: inout SeededGenerator) {
        super.init(name, input: input, hidden: hidden, output: output, gates: 4, rng: &rng)
        for j in hidden..<(2 * hidden) { bias.value[flat: j] = 1 }
    }

    override func step(_ g: Graph<S>, _ pre: Var, h: Var?, cell: Var?) -> (h: Var, cell: Var?) {
        func gate(_ k: Int) -> Var { g.slice(pre, axis: 1, start: k * hidden, length: hidden) }
        let i = g.sigmoid(gate(0)), f = g.sigmoid(gate(1)), candidate = g.tanh(gate(2)), o = g.sigmoid(gate(3))
        let fresh = g.mul(i, candidate)
        let c = cell.map { g.add(g.mul(f, $0), fresh) } ?? fresh
        return (g.mul(o, g.tanh(c)), c)
    }
}

/// A tiny decoder-only transformer (GPT-2 layout, pre-norm): token and position embeddings, blocks of
/// causal multi-head attention and a GELU MLP (4× width), each with a residual; a final layer norm and a
/// linear head to the vocabulary.
public final class TinyTransformer<S: TensorScalar>: ParameterContainer {
    public struct Configuration: Sendable {
        public var vocabulary: Int, context: Int, width: Int, heads: Int, blocks: Int
        public init(vocabulary: Int, context: Int, width: Int = 64, heads: Int = 4, blocks: Int = 2) {
            self.vocabulary = vocabulary; self.context = context; self.width = width; self.heads = heads; self.blocks = blocks
        }
    }

    final class Block {
        let norm1Scale: Parameter<S>, norm1Shift: Parameter<S>, norm2Scale: Parameter<S>, norm2Shift: Parameter<S>
        let query: Linear<S>, key: Linear<S>, value: Linear<S>, projection: Linear<S>, up: Linear<S>, down: Linear<S>
        init(_ name: String, width: Int, rng: inout SeededGenerator) {
            norm1Scale = Parameter("\(name).ln1.weight", Tensor(shape: [width], repeating: 1))
            norm1Shift = Parameter("\(name).ln1.bias", Tensor(zeros: [width]))
            norm2Scale = Parameter("\(name).ln2.weight", Tensor(shape: [width], repeating: 1))
            norm2Shift = Parameter("\(name).ln2.bias", Tensor(zeros: [width]))
            query = Linear("\(name).q", input: width, output: width, initializer: .normal(0.02), rng: &rng)
            key = Linear("\(name).k", input: width, output: width, initializer: .normal(0.02), rng: &rng)
            value = Linear("\(name).v", input: width, output: width, initializer: .normal(0.02), rng: &rng)
            projection = Linear("\(name).proj", input: width, output: width, initializer: .normal(0.02), rng: &rng)
            up = Linear("\(name).up", input: width, output: 4 * width, initializer: .normal(0.02), rng: &rng)
            down = Linear("\(name).down", input: 4 * width, output: width, initializer: .normal(0.02), rng: &rng)
        }
        var parameters: [Parameter<S>] {
            [norm1Scale, norm1Shift, norm2Scale, norm2Shift] + [query, key, value, projection, up, down].flatMap(\.parameters)
        }
    }

    public let configuration: Configuration
    public let tokenEmbedding: Parameter<S>, positionEmbedding: Parameter<S>
    let blocks: [Block]
    public let finalScale: Parameter<S>, finalShift: Parameter<S>
    public let head: Linear<S>
    /// 0 on and below the diagonal, -inf above: added to the attention scores.
    let causalMask: Tensor<S>

    public init(_ configuration: Configuration, rng: inout SeededGenerator) {
        precondition(configuration.width % configuration.heads == 0)
        let c = configuration
        self.configuration = c
        tokenEmbedding = Parameter("wte", Initializer.normal(0.02).tensor(S.self, [c.vocabulary, c.width], fanIn: c.width, fanOut: c.width, rng: &rng))
        positionEmbedding = Parameter("wpe", Initializer.normal(0.01).tensor(S.self, [c.context, c.width], fanIn: c.width, fanOut: c.width, rng: &rng))
        var blocks = [Block]()
        for i in 0..<c.blocks { blocks.append(Block("h.\(i)", width: c.width, rng: &rng)) }
        self.blocks = blocks
        finalScale = Parameter("ln_f.weight", Tensor(shape: [c.width], repeating: 1))
        finalShift = Parameter("ln_f.bias", Tensor(zeros: [c.width]))
        head = Linear("head", input: c.width, output: c.vocabulary, initializer: .normal(0.02), rng: &rng)
        causalMask = Tensor(shape: [c.context, c.context],
                            rounding: (0..<(c.context * c.context)).map { $0 % c.context > $0 / c.context ? -.infinity : 0 })
    }

    /// tokens [batch, context] → logits [batch, context, vocabulary].
    public func callAsFunction(_ g: Graph<S>, tokens: IndexTensor) -> Var {
        let c = configuration
        let batch = tokens.shape[0], steps = tokens.shape[1]
        precondition(steps == c.context, "\(steps) tokens for a context of \(c.context)")
        let dh = c.width / c.heads
        var x = g.add(g.embedding(g.parameter(tokenEmbedding), indices: tokens), g.parameter(positionEmbedding))
        let mask = g.constant(causalMask)
        func heads(_ v: Var) -> Var { g.transpose(g.reshape(v, [batch, steps, c.heads, dh]), 1, 2) }
        for block in blocks {
            let h = g.layerNorm(x, gamma: g.parameter(block.norm1Scale), beta: g.parameter(block.norm1Shift))
            let q = heads(block.query(g, h)), k = heads(block.key(g, h)), v = heads(block.value(g, h))
            let scores = g.add(g.scale(g.matmul(q, k, transposeB: true), by: 1 / Double(dh).squareRoot()), mask)
            let attended = g.matmul(g.softmax(scores), v)
            let merged = g.reshape(g.transpose(attended, 1, 2), [batch, steps, c.width])
            x = g.add(x, block.projection(g, merged))
            let h2 = g.layerNorm(x, gamma: g.parameter(block.norm2Scale), beta: g.parameter(block.norm2Shift))
            x = g.add(x, block.down(g, g.gelu(block.up(g, h2))))
        }
        x = g.layerNorm(x, gamma: g.parameter(finalScale), beta: g.parameter(finalShift))
        return head(g, x)
    }

    public var parameters: [Parameter<S>] {
        [tokenEmbedding, positionEmbedding] + blocks.flatMap(\.parameters) + [finalScale, finalShift] + head.parameters
    }
}
