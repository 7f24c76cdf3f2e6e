/*
 * test_fixed_point.c - the TFLM/gemmlowp primitives: known values, edge cases (INT32_MIN
 * saturation, rounding ties of both signs), an independent 64-bit formulation on random
 * inputs, and the 6-instruction fast requantization of internal.h against the exact one.
 */
#include "internal.h"
#include "test_util.h"

/* floor((a * b + 2^30) / 2^31), i.e. round half toward +infinity, which is what gemmlowp's
 * "nudge, then truncate toward zero" amounts to (a negative tie such as -0.5 goes to 0);
 * saturating the single overflow case.  Floor division written without shifts of negatives. */
static int32_t srdhm_indep(int32_t a, int32_t b) {
  const int64_t v = (int64_t)a * (int64_t)b + ((int64_t)1 << 30);
  const int64_t d = (int64_t)1 << 31;
  int64_t q = v / d;
  if (v % d != 0 && v < 0) --q;
  if (q > INT32_MAX) return INT32_MAX;
  return (int32_t)q;
}

/* x / 2^e rounded half away from zero, on magnitudes. */
static int32_t rdbpot_indep(int32_t x, int e) {
  const int64_t v = x;
  const uint64_t m = v < 0 ? (uint64_t)(-v) : (uint64_t)v;
  const uint64_t q = e == 0 ? m : (m + ((uint64_t)1 << (e - 1))) >> e;
  return v < 0 ? (int32_t)(-(int64_t)q) : (int32_t)q;
}

static int32_t rand_i32(void) {
  switch (tt_rand() % 8) {
    case 0:
      return INT32_MIN;
    case 1:
      return INT32_MAX;
    case 2:
      return tt_rand_range(-1000, 1000);
    default:
      return (int32_t)tt_rand();
  }
}

static void test_known_values(void) {
  TT_CHECK_EQ_INT(tinytvm_srdhm(INT32_MIN, INT32_MIN), INT32_MAX);
  TT_CHECK_EQ_INT(tinytvm_srdhm(INT32_MIN, INT32_MAX), -INT32_MAX);
  TT_CHECK_EQ_INT(tinytvm_srdhm(INT32_MAX, INT32_MAX), INT32_MAX - 1);
  TT_CHECK_EQ_INT(tinytvm_srdhm(1 << 30, 1 << 30), 1 << 29);
  TT_CHECK_EQ_INT(tinytvm_srdhm(1, 1 << 30), 1);   /* 0.5 -> 1 (away from zero) */
  TT_CHECK_EQ_INT(tinytvm_srdhm(-1, 1 << 30), 0);  /* -0.5 -> 0: the nudge rounds ties up */
  TT_CHECK_EQ_INT(tinytvm_srdhm(-3, 1 << 30), -1); /* -1.5 -> -1 */
  TT_CHECK_EQ_INT(tinytvm_srdhm(3, 1 << 30), 2);   /* 1.5 -> 2 */
  TT_CHECK_EQ_INT(tinytvm_srdhm(3, 1 << 29), 1);   /* 0.75 -> 1 */
  TT_CHECK_EQ_INT(tinytvm_srdhm(-3, 1 << 28), 0);  /* -0.375 -> 0 */
  TT_CHECK_EQ_INT(tinytvm_rdbpot(3, 1), 2);
  TT_CHECK_EQ_INT(tinytvm_rdbpot(-3, 1), -2); /* -1.5 -> -2 */
  TT_CHECK_EQ_INT(tinytvm_rdbpot(-5, 2), -1); /* -1.25 -> -1 */
  TT_CHECK_EQ_INT(tinytvm_rdbpot(-6, 2), -2); /* -1.5 -> -2 */
  TT_CHECK_EQ_INT(tinytvm_rdbpot(6, 2), 2);   /* 1.5 -> 2 */
  TT_CHECK_EQ_INT(tinytvm_rdbpot(5, 2), 1);
  TT_CHECK_EQ_INT(tinytvm_rdbpot(INT32_MIN, 31), -1);
  TT_CHECK_EQ_INT(tinytvm_rdbpot(INT32_MAX, 31), 1);
  TT_CHECK_EQ_INT(tinytvm_rdbpot(-7, 0), -7);
  /* MultiplyByQuantizedMultiplier: 0.5 * 2^1 = 1, 0.5 * 2^-1 = 0.25 */
  TT_CHECK_EQ_INT(tinytvm_mbqm(100, 1 << 30, 1), 100);
  TT_CHECK_EQ_INT(tinytvm_mbqm(100, 1 << 30, -1), 25);
  TT_CHECK_EQ_INT(tinytvm_mbqm(-102, 1 << 30, -2), -13); /* -12.75 -> double rounding: -51 -> -13 */
  TT_CHECK_EQ_INT(tinytvm_mbqm(-6, 1 << 30, -1), -2);    /* -1.5 -> -2 */
  TT_CHECK_EQ_INT(tinytvm_mbqm(1 << 30, 1 << 30, 2), 0); /* x * 2^2 wraps to 0, as in TFLM */
  TT_CHECK_EQ_INT(tinytvm_mbqm(1 << 28, 1 << 30, 2), 1 << 29);
  TT_CHECK_EQ_INT(tinytvm_mbqm_smaller_than_one_exp(1000, 1518500250, -3), 88); /* 1000*0.7071/8 */
  TT_CHECK_EQ_INT(tinytvm_srmpot(1 << 29, 2), INT32_MAX);
  TT_CHECK_EQ_INT(tinytvm_srmpot(-(1 << 29), 2), INT32_MIN);
  TT_CHECK_EQ_INT(tinytvm_srmpot((1 << 29) - 1, 2), ((1 << 29) - 1) * 4);
  TT_CHECK_EQ_INT(tinytvm_srmpot(-5, -1), -3);
  TT_CHECK_EQ_INT(tinytvm_rounding_half_sum(3, 4), 4);
  TT_CHECK_EQ_INT(tinytvm_rounding_half_sum(-3, -4), -4);
  TT_CHECK_EQ_INT(tinytvm_rounding_half_sum(INT32_MAX, INT32_MAX), INT32_MAX);
  /* gemmlowp fixed-point functions at exactly representable points */
  TT_CHECK_EQ_INT(tinytvm_exp_on_negative_values(0, 5), INT32_MAX);
  TT_CHECK_EQ_INT(tinytvm_logistic_fp(0, 4), 1 << 30);
  TT_CHECK_EQ_INT(tinytvm_clz32(0), 32);
  TT_CHECK_EQ_INT(tinytvm_clz32(1), 31);
  TT_CHECK_EQ_INT(tinytvm_clz32(0x80000000u), 0);
}

