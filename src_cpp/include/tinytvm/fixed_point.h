/*
 * tinytvm/fixed_point.h - TFLite-Micro-exact fixed-point requantization primitives.
 *
 * These reproduce, bit for bit, the integer arithmetic TFLite Micro's reference kernels use:
 * gemmlowp's fixedpoint.h (SaturatingRoundingDoublingHighMul, RoundingDivideByPOT, the
 * exp/logistic/reciprocal approximations) and tensorflow/lite/kernels/internal/common.h
 * (MultiplyByQuantizedMultiplier in the default *double rounding* flavour TFLM ships, i.e. built
 * without TFLITE_SINGLE_ROUNDING).
 *
 * gemmlowp is C++ and leans on two's-complement wrap-around of signed int32 (a + b, -a, x << n),
 * which is undefined behaviour in C.  Every such operation here goes through the unsigned
 * helpers below, so the functions are clean under -fsanitize=undefined and still produce the
 * wrapped value gemmlowp gets on real hardware.
 *
 * Fixed-point values are plain int32_t "raw" values; the number of integer bits of a value is
 * carried by the caller (gemmlowp's FixedPoint<int32_t, N> template parameter becomes an int
 * argument where a function needs it).  Q-format reminder: FixedPoint<int32_t, N> represents
 * raw / 2^(31 - N).
 *
 * Pure C99, header-only (static inline), freestanding: only <stdint.h>.
 */
#ifndef TINYTVM_FIXED_POINT_H_
#define TINYTVM_FIXED_POINT_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Wrapping int32 arithmetic (defined behaviour; conversion of an out-of-range uint32 back to
 * int32 is implementation-defined in C99 and modulo-2^32 on every compiler we target).
 * ------------------------------------------------------------------------------------------- */
static inline int32_t tinytvm_wrap_add(int32_t a, int32_t b) {
  return (int32_t)((uint32_t)a + (uint32_t)b);
}
static inline int32_t tinytvm_wrap_sub(int32_t a, int32_t b) {
  return (int32_t)((uint32_t)a - (uint32_t)b);
}
static inline int32_t tinytvm_wrap_neg(int32_t a) { return (int32_t)(0u - (uint32_t)a); }
/* x * 2^n with wrap-around, 0 <= n <= 31 (TFLM writes this as x * (1 << n)). */
static inline int32_t tinytvm_wrap_shl(int32_t x, int n) { return (int32_t)((uint32_t)x << n); }

static inline int32_t tinytvm_min_i32(int32_t a, int32_t b) { return a < b ? a : b; }
static inline int32_t tinytvm_max_i32(int32_t a, int32_t b) { return a > b ? a : b; }
static inline int32_t tinytvm_clamp_i32(int32_t x, int32_t lo, int32_t hi) {
  return x < lo ? lo : (x > hi ? hi : x);
}

/* Count leading zeros of a 32-bit value; 32 for 0 (TFLM's CountLeadingZeros<uint32_t>). */
static inline int tinytvm_clz32(uint32_t x) {
#if defined(__GNUC__) || defined(__clang__)
  return x ? __builtin_clz(x) : 32;
#else
  int n = 0;
  if (x == 0) return 32;
  while (!(x & 0x80000000u)) {
    x <<= 1;
    ++n;
  }
  return n;
#endif
}

/* ---------------------------------------------------------------------------------------------
 * gemmlowp core
 * ------------------------------------------------------------------------------------------- */

/* SaturatingRoundingDoublingHighMul: round(a * b / 2^31), ties away from zero; the single
 * overflowing case a == b == INT32_MIN saturates to INT32_MAX. */
static inline int32_t tinytvm_srdhm(int32_t a, int32_t b) {
  if (a == b && a == INT32_MIN) return INT32_MAX;
  {
    const int64_t ab = (int64_t)a * (int64_t)b;
    const int64_t nudge = ab >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
    /* C division truncates toward zero, exactly like the C++ original. */
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
  }
}

