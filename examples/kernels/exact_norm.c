/*
 * exact_norm.c: a correctly rounded 2-norm, from an exact sum of squares (MPFR).
 *
 * Demonstrates a kernel that passes every case: each square is exact at 106 bits, the squares are added
 * exactly at a precision wide enough for their exponent span, and the square root of that exact sum is
 * rounded once, to nearest even, into the case's format (subnormals and overflow included).
 *
 * Build: cc -O2 -shared -fPIC -I include examples/kernels/exact_norm.c -o exact_norm.so -lmpfr -lgmp
 */
#include <math.h>
#include <mpfr.h>

#include "precision_lab_kernel.h"

/* A binary format as MPFR emulates it: values m * 2^e with 0.5 <= |m| < 1 and emin <= e <= emax, and
 * mpfr_subnormalize for the subnormals (the smallest subnormal is 2^(emin - 1)). */
struct format {
    mpfr_prec_t precision;
    mpfr_exp_t emin, emax;
};

static int format_of(int32_t dtype, struct format *format) {
    switch (dtype) {
    case PLK_DTYPE_F16: *format = (struct format){11, -23, 16}; return 1;
    case PLK_DTYPE_BF16: *format = (struct format){8, -132, 128}; return 1;
    case PLK_DTYPE_F32: *format = (struct format){24, -148, 128}; return 1;
    case PLK_DTYPE_F64: *format = (struct format){53, -1073, 1024}; return 1;
    default: return 0;
    }
}

/* Bits needed to write n in binary: the sum of n terms below 2^top is below 2^(top + bit_length(n)). */
static mpfr_prec_t bit_length(int64_t n) {
    mpfr_prec_t bits = 0;
    for (; n > 0; n >>= 1)
        bits++;
    return bits;
}

int exact_norm2(const void *x, int64_t n, int32_t dtype, double *out) {
    struct format format;
    if (!format_of(dtype, &format))
        return 1; /* unknown dtype */

    /* The squares of doubles span 2^-2148 .. 2^2048, beyond any format's range: the sum and the square root
     * are computed in MPFR's widest exponent range, and the format's range is set only to round the result. */
    mpfr_exp_t old_emin = mpfr_get_emin(), old_emax = mpfr_get_emax();
    mpfr_set_emin(mpfr_get_emin_min());
    mpfr_set_emax(mpfr_get_emax_max());

    mpfr_t value, square, sum, root;
    mpfr_init2(value, 53);
    mpfr_init2(square, 106); /* a 53-bit significand squared: exact */

    /* Pass 1: NaN and inf decide the result alone; otherwise find the exponent span of the squares. A nonzero
     * x_i = m * 2^e (0.5 <= |m| < 1, 53-bit m) has x_i^2 < 2^(2e), a multiple of 2^(2e - 106). */
    int saw_nan = 0, saw_inf = 0, saw_nonzero = 0;
    mpfr_exp_t top = 0, bottom = 0;
    for (int64_t i = 0; i < n && !saw_nan; i++) {
        double v = plk_load(x, i, dtype);
        if (isnan(v)) {
            saw_nan = 1;
        } else if (isinf(v)) {
            saw_inf = 1;
        } else if (v != 0.0) {
            mpfr_set_d(value, v, MPFR_RNDN);
            mpfr_exp_t e = mpfr_get_exp(value);
            if (!saw_nonzero || 2 * e > top)
                top = 2 * e;
            if (!saw_nonzero || 2 * e - 106 < bottom)
                bottom = 2 * e - 106;
            saw_nonzero = 1;
        }
    }

    int status = 0;
    if (saw_nan) {
        *out = NAN;
    } else if (saw_inf) {
        *out = INFINITY;
    } else if (!saw_nonzero) {
        *out = 0.0;
    } else {
        /* Pass 2: every partial sum is a multiple of 2^bottom below 2^(top + bit_length(n)), so at this
         * precision every addition is exact (a nonzero ternary value would be a bug here: reported as 2). */
        mpfr_init2(sum, top + bit_length(n) - bottom);
        mpfr_set_zero(sum, 1);
        for (int64_t i = 0; i < n; i++) {
            double v = plk_load(x, i, dtype);
            if (v == 0.0)
                continue;
            mpfr_set_d(value, v, MPFR_RNDN);
            mpfr_sqr(square, value, MPFR_RNDN);
            if (mpfr_add(sum, sum, square, MPFR_RNDN) != 0)
                status = 2;
        }

        /* Round the root to the format's precision in the wide range, keeping the ternary value (the sign of
         * the rounding error); then, in the format's range, mpfr_check_range turns an exponent above emax into
         * inf and mpfr_subnormalize rounds a subnormal result again to its fewer bits, using the ternary value
         * so that the two roundings together equal one correct rounding. */
        mpfr_init2(root, format.precision);
        int ternary = mpfr_sqrt(root, sum, MPFR_RNDN);
        mpfr_set_emin(format.emin);
        mpfr_set_emax(format.emax);
        ternary = mpfr_check_range(root, ternary, MPFR_RNDN);
        mpfr_subnormalize(root, ternary, MPFR_RNDN);
        *out = mpfr_get_d(root, MPFR_RNDN); /* exact: every value of these formats is a double */
        mpfr_clear(root);
        mpfr_clear(sum);
    }

    mpfr_clear(square);
    mpfr_clear(value);
    mpfr_set_emin(old_emin);
    mpfr_set_emax(old_emax);
    return status;
}