static double fp_to_double(int32_t raw, int integer_bits) {
  return (double)raw / (double)(1u << (31 - integer_bits));
}

static void test_approximations(void) {
  int i;
  for (i = 0; i < 2000; ++i) {
    /* exp on Q5.26 in (-32, 0] */
    const int32_t a = -(int32_t)(tt_rand() & 0x7FFFFFFF);
    const double want = __builtin_exp(fp_to_double(a, 5));
    const double got = fp_to_double(tinytvm_exp_on_negative_values(a, 5), 0);
    TT_CHECK(got - want < 1e-6 && want - got < 1e-6, "exp(%ld): got %d want %d (x1e6)", (long)a,
             (int)(got * 1e6), (int)(want * 1e6));
  }
  for (i = 0; i < 2000; ++i) {
    /* 1 / (1 + x) for x in [0, 1) */
    const int32_t a = (int32_t)(tt_rand() & 0x7FFFFFFF);
    const double want = 1.0 / (1.0 + fp_to_double(a, 0));
    const double got = fp_to_double(tinytvm_one_over_one_plus_x_for_x_in_0_1(a), 0);
    TT_CHECK(got - want < 1e-7 && want - got < 1e-7, "1/(1+x) at %ld", (long)a);
  }
  for (i = 0; i < 2000; ++i) {
    /* logistic on Q4.27 */
    const int32_t a = (int32_t)tt_rand();
    const double want = 1.0 / (1.0 + __builtin_exp(-fp_to_double(a, 4)));
    const double got = fp_to_double(tinytvm_logistic_fp(a, 4), 0);
    TT_CHECK(got - want < 1e-6 && want - got < 1e-6, "logistic at %ld", (long)a);
  }
}

static void test_random_core(void) {
  int i;
  for (i = 0; i < 200000; ++i) {
    const int32_t a = rand_i32(), b = rand_i32();
    const int e = (int)(tt_rand() % 32);
    const int s = tt_rand_range(-31, 8);
    int32_t want;
    TT_CHECK(tinytvm_srdhm(a, b) == srdhm_indep(a, b), "srdhm(%ld, %ld)", (long)a, (long)b);
    TT_CHECK(tinytvm_rdbpot(a, e) == rdbpot_indep(a, e), "rdbpot(%ld, %d)", (long)a, e);
    want = rdbpot_indep(srdhm_indep(tinytvm_wrap_shl(a, s > 0 ? s : 0), b), s > 0 ? 0 : -s);
    TT_CHECK(tinytvm_mbqm(a, b, s) == want, "mbqm(%ld, %ld, %d)", (long)a, (long)b, s);
    if (tt_failures > 20) return;
  }
}

