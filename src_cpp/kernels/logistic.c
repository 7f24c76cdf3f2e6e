/*
 * logistic.c - int8 LOGISTIC, bit-exact with TFLM reference_integer_ops::Logistic (gemmlowp
 * logistic on a Q4.27 input, output scale 1/256 with zero point -128).
 */
#include "tinytvm/activations.h"

#include "internal.h"

enum { kInputIntegerBits = 4, kOutputIntegerBits = 8 };

void tinytvm_logistic_s8(const tinytvm_logistic_params* p, const int8_t* input, int8_t* output) {
  int32_t i;
  for (i = 0; i < p->size; ++i) {
    const int32_t x = input[i] - p->input_zp;
    int8_t y;
    if (x <= -p->input_range_radius) {
      y = -128;
    } else if (x >= p->input_range_radius) {
      y = 127;
    } else {
      const int32_t in_q4 = tinytvm_mbqm(x, p->input_multiplier, p->input_left_shift);
      const int32_t out_q0 = tinytvm_logistic_fp(in_q4, kInputIntegerBits);
      const int32_t out_q23 = tinytvm_rdbpot(out_q0, 31 - kOutputIntegerBits);
      y = (int8_t)tt_clamp(out_q23 - 128, -128, 127);
    }
    output[i] = y;
  }
}
