import Foundation
import PrecisionLab
import Testing

/// The clippers' contracts, independent of any peer: identity below the threshold, direction kept, the resulting
/// norm equal to the threshold within a stated ulp bound, PyTorch's behaviour with inf and NaN, the eps-dominated
/// tiny norm, and a norm exactly equal to max_norm.
@Suite struct ClipperTests {
    /// Runs `body` on gradient tensors made of `values` (one tensor per array) in format S, returns the new values.
    static func clipped<S: TensorScalar>(_: S.Type, _ values: [[Double]], _ body: ([GradientTensor]) throws -> Void) rethrows -> [[Double]] {
        let owned = OwnedTensors()
        for (k, v) in values.enumerated() {
            let typed = v.map { S(rounding: $0, saturating: false) }
            typed.withUnsafeBytes { owned.append(name: "g\(k)", shape: [v.count], format: S.format, bytes: $0) }
        }
        try body(owned.tensors)
        return owned.tensors.map { t in (0..<t.count).map { t.floatBuffer.value(at: $0) } }
    }

    static func randomGradients(_ rng: inout SeededGenerator, tensors: Int, scale: Double) -> [[Double]] {
        (0..<tensors).map { _ in (0..<Int(rng.next() % 300 + 1)).map { _ in rng.nextNormal() * scale } }
    }

    static func exactNorm<S: TensorScalar>(_: S.Type, _ values: [[Double]]) -> Double {
        clipped(S.self, values) { _ in }.joined().reduce(0) { $0 + $1 * $1 }.squareRoot()
    }

    @Test func globalNormIdentityBelowAndLengthAboveTheThreshold() throws {
        var rng = SeededGenerator(seed: 51)
        for semantics in ClipSemantics.allCases {
            for trial in 0..<200 {
                let grads = Self.randomGradients(&rng, tensors: 3, scale: 0.1)
                let norm = Self.exactNorm(Float.self, grads)
                // Below: nothing changes, bit for bit (PyTorch multiplies by exactly 1.0).
                let same = try Self.clipped(Float.self, grads) { _ = try GlobalNormClipper(maxNorm: norm * 1.01, semantics: semantics).clip($0, parameters: []) }
                #expect(same == Self.clipped(Float.self, grads) { _ in }, "\(semantics) trial \(trial)")
                // Above: the direction is kept (every element scaled by one factor) and the norm becomes max_norm.
                let maxNorm = norm * Double.random(in: 0.01...0.9, using: &rng)
                var outcome: ClipOutcome?
                let out = try Self.clipped(Float.self, grads) { outcome = try GlobalNormClipper(maxNorm: maxNorm, semantics: semantics).clip($0, parameters: []) }
                let original = Self.clipped(Float.self, grads) { _ in }
                // One factor for every element: PyTorch's coefficient (rounded once per element), or optax's
                // max/norm (max_norm and the reciprocal rounded to Float32, two products rounded: four units of 2^-24).
                let factor = semantics == .torch ? outcome!.coefficient! : maxNorm / outcome!.norm
                let tolerance = (semantics == .torch ? 0x1p-24 : 4 * 0x1p-24) * factor
                #expect(abs(factor - maxNorm / norm) <= (8 * 0x1p-24 + 1e-6 / norm) * factor)
                for (a, b) in zip(original.joined(), out.joined()) where a != 0 {
                    #expect(abs(b / a - factor) <= tolerance, "\(semantics) trial \(trial)")
                }
                let newNorm = out.joined().reduce(0) { $0 + $1 * $1 }.squareRoot()
                // Float32 norms, coefficient and products: a few units of 2^-24 relative; PyTorch's eps adds 1e-6/norm.
                let bound = 8 * 0x1p-24 + (semantics == .torch ? 1e-6 / norm : 0)
                #expect(abs(newNorm - maxNorm) <= bound * maxNorm, "\(semantics) trial \(trial): \(newNorm) vs \(maxNorm)")
            }
        }
    }

