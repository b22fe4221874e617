import Formats
#if canImport(Glibc)
import Glibc
#endif

/// Two interleaved spirals in the plane (Lang and Witbrock's benchmark): class c's points at radius t and
/// angle turns·2π·t + cπ, t uniform in (0.05, 1], plus Gaussian noise.
public struct TwoSpirals: Sendable {
    public let inputs: [Double]   // n × 2, row-major
    public let labels: [Int]      // n
    public var count: Int { labels.count }

    /// `phase` shifts the points along the arms by a fraction of their spacing: 0.5 puts a held-out set between the
    /// training points.
    public init(pointsPerClass: Int, turns: Double = 1.5, noise: Double = 0.02, phase: Double = 0, seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        var x = [Double](), y = [Int]()
        for i in 0..<pointsPerClass {
            for c in 0..<2 {
                let t = 0.05 + 0.95 * (Double(i + 1) - phase) / Double(pointsPerClass)
                let angle = turns * 2 * Double.pi * t + Double(c) * Double.pi
                x.append(t * cos(angle) + noise * rng.nextNormal())
                x.append(t * sin(angle) + noise * rng.nextNormal())
                y.append(c)
            }
        }
        inputs = x
        labels = y
    }
}

/// The adding problem (Hochreiter and Schmidhuber 1997; Pascanu, Mikolov and Bengio 2013): each step of a
/// sequence carries (value uniform in [0, 1), marker); exactly two steps are marked, one in each half, and
/// the target is the sum of their values. Predicting the mean, 1, scores MSE 1/6.
public struct AddingProblem: Sendable {
    public let length: Int
    public let inputs: [Double]   // n × length × 2, row-major
    public let targets: [Double]  // n
    public var count: Int { targets.count }

    public init(sequences n: Int, length: Int, seed: UInt64) {
        precondition(length >= 2)
        var rng = SeededGenerator(seed: seed)
        var x = [Double](), y = [Double]()
        x.reserveCapacity(n * length * 2)
        for _ in 0..<n {
            let half = length / 2
            let first = Int(rng.next() % UInt64(half)), second = half + Int(rng.next() % UInt64(length - half))
            var sum = 0.0
            for t in 0..<length {
                let v = rng.nextUnit()
                let marked = t == first || t == second
                if marked { sum += v }
                x.append(v)
                x.append(marked ? 1 : 0)
            }
            y.append(sum)
        }
        inputs = x
        targets = y
        self.length = length
    }
}

/// A synthetic language: token frequencies follow a Zipf law (rank r has weight 1/r^exponent), and each token
/// is followed by one of a few successors (probabilities 0.7, 0.2, 0.1) drawn once by that law, so the next
/// token is predictable from the last one while rare tokens stay rare. Sequences start from a Zipf draw.
public struct ZipfLanguage: Sendable {
    public let vocabulary: Int
    public let length: Int
    /// n × length token ids.
    public let tokens: [Int]
    public var count: Int { tokens.count / length }
    /// The successors of each token.
    public let successors: [[Int]]

    public init(vocabulary: Int, sequences n: Int, length: Int, exponent: Double = 1.1, seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        let weights = (1...vocabulary).map { 1 / pow(Double($0), exponent) }
        let total = weights.reduce(0, +)
        var cumulative = [Double]()
        var running = 0.0
        for w in weights { running += w / total; cumulative.append(running) }
        func zipf() -> Int {
            let u = rng.nextUnit()
            return cumulative.firstIndex { u < $0 } ?? vocabulary - 1
        }
        successors = (0..<vocabulary).map { _ in (0..<3).map { _ in zipf() } }
        var out = [Int]()
        out.reserveCapacity(n * length)
        for _ in 0..<n {
            var token = zipf()
            for _ in 0..<length {
                out.append(token)
                let u = rng.nextUnit()
                token = successors[token][u < 0.7 ? 0 : u < 0.9 ? 1 : 2]
            }
        }
        self.vocabulary = vocabulary
        self.length = length
        tokens = out
    }

    /// The entropy (nats) of the tokens' empirical unigram distribution: the loss of the best model that
    /// ignores context.
    public var unigramEntropy: Double {
        var counts = [Int](repeating: 0, count: vocabulary)
        for t in tokens { counts[t] += 1 }
        let n = Double(tokens.count)
        return -counts.filter { $0 > 0 }.map { Double($0) / n }.map { $0 * log($0) }.reduce(0, +)
    }
}

