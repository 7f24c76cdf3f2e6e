/*
 * internal.h - helpers shared by the kernel implementations (not installed / not public).
 *
 * Two builds of every hot loop exist:
 *   - TINYTVM_DSP: Cortex-M4/M7/M33 with the DSP extension; uses SMLAD (two 16x16 MACs per
 *     instruction), SXTB16/SXTAB16 (sign-extend two bytes to two halfwords, optionally adding
 *     a packed offset), PKHBT/PKHTB and SMMLAR.
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

/* Short copies / fills without a libc call (newlib's memcpy costs ~30 instructions for 9 bytes). */
TT_INLINE void tt_copy_small(void* dst, const void* src, int32_t n) {
  uint8_t* d = (uint8_t*)dst;
  const uint8_t* s = (const uint8_t*)src;
  for (; n >= 4; n -= 4, d += 4, s += 4) tt_store_u32(d, tt_load_u32(s));
  for (; n > 0; --n) *d++ = *s++;
}
TT_INLINE void tt_fill_small(void* dst, int32_t value, int32_t n) {
  uint8_t* d = (uint8_t*)dst;
  const uint32_t v = (uint32_t)(uint8_t)value * 0x01010101u;
  for (; n >= 4; n -= 4, d += 4) tt_store_u32(d, v);
  for (; n > 0; --n) *d++ = (uint8_t)value;
}

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
/* PKHBT a, b, LSL #16: (a.lo, b.lo); PKHTB a, b, ASR #16: (b.hi, a.hi) (low half first). */
TT_INLINE uint32_t tt_pkhbt16(uint32_t a, uint32_t b) {
  uint32_t r;
  __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
TT_INLINE uint32_t tt_pkhtb16(uint32_t a, uint32_t b) {
  uint32_t r;
  __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
#endif

/* Packed pair (-zp, -zp) for SXTAB16. */
TT_INLINE uint32_t tt_pack_offset(int32_t zp) {
  const uint32_t h = (uint32_t)(uint16_t)(int16_t)(-zp);
  return h | (h << 16);
}

TT_INLINE int32_t tt_clamp(int32_t x, int32_t lo, int32_t hi) {
  x = x < lo ? lo : x;
  return x > hi ? hi : x;
}

/* ---------------------------------------------------------------------------------------------
 * Branch-free requantization ("uniform" mode), exact for EVERY int32 accumulator.
 *
 * TFLM's MultiplyByQuantizedMultiplier(acc, m, s) with s <= -1 (no left shift) is
 * RDBPOT(SRDHM(acc, m), -s).  For m >= 0, SRDHM(a, m) = floor((a*m + 2^30) / 2^31) (the
 * "nudge" form rounds ties up for either sign) = floor((a * 2m + 2^31) / 2^32).  With
 * m in [2^30, 2^31), m2 = 2m - 2^32 fits in int32 (it is (int32)(m << 1)) and
 *     a * 2m = a * 2^32 + a * m2,  so  SRDHM(a, m) = SMMLAR(a, m2, a)
 * (SMMLAR d, n, m, a: d = (a * 2^32 + n * m + 2^31) >> 32 in 64-bit arithmetic): one
 * instruction, no range condition on a.  With rsm1 = -s - 1 = ~s >= 0 and y = SRDHM(a, m):
 *     RDBPOT(y, rs) + zp = (((y - (y < 0)) >> rsm1) + 2 * zp + 1) >> 1
 * (round half away from zero as "round half up of y - 1" for negative y; folding the zero
 * point into the final halving is exact because 2 * zp is even).  The final >> 1 is the shift
 * operand of SSAT, so the whole requantization + int8 saturation is SMMLAR, ADD (asr #31),
 * ASR, ADD, SSAT: 5 instructions.
 *
 * A zero multiplier (TFLite's QuantizeMultiplier(0) = (0, 0), e.g. dead channels) also fits:
 * m2 = 0 gives y = a and rsm1 = ~0, whose low byte 255 makes ASR (by register) return the sign
 * fill 0 / -1, after which the result is exactly output_zp.  The portable code reproduces
 * that ASR behaviour.  tt_rqu_ok() checks once per call that every channel is of one of these
 * two forms (and, for s == -1, that the sum with 2 * zp + 1 cannot overflow); otherwise the
 * kernels use tt_rq_exact().
 * ------------------------------------------------------------------------------------------- */
typedef struct {
  int32_t m2;   /* (int32)(multiplier << 1) */
  int32_t rsm1; /* ~shift = -shift - 1 */
} tt_rqu;

TT_INLINE tt_rqu tt_rqu_channel(const tinytvm_requant_params* rq, int32_t c) {
  tt_rqu r;
  const int32_t i = rq->per_tensor ? 0 : c;
  r.m2 = (int32_t)((uint32_t)rq->multiplier[i] << 1);
  r.rsm1 = ~rq->shift[i];
  return r;
}

/* (acc * 2^32 + a * b + 2^31) >> 32, i.e. SMMLAR. */
TT_INLINE int32_t tt_smmlar(int32_t a, int32_t b, int32_t acc) {
#if TINYTVM_DSP
  int32_t r;
  __asm__("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
  return r;
#else
  const int64_t v = (int64_t)acc * 4294967296LL + (int64_t)a * (int64_t)b + 2147483648LL;
  return (int32_t)(v >> 32); /* arithmetic shift (GCC/Clang/armcc) */
#endif
}

/* ASR by a register amount with the Arm semantics (amount = n & 255; >= 32 gives the sign). */
TT_INLINE int32_t tt_asr_reg(int32_t x, int32_t n) {
#if TINYTVM_DSP
  int32_t r;
  __asm__("asr %0, %1, %2" : "=r"(r) : "r"(x), "r"(n));
  return r;
#else
  uint32_t k = (uint32_t)n & 255u;
  return x >> (k > 31u ? 31u : k);
#endif
}

/* Uniform requantization + output zero point, saturated to [-128, 127] (before the activation
 * clamp).  zp2p1 = 2 * output_zp + 1. */
TT_INLINE int32_t tt_rqu_s8(int32_t acc, int32_t m2, int32_t rsm1, int32_t zp2p1) {
  const int32_t y = tt_smmlar(acc, m2, acc);
  const int32_t t = tinytvm_wrap_add(y, y >> 31);
  const int32_t v = tinytvm_wrap_add(tt_asr_reg(t, rsm1), zp2p1);
#if TINYTVM_DSP
  int32_t r;
  __asm__("ssat %0, #8, %1, asr #1" : "=r"(r) : "r"(v));
  return r;
#else
  return tt_clamp(v >> 1, -128, 127);
#endif
}

/* Exact general requant (any accumulator, any multiplier/shift). */
TT_INLINE int32_t tt_rq_exact(int32_t acc, const tinytvm_requant_params* rq, int32_t c) {
  const int32_t i = rq->per_tensor ? 0 : c;
  return tinytvm_mbqm(acc, rq->multiplier[i], rq->shift[i]) + rq->output_zp;
}

/* Requantization modes chosen once per kernel call. */
enum { TT_RQ_EXACT = 0, TT_RQ_UNIFORM = 1 };

/* TT_RQ_UNIFORM if tt_rqu_s8() is exact for every channel given |acc| <=
 * max_abs_acc_without_bias + |bias[c]|, else TT_RQ_EXACT.  O(channels). */
int32_t tt_rq_mode(const tinytvm_requant_params* rq, int32_t channels, const int32_t* bias,
                   uint32_t max_abs_acc_without_bias);

/* Requantize one accumulator of channel c in the given mode, clamp to [act_min, act_max]. */
TT_INLINE int8_t tt_rq_out(int32_t acc, const tinytvm_requant_params* rq, int32_t c,
                           int32_t mode) {
  int32_t v;
  if (mode == TT_RQ_UNIFORM) {
    const tt_rqu u = tt_rqu_channel(rq, c);
    v = tt_rqu_s8(acc, u.m2, u.rsm1, 2 * rq->output_zp + 1);
  } else {
    v = tt_rq_exact(acc, rq, c);
  }
  return (int8_t)tt_clamp(v, rq->act_min, rq->act_max);
}

/* Bound on |sum_k (x_k - x_zp) * (w_k - w_zp)| for int8 x, w and zero points in [-128, 127]:
 * |x - x_zp| <= 255 and |w - w_zp| <= 255.  Saturates instead of wrapping. */
TT_INLINE uint32_t tt_dot_bound(int32_t k) {
  const uint64_t b = (uint64_t)(k > 0 ? k : 0) * 65025u;
  return b > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)b;
}

/* Requantization of accumulator register R in inline assembly (the 5-instruction fast form, see
 * tt_rq_ch): R = sat8((SMMLAR(R, M, R) + sign fix) >> S + ZP). M holds multiplier << 1, S the right
 * shift - 1 and ZP the output zero point, all in registers. */
#define TT_ASM_REQUANT(R, M, S, ZP)                 \
  "  smmlar  " R ", " R ", " M ", " R "\n"          \
  "  add     " R ", " R ", " R ", asr #31\n"        \
  "  asr     " R ", " R ", " S "\n"                 \
  "  add     " R ", " R ", " ZP "\n"                \
  "  ssat    " R ", #8, " R ", asr #1\n"

#endif /* TINYTVM_KERNELS_INTERNAL_H_ */
