#ifndef PRECISIONLAB_CMPFR_SHIM_H
#define PRECISIONLAB_CMPFR_SHIM_H
#include <stdio.h>
#include <mpfr.h>

/* MPFR defines several entry points as macros, which Swift does not import; these wrappers give Swift a
   function for each one it needs. */
static inline int shim_mpfr_sgn(mpfr_srcptr x) { return mpfr_sgn(x); }
static inline int shim_mpfr_signbit(mpfr_srcptr x) { return mpfr_signbit(x); }
static inline int shim_mpfr_nan_p(mpfr_srcptr x) { return mpfr_nan_p(x); }
static inline int shim_mpfr_inf_p(mpfr_srcptr x) { return mpfr_inf_p(x); }
static inline int shim_mpfr_zero_p(mpfr_srcptr x) { return mpfr_zero_p(x); }
static inline long shim_mpfr_get_prec(mpfr_srcptr x) { return (long)mpfr_get_prec(x); }
static inline long shim_mpfr_get_exp(mpfr_srcptr x) { return (long)mpfr_get_exp(x); }
static inline int shim_mpfr_set(mpfr_ptr r, mpfr_srcptr x, mpfr_rnd_t rnd) { return mpfr_set(r, x, rnd); }
static inline int shim_mpfr_cmp(mpfr_srcptr a, mpfr_srcptr b) { return mpfr_cmp(a, b); }
static inline int shim_mpfr_setsign(mpfr_ptr r, mpfr_srcptr x, int negative, mpfr_rnd_t rnd) {
    return mpfr_setsign(r, x, negative, rnd);
}
static inline long shim_mpfr_emin(void) { return (long)mpfr_get_emin(); }
static inline long shim_mpfr_emax(void) { return (long)mpfr_get_emax(); }
static inline int shim_mpfr_set_emin(long e) { return mpfr_set_emin((mpfr_exp_t)e); }
static inline int shim_mpfr_set_emax(long e) { return mpfr_set_emax((mpfr_exp_t)e); }
static inline long shim_mpfr_emin_min(void) { return (long)mpfr_get_emin_min(); }
static inline long shim_mpfr_emax_max(void) { return (long)mpfr_get_emax_max(); }
static inline long shim_mpfr_prec_max(void) { return (long)MPFR_PREC_MAX; }
static inline int shim_mpfr_set_ui_2exp(mpfr_ptr r, unsigned long m, long e, mpfr_rnd_t rnd) {
    return mpfr_set_ui_2exp(r, m, (mpfr_exp_t)e, rnd);
}
static inline int shim_mpfr_mul_2si(mpfr_ptr r, mpfr_srcptr x, long e, mpfr_rnd_t rnd) {
    return mpfr_mul_2si(r, x, e, rnd);
}
#endif
