/*
 * test_activations.c - int8 SOFTMAX and LOGISTIC.
 *
 * The kernels are built from the fixed-point primitives verified in test_fixed_point.c; here
 * they are checked against real-valued softmax / logistic (within one output step, the
 * accuracy of TFLM's fixed-point algorithms) and for exact structural properties (saturation
 * regions, the zero point, rows that are all equal).
 */
#include <math.h>

#include "test_util.h"
#include "tinytvm/activations.h"

#define N 256
static int8_t g_in[N * 4], g_out[N * 4];

/* TFLM SoftmaxPrepare for int8 (kScaledDiffIntegerBits = 5), computed in double. */
static void softmax_prepare(double beta, double input_scale, tinytvm_softmax_params* p) {
  double m = beta * input_scale * (double)(1 << 26);
  int e2;
  double q;
  int64_t qf;
  if (m > 2147483647.0) m = 2147483647.0;
  q = frexp(m, &e2);
  qf = (int64_t)round(q * 2147483648.0);
  if (qf == ((int64_t)1 << 31)) {
    qf /= 2;
    ++e2;
  }
  p->input_multiplier = (int32_t)qf;
  p->input_left_shift = e2;
  p->diff_min = -(int32_t)floor(31.0 * (double)(1 << 26) / ldexp(1.0, e2));
}

static void test_softmax(void) {
  int r;
  for (r = 0; r < 30; ++r) {
    tinytvm_softmax_params p;
    const double scale = 0.01 + (tt_rand() % 1000) * 0.0005;
    const int32_t depth = tt_rand_range(1, N), outer = tt_rand_range(1, 4);
    int32_t i, c;
    softmax_prepare(1.0, scale, &p);
    p.outer = outer;
    p.depth = depth;
    tt_fill_s8(g_in, (size_t)outer * depth, -128, 127);
    tinytvm_softmax_s8(&p, g_in, g_out);
    for (i = 0; i < outer; ++i) {
      double sum = 0, mx = -1e9;
      for (c = 0; c < depth; ++c) mx = fmax(mx, g_in[i * depth + c] * scale);
      for (c = 0; c < depth; ++c) sum += exp(g_in[i * depth + c] * scale - mx);
      for (c = 0; c < depth; ++c) {
        const double want = exp(g_in[i * depth + c] * scale - mx) / sum * 256.0 - 128.0;
        const double got = g_out[i * depth + c];
        const double w = want > 127 ? 127 : want;
        TT_CHECK(fabs(got - w) <= 1.0, "softmax row %d col %d: got %d want %d/100", (int)i,
                 (int)c, (int)got, (int)(w * 100));
      }
    }
  }
  {
    /* A row of equal values: every output is 1/depth exactly representable for depth 4. */
    tinytvm_softmax_params p;
    const int8_t in[4] = {7, 7, 7, 7};
    const int8_t want[4] = {-64, -64, -64, -64}; /* 0.25 * 256 - 128 */
    softmax_prepare(1.0, 0.05, &p);
    p.outer = 1;
    p.depth = 4;
    tinytvm_softmax_s8(&p, in, g_out);
    TT_CHECK_BYTES(g_out, want, 4, "uniform softmax");
  }
}

static void test_logistic(void) {
  int r;
  for (r = 0; r < 20; ++r) {
    tinytvm_logistic_params p;
    const double scale = 0.005 + (tt_rand() % 1000) * 0.0002;
    const double m = scale * (double)(1 << 27);
    int e2;
    const double q = frexp(m, &e2);
    int32_t i;
    p.size = N;
    p.input_zp = tt_rand_zp();
    p.input_multiplier = (int32_t)round(q * 2147483648.0);
    p.input_left_shift = e2;
    /* CalculateInputRadius(4, e2, 31) */
    p.input_range_radius = (int32_t)floor(15.0 * (double)(1 << 27) / ldexp(1.0, e2));
    for (i = 0; i < N; ++i) g_in[i] = (int8_t)(i - 128);
    tinytvm_logistic_s8(&p, g_in, g_out);
    for (i = 0; i < N; ++i) {
      const double x = (g_in[i] - p.input_zp) * scale;
      double want = 256.0 / (1.0 + exp(-x)) - 128.0;
      want = want > 127 ? 127 : want;
      TT_CHECK(fabs(g_out[i] - want) <= 1.0, "logistic x=%d got %d", (int)g_in[i], (int)g_out[i]);
      if (g_in[i] == p.input_zp) TT_CHECK_EQ_INT(g_out[i], 0);
    }
  }
}

int main(void) {
  tt_seed(21);
  test_softmax();
  test_logistic();
  return tt_report("test_activations");
}
