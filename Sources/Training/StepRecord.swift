import Autograd
import Formats
import Tensors
#if canImport(Glibc)
import Glibc
#endif

/// One step's measurements (one line of the telemetry file, without its wall time).
public struct StepRecord: Sendable, Equatable {
    public var step: Int
    public var loss: Double
    public var scale: Double
    public var skipped: Bool
    public var clipCoefficient: Double?
    /// Whether the clipper changed any gradient element of a step it applied to finite gradients (a skipped step, or
    /// one whose gradients hold an inf or NaN, is no clip; element- and unit-wise clippers have no coefficient).
    public var clipped = false
    /// The clipping threshold in force (max_norm, or ZClip's and AutoClip's adaptive one).
    public var threshold: Double?
    /// The gradient norm as the clipping strategy computed it (unscaled gradients, before clipping), its format,
    /// the exact norm correctly rounded to Float64, and the error in ulps of the strategy's format.
    public var gradientNorm: Double
    public var gradientNormFormat: FloatFormat
    public var exactNorm: Double
    public var normErrorUlps: Double
    /// Fractions of the compute-format gradient elements (as they sit scaled, before unscaling) that are zero or
    /// subnormal.
    public var zeroFraction: Double
    public var subnormalFraction: Double
    /// The bits of precision the subnormal elements have lost on average (the format's precision minus the bits a
    /// subnormal keeps); NaN when there is none.
    public var subnormalBitsLost: Double = .nan
    /// log2(largest finite / max|scaled gradient|) in the compute format.
    public var headroom: Double
    /// Non-finite gradient elements per layer (only layers with any).
    public var overflowByLayer: [(layer: String, count: Int)]
    /// Where the first NaN/inf of the step came from, when there was one.
    public var nonFiniteOrigin: String?

    public var underflowFraction: Double { zeroFraction + subnormalFraction }

    /// Every field, numbers by their bits (NaN equals the same NaN; 0 and -0 differ): two runs are equal when they
    /// recorded the same bits.
    public static func == (a: StepRecord, b: StepRecord) -> Bool {
        func same(_ x: Double?, _ y: Double?) -> Bool { x?.bitPattern == y?.bitPattern }
        return a.step == b.step && same(a.loss, b.loss) && same(a.scale, b.scale) && a.skipped == b.skipped
            && same(a.clipCoefficient, b.clipCoefficient) && a.clipped == b.clipped && same(a.threshold, b.threshold)
            && same(a.gradientNorm, b.gradientNorm) && a.gradientNormFormat == b.gradientNormFormat && same(a.exactNorm, b.exactNorm)
            && same(a.normErrorUlps, b.normErrorUlps) && same(a.zeroFraction, b.zeroFraction) && same(a.subnormalFraction, b.subnormalFraction)
            && same(a.subnormalBitsLost, b.subnormalBitsLost)
            && same(a.headroom, b.headroom) && a.overflowByLayer.map(\.layer) == b.overflowByLayer.map(\.layer)
            && a.overflowByLayer.map(\.count) == b.overflowByLayer.map(\.count) && a.nonFiniteOrigin == b.nonFiniteOrigin
    }
}

/// What a finished run reports.
public struct TrainingSummary: Sendable {
    public var records: [StepRecord]
    /// Each step's wall time, apart from the records (no two runs share them).
    public var stepSeconds: [Double] = []
    public var finalLoss: Double
    /// Task metric: held-out accuracy (spirals), held-out MSE (adding), held-out loss (zipf).
    public var metric: (name: String, value: Double)
    /// The model's weights after the last step (master weights for mixed policies), flattened, as Doubles.
    public var finalWeights: [Double] = []

    public init(records: [StepRecord], stepSeconds: [Double], finalLoss: Double, metric: (name: String, value: Double), finalWeights: [Double]) {
        self.records = records
        self.stepSeconds = stepSeconds
        self.finalLoss = finalLoss
        self.metric = metric
        self.finalWeights = finalWeights
    }

    public var skippedSteps: Int { records.filter(\.skipped).count }
    public var clippedSteps: Int { records.filter(\.clipped).count }
    public var firstNonFinite: (step: Int, origin: String)? {
        records.first { $0.nonFiniteOrigin != nil }.map { ($0.step, $0.nonFiniteOrigin!) }
    }
}

/// Zero, subnormal and non-finite counts of the gradients in their compute format, and the headroom.
public struct GradientStats {
    public var zeroFraction = 0.0, subnormalFraction = 0.0, subnormalBitsLost = Double.nan, headroom = Double.infinity
    public var overflowByLayer: [(layer: String, count: Int)] = []

    /// Zeros, subnormals and headroom in `format`: the parameters' own, or autocast's low format for Float32 gradients
    /// that came through it. Specialized for the four element types: it reads every gradient element on every step, and
    /// its generic form (called from the generic training loop) spent most of its time in witness-table calls.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    @_specialize(where S == Float16)
    @_specialize(where S == BFloat16)
    public init<S: TensorScalar>(_ parameters: [Parameter<S>], layers: [String], format: FloatFormat) {
        let leastNormal = S.Compute(format.smallestNormal)
        var zeros = 0, subnormals = 0, total = 0, bitsLost = 0
        var largest: S.Compute = 0
        // A subnormal v keeps exponent(v) − exponent(smallest subnormal) + 1 of the format's p bits.
        let lowest = Int(format.smallestSubnormal.exponent), precision = format.precision
        for (k, p) in parameters.enumerated() {
            let g = p.grad
            var nonFinite = 0
            for i in 0..<g.count {
                let v = g[flat: i]
                if v == 0 { zeros += 1 } else if !v.isFinite { nonFinite += 1; continue } else if v.compute.magnitude < leastNormal {
                    subnormals += 1
                    bitsLost += precision - (Int(v.compute.exponent) - lowest + 1)
                }
                largest = max(largest, v.compute.magnitude)
            }
            total += g.count
            if nonFinite > 0 {
                if let j = overflowByLayer.firstIndex(where: { $0.layer == layers[k] }) { overflowByLayer[j].count += nonFinite } else { overflowByLayer.append((layers[k], nonFinite)) }
            }
        }
        zeroFraction = Double(zeros) / Double(max(total, 1))
        subnormalFraction = Double(subnormals) / Double(max(total, 1))
        subnormalBitsLost = subnormals == 0 ? .nan : Double(bitsLost) / Double(subnormals)
        headroom = largest > 0 ? log2(format.largestFinite / Double(largest)) : .infinity
    }
}
