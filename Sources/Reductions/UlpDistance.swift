import Formats

/// The lab's one measure of how far a computed value is from the exact one, in units in the last place of a
/// format: `check`, `clip`, the training telemetry and the norm evaluations all count with it.
///
/// Non-finite values: the same NaN/inf (any NaN against NaN, inf against the same inf) is 0 away; a finite value
/// and a non-finite one, or two different infinities, are infinitely far apart.
public enum UlpDistance {
    /// The error of `value` in ulps of `format` at the exact value: (value − exact) / ulp(exact), signed (positive
    /// above). `exact` is the correctly rounded reference (a Double; `value` any value, not necessarily of `format`).
    public static func error(_ value: Double, from exact: Double, in format: FloatFormat) -> Double {
        if let special = nonFinite(value, exact) { return special }
        if value == exact { return 0 }
        return (value - exact) / format.ulp(of: exact)
    }

    /// |error| when the error itself is known more precisely than `value - exact` in Double (from a wider
    /// reference): `error` in ulps of `format` at `exact`.
    public static func ulps(ofError error: Double, at exact: Double, in format: FloatFormat) -> Double {
        error / format.ulp(of: exact)
    }

    /// Steps between `value` rounded to `format` and `exact` (a value of `format`): how many adjacent values of the
    /// format lie between them, 0 when `value` rounds to `exact`. Counts across zero (−0 and +0 are one value)
    /// and never overflows.
    public static func steps(_ value: Double, from exact: Double, in format: FloatFormat) -> Double {
        if let special = nonFinite(value, exact) { return special }
        let a = format.encode(value, saturating: false), b = format.encode(exact, saturating: false)
        guard format.decode(a).isFinite, format.decode(b).isFinite else { return a == b ? 0 : .infinity }
        let sign = UInt64(1) << UInt64(format.bitWidth - 1)
        let ma = a & (sign - 1), mb = b & (sign - 1)
        // Magnitudes below 2^63: a sum of two fits in UInt64.
        let steps: UInt64 = (a & sign != 0) == (b & sign != 0) ? (ma > mb ? ma - mb : mb - ma) : ma + mb
        return Double(steps)
    }

    static func nonFinite(_ value: Double, _ exact: Double) -> Double? {
        if value.isNaN || exact.isNaN { return value.isNaN && exact.isNaN ? 0 : .infinity }
        if value.isInfinite || exact.isInfinite { return value == exact ? 0 : .infinity }
        return nil
    }
}
