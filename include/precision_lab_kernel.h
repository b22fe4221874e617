/*
 * precision_lab_kernel.h: the C ABI of PrecisionLab's kernel harness, and helpers for kernels written to it.
 *
 * The harness tests a reduction kernel against exact, correctly rounded references. A kernel is a function
 *
 *     int NAME(const void *x, int64_t n, int32_t dtype, double *out);
 *
 * exported from a shared library (built e.g. with `cc -O2 -shared -fPIC -I include kernel.c -o kernel.so`).
 *
 *   x      n contiguous little-endian elements of the case's dtype. For the two-input reduction `dot`, x points
 *          at 2n elements: the n elements of x followed by the n elements of y.
 *   n      the number of elements (per input); may be 0.
 *   dtype  one of the PLK_DTYPE_* codes below.
 *   out    where the kernel stores its result. The harness rounds *out to nearest into the case's dtype before
 *          comparing it, as a framework returning a tensor of the input's dtype would.
 *
 * Return 0 on success. Any nonzero return is a kernel error: the case fails with that code.
 *
 * Row-wise cases (a 2-D input reduced along its last axis) call the kernel once per row, with that row's
 * pointer and length. The harness loads the library with dlopen and calls the kernel in a child process, so
 * a crash is reported as a failed case with its signal instead of stopping the run.
 *
 * The helpers below are portable C99 built on bit manipulation (no _Float16, no libm); they assume a
 * little-endian host with IEEE 754 float and double, as the input layout does.
 */
#ifndef PRECISION_LAB_KERNEL_H
#define PRECISION_LAB_KERNEL_H

#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PLK_DTYPE_F16 1  /* IEEE binary16: 1 sign, 5 exponent, 10 fraction bits */
#define PLK_DTYPE_BF16 2 /* bfloat16: the upper half of a binary32 */
#define PLK_DTYPE_F32 3  /* IEEE binary32 */
#define PLK_DTYPE_F64 4  /* IEEE binary64 */

static inline double plk__double_from_bits(uint64_t bits) {
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

static inline uint64_t plk__bits_of_double(double d) {
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    return bits;
}

/* 2^e, for e in double's normal exponent range -1022..1023. */
static inline double plk__pow2(int e) { return plk__double_from_bits((uint64_t)(e + 1023) << 52); }

/* A binary16 value, exactly (every binary16 value is a double; NaN payloads are kept). */
static inline double plk_f16_to_double(uint16_t h) {
    uint64_t sign = (uint64_t)(h >> 15) << 63;
    unsigned exponent = (h >> 10) & 0x1f, fraction = h & 0x3ff;
    if (exponent == 0x1f) /* inf or NaN */
        return plk__double_from_bits(sign | UINT64_C(0x7ff0000000000000) | (uint64_t)fraction << 42);
    if (exponent == 0) { /* zero or subnormal: fraction * 2^-24, exact */
        double magnitude = (double)fraction * 0x1p-24;
        return sign ? -magnitude : magnitude;
    }
    return plk__double_from_bits(sign | (uint64_t)(exponent - 15 + 1023) << 52 | (uint64_t)fraction << 42);
}

/* A bfloat16 value, exactly: its bits are the upper half of a binary32. */
static inline double plk_bf16_to_double(uint16_t b) {
    uint32_t bits = (uint32_t)b << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* Element i of x as an exact double; NaN for an unknown dtype. memcpy because x need not be aligned. */
static inline double plk_load(const void *x, int64_t i, int32_t dtype) {
    const unsigned char *bytes = (const unsigned char *)x;
    switch (dtype) {
    case PLK_DTYPE_F16:
    case PLK_DTYPE_BF16: {
        uint16_t h;
        memcpy(&h, bytes + 2 * i, sizeof h);
        return dtype == PLK_DTYPE_F16 ? plk_f16_to_double(h) : plk_bf16_to_double(h);
    }
    case PLK_DTYPE_F32: {
        float f;
        memcpy(&f, bytes + 4 * i, sizeof f);
        return f;
    }
    case PLK_DTYPE_F64: {
        double d;
        memcpy(&d, bytes + 8 * i, sizeof d);
        return d;
    }
    default:
        return plk__double_from_bits(UINT64_C(0x7ff8000000000000));
    }
}

/*
 * x rounded to nearest, ties to even, into a binary format with `fraction_bits` stored fraction bits, smallest
 * normal exponent `min_exponent` and largest exponent `max_exponent`, returned as a double. Integer arithmetic
 * on the bits, so neither the FPU's rounding mode nor -ffast-math can change the result.
 */
static inline double plk__round_to_format(double x, int fraction_bits, int min_exponent, int max_exponent) {
    uint64_t bits = plk__bits_of_double(x);
    uint64_t sign = bits & UINT64_C(0x8000000000000000);
    int biased = (int)((bits >> 52) & 0x7ff);
    if (biased == 0x7ff) /* inf stays inf, NaN stays NaN */
        return x;
    if (biased == 0) /* zero, or a double subnormal: far below half the smallest subnormal of these formats */
        return plk__double_from_bits(sign);
    int exponent = biased - 1023;
    uint64_t significand = (bits & UINT64_C(0x000fffffffffffff)) | UINT64_C(1) << 52; /* x = sig * 2^(e-52) */
    /* The result's quantum is 2^quantum_exponent; below the normal range it is the subnormal quantum. */
    int quantum_exponent = (exponent > min_exponent ? exponent : min_exponent) - fraction_bits;
    int shift = quantum_exponent - (exponent - 52); /* >= 52 - fraction_bits */
    if (shift > 53) /* x < half a quantum: rounds to zero */
        return plk__double_from_bits(sign);
    uint64_t quanta = significand >> shift;
    uint64_t remainder = significand & ((UINT64_C(1) << shift) - 1), half = UINT64_C(1) << (shift - 1);
    if (remainder > half || (remainder == half && (quanta & 1)))
        quanta++; /* may carry into the next binade: still exact below */
    double magnitude = (double)quanta * plk__pow2(quantum_exponent); /* exact: quanta < 2^(fraction_bits+2) */
    if (magnitude >= plk__pow2(max_exponent + 1)) /* rounded past the largest finite value */
        magnitude = plk__double_from_bits(UINT64_C(0x7ff0000000000000));
    return sign ? -magnitude : magnitude;
}

/* x rounded to the nearest binary16 (ties to even), as a double: 65520 and above overflow to inf. */
static inline double plk_round_to_f16(double x) { return plk__round_to_format(x, 10, -14, 15); }

/* x rounded to the nearest bfloat16 (ties to even), as a double. */
static inline double plk_round_to_bf16(double x) { return plk__round_to_format(x, 7, -126, 127); }

#ifdef __cplusplus
}
#endif

#endif /* PRECISION_LAB_KERNEL_H */
