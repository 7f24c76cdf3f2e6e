/*
 * quantize.c - QUANTIZE / DEQUANTIZE / int8 requantize (TFLM reference semantics).
 */
#include "tinytvm/quantize.h"

#include "internal.h"

void tinytvm_quantize_f32_s8(const float* input, int8_t* output, int32_t size, float scale,
                             int32_t zp) {
  int32_t i;
  for (i = 0; i < size; ++i) {
    const float q = tinytvm_roundf(input[i] / scale);
    /* int32 + zp with saturation instead of TFLM's (undefined) overflow. */
    const int64_t v = (int64_t)tinytvm_f2i_sat(q) + zp;
    output[i] = (int8_t)(v < -128 ? -128 : (v > 127 ? 127 : v));
  }
}

void tinytvm_dequantize_s8_f32(const int8_t* input, float* output, int32_t size, double scale,
                               int32_t zp) {
  int32_t i;
  for (i = 0; i < size; ++i) output[i] = (float)(scale * (double)(input[i] - zp));
}

void tinytvm_requantize_s8(const int8_t* input, int8_t* output, int32_t size, int32_t input_zp,
                           int32_t output_zp, int32_t multiplier, int32_t shift) {
  int32_t i;
  for (i = 0; i < size; ++i)
    output[i] = (int8_t)tt_clamp(tinytvm_mbqm(input[i] - input_zp, multiplier, shift) + output_zp,
                                 -128, 127);
}
