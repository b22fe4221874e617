/*
 * f32_norm.c: a 2-norm with a float accumulator for every dtype, as many hand-written GPU kernels do.
 *
 * Demonstrates a kernel that is good for Float16 and bfloat16 inputs (float has the range for their
 * squares) but too narrow for float and double ones: squares of elements above about 1.8e19 overflow, those
 * of elements below about 1e-19 lose bits to underflow (below about 4e-23 they vanish), and double inputs
 * lose their precision when converted to float.
 *
 * Build: cc -O2 -shared -fPIC -I include examples/kernels/f32_norm.c -o f32_norm.so -lm
 */
#include <math.h>

#include "precision_lab_kernel.h"

int f32_norm2(const void *x, int64_t n, int32_t dtype, double *out) {
    if (dtype < PLK_DTYPE_F16 || dtype > PLK_DTYPE_F64)
        return 1; /* unknown dtype */
    float acc = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        float v = (float)plk_load(x, i, dtype); /* exact for f16, bf16 and f32; rounds f64 */
        acc += v * v;
    }
    *out = sqrtf(acc);
    return 0;
}
