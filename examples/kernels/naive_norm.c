/*
 * naive_norm.c: the textbook 2-norm, computed entirely in the input's own format.
 *
 * Demonstrates the failure the harness exists to catch: the sum of squares is accumulated left to right in
 * the input's format, so on Float16 data whose squares add up past 65504 (elements near 256, say) it
 * overflows to inf although every element and the true norm are finite, and long sums absorb small squares.
 *
 * Build: cc -O2 -shared -fPIC -I include examples/kernels/naive_norm.c -o naive_norm.so -lm
 */
#include <math.h>

#include "precision_lab_kernel.h"

/* Each product and sum must be rounded on its own: a fused multiply-add would be a different kernel. (Clang
 * honours this pragma; GCC contracts only when targeting FMA hardware, where -ffp-contract=off is needed.) */
#pragma STDC FP_CONTRACT OFF

/*
 * Float16 and bfloat16 arithmetic emulated in double: each operation is done in double, then rounded to the
 * format. Double has at least 2p+2 bits for both (p = 11, 8), so the two roundings give exactly the format's
 * own correctly rounded +, *, sqrt (double rounding is harmless there), and double's range holds every result.
 */
static double half_norm(const void *x, int64_t n, int32_t dtype, double (*round_to_format)(double)) {
    double acc = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double v = plk_load(x, i, dtype);
        acc = round_to_format(acc + round_to_format(v * v));
    }
    return round_to_format(sqrt(acc));
}

int naive_norm2(const void *x, int64_t n, int32_t dtype, double *out) {
    switch (dtype) {
    case PLK_DTYPE_F16:
        *out = half_norm(x, n, dtype, plk_round_to_f16);
        return 0;
    case PLK_DTYPE_BF16:
        *out = half_norm(x, n, dtype, plk_round_to_bf16);
        return 0;
    case PLK_DTYPE_F32: {
        float acc = 0.0f;
        for (int64_t i = 0; i < n; i++) {
            float v = (float)plk_load(x, i, dtype);
            acc += v * v;
        }
        *out = sqrtf(acc);
        return 0;
    }
    case PLK_DTYPE_F64: {
        double acc = 0.0;
        for (int64_t i = 0; i < n; i++) {
            double v = plk_load(x, i, dtype);
            acc += v * v;
        }
        *out = sqrt(acc);
        return 0;
    }
    default:
        return 1; /* unknown dtype */
    }
}