/* internal.h's branch-free requantization (SMMLAR form) must equal clamp(MBQM + zp) for every
 * accumulator whenever tt_rq_mode admits the channel. */
static int32_t rand_acc(void) {
  switch (tt_rand() % 6) {
    case 0:
      return INT32_MAX - (int32_t)(tt_rand() % 4);
    case 1:
      return INT32_MIN + (int32_t)(tt_rand() % 4);
    case 2:
      return (int32_t)(tt_rand() % 2000001u) - 1000000;
    case 3:
      /* around multiples of 2^30 (wrapping arithmetic) */
      return (int32_t)((tt_rand() % 4u) * 0x40000000u + tt_rand() % 5u - 2u);
    default:
      return (int32_t)tt_rand() >> (tt_rand() % 31);
  }
}

static void test_uniform_requant(void) {
  int i;
  for (i = 0; i < 300000; ++i) {
    tinytvm_requant_params rq;
    int32_t mult = (int32_t)(0x40000000u + (tt_rand() & 0x3FFFFFFFu));
    int32_t shift = tt_rand_range(-31, -1);
    const int32_t zp = tt_rand_zp();
    int32_t acc = rand_acc(), want, got, mode;
    tt_rqu u;
    switch (tt_rand() % 16) {
      case 0: /* dead channel */
        mult = 0;
        shift = 0;
        break;
      case 1:
        mult = 0x40000000;
        break;
      case 2:
        mult = 0x7FFFFFFF;
        break;
      default:
        break;
    }
    rq.multiplier = &mult;
    rq.shift = &shift;
    rq.output_zp = zp;
    rq.act_min = -128;
    rq.act_max = 127;
    rq.per_tensor = 1;
    mode = tt_rq_mode(&rq, 1, NULL, (uint32_t)(acc < 0 ? -(int64_t)acc : acc));
    if (shift == -1 && (acc > 0x7FFFFD00 || acc < -0x7FFFFD00)) {
      TT_CHECK(mode == TT_RQ_EXACT, "s = -1 near overflow must be exact");
      continue;
    }
    TT_CHECK(mode == TT_RQ_UNIFORM, "mode mult %ld shift %ld", (long)mult, (long)shift);
    u = tt_rqu_channel(&rq, 0);
    want = tinytvm_mbqm(acc, mult, shift) + zp;
    want = want < -128 ? -128 : (want > 127 ? 127 : want);
    got = tt_rqu_s8(acc, u.m2, u.rsm1, 2 * zp + 1);
    TT_CHECK(got == want, "uniform requant acc %ld mult %ld shift %ld zp %ld: %ld != %ld",
             (long)acc, (long)mult, (long)shift, (long)zp, (long)got, (long)want);
    TT_CHECK(tt_rq_out(acc, &rq, 0, mode) == want, "tt_rq_out");
    if (tt_failures > 20) return;
  }
  {
    /* The mode check itself. */
    tinytvm_requant_params rq;
    int32_t mult[2] = {1 << 30, 1 << 30}, shift[2] = {-5, -1}, bias[2] = {0, 1 << 29};
    rq.multiplier = mult;
    rq.shift = shift;
    rq.per_tensor = 0;
    TT_CHECK(tt_rq_mode(&rq, 2, bias, 1u << 20) == TT_RQ_UNIFORM, "uniform");
    TT_CHECK(tt_rq_mode(&rq, 2, bias, 0x7FFFFFFFu - (1u << 29)) == TT_RQ_EXACT, "s=-1 bound");
    shift[1] = 0;
    TT_CHECK(tt_rq_mode(&rq, 2, NULL, 0) == TT_RQ_EXACT, "no right shift");
    shift[1] = 2;
    TT_CHECK(tt_rq_mode(&rq, 2, NULL, 0) == TT_RQ_EXACT, "left shift");
    shift[1] = -3;
    mult[1] = 12345;
    TT_CHECK(tt_rq_mode(&rq, 2, NULL, 0) == TT_RQ_EXACT, "unnormalized multiplier");
    mult[1] = 0;
    shift[1] = 0;
    TT_CHECK(tt_rq_mode(&rq, 2, NULL, 0) == TT_RQ_UNIFORM, "zero multiplier");
    shift[1] = -32;
    mult[1] = 1 << 30;
    TT_CHECK(tt_rq_mode(&rq, 2, NULL, 0) == TT_RQ_EXACT, "shift below -31");
  }
}

int main(void) {
  tt_seed(42);
  test_known_values();
  test_approximations();
  test_random_core();
  test_uniform_requant();
  return tt_report("test_fixed_point");
}
