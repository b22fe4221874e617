import Autograd
import Experiments
import Formats
import Tensors
import Testing
import Training

/// The mixed policies are torch.autocast: which ops run in the low format and which in Float32, checked on values
/// whose exact results are known, and on the step-0 overflow that autocast exists to avoid.
@Suite struct AutocastTests {
    static func graph() -> Graph<Float> {
        let g = Graph<Float>(threads: 1)
        g.autocast = .float16
        return g
    }

    static func representable(_ x: Float) -> Bool { Float(Float16(x)) == x }

    /// A product's result is Float16 (2048 + 1 = 2049 is not: 2048); sum runs in Float32 (2049); mean runs in its
    /// input's format; softmax and the losses return Float32; a low tensor plus a Float32 one is Float32.
    @Test func opsRunInTheFormatsOfTheLists() {
        let g = Self.graph()
        let x = g.constant(Tensor(shape: [1, 2], [2048, 1]))
        let w = Parameter("w", Tensor<Float>(shape: [2, 2], [1, 1, 1, 0]))
        let y = g.matmul(x, g.parameter(w))
        #expect(g.value(y).scalars == [2048, 2048], "2049 rounds to 2048 in Float16")
        #expect(g.scalar(g.sum(y)) == 4096)
        let wide = g.add(y, g.constant(Tensor(shape: [1, 2], [1, 0.5])))
        #expect(g.value(wide).scalars == [2049, 2048.5], "low + Float32 is Float32")
        #expect(g.scalar(g.sum(wide)) == 4097.5, "sum is on the Float32 list")
        let low = g.matmul(g.constant(Tensor(shape: [1, 2], [1, 0])), g.constant(Tensor(shape: [2, 2], [2049, 1, 0, 0])))
        #expect(g.value(low).scalars == [2048, 1])
        #expect(g.scalar(g.mean(low)) == 1024, "mean stays in its input's format: 1024.5 rounds to even")
        let p = g.softmax(g.constant(Tensor(shape: [1, 3], [0, 0, 0])))
        #expect(g.value(p).scalars == [Float(1) / 3, Float(1) / 3, Float(1) / 3] && !Self.representable(1 / 3), "softmax returns Float32")
        // Pure graphs are untouched: the same product in Float32 is 2049.
        let pure = Graph<Float>(threads: 1)
        #expect(pure.value(pure.matmul(pure.constant(Tensor(shape: [1, 2], [2048, 1])), pure.constant(Tensor(shape: [2, 1], [1, 1])))).scalars == [2049])
    }

    /// A product's operands and their gradients are Float16; the gradient reaches the Float32 parameter exactly:
    /// 3·(1 + 2⁻¹⁰) = 3.0029296875 is a tie in Float16 and rounds to even, 3.00390625 (in Float32 it is exact). A
    /// parameter used twice is cast once per step (autocast's cache).
    @Test func gradientsOfLowTensorsAreLow() {
        for autocast in [true, false] {
            let g = Graph<Float>(threads: 1)
            if autocast { g.autocast = .float16 }
            let w = Parameter("w", Tensor<Float>(shape: [1, 1], [1]))
            let y = g.matmul(g.constant(Tensor(shape: [1, 1], [1 + 0x1p-10])), g.parameter(w))
            g.backward(g.sum(y), seed: 3)
            #expect(w.grad[flat: 0] == (autocast ? 3.00390625 : 3.0029296875), "autocast \(autocast): \(w.grad[flat: 0])")
            let before = g.nodeCount
            _ = g.matmul(y, g.parameter(w))
            #expect(g.nodeCount == before + 2, "a parameter node and the product: under autocast the cast of w is cached, not made again")
        }
    }

    /// GradScaler's initial scale, 65536, is beyond Float16 (65504): a pure Float16 model overflows in the gradient
    /// of its loss on step 0 and skips it; under autocast the loss and its gradient are Float32, and step 0 is taken.
    @Test func theStepZeroOverflowOfTheLossGradientIsGone() throws {
        var c = TrainingConfiguration()
        c.task = .zipf
        c.model = .transformer
        c.optimizer = .adam
        c.learningRate = 0.003
        c.batch = 16
        c.steps = 2
        c.scaler = LossScalerChoice("deepspeed")!
        c.policy = PrecisionPolicy("f16")!
        let pure = try TrainingRun.run(c)
        #expect(pure.records[0].skipped && pure.records[0].nonFiniteOrigin?.contains("crossEntropy") == true,
                "\(pure.records[0].nonFiniteOrigin ?? "no inf")")
        for policy in ["mixed-f16", "mixed-bf16"] {
            c.policy = PrecisionPolicy(policy)!
            for scaler in ["deepspeed", "torch"] {
                c.scaler = LossScalerChoice(scaler)!
                let mixed = try TrainingRun.run(c)
                #expect(mixed.records.allSatisfy { !$0.skipped && $0.nonFiniteOrigin == nil }, "\(policy) \(scaler): \(mixed.records.map(\.nonFiniteOrigin))")
                #expect(mixed.records[0].scale == 65536)
            }
        }
    }
}

/// Underflow told apart: zeros, subnormals and the bits a subnormal lost, on values whose answer is known.
@Suite struct UnderflowSplitTests {
    /// Float16: 2⁻²⁴ (the smallest subnormal) keeps 1 of 11 bits, 2⁻¹⁵ keeps 10; 2⁻¹⁴ is normal. BFloat16 (p = 8,
    /// smallest subnormal 2⁻¹³³): 2⁻¹³³ keeps 1 bit, 2⁻¹²⁷ keeps 7. Float32 gradients judged in Float16 (autocast).
    @Test func zerosSubnormalsAndBitsLost() {
        let half = Parameter("g", Tensor<Float16>(shape: [5], [0, 0x1p-24, 0x1p-15, 0x1p-14, 1]))
        half.grad.assign(half.value)
        let s = GradientStats([half], layers: ["g"], format: .float16)
        #expect(s.zeroFraction == 0.2 && s.subnormalFraction == 0.4 && s.subnormalBitsLost == 5.5, "\(s.zeroFraction) \(s.subnormalFraction) \(s.subnormalBitsLost)")
        let brain = Parameter("g", Tensor<BFloat16>(shape: [4], [BFloat16(0x1p-133 as Float), BFloat16(0x1p-127 as Float), 1, 0]))
        brain.grad.assign(brain.value)
        let b = GradientStats([brain], layers: ["g"], format: .bfloat16)
        #expect(b.zeroFraction == 0.25 && b.subnormalFraction == 0.5 && b.subnormalBitsLost == 4, "\(b.subnormalBitsLost)")
        let wide = Parameter("g", Tensor<Float>(shape: [4], [0x1p-24, 0x1p-20, 0x1p-10, 0]))
        wide.grad.assign(wide.value)
        let w = GradientStats([wide], layers: ["g"], format: .float16)
        #expect(w.subnormalFraction == 0.5 && w.subnormalBitsLost == (10 + 6) / 2 && w.zeroFraction == 0.25)
        #expect(GradientStats([wide], layers: ["g"], format: .float32).subnormalFraction == 0, "none is subnormal in Float32")
    }
}
