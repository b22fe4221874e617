/// The loss scaler of a run, parsed in one place from the words suite files and `--scaler` use: `none`,
/// `static:S` (a fixed scale S > 0, finite), or a dynamic scaler's name.
public enum LossScalerChoice: Sendable, Equatable, CustomStringConvertible {
    case none
    case fixed(Double)
    case dynamic(LossScalerKind)

    public init?(_ text: String) {
        if text == "none" {
            self = .none
        } else if text.hasPrefix("static:") {
            guard let s = Double(text.dropFirst(7)), s.isFinite, s > 0 else { return nil }
            self = .fixed(s)
        } else if let kind = LossScalerKind(rawValue: text) {
            self = .dynamic(kind)
        } else {
            return nil
        }
    }

    /// The words `init` accepts, for messages.
    public static var syntax: String { "none, static:SCALE, " + LossScalerKind.allCases.map(\.rawValue).joined(separator: ", ") }

    public var description: String {
        switch self {
        case .none: return "none"
        case .fixed(let s): return "static:\(s)"
        case .dynamic(let kind): return kind.rawValue
        }
    }

    /// The dynamic scaler, if it is one.
    public var kind: LossScalerKind? { if case .dynamic(let k) = self { return k } else { return nil } }

    /// The fixed scale, if it is one.
    public var fixedScale: Double? { if case .fixed(let s) = self { return s } else { return nil } }

    /// The scaler, with a dynamic scaler's options.
    public func make(_ options: LossScalerKind.Options) throws -> any LossScaler {
        switch self {
        case .none: return NoLossScaler()
        case .fixed(let s): return StaticLossScaler(scale: s)
        case .dynamic(let kind): return try kind.make(options)
        }
    }
}