    @Test func torchNonFiniteBehaviour() throws {
        // An inf gradient: total inf, coefficient max/(inf) = 0, every element multiplied by 0: finite → 0, inf → NaN.
        var out = try Self.clipped(Float.self, [[1, .infinity, -2]]) { _ = try GlobalNormClipper(maxNorm: 1).clip($0, parameters: []) }
        #expect(out[0][0] == 0 && out[0][1].isNaN && out[0][2] == 0)
        // A NaN gradient: everything becomes NaN.
        out = try Self.clipped(Float.self, [[1, .nan], [3]]) { _ = try GlobalNormClipper(maxNorm: 1).clip($0, parameters: []) }
        #expect(out.joined().allSatisfy { $0.isNaN })
        // error_if_nonfinite: PyTorch's message, and the gradients untouched.
        let before = Self.clipped(Float.self, [[1, .infinity]]) { _ in }
        var thrown: Error?
        let after = Self.clipped(Float.self, [[1, .infinity]]) { g in
            do { _ = try GlobalNormClipper(maxNorm: 1, errorIfNonFinite: true).clip(g, parameters: []) } catch { thrown = error }
        }
        #expect(after.map { $0.map(\.bitPattern) } == before.map { $0.map(\.bitPattern) })
        #expect("\(thrown!)".hasPrefix("The total norm of order 2.0 for gradients from `parameters` is non-finite, so it cannot be clipped."))
        // optax: a NaN norm fails `norm < max_norm`, so it clips: t / NaN · max = NaN.
        out = try Self.clipped(Float.self, [[1, .nan]]) { _ = try GlobalNormClipper(maxNorm: 1, semantics: .optax).clip($0, parameters: []) }
        #expect(out.joined().allSatisfy { $0.isNaN })
    }

    @Test func epsDominatedTinyNormAndExactThreshold() throws {
        // Norm 1e-7 with max_norm 1e-7: PyTorch's coefficient 1e-7/(1e-7 + 1e-6) ≈ 0.0909 clips a gradient that is not
        // above the threshold; optax leaves it alone only below the threshold, so at equality it divides and multiplies.
        let tiny = [[0.6e-7, 0.8e-7]]
        let norm = Self.exactNorm(Float.self, tiny)
        var coefficient = 0.0
        let out = try Self.clipped(Float.self, tiny) { coefficient = try GlobalNormClipper(maxNorm: norm).clip($0, parameters: []).coefficient ?? 1 }
        #expect(abs(coefficient - norm / (norm + 1e-6)) < 1e-6 * coefficient)
        #expect(abs(out[0][0] / Double(Float(0.6e-7)) - coefficient) < 1e-6)
        // ‖(3, 4)‖ = 5 exactly, max_norm 5: PyTorch multiplies by 5/(5 + 1e-6) rounded, optax by (t/5)·5.
        for kind in [ScalarKind.float16, .bfloat16, .float32, .float64] {
            func check<S: TensorScalar>(_: S.Type) throws {
                let torch = try Self.clipped(S.self, [[3, 4]]) { _ = try GlobalNormClipper(maxNorm: 5).clip($0, parameters: []) }
                let c = TorchClipping.clipCoefficient(total: NormValue(value: 5, format: S.format), maxNorm: 5)
                #expect(c <= 1 && c > 1 - 1e-6 - S.format.ulp(of: 1))
                #expect(torch[0][0] <= 3 && torch[0][1] <= 4, "\(kind)")
                let optax = try Self.clipped(S.self, [[3, 4]]) { _ = try GlobalNormClipper(maxNorm: 5, semantics: .optax).clip($0, parameters: []) }
                #expect(abs(optax[0][0] - 3) <= 2 * S.format.ulp(of: 3) && abs(optax[0][1] - 4) <= 2 * S.format.ulp(of: 4))
            }
            switch kind {
            case .float16: try check(Float16.self)
            case .bfloat16: try check(BFloat16.self)
            case .float32: try check(Float.self)
            case .float64: try check(Double.self)
            }
        }
    }

    @Test func fp16AccumulatedNormOverflowsAndZeroesFiniteGradients() throws {
        // 4096 Float16 gradients of size ~8: every one finite, the sum of squares ~2.6e5 > 65504.
        var rng = SeededGenerator(seed: 3)
        let grads = [(0..<4096).map { _ in rng.nextNormal() * 8 }]
        var outcome: ClipOutcome?
        let naive = try Self.clipped(Float16.self, grads) { outcome = try GlobalNormClipper(maxNorm: 1, norm: .external(AlgorithmGradientNorm(.naive))).clip($0, parameters: []) }
        #expect(outcome?.norm == .infinity && outcome?.coefficient == 0)
        #expect(naive.joined().allSatisfy { $0 == 0 })
        // PyTorch accumulates in Float32: the norm (~500) is finite and the gradients keep their direction.
        let torch = try Self.clipped(Float16.self, grads) { outcome = try GlobalNormClipper(maxNorm: 1).clip($0, parameters: []) }
        #expect(outcome!.norm.isFinite && outcome!.norm > 400)
        #expect(torch.joined().contains { $0 != 0 })
    }

