import Base
import Formats
import Results
import Reference

/// The algorithm zoo: named, deterministic norm algorithms, each with a stated accumulation order and
/// accumulator format, and an a-priori error bound.
public enum ReductionAlgorithm: String, CaseIterable, Sendable {
    case naive
    case naiveWide = "naive-wide"
    case pairwise
    case cascade
    case kahan
    case neumaier
    case dot2
    case gpuTree = "gpu-tree"
    case scaledTwoPass = "scaled-two-pass"
    case blue
    case blockedSIMD = "blocked-simd"
    case normOfNorms = "norm-of-norms"

    public var summary: String {
        switch self {
        case .naive: return "recursive sum of x² in the storage format"
        case .naiveWide: return "recursive sum in a wider accumulator (16-bit → f32, f32 → f64, f64 → x87 80-bit)"
        case .pairwise: return "numpy's pairwise sum (blocks of 128, 8 accumulators); f16/bf16 accumulate in f32"
        case .cascade: return "PyTorch CPU's cascade sum (4 levels, AVX2 vectors, ILP 4); f16/bf16 accumulate in f32"
        case .kahan: return "Kahan's compensated sum in the storage format"
        case .neumaier: return "Neumaier's improved compensated sum in the storage format"
        case .dot2: return "Ogita–Rump–Oishi Dot2 (TwoProduct + TwoSum) in the storage format"
        case .gpuTree: return "GPU block tree: 256-thread blocks, 32-lane warp shuffles, ≤1024 blocks, f32 (f64 for f64)"
        case .scaledTwoPass: return "two passes: m = max|x|, then m·sqrt(Σ(x/m)²) in f32 (f64 for f64)"
        case .blue: return "Blue's three accumulators as LAPACK ≥3.10 nrm2 (Anderson), f32 (f64 for f64)"
        case .blockedSIMD: return "the lab's SIMD kernel: FMA lanes in f32 (16-bit) or f64, 2^18-element chunks on all cores"
        case .normOfNorms: return "PyTorch clip_grad_norm_: per-tensor norms rounded to the tensor dtype, then their norm"
        }
    }

    /// Whether the benchmark runs it several times (vectorized or at least scalar in hardware arithmetic).
    public var isFast: Bool { self == .blockedSIMD || self == .naiveWide }

    /// Whether the algorithm applies to a norm order (the scaled algorithms are for the 2-norm; general p
    /// only has the wide recursive sum; max|x| is exact in every algorithm and has none).
    public func supports(_ order: NormOrder) -> Bool {
        switch order {
        case .two: return true
        case .one: return self != .scaledTwoPass && self != .blue
        case .p: return self == .naiveWide
        case .infinity: return false
        }
    }

    /// The format the algorithm accumulates in, for values stored in `storage`.
    public func accumulator(for storage: FloatFormat) -> FloatFormat {
        switch self {
        case .naive, .kahan, .neumaier, .dot2: return storage
        case .naiveWide:
            switch storage {
            case .float16, .bfloat16: return .float32
            case .float32: return .float64
            default: return .float80
            }
        case .blockedSIMD: return storage.bitWidth == 16 ? .float32 : .float64
        case .pairwise, .cascade, .gpuTree, .scaledTwoPass, .blue, .normOfNorms:
            return storage == .float64 ? .float64 : .float32
        }
    }

    /// The accumulator for a list of buffers: the storage format's, except the SIMD kernel, which reduces each
    /// buffer in its own wide format (Float32 for 16-bit buffers) and adds the buffers' sums in Float64.
    public func accumulator(for source: ReductionSource) -> FloatFormat {
        if self == .blockedSIMD && source.buffers.contains(where: { $0.format.bitWidth == 16 }) { return .float32 }
        return accumulator(for: source.storageFormat)
    }

    /// The output format for a list of buffers (see `accumulator(for:)`).
    public func outputFormat(for source: ReductionSource) -> FloatFormat {
        if self == .blockedSIMD && Set(source.buffers.map(\.format)).count > 1 { return .float64 }
        return outputFormat(for: source.storageFormat)
    }

    /// The format of the result: the accumulator's, except the x87 accumulator (rounded to Float64 at the end)
    /// and the norm of norms (PyTorch returns the tensors' dtype).
    public func outputFormat(for storage: FloatFormat) -> FloatFormat {
        switch self {
        case .normOfNorms: return storage
        default:
            let accumulator = accumulator(for: storage)
            return accumulator == .float80 ? .float64 : accumulator
        }
    }
}

extension ReductionAlgorithm {
    /// Every algorithm as a report describes it.
    public static var descriptions: [AlgorithmDescription] {
        allCases.map { a in
            AlgorithmDescription(name: a.rawValue, summary: a.summary, accumulators: FloatFormat.arithmetic.map { ($0, a.accumulator(for: $0)) })
        }
    }
}