/* RoundingDivideByPOT: x / 2^exponent rounded to nearest, ties away from zero; 0 <= exponent <= 31. */
static inline int32_t tinytvm_rdbpot(int32_t x, int exponent) {
  const int32_t mask = (int32_t)(((uint32_t)1 << exponent) - 1u);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  /* Arithmetic right shift of a negative value: implementation-defined in C99, arithmetic on
   * GCC/Clang/armcc (documented), which is what gemmlowp relies on as well. */
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* SaturatingRoundingMultiplyByPOT with a run-time exponent (gemmlowp's template version and
 * TFLM's SaturatingRoundingMultiplyByPOTParam agree): exponent > 0 is a saturating left shift,
 * exponent < 0 a rounding right shift. */
static inline int32_t tinytvm_srmpot(int32_t x, int exponent) {
  if (exponent == 0) return x;
  if (exponent < 0) return tinytvm_rdbpot(x, -exponent);
  {
    const int32_t threshold = (int32_t)(((uint32_t)1 << (31 - exponent)) - 1u);
    if (x > threshold) return INT32_MAX;
    if (x < -threshold) return INT32_MIN;
    return tinytvm_wrap_shl(x, exponent);
  }
}

/* gemmlowp RoundingHalfSum for int32: (a + b) / 2 rounded away from zero. */
static inline int32_t tinytvm_rounding_half_sum(int32_t a, int32_t b) {
  const int64_t sum = (int64_t)a + (int64_t)b;
  const int64_t sign = sum >= 0 ? 1 : -1;
  return (int32_t)((sum + sign) / 2);
}

/* ---------------------------------------------------------------------------------------------
 * TFLM requantization (tensorflow/lite/kernels/internal/common.{h,cc}, double rounding)
 *   multiplier: Q0.31 in [2^30, 2^31) (or 0), shift: > 0 left, < 0 right, as produced by
 *   tflite::QuantizeMultiplier.
 * ------------------------------------------------------------------------------------------- */
static inline int32_t tinytvm_mbqm(int32_t x, int32_t quantized_multiplier, int shift) {
  const int left_shift = shift > 0 ? shift : 0;
  const int right_shift = shift > 0 ? 0 : -shift;
  return tinytvm_rdbpot(tinytvm_srdhm(tinytvm_wrap_shl(x, left_shift), quantized_multiplier),
                        right_shift);
}

/* MultiplyByQuantizedMultiplierSmallerThanOneExp: left_shift <= 0. */
static inline int32_t tinytvm_mbqm_smaller_than_one_exp(int32_t x, int32_t quantized_multiplier,
                                                        int left_shift) {
  return tinytvm_rdbpot(tinytvm_srdhm(x, quantized_multiplier), -left_shift);
}

/* MultiplyByQuantizedMultiplierGreaterThanOne: left_shift >= 0. */
static inline int32_t tinytvm_mbqm_greater_than_one(int32_t x, int32_t quantized_multiplier,
                                                    int left_shift) {
  return tinytvm_srdhm(tinytvm_wrap_shl(x, left_shift), quantized_multiplier);
}

/* ---------------------------------------------------------------------------------------------
 * gemmlowp transcendental approximations (FixedPoint<int32_t, N> on raw values)
 * ------------------------------------------------------------------------------------------- */
#define TINYTVM_FP_ONE_Q0 INT32_MAX /* FixedPoint<int32_t, 0>::One() */

/* Rescale<dst>(FixedPoint<src>): change the number of integer bits, saturating/rounding. */
static inline int32_t tinytvm_fp_rescale(int32_t raw, int src_integer_bits, int dst_integer_bits) {
  return tinytvm_srmpot(raw, src_integer_bits - dst_integer_bits);
}

/* exp(a) for a in [-1/4, 0), Q0.31 in and out. */
static inline int32_t tinytvm_exp_on_interval_between_negative_one_quarter_and_0_excl(int32_t a) {
  const int32_t constant_term = 1895147668;     /* exp(-1/8) */
  const int32_t constant_1_over_3 = 715827883;  /* 1/3 */
  /* Taylor expansion around -1/8: x = a + 1/8 (1/8 in Q0.31 is 1 << 28). */
  const int32_t x = tinytvm_wrap_add(a, (int32_t)1 << 28);
  const int32_t x2 = tinytvm_srdhm(x, x);
  const int32_t x3 = tinytvm_srdhm(x2, x);
  const int32_t x4 = tinytvm_srdhm(x2, x2);
  const int32_t x4_over_4 = tinytvm_srmpot(x4, -2);
  const int32_t x4_over_24_plus_x3_over_6_plus_x2_over_2 = tinytvm_srmpot(
      tinytvm_wrap_add(tinytvm_srdhm(tinytvm_wrap_add(x4_over_4, x3), constant_1_over_3), x2), -1);
  return tinytvm_wrap_add(
      constant_term,
      tinytvm_srdhm(constant_term, tinytvm_wrap_add(x, x4_over_24_plus_x3_over_6_plus_x2_over_2)));
}

/* exp(a) for a <= 0 given in Q(integer_bits).(31-integer_bits); result in Q0.31.
 * integer_bits in [0, 29] (softmax uses 5, logistic 4). */
static inline int32_t tinytvm_exp_on_negative_values(int32_t a, int integer_bits) {
  const int fractional_bits = 31 - integer_bits;
  const int32_t one_quarter = (int32_t)1 << (fractional_bits - 2);
  const int32_t mask = one_quarter - 1;
  const int32_t a_mod_quarter_minus_one_quarter = (a & mask) - one_quarter;
  int32_t result = tinytvm_exp_on_interval_between_negative_one_quarter_and_0_excl(
      tinytvm_fp_rescale(a_mod_quarter_minus_one_quarter, integer_bits, 0));
  const int32_t remainder = tinytvm_wrap_sub(a_mod_quarter_minus_one_quarter, a);

  /* Barrel shifter: multiply by exp(-2^k) for every bit k of the remainder (k = -2 .. 4). */
  static const int32_t kMultipliers[7] = {1672461947, 1302514674, 790015084, 290630308,
                                          39332535,   720401,     242};
  int exponent;
  for (exponent = -2; exponent <= 4; ++exponent) {
    if (integer_bits > exponent) {
      const int shift_amount = fractional_bits + exponent;
      if (remainder & (int32_t)((uint32_t)1 << shift_amount)) {
        result = tinytvm_srdhm(result, kMultipliers[exponent + 2]);
      }
    }
  }
  if (integer_bits > 5) {
    const int32_t clamp = -(int32_t)((uint32_t)1 << (36 - integer_bits)); /* -32.0 */
    if (a < clamp) result = 0;
  }
  if (a == 0) result = TINYTVM_FP_ONE_Q0;
  return result;
}

/* 1 / (1 + a) for a in [0, 1), Q0.31 in and out (Newton-Raphson, 3 iterations). */
static inline int32_t tinytvm_one_over_one_plus_x_for_x_in_0_1(int32_t a) {
  const int32_t half_denominator = tinytvm_rounding_half_sum(a, TINYTVM_FP_ONE_Q0); /* Q0 */
  const int32_t constant_48_over_17 = 1515870810;      /* Q2 */
  const int32_t constant_neg_32_over_17 = -1010580540; /* Q2 */
  const int32_t one_q2 = (int32_t)1 << 29;
  int32_t x = tinytvm_wrap_add(constant_48_over_17,
                               tinytvm_srdhm(half_denominator, constant_neg_32_over_17)); /* Q2 */
  int i;
  for (i = 0; i < 3; ++i) {
    const int32_t half_denominator_times_x = tinytvm_srdhm(half_denominator, x);   /* Q2 */
    const int32_t one_minus = tinytvm_wrap_sub(one_q2, half_denominator_times_x);  /* Q2 */
    x = tinytvm_wrap_add(x, tinytvm_fp_rescale(tinytvm_srdhm(x, one_minus), 4, 2)); /* Q4 -> Q2 */
  }
  /* ExactMulByPot<-1> turns Q2 into Q1 without touching the raw value; then Rescale<0>. */
  return tinytvm_fp_rescale(x, 1, 0);
}

/* logistic(a) = 1 / (1 + exp(-a)) for any a in Q(integer_bits); result in Q0.31. */
static inline int32_t tinytvm_logistic_fp(int32_t a, int integer_bits) {
  const int positive = a > 0;
  const int32_t abs_input = positive ? a : tinytvm_wrap_neg(a);
  const int32_t result_if_positive = tinytvm_one_over_one_plus_x_for_x_in_0_1(
      tinytvm_exp_on_negative_values(tinytvm_wrap_neg(abs_input), integer_bits));
  const int32_t result_if_negative = tinytvm_wrap_sub(TINYTVM_FP_ONE_Q0, result_if_positive);
  if (a == 0) return (int32_t)1 << 30; /* one half */
  return positive ? result_if_positive : result_if_negative;
}

/* TFLM GetReciprocal: returns 1/x-ish scale (Q0.31) and the number of bits x is over one unit.
 * x > 0 in Q(x_integer_digits). */
static inline int32_t tinytvm_get_reciprocal(int32_t x, int x_integer_digits,
                                             int* num_bits_over_unit) {
  const int headroom_plus_one = tinytvm_clz32((uint32_t)x);
  int32_t shifted_sum_minus_one;
  *num_bits_over_unit = x_integer_digits - headroom_plus_one;
  /* headroom_plus_one is 32 only for x == 0, which callers never pass (guarded anyway). */
  shifted_sum_minus_one =
      headroom_plus_one >= 32
          ? INT32_MIN
          : (int32_t)(((uint32_t)x << headroom_plus_one) - ((uint32_t)1 << 31));
  return tinytvm_one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one);
}

/* ---------------------------------------------------------------------------------------------
 * Float helpers with TFLM semantics (TfLiteRound == std::round: half away from zero)
 * ------------------------------------------------------------------------------------------- */

/* roundf() without libm, exact for every float: x - trunc(x) is exact for |x| < 2^23 and floats
 * with |x| >= 2^23 are already integers. */
static inline float tinytvm_roundf(float x) {
  const float two23 = 8388608.0f;
  float t;
  float frac;
  if (!(x > -two23 && x < two23)) return x; /* integral, inf or NaN */
  t = (float)(int32_t)x;                    /* truncation toward zero */
  frac = x - t;
  if (frac >= 0.5f) t += 1.0f;
  if (frac <= -0.5f) t -= 1.0f;
  return t;
}

/* floorf() without libm (same exactness argument). */
static inline float tinytvm_floorf(float x) {
  const float two23 = 8388608.0f;
  float t;
  if (!(x > -two23 && x < two23)) return x;
  t = (float)(int32_t)x;
  if (t > x) t -= 1.0f;
  return t;
}

/* Saturating float -> int32 conversion of an already-integral float (TFLM casts directly, which
 * is undefined outside the int32 range; we saturate instead). */
static inline int32_t tinytvm_f2i_sat(float x) {
  if (x >= 2147483648.0f) return INT32_MAX;
  if (x < -2147483648.0f) return INT32_MIN;
  if (x != x) return 0;
  return (int32_t)x;
}

#ifdef __cplusplus
}
#endif

#endif /* TINYTVM_FIXED_POINT_H_ */
