/// A fault injected at chosen steps of a run.
public struct Fault: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        /// The batch's inputs multiplied by `magnitude` (default 100); rare tokens for the token task.
        case spikeBatch = "spike-batch"
        /// Wrong targets: spirals' labels flipped, the adding problem's targets negated and multiplied by
        /// `magnitude` (default 10), the token task's inputs replaced by its rarest tokens.
        case corruptLabels = "corrupt-labels"
        /// One gradient element (the first of the first parameter) set to inf, or NaN, after backward.
        case gradientInf = "gradient-inf"
        case gradientNaN = "gradient-nan"
        /// The learning rate multiplied by `magnitude` (default 100) for the step.
        case learningRateSpike = "lr-spike"
        /// Inputs multiplied by `magnitude` (default 1e5): first-layer activations past Float16's 65504.
        case activationOverflow = "activation-overflow"

        public var defaultMagnitude: Double {
            switch self {
            case .spikeBatch, .learningRateSpike: return 100
            case .corruptLabels: return 10
            case .activationOverflow: return 1e5
            case .gradientInf, .gradientNaN: return 1
            }
        }
    }

    public var kind: Kind
    public var steps: [Int]
    public var magnitude: Double

    public init(_ kind: Kind, steps: [Int], magnitude: Double? = nil) {
        self.kind = kind
        self.steps = steps
        self.magnitude = magnitude ?? kind.defaultMagnitude
    }

    /// How a fault is written, for messages (the one parser is `init?(_:)`).
    public static var syntax: String { "KIND@STEP[,STEP...][xMAGNITUDE] with KIND one of " + Kind.allCases.map(\.rawValue).joined(separator: ", ") }

    /// `KIND@STEP[,STEP...][xMAGNITUDE]`, e.g. `spike-batch@150,400x50`, `gradient-nan@90`.
    public init?(_ text: String) {
        let parts = text.split(separator: "@", maxSplits: 1).map(String.init)
        guard parts.count == 2, let kind = Kind(rawValue: parts[0]) else { return nil }
        let stepsAndMagnitude = parts[1].split(separator: "x", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        // Every comma-separated field must be a step: "spike-batch@2," and "@2,,3" are not faults.
        let fields = stepsAndMagnitude[0].split(separator: ",", omittingEmptySubsequences: false)
        let steps = fields.compactMap { Int($0) }
        guard !steps.isEmpty, steps.count == fields.count, steps.allSatisfy({ $0 >= 0 }) else { return nil }
        var magnitude: Double?
        if stepsAndMagnitude.count == 2 {
            guard let m = Double(stepsAndMagnitude[1]), m.isFinite, m > 0 else { return nil }
            magnitude = m
        }
        self.init(kind, steps: steps, magnitude: magnitude)
    }

    public var description: String {
        let m = magnitude == magnitude.rounded() && abs(magnitude) < 1e15 ? String(Int(magnitude)) : "\(magnitude)"
        return "\(kind.rawValue)@\(steps.map(String.init).joined(separator: ","))" + (magnitude == kind.defaultMagnitude ? "" : "x\(m)")
    }
}