    @Test func valueAGCBlockRMSAndPerTensor() throws {
        let out = Self.clipped(Float.self, [[0.5, -3, .nan, 0.01]]) { _ = ValueClipper(limit: 1).clip($0, parameters: []) }
        #expect(out[0][0] == 0.5 && out[0][1] == -1 && out[0][2].isNaN && out[0][3] == Double(Float(0.01)))
        // Block RMS: rms of (3, 4) is sqrt(12.5) ≈ 3.54; threshold 1 divides by it.
        let rms = Self.clipped(Float.self, [[3, 4]]) { _ = BlockRMSClipper(threshold: 1).clip($0, parameters: []) }
        #expect(abs(rms[0][0] - 3 / 12.5.squareRoot()) < 1e-6)
        // Per-tensor: each tensor to its own max_norm.
        let per = Self.clipped(Float.self, [[30, 40], [0.3, 0.4]]) { _ = PerTensorNormClipper(maxNorm: 1).clip($0, parameters: []) }
        #expect(abs(per[0][0] - 0.6) < 1e-6 && per[1][0] == Double(Float(0.3)))
        // AGC, a 2×2 weight: columns are units. Column 0 of g has norm 5 against a parameter column norm 1 (clip at
        // 0.1 · 1); column 1 is tiny and kept.
        let params = OwnedTensors(), grads = OwnedTensors()
        [Float(1), 0, 0, 1].withUnsafeBytes { params.append(name: "w", shape: [2, 2], format: .float32, bytes: $0) }
        [Float(3), 0.01, 4, 0].withUnsafeBytes { grads.append(name: "w", shape: [2, 2], format: .float32, bytes: $0) }
        _ = try AdaptiveGradClipper(clipping: 0.1).clip(grads.tensors, parameters: params.tensors)
        let g = (0..<4).map { grads.tensors[0].floatBuffer.value(at: $0) }
        #expect(abs(g[0] - 0.06) < 1e-7 && abs(g[2] - 0.08) < 1e-7 && g[1] == Double(Float(0.01)))
    }

    @Test func zclipAndAutoClipAdapt() throws {
        var rng = SeededGenerator(seed: 8)
        var z = ZClipper(maxNorm: nil)
        var auto = AutoClipper(quantile: 0.9)
        for step in 0..<60 {
            let spike = step == 45
            let grads = [(0..<50).map { _ in rng.nextNormal() * (spike ? 100 : 1) }]
            var zOutcome: ClipOutcome?, aOutcome: ClipOutcome?
            let zOut = Self.clipped(Float.self, grads) { zOutcome = z.clip($0, parameters: []) }
            let aOut = Self.clipped(Float.self, grads) { aOutcome = auto.clip($0, parameters: []) }
            if spike {
                // The spike (norm ~700 against ~7) is clipped to near the running statistics by both.
                #expect(zOutcome!.clipped && Self.exactNorm(Float.self, zOut) < 20)
                #expect(aOutcome!.clipped && Self.exactNorm(Float.self, aOut) < 20)
            }
            if step < 25 { #expect(!zOutcome!.clipped) }
        }
        #expect(AutoClipper.quantile([1, 2, 3, 4, 5], 0.9) == 4.6)
    }

    @Test func gradScalerFlowAndErrors() throws {
        var amp = AmpGradScaler(TorchGradScaler())
        let values = [[Double(65536 * 2), 65536]]
        let out = try Self.clipped(Float.self, values) { g in
            try amp.unscale(g)
            #expect(throws: GradScalerError(description: "unscale_() has already been called on this optimizer since the last update().")) { try amp.unscale(g) }
            var stepped = false
            let skipped = try amp.step(g) { stepped = true }
            #expect(!skipped && stepped)
            #expect(throws: GradScalerError(description: "step() has already been called since the last update().")) { _ = try amp.step(g) {} }
            #expect(throws: GradScalerError(description: "unscale_() is being called after step().")) { try amp.unscale(g) }
            try amp.update()
        }
        #expect(out == [[2, 1]])
        _ = try Self.clipped(Float16.self, [[1]]) { g in
            #expect(throws: GradScalerError(description: "Attempting to unscale FP16 gradients.")) { try amp.unscale(g) }
        }
        // found_inf skips the optimizer step and backs off.
        _ = try Self.clipped(Float.self, [[.infinity]]) { g in
            var stepped = false
            #expect(try amp.step(g) { stepped = true })
            #expect(!stepped)
            try amp.update()
        }
        #expect(amp.scale == 32768)
    }

    @Test func deepSpeedFP32SumCheckRaisesFalseAlarms() throws {
        // Two finite BFloat16 gradients of 2e38: their Float32 sum overflows. DeepSpeed calls it an overflow.
        _ = Self.clipped(BFloat16.self, [[2e38, 2e38]]) { g in
            #expect(OverflowCheck.deepspeedFP32Sum.overflowed(g))
            #expect(!OverflowCheck.elementwise.overflowed(g))
        }
        // Opposite infinities sum to NaN: still caught.
        _ = Self.clipped(Float.self, [[.infinity, -.infinity]]) { g in #expect(OverflowCheck.deepspeedFP32Sum.overflowed(g)) }
    }
}
