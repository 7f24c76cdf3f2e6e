/*
 * tinytvm/activations.h - int8 SOFTMAX and LOGISTIC with TFLM's fixed-point algorithms.
 */
#ifndef TINYTVM_ACTIVATIONS_H_
#define TINYTVM_ACTIVATIONS_H_

#include "tinytvm/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* SOFTMAX over the last dimension (reference_ops::Softmax<int8_t, int8_t>).  Output has zero
 * point -128 and scale 1/256 (TFLM enforces it).  Parameters as TFLM's SoftmaxPrepare computes
 * them with kScaledDiffIntegerBits = 5:
 *   PreprocessSoftmaxScaling(beta, input_scale, 5, &input_multiplier, &input_left_shift);
 *   diff_min = -CalculateInputRadius(5, input_left_shift, 31)
 * i.e. input_multiplier/input_left_shift = QuantizeMultiplierGreaterThanOne(
 *   min(beta * input_scale * 2^26, 2^31 - 1)), diff_min = -floor((2^5 - 1) * 2^(31 - 5) /
 *   2^input_left_shift). */
typedef struct {
  int32_t outer; /* number of rows */
  int32_t depth; /* row length (last dimension) */
  int32_t input_multiplier;
  int32_t input_left_shift;
  int32_t diff_min; /* <= 0 */
} tinytvm_softmax_params;

void tinytvm_softmax_s8(const tinytvm_softmax_params* p, const int8_t* input, int8_t* output);

/* LOGISTIC (reference_integer_ops::Logistic, int8): output zero point -128, scale 1/256.
 * From TFLM's CalculateArithmeticOpData with kInputIntegerBits = 4:
 *   input_multiplier/input_left_shift = QuantizeMultiplier(input_scale * 2^(31 - 4)),
 *   input_range_radius = CalculateInputRadius(4, input_left_shift, 31). */
typedef struct {
  int32_t size;
  int32_t input_zp;
  int32_t input_range_radius;
  int32_t input_multiplier;
  int32_t input_left_shift;
} tinytvm_logistic_params;

void tinytvm_logistic_s8(const tinytvm_logistic_params* p, const int8_t* input, int8_t* output);

#ifdef __cplusplus
}
#endif

#endif /* TINYTVM_ACTIVATIONS_H_ */
