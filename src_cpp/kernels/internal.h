/*
 * internal.h - helpers shared by the kernel implementations (not installed / not public).
 *
 * Two builds of every hot loop exist:
 *   - TINYTVM_DSP: Cortex-M4/M7/M33 with the DSP extension; uses SMLAD (two 16x16 MACs per
 *     instruction), SXTB16/SXTAB16 (sign-extend two bytes to two halfwords, optionally adding
 *     a packed offset) and SMMULR.
 *   - portable C99 otherwise (host tests, Cortex-M0/M3).
 * Both compute the same integer sums, so results are bit-identical; the unit tests run on
 * both (host and QEMU Cortex-M7).  Define TINYTVM_NO_DSP to force the portable code on ARM.
 */
#ifndef TINYTVM_KERNELS_INTERNAL_H_
#define TINYTVM_KERNELS_INTERNAL_H_

#include <stdint.h>
#include <string.h>

#include "tinytvm/common.h"
#include "tinytvm/fixed_point.h"

#if defined(__ARM_FEATURE_DSP) && !defined(TINYTVM_NO_DSP)
#define TINYTVM_DSP 1
#include <arm_acle.h>
#else
#define TINYTVM_DSP 0
#endif

#if defined(__GNUC__)
#define TT_INLINE static inline __attribute__((always_inline))
#define TT_NOINLINE __attribute__((noinline))
#define TT_LIKELY(x) __builtin_expect(!!(x), 1)
#define TT_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define TT_INLINE static inline
#define TT_NOINLINE
#define TT_LIKELY(x) (x)
#define TT_UNLIKELY(x) (x)
#endif

/* Unaligned-safe 32-bit loads/stores (compile to a single LDR/STR on ARMv7E-M, which allows
 * unaligned word access; memcpy keeps the C strict-aliasing rules happy). */
TT_INLINE uint32_t tt_load_u32(const void* p) {
  uint32_t v;
  memcpy(&v, p, sizeof v);
  return v;
}
TT_INLINE void tt_store_u32(void* p, uint32_t v) { memcpy(p, &v, sizeof v); }

/* Rotate right by 8; GCC folds it into the "ROR #8" operand of SXTB16/SXTAB16. */
TT_INLINE uint32_t tt_ror8(uint32_t x) { return (x >> 8) | (x << 24); }

#if TINYTVM_DSP
/* GCC 12's ACLE builtins do not fold a rotate into SXTB16/SXTAB16; spell it out. */
TT_INLINE uint32_t tt_sxtb16_ror8(uint32_t x) {
  uint32_t r;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
  return r;
}
TT_INLINE uint32_t tt_sxtab16_ror8(uint32_t a, uint32_t x) {
  uint32_t r;
  __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(x));
  return r;
}
/* Two words from a word-aligned pointer, post-incremented by 8 bytes (one LDRD). */
#define TT_LDRD_INC(lo, hi, ptr)                                          \
  __asm__("ldrd %0, %1, [%2], #8"                                          \
          : "=&r"(lo), "=&r"(hi), "+r"(ptr)                                \
          : "m"(*(const uint32_t(*)[2])(const void*)(ptr)))
#endif

TT_INLINE int32_t tt_clamp(int32_t x, int32_t lo, int32_t hi) {
  x = x < lo ? lo : x;
  return x > hi ? hi : x;
}

/* (a * b + 2^31) >> 32, i.e. SMMULR. */
TT_INLINE int32_t tt_smmulr(int32_t a, int32_t b) {
#if TINYTVM_DSP
  int32_t r;
  __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
  return r;
#else
  return (int32_t)(((int64_t)a * (int64_t)b + ((int64_t)1 << 31)) >> 32);
#endif
}

