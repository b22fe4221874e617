import Base
import Formats
import Tensors

/// ZClip (Kumar et al., 2025): z-score spike detection on an EMA of the total norm. During `warmupSteps` the norms
/// are collected (and clipped at `maxNorm` if set); then mean and variance start as the warm-up's; a norm whose
/// z = (g − μ)/(σ + eps) exceeds zThreshold is clipped to μ + zThreshold·σ/(z/zThreshold) (at most `maxNorm`),
/// and the EMA (alpha) is fed the clipped value.
public struct ZClipper: GradientClipper {
    public var alpha: Double, zThreshold: Double, eps: Double, warmupSteps: Int, maxNorm: Double?
    public var norm: ClipNorm
    public private(set) var mean = 0.0, variance = 0.0, step = 0
    private var warmup: [Double] = []

    public init(alpha: Double = 0.97, zThreshold: Double = 2.5, eps: Double = 1e-6, warmupSteps: Int = 25, maxNorm: Double? = 1,
                norm: ClipNorm = .torch(threads: 1)) {
        self.alpha = alpha
        self.zThreshold = zThreshold
        self.eps = eps
        self.warmupSteps = warmupSteps
        self.maxNorm = maxNorm
        self.norm = norm
    }

    public var name: String { "zclip" }

    public mutating func clip(_ gradients: [GradientTensor], parameters: [GradientTensor]) -> ClipOutcome {
        let total = norm.evaluate(gradients, order: 2)
        let g = total.value
        step += 1
        if step <= warmupSteps {
            warmup.append(g)
            if step == warmupSteps {
                mean = warmup.reduce(0, +) / Double(warmup.count)
                variance = warmup.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(warmup.count)
            }
            guard let maxNorm else { return ClipOutcome(norm: g, normFormat: total.format, coefficient: 1, threshold: nil, clipped: false) }
            let coefficient = TorchClipping.clipCoefficient(total: total, maxNorm: maxNorm)
            TorchClipping.multiply(gradients, by: coefficient)
            return ClipOutcome(norm: g, normFormat: total.format, coefficient: coefficient, threshold: maxNorm, clipped: coefficient != 1)
        }
        let sigma = variance.squareRoot()
        let z = (g - mean) / (sigma + eps)
        var threshold: Double?
        if z > zThreshold {
            let t = mean + zThreshold * sigma / (z / zThreshold)
            threshold = maxNorm.map { min(t, $0) } ?? t
        }
        var coefficient = 1.0
        if let threshold, threshold < g {
            coefficient = TorchClipping.clipCoefficient(total: total, maxNorm: threshold)
            TorchClipping.multiply(gradients, by: coefficient)
        }
        let fed = g.isFinite ? (threshold ?? g) : mean
        mean = alpha * mean + (1 - alpha) * fed
        variance = alpha * variance + (1 - alpha) * (fed - mean) * (fed - mean)
        return ClipOutcome(norm: g, normFormat: total.format, coefficient: coefficient, threshold: threshold, clipped: coefficient != 1)
    }
}

/// AutoClip (Seetharaman et al., 2020), as the `autoclip` package's QuantileClip: the threshold is the
/// `quantile` of the last `historyLength` total norms, the current one included (linear interpolation, as
/// `torch.quantile`); no clipping on the first step.
public struct AutoClipper: GradientClipper {
    public var quantile: Double, historyLength: Int
    public var norm: ClipNorm
    public private(set) var history: [Double] = []

    public init(quantile: Double = 0.9, historyLength: Int = 1000, norm: ClipNorm = .torch(threads: 1)) {
        self.quantile = quantile
        self.historyLength = historyLength
        self.norm = norm
    }

    public var name: String { "autoclip" }

    public mutating func clip(_ gradients: [GradientTensor], parameters: [GradientTensor]) -> ClipOutcome {
        let total = norm.evaluate(gradients, order: 2)
        if total.value.isFinite {
            history.append(total.value)
            if history.count > historyLength { history.removeFirst(history.count - historyLength) }
        }
        guard history.count > 1 else { return ClipOutcome(norm: total.value, normFormat: total.format, coefficient: 1, threshold: nil, clipped: false) }
        let threshold = Self.quantile(history, quantile)
        let coefficient = TorchClipping.clipCoefficient(total: total, maxNorm: threshold)
        TorchClipping.multiply(gradients, by: coefficient)
        return ClipOutcome(norm: total.value, normFormat: total.format, coefficient: coefficient, threshold: threshold, clipped: coefficient != 1)
    }

    /// torch.quantile's default (linear): sorted[i] + (sorted[i+1] − sorted[i])·frac at position q·(n−1).
    public static func quantile(_ values: [Double], _ q: Double) -> Double {
        let sorted = values.sorted()
        let position = q * Double(sorted.count - 1)
        let below = Int(position.rounded(.down))
        let above = min(below + 1, sorted.count - 1)
        let fraction = position - Double(below)
        return sorted[below] + (sorted[above] - sorted[below]) * fraction
    }
}
