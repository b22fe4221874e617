#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one number formatter of the lab's tables, reports and command-line output. Every spelling handles the
/// non-finite values the same way: "inf", "-inf", "nan".
public enum Figures {
    /// "inf", "-inf" or "nan"; nil for a finite value.
    public static func nonFinite(_ x: Double) -> String? {
        if x.isNaN { return "nan" }
        if x.isInfinite { return x < 0 ? "-inf" : "inf" }
        return nil
    }

    /// The shortest text that reads back as the same Double (17 significant digits at most).
    public static func exact(_ x: Double) -> String { nonFinite(x) ?? x.description }

    /// The shortest round-trip text without a trailing ".0", with powers of two 2^k whose k is outside
    /// `plain` written 2^k (2^-24, 2^127): how format constants and loss scales read. Zero is "0".
    public static func constant(_ x: Double, plain: ClosedRange<Int> = -6...16) -> String {
        if let text = nonFinite(x) { return text }
        if x > 0, x.significandWidth == 0, !plain.contains(Int(x.exponent)) { return "2^\(x.exponent)" }
        return x.description.hasSuffix(".0") ? String(x.description.dropLast(2)) : x.description
    }

    /// Three significant digits: 0.0123, 4.56, 789, 1.23e6, 4.50e-4 (an exponent below 1e-3 and from 1e6); whole
    /// numbers from 1000 to 1e6 in full (12345).
    public static func figure(_ x: Double) -> String {
        if let text = nonFinite(x) { return text }
        if x < 0 { return "-" + figure(-x) }
        if x == 0 { return "0" }
        if x >= 1e6 || x < 1e-3 {
            var e = Int(floor(log10(x)))
            var m = x / pow(10, Double(e))
            if (m * 100).rounded() >= 1000 { m /= 10; e += 1 }   // 9.996e6 reads 1.00e7, not 10.00e6
            return "\(fixed(m, 2))e\(e)"
        }
        let digits = max(0, 2 - Int(floor(log10(x))))
        return fixed(x, digits)
    }

    /// A number as the lab's users write it (and as the lab writes it): decimal or hex float, or inf, +inf,
    /// infinity, -inf, -infinity, nan, -nan (any case); nil for anything else.
    public static func parse(_ text: String) -> Double? {
        switch text.lowercased() {
        case "inf", "+inf", "infinity": return .infinity
        case "-inf", "-infinity": return -.infinity
        case "nan", "-nan": return .nan
        default: return text.isEmpty || text.contains(where: { $0 == " " || $0 == "_" }) ? nil : Double(text)
        }
    }

    /// An error in ulps: whole numbers in full below 10^6 (0, 3, 7341), else three significant digits (2.77e16).
    public static func ulps(_ u: Double) -> String { u.isFinite && u >= 1e6 ? figure(u) : constant(u) }

    /// `digits` digits after the point, rounded half away from zero (no exponent).
    public static func fixed(_ x: Double, _ digits: Int) -> String {
        if let text = nonFinite(x) { return text }
        var text = String(Int((x * pow(10, Double(digits))).rounded()))
        if digits > 0 {
            let negative = text.hasPrefix("-")
            if negative { text.removeFirst() }
            while text.count <= digits { text = "0" + text }
            text.insert(".", at: text.index(text.endIndex, offsetBy: -digits))
            if negative { text = "-" + text }
        }
        return text
    }

    /// C's `%.<digits>g`: `digits` significant digits, the shorter of fixed and exponent form.
    public static func significant(_ x: Double, _ digits: Int) -> String {
        if let text = nonFinite(x) { return text }
        return printf("%.*g", Int32(digits), x)
    }

    /// C's `snprintf` of a finite number (a short result).
    static func printf(_ format: String, _ arguments: CVarArg...) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        let count = buffer.withUnsafeMutableBufferPointer { b in withVaList(arguments) { vsnprintf(b.baseAddress, b.count, format, $0) } }
        return String(decoding: buffer.prefix(Int(count)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// An axis tick, exact for the 1-2-5 and power ticks charts draw: integers below 10^6 in full ("65536"), other
    /// values in [10^-3, 10^6) with up to four significant digits ("0.125"), the rest in exponent form with up to
    /// four ("2.5e-5", "1e7"). Never rounds a tick to a different number of digits' worth.
    public static func tick(_ x: Double) -> String {
        if let text = nonFinite(x) { return text }
        if x == 0 { return "0" }
        let a = x.magnitude
        if a >= 1e-3 && a < 1e6 { return x == x.rounded() ? String(Int(x)) : significant(x, 4) }
        let text = printf("%.3e", x)   // "2.500e-05"
        guard let e = text.firstIndex(of: "e") else { return text }
        var mantissa = String(text[..<e])
        while mantissa.hasSuffix("0") { mantissa.removeLast() }
        if mantissa.hasSuffix(".") { mantissa.removeLast() }
        return "\(mantissa)e\(Int(text[text.index(after: e)...]) ?? 0)"
    }

    /// A share as a percentage: whole numbers from 10% (and 0%), one decimal below; "—" when unknown.
    public static func percent(_ x: Double) -> String {
        guard x.isFinite else { return "—" }
        return fixed(x * 100, x * 100 >= 10 || x == 0 ? 0 : 1) + "%"
    }

    /// "step 4", "steps 1, 2, 3", the first six and "and N more", or "—" for none.
    public static func steps(_ s: [Int]) -> String {
        if s.isEmpty { return "—" }
        let shown = s.prefix(6).map(String.init).joined(separator: ", ")
        return (s.count == 1 ? "step " : "steps ") + shown + (s.count > 6 ? " and \(s.count - 6) more" : "")
    }
}