/* ---------------------------------------------------------------------------------------------
 * Fast requantization.
 *
 * TFLM's MultiplyByQuantizedMultiplier(acc, m, s) = RDBPOT(SRDHM(acc << ls, m), rs).  With
 * m >= 0 and acc << (ls + 1) representable in int32:
 *   SRDHM(x, m) = floor((x*m + 2^30) / 2^31)          (the "nudge" form is equivalent for x*m < 0)
 *               = floor((2x*m + 2^31) / 2^32) = SMMULR(2x, m)
 * and for rs >= 1, with y >= -(2^31 - 1) (true because |m| < 2^31):
 *   RDBPOT(y, rs) = ((t >> (rs - 1)) + 1) >> 1,  t = y - (y < 0)
 * (round half away from zero as "round half up of y - 1" for negative y).  Folding the zero
 * point into the final halving is exact because 2*zp is even.
 * So the whole requantization costs LSL, SMMULR, ADD, ASR, ADD, ASR (6 instructions) instead
 * of ~15.  tt_rq_prepare() checks once per kernel call that the accumulator bound keeps acc <<
 * (ls + 1) in range for every channel; otherwise the kernels use the exact general routine.
 * ------------------------------------------------------------------------------------------- */
typedef struct {
  int32_t mult;
  int32_t lsh1;   /* left shift + 1 (the SMMULR form needs the extra doubling) */
  int32_t rsh_m1; /* right shift - 1; -1 when there is no right shift */
} tt_rq_ch;

TT_INLINE tt_rq_ch tt_rq_channel(const tinytvm_requant_params* rq, int32_t c) {
  tt_rq_ch r;
  const int32_t i = rq->per_tensor ? 0 : c;
  const int32_t s = rq->shift[i];
  r.mult = rq->multiplier[i];
  r.lsh1 = (s > 0 ? s : 0) + 1;
  r.rsh_m1 = (s > 0 ? 0 : -s) - 1;
  return r;
}

/* Fast requant for a channel known to have a right shift (rsh_m1 >= 0); zp2p1 = 2 * zp + 1. */
TT_INLINE int32_t tt_rq_fast_rshift(int32_t acc, int32_t mult, int32_t lsh1, int32_t rsh_m1,
                                    int32_t zp2p1) {
  const int32_t y = tt_smmulr((int32_t)((uint32_t)acc << lsh1), mult);
  const int32_t t = y + (y >> 31);
  return ((t >> rsh_m1) + zp2p1) >> 1;
}

/* Fast requant + output zero point, before the activation clamp. */
TT_INLINE int32_t tt_rq_fast(int32_t acc, tt_rq_ch ch, int32_t output_zp) {
  if (ch.rsh_m1 >= 0) return tt_rq_fast_rshift(acc, ch.mult, ch.lsh1, ch.rsh_m1, 2 * output_zp + 1);
  return tt_smmulr((int32_t)((uint32_t)acc << ch.lsh1), ch.mult) + output_zp;
}

/* Exact general requant (any accumulator). */
TT_INLINE int32_t tt_rq_exact(int32_t acc, const tinytvm_requant_params* rq, int32_t c) {
  const int32_t i = rq->per_tensor ? 0 : c;
  return tinytvm_mbqm(acc, rq->multiplier[i], rq->shift[i]) + rq->output_zp;
}

/* Returns 1 if tt_rq_fast() is exact for every channel given |acc| <= max_abs_acc_without_bias
 * + |bias[c]|.  O(channels), called once per kernel invocation. */
int tt_rq_fast_ok(const tinytvm_requant_params* rq, int32_t channels, const int32_t* bias,
                  uint32_t max_abs_acc_without_bias);

/* Bound on |sum_k (x_k - x_zp) * (w_k - w_zp)| for int8 x, w and zero points in [-128, 127]:
 * |x - x_zp| <= 255 and |w - w_zp| <= 255.  Saturates instead of wrapping. */
TT_INLINE uint32_t tt_dot_bound(int32_t k) {
  const uint64_t b = (uint64_t)(k > 0 ? k : 0) * 65025u;
  return b > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)b;
}

#endif /* TINYTVM_KERNELS_INTERNAL_H_ */
