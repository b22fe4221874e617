import CMPFR
import Formats
import Synchronization

/// MPFR's rounding directions.
public enum RoundingMode: Sendable, Hashable {
    case toNearestOrEven, towardZero, up, down, awayFromZero
    @usableFromInline var mpfr: mpfr_rnd_t {
        switch self {
        case .toNearestOrEven: return MPFR_RNDN
        case .towardZero: return MPFR_RNDZ
        case .up: return MPFR_RNDU
        case .down: return MPFR_RNDD
        case .awayFromZero: return MPFR_RNDA
        }
    }
}

/// One MPFR number, owned: initialised with a precision, cleared in deinit.
@usableFromInline final class MPFRStorage: @unchecked Sendable {
    // @unchecked: the value is only mutated while uniquely referenced (BigFloat's copy-on-write), and MPFR
    // reads of a shared value from several threads are safe.
    @usableFromInline let pointer: UnsafeMutablePointer<__mpfr_struct>

    static let live = Atomic<Int>(0)

    @usableFromInline init(precision: Int) {
        pointer = .allocate(capacity: 1)
        mpfr_init2(pointer, mpfr_prec_t(BigFloat.clampPrecision(precision)))
        MPFRStorage.live.add(1, ordering: .relaxed)
    }
    deinit {
        mpfr_clear(pointer)
        pointer.deallocate()
        MPFRStorage.live.subtract(1, ordering: .relaxed)
    }
    @usableFromInline var precision: Int { Int(shim_mpfr_get_prec(pointer)) }
}

/// An arbitrary-precision binary floating-point number: a value type over MPFR.
///
/// Copies share storage until one of them is mutated (copy-on-write), so no two values ever alias a mutable
/// MPFR number. Every operation states the precision of its result (by default the larger of its operands')
/// and rounds once, correctly, in the given direction. Values of every `FloatFormat` convert in exactly.
///
/// MPFR's exponent range is per thread in Debian's thread-safe build (checked by `BigFloat.isThreadSafe`);
/// BigFloat itself always works in MPFR's default, widest range, and format emulation narrows it only inside
/// `FormatEmulator`'s serialized scope.
public struct BigFloat: Sendable {
    @usableFromInline var storage: MPFRStorage

    /// Whether the linked MPFR keeps its state (exponent range, flags, caches) per thread.
    public static let isThreadSafe: Bool = mpfr_buildopt_tls_p() != 0

    /// How many MPFR values are alive in the process (for leak checks).
    public static var liveCount: Int { MPFRStorage.live.load(ordering: .relaxed) }

    static func clampPrecision(_ p: Int) -> Int { min(max(p, 1), Int(shim_mpfr_prec_max())) }

    @usableFromInline init(storage: MPFRStorage) { self.storage = storage }

    /// Creates a value of the given precision by running an MPFR function on fresh storage.
    @inlinable static func make(precision: Int, _ body: (UnsafeMutablePointer<__mpfr_struct>) -> Void) -> BigFloat {
        let storage = MPFRStorage(precision: precision)
        body(storage.pointer)
        return BigFloat(storage: storage)
    }

    /// Read access to the MPFR value, for algorithms that call MPFR directly.
    @inlinable public func withUnsafeMPFR<R>(_ body: (UnsafePointer<__mpfr_struct>) throws -> R) rethrows -> R {
        try withExtendedLifetime(storage) { try body(UnsafePointer(storage.pointer)) }
    }

    /// Write access; copies first when the storage is shared.
    @inlinable public mutating func withUnsafeMutableMPFR<R>(_ body: (UnsafeMutablePointer<__mpfr_struct>) throws -> R) rethrows -> R {
        if !isKnownUniquelyReferenced(&storage) {
            let copy = MPFRStorage(precision: storage.precision)
            _ = shim_mpfr_set(copy.pointer, storage.pointer, MPFR_RNDN)
            storage = copy
        }
        return try withExtendedLifetime(storage) { try body(storage.pointer) }
    }

    // MARK: Construction

