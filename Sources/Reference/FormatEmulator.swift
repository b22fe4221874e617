import CMPFR
import Formats
#if canImport(Glibc)
import Glibc
#endif

/// Correctly rounded arithmetic in any `FloatFormat`, computed by MPFR: the operation is rounded to p bits with
/// the format's exponent range set (mpfr_set_emin/emax), then `mpfr_subnormalize` re-rounds results in the
/// subnormal range using the ternary value, so there is exactly one rounding, as IEEE 754 requires.
///
/// The exponent range is process state in MPFR (thread-local in thread-safe builds, global otherwise), so it is
/// changed only inside `FormatEmulator.with`, which holds a process-wide recursive lock, and only for the
/// duration of each operation: the body of a scope, nested scopes and BigFloat arithmetic in it all run in the
/// range that was in force. Use one scope for a batch of operations: entering it costs a lock and four mpfr_init2.
public final class FormatEmulator {
    public let format: FloatFormat
    private let x, y, z, r: UnsafeMutablePointer<__mpfr_struct>
    private var closed = false

    nonisolated(unsafe) private static var mutex: pthread_mutex_t = {
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_RECURSIVE))
        var mutex = pthread_mutex_t()
        pthread_mutex_init(&mutex, &attributes)
        return mutex
    }()

    /// Runs `body` with an emulator of `format`. Scopes may nest (also for other formats), and BigFloat
    /// arithmetic inside the body is unaffected. The emulator must not escape the body.
    public static func with<R>(_ format: FloatFormat, _ body: (FormatEmulator) throws -> R) rethrows -> R {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        let emulator = FormatEmulator(format)
        defer { emulator.close() }
        return try body(emulator)
    }

    /// Runs `body` with MPFR's exponent range widened to the most it allows (about ±2^62, against ±2^30 by
    /// default), under the same lock; the range in force before is restored after. For references that compute
    /// |x|^p without scaling, to check the scaled algorithms against. Emulators used inside still narrow the
    /// range to their format for each of their operations.
    public static func withWidestExponentRange<R>(_ body: () throws -> R) rethrows -> R {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        let (emin, emax) = (shim_mpfr_emin(), shim_mpfr_emax())
        _ = shim_mpfr_set_emin(shim_mpfr_emin_min())
        _ = shim_mpfr_set_emax(shim_mpfr_emax_max())
        defer {
            _ = shim_mpfr_set_emin(emin)
            _ = shim_mpfr_set_emax(emax)
        }
        return try body()
    }

    private init(_ format: FloatFormat) {
        self.format = format
        func make() -> UnsafeMutablePointer<__mpfr_struct> {
            let p = UnsafeMutablePointer<__mpfr_struct>.allocate(capacity: 1)
            mpfr_init2(p, mpfr_prec_t(format.precision))
            return p
        }
        (x, y, z, r) = (make(), make(), make(), make())
    }

    /// Runs one MPFR computation in the format's exponent range, then restores the range that was in force.
    private func narrowed<T>(_ body: () -> T) -> T {
        precondition(!closed, "a FormatEmulator was used outside its FormatEmulator.with scope")
        let (emin, emax) = (shim_mpfr_emin(), shim_mpfr_emax())
        _ = shim_mpfr_set_emin(format.mpfrEmin)
        _ = shim_mpfr_set_emax(format.mpfrEmax)
        defer {
            _ = shim_mpfr_set_emin(emin)
            _ = shim_mpfr_set_emax(emax)
        }
        return body()
    }

    private func close() {
        closed = true
        for p in [x, y, z, r] {
            mpfr_clear(p)
            p.deallocate()
        }
    }

    /// Finishes an operation whose p-bit result is in `r` with ternary value `t`: subnormal re-rounding, then
    /// the FN encoding's overflow (values above the largest finite that MPFR's range still holds become NaN).
    private func finish(_ t: Int32, saturating: Bool = false) -> Double {
        _ = mpfr_subnormalize(r, t, MPFR_RNDN)
        let value = mpfr_get_d(r, MPFR_RNDN)  // exact: r fits in a Double
        if value.magnitude > format.largestFinite {
            if saturating { return value < 0 ? -format.largestFinite : format.largestFinite }
            if !format.hasInfinity { return value < 0 ? -Double.nan : .nan }
        }
        return value
    }

    private func load(_ p: UnsafeMutablePointer<__mpfr_struct>, _ value: Double) {
        if value.isNaN { mpfr_set_nan(p); return }
        _ = mpfr_subnormalize(p, mpfr_set_d(p, value, MPFR_RNDN), MPFR_RNDN)
    }

    /// `value` correctly rounded to the format.
    public func round(_ value: Double, saturating: Bool = false) -> Double {
        if value.isNaN { return value.sign == .minus ? -Double.nan : .nan }
        if value.isInfinite && (saturating || !format.hasInfinity) {
            return saturating ? (value < 0 ? -format.largestFinite : format.largestFinite) : (value < 0 ? -Double.nan : .nan)
        }
        return narrowed { finish(mpfr_set_d(r, value, MPFR_RNDN), saturating: saturating) }
    }

    /// A BigFloat (which lives in MPFR's default range) correctly rounded to the format.
    public func round(_ value: BigFloat, saturating: Bool = false) -> Double {
        if value.isNaN { return value.isNegative ? -Double.nan : .nan }
        if value.isInfinite { return round(value.isNegative ? -Double.infinity : .infinity, saturating: saturating) }
        // Round to p bits in the wide range, then let mpfr_check_range apply the narrow one using the ternary value.
        precondition(!closed, "a FormatEmulator was used outside its FormatEmulator.with scope")
        let t = value.withUnsafeMPFR { shim_mpfr_set(r, $0, MPFR_RNDN) }
        return narrowed { finish(mpfr_check_range(r, t, MPFR_RNDN), saturating: saturating) }
    }

    /// The square root of a BigFloat (in MPFR's default range), correctly rounded to the format: the root is
    /// rounded to p bits in the wide range, then the narrow range and subnormal rounding are applied with its
    /// ternary value, which gives the single correct rounding.
    public func roundSquareRoot(of value: BigFloat) -> Double {
        if value.isNaN || (value.isNegative && !value.isZero) { return .nan }
        if value.isInfinite { return round(Double.infinity) }
        precondition(!closed, "a FormatEmulator was used outside its FormatEmulator.with scope")
        let t = value.withUnsafeMPFR { mpfr_sqrt(r, $0, MPFR_RNDN) }
        return narrowed { finish(mpfr_check_range(r, t, MPFR_RNDN)) }
    }

    /// a / b for BigFloats (in MPFR's default range), correctly rounded to the format (as `roundSquareRoot`).
    public func roundQuotient(of a: BigFloat, by b: BigFloat) -> Double {
        precondition(!closed, "a FormatEmulator was used outside its FormatEmulator.with scope")
        let t = a.withUnsafeMPFR { x in b.withUnsafeMPFR { y in mpfr_div(r, x, y, MPFR_RNDN) } }
        if shim_mpfr_nan_p(r) != 0 { return .nan }
        return narrowed { finish(mpfr_check_range(r, t, MPFR_RNDN)) }
    }

    /// The k-th root of a non-negative BigFloat, correctly rounded to the format (as `roundSquareRoot`).
    public func roundRoot(of value: BigFloat, degree k: Int) -> Double {
        precondition(k >= 1)
        if value.isNaN || (value.isNegative && !value.isZero) { return .nan }
        if value.isInfinite { return round(Double.infinity) }
        precondition(!closed, "a FormatEmulator was used outside its FormatEmulator.with scope")
        let t = value.withUnsafeMPFR { mpfr_rootn_ui(r, $0, UInt(k), MPFR_RNDN) }
        return narrowed { finish(mpfr_check_range(r, t, MPFR_RNDN)) }
    }

    /// Operands are first rounded to the format (a no-op for values of the format).
    public func add(_ a: Double, _ b: Double) -> Double {
        narrowed { load(x, a); load(y, b); return finish(mpfr_add(r, x, y, MPFR_RNDN)) }
    }
    public func subtract(_ a: Double, _ b: Double) -> Double {
        narrowed { load(x, a); load(y, b); return finish(mpfr_sub(r, x, y, MPFR_RNDN)) }
    }
    public func multiply(_ a: Double, _ b: Double) -> Double {
        narrowed { load(x, a); load(y, b); return finish(mpfr_mul(r, x, y, MPFR_RNDN)) }
    }
    public func divide(_ a: Double, _ b: Double) -> Double {
        narrowed { load(x, a); load(y, b); return finish(mpfr_div(r, x, y, MPFR_RNDN)) }
    }
    public func squareRoot(_ a: Double) -> Double { narrowed { load(x, a); return finish(mpfr_sqrt(r, x, MPFR_RNDN)) } }
    /// a * b + c with one rounding.
    public func fma(_ a: Double, _ b: Double, _ c: Double) -> Double {
        narrowed { load(x, a); load(y, b); load(z, c); return finish(mpfr_fma(r, x, y, z, MPFR_RNDN)) }
    }
}
