/*
 * test_quantize.c - QUANTIZE (float -> int8), DEQUANTIZE and int8 requantization.
 */
#include <math.h>

#include "test_util.h"
#include "tinytvm/quantize.h"

static void test_quantize(void) {
  const float in[10] = {0.0f, 0.25f, -0.25f, 0.75f, -0.75f, 1e9f, -1e9f, 12.3f, -0.2499f, 0.125f};
  /* scale 0.5: x / s = 0, 0.5, -0.5, 1.5, -1.5 (ties away from zero), huge, ... */
  const int8_t want[10] = {3, 4, 2, 5, 1, 127, -128, 28, 3, 3};
  int8_t out[10];
  int i;
  tinytvm_quantize_f32_s8(in, out, 10, 0.5f, 3);
  TT_CHECK_BYTES(out, want, 10, "quantize");
  for (i = 0; i < 1000; ++i) {
    const float x = (float)((int32_t)tt_rand() % 100000) / 997.0f;
    const float s = 0.001f + (float)(tt_rand() % 1000) * 0.001f;
    const int32_t zp = tt_rand_zp();
    int8_t q;
    int32_t ref = (int32_t)roundf(x / s) + zp;
    ref = ref < -128 ? -128 : (ref > 127 ? 127 : ref);
    tinytvm_quantize_f32_s8(&x, &q, 1, s, zp);
    TT_CHECK_EQ_INT(q, ref);
  }
}

static void test_dequantize(void) {
  int8_t in[256];
  float out[256];
  const float fscale = 0.0123f;
  int i;
  for (i = 0; i < 256; ++i) in[i] = (int8_t)(i - 128);
  tinytvm_dequantize_s8_f32(in, out, 256, (double)fscale, -7);
  for (i = 0; i < 256; ++i) {
    const float want = (float)((double)fscale * (double)(in[i] + 7));
    TT_CHECK(out[i] == want, "dequantize %d", i);
  }
}

static void test_requantize(void) {
  int8_t in[256], out[256], ref[256];
  int r, i;
  for (i = 0; i < 256; ++i) in[i] = (int8_t)(i - 128);
  for (r = 0; r < 20; ++r) {
    const int32_t mult = (int32_t)(0x40000000u + (tt_rand() & 0x3FFFFFFFu));
    const int32_t shift = tt_rand_range(-4, 2);
    const int32_t izp = tt_rand_zp(), ozp = tt_rand_zp();
    for (i = 0; i < 256; ++i) {
      int32_t v = tinytvm_mbqm(in[i] - izp, mult, shift) + ozp;
      ref[i] = (int8_t)(v < -128 ? -128 : (v > 127 ? 127 : v));
    }
    tinytvm_requantize_s8(in, out, 256, izp, ozp, mult, shift);
    TT_CHECK_BYTES(out, ref, 256, "requantize %d", r);
  }
}

int main(void) {
  tt_seed(8);
  test_quantize();
  test_dequantize();
  test_requantize();
  return tt_report("test_quantize");
}