    /// Zero with the given precision.
    public init(precision: Int = 53) {
        self = BigFloat.make(precision: precision) { mpfr_set_zero($0, 1) }
    }

    /// `value` rounded to `precision` bits (exact when precision >= 53).
    public init(_ value: Double, precision: Int = 53, rounding: RoundingMode = .toNearestOrEven) {
        self = BigFloat.make(precision: precision) { _ = mpfr_set_d($0, value, rounding.mpfr) }
    }

    /// The exact value of any lab scalar, at its format's precision.
    public init<T: LabScalar>(exactly value: T) {
        self.init(Double(value), precision: max(T.format.precision, 1))
    }

    /// m * 2^e exactly.
    public init(significand m: Int, exponent e: Int, precision: Int = 64) {
        self = BigFloat.make(precision: precision) { p in
            _ = shim_mpfr_set_ui_2exp(p, UInt(m.magnitude), e, MPFR_RNDN)
            if m < 0 { _ = mpfr_neg(p, p, MPFR_RNDN) }
        }
    }

    /// The exact value of a bit pattern of `format`, decoded from its fields independently of `FloatFormat.decode`.
    public init(bitPattern bits: UInt64, format: FloatFormat) {
        let w = format.bitWidth, t = format.significandBitCount
        let negative = (bits >> UInt64(w - 1)) & 1 == 1
        let field = Int((bits >> UInt64(t)) & ((1 << UInt64(format.exponentBitCount)) - 1))
        let mantissa = Int(bits & ((1 << UInt64(t)) - 1))
        let topField = (1 << format.exponentBitCount) - 1
        let special: Bool = switch format.specialEncoding {
        case .ieee: field == topField
        case .finiteWithNaN: field == topField && mantissa == (1 << t) - 1
        }
        if special {
            self = BigFloat.make(precision: format.precision) { p in
                if format.specialEncoding == .ieee && mantissa == 0 { mpfr_set_inf(p, negative ? -1 : 1) } else { mpfr_set_nan(p) }
            }
            return
        }
        let m = field == 0 ? mantissa : mantissa + (1 << t)
        let e = (field == 0 ? 1 : field) - format.exponentBias - t
        self.init(significand: negative ? -m : m, exponent: e, precision: format.precision)
        if negative && m == 0 { self = -self }
    }

    /// Parses a decimal or hexadecimal (`0x1.8p-3`) string, correctly rounded; nil if it is not a number.
    public init?(_ text: String, precision: Int = 53, rounding: RoundingMode = .toNearestOrEven) {
        var ok = false
        let value = BigFloat.make(precision: precision) { p in
            ok = text.withCString { mpfr_set_str(p, $0, 0, rounding.mpfr) } == 0
        }
        guard ok else { return nil }
        self = value
    }

    public static var nan: BigFloat { make(precision: 2) { mpfr_set_nan($0) } }
    public static func infinity(negative: Bool = false) -> BigFloat { make(precision: 2) { mpfr_set_inf($0, negative ? -1 : 1) } }

    // MARK: Properties

    public var precision: Int { storage.precision }
    public var isNaN: Bool { withUnsafeMPFR { shim_mpfr_nan_p($0) != 0 } }
    public var isInfinite: Bool { withUnsafeMPFR { shim_mpfr_inf_p($0) != 0 } }
    public var isZero: Bool { withUnsafeMPFR { shim_mpfr_zero_p($0) != 0 } }
    public var isFinite: Bool { !isNaN && !isInfinite }
    public var isNegative: Bool { withUnsafeMPFR { shim_mpfr_signbit($0) != 0 } }
    /// The exponent e with |x| in [2^e, 2^(e+1)) (IEEE convention, one less than MPFR's); nil for 0, inf, NaN.
    public var exponent: Int? {
        guard isFinite, !isZero else { return nil }
        return withUnsafeMPFR { Int(shim_mpfr_get_exp($0)) } - 1
    }

    // MARK: Conversion out

