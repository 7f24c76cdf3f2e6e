/*
 * softmax.c - int8 SOFTMAX, bit-exact with TFLM reference_ops::Softmax<int8_t, int8_t>:
 * gemmlowp exp on Q5.26 scaled differences, Q12.19 sum, reciprocal via
 * one_over_one_plus_x_for_x_in_0_1, output scale 1/256 with zero point -128.
 */
#include "tinytvm/activations.h"

#include "internal.h"

enum { kScaledDiffIntegerBits = 5, kAccumulationIntegerBits = 12 };

void tinytvm_softmax_s8(const tinytvm_softmax_params* p, const int8_t* input, int8_t* output) {
  int32_t i, c;
  for (i = 0; i < p->outer; ++i) {
    const int8_t* in = input + (size_t)i * p->depth;
    int8_t* out = output + (size_t)i * p->depth;
    int32_t max_in_row = -128;
    int32_t sum_of_exps = 0; /* Q12.19 */
    int num_bits_over_unit;
    int32_t shifted_scale, exponent;
    for (c = 0; c < p->depth; ++c) max_in_row = in[c] > max_in_row ? in[c] : max_in_row;
    for (c = 0; c < p->depth; ++c) {
      const int32_t diff = in[c] - max_in_row;
      if (diff >= p->diff_min) {
        const int32_t scaled =
            tinytvm_mbqm_greater_than_one(diff, p->input_multiplier, p->input_left_shift);
        const int32_t e = tinytvm_exp_on_negative_values(scaled, kScaledDiffIntegerBits);
        sum_of_exps = tinytvm_wrap_add(sum_of_exps,
                                       tinytvm_fp_rescale(e, 0, kAccumulationIntegerBits));
      }
    }
    shifted_scale = tinytvm_get_reciprocal(sum_of_exps, kAccumulationIntegerBits,
                                           &num_bits_over_unit);
    exponent = num_bits_over_unit + 31 - 8;
    for (c = 0; c < p->depth; ++c) {
      const int32_t diff = in[c] - max_in_row;
      if (diff >= p->diff_min) {
        const int32_t scaled =
            tinytvm_mbqm_greater_than_one(diff, p->input_multiplier, p->input_left_shift);
        const int32_t e = tinytvm_exp_on_negative_values(scaled, kScaledDiffIntegerBits);
        /* TFLM checks 0 <= exponent <= 31; clamp keeps the shift defined regardless. */
        const int32_t ex = exponent < 0 ? 0 : (exponent > 31 ? 31 : exponent);
        const int32_t unsat = tinytvm_rdbpot(tinytvm_srdhm(shifted_scale, e), ex);
        out[c] = (int8_t)tt_clamp(unsat - 128, -128, 127);
      } else {
        out[c] = -128;
      }
    }
  }
}