    /// Correctly rounded to Double, subnormals included (mpfr_get_d rounds into the subnormal range).
    public func doubleValue(rounding: RoundingMode = .toNearestOrEven) -> Double {
        withUnsafeMPFR { mpfr_get_d($0, rounding.mpfr) }
    }
    /// Correctly rounded to Float.
    public func floatValue(rounding: RoundingMode = .toNearestOrEven) -> Float {
        withUnsafeMPFR { mpfr_get_flt($0, rounding.mpfr) }
    }

    /// Correctly rounded (to nearest, ties to even) to `format`, subnormals and overflow included, returned as
    /// the exact Double value of the result. Overflow gives ±inf, or NaN in formats without inf; with
    /// `saturating`, ±largest finite.
    public func rounded(to format: FloatFormat, saturating: Bool = false) -> Double {
        FormatEmulator.with(format) { $0.round(self, saturating: saturating) }
    }

    /// The correctly rounded result in `format` as a bit pattern.
    public func bitPattern(in format: FloatFormat, saturating: Bool = false) -> UInt64 {
        format.encode(rounded(to: format, saturating: saturating))
    }

    /// Scientific notation with `digits` significant decimal digits (0: as many as needed to round-trip).
    public func formatted(digits: Int = 0) -> String {
        withUnsafeMPFR { p in
            if shim_mpfr_nan_p(p) != 0 { return "nan" }
            if shim_mpfr_inf_p(p) != 0 { return shim_mpfr_signbit(p) != 0 ? "-inf" : "inf" }
            var exp: mpfr_exp_t = 0
            guard let raw = mpfr_get_str(nil, &exp, 10, digits, p, MPFR_RNDN) else { return "?" }
            defer { mpfr_free_str(raw) }
            var mantissa = String(cString: raw)
            let negative = mantissa.hasPrefix("-")
            if negative { mantissa.removeFirst() }
            if shim_mpfr_zero_p(p) != 0 { return negative ? "-0" : "0" }
            var text = String(mantissa.prefix(1))
            let rest = mantissa.dropFirst().reversed().drop(while: { $0 == "0" }).reversed()
            if !rest.isEmpty { text += "." + String(rest) }
            let e = Int(exp) - 1
            if e != 0 { text += "e\(e)" }
            return (negative ? "-" : "") + text
        }
    }

    /// The exact value in C99 hexadecimal notation (`0x1.8p-3`), as `Double`'s `%a` would print it.
    public var hexString: String {
        withUnsafeMPFR { p in
            if shim_mpfr_nan_p(p) != 0 { return "nan" }
            if shim_mpfr_inf_p(p) != 0 { return shim_mpfr_signbit(p) != 0 ? "-inf" : "inf" }
            let sign = shim_mpfr_signbit(p) != 0 ? "-" : ""
            if shim_mpfr_zero_p(p) != 0 { return sign + "0x0p+0" }
            // Binary digits d1 d2 ... with value 0.d1d2... * 2^exp; d1 = 1 is the leading digit.
            var exp: mpfr_exp_t = 0
            guard let raw = mpfr_get_str(nil, &exp, 2, 0, p, MPFR_RNDN) else { return "?" }
            defer { mpfr_free_str(raw) }
            var bits = Array(String(cString: raw).utf8.filter { $0 == UInt8(ascii: "0") || $0 == UInt8(ascii: "1") }.dropFirst())
            while bits.last == UInt8(ascii: "0") { bits.removeLast() }
            while bits.count % 4 != 0 { bits.append(UInt8(ascii: "0")) }
            let digits = stride(from: 0, to: bits.count, by: 4).map { i in
                String(bits[i..<i + 4].reduce(0) { $0 * 2 + Int($1 - UInt8(ascii: "0")) }, radix: 16)
            }.joined()
            let e = Int(exp) - 1
            return sign + "0x1" + (digits.isEmpty ? "" : "." + digits) + "p" + (e >= 0 ? "+" : "") + String(e)
        }
    }
}

extension BigFloat: CustomStringConvertible {
    public var description: String { formatted() }
}

/// Facts about the linked MPFR.
public enum MPFRInfo {
    public static var version: String { String(cString: mpfr_get_version()) }
}
