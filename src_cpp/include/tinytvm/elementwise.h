/*
 * tinytvm/elementwise.h - int8 ADD and MUL with TFLM semantics and numpy broadcasting.
 *
 * ADD (reference_integer_ops::AddFunc):
 *   a = (in1 - input1_zp) << left_shift,  b = (in2 - input2_zp) << left_shift
 *   a' = MBQM(a, input1_multiplier, input1_shift), b' = MBQM(b, input2_multiplier, input2_shift)
 *   out = clamp(MBQM(a' + b', output_multiplier, output_shift) + output_zp, act_min, act_max)
 * TFLM's int8 Prepare uses left_shift = 20, input multipliers for s_i / (2 * max(s1, s2)) and
 * the output multiplier for 2 * max(s1, s2) / (2^20 * s_out); its shifts are <= 0 and TFLM
 * applies MultiplyByQuantizedMultiplierSmallerThanOneExp, which equals MBQM for shift <= 0.
 *
 * MUL (reference_integer_ops::MulElementwise):
 *   out = clamp(MBQM((in1 - input1_zp) * (in2 - input2_zp), output_multiplier, output_shift)
 *               + output_zp, act_min, act_max)
 *   with output_multiplier/shift from s1 * s2 / s_out.
 */
#ifndef TINYTVM_ELEMENTWISE_H_
#define TINYTVM_ELEMENTWISE_H_

#include "tinytvm/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int32_t input1_zp, input2_zp, output_zp;
  int32_t left_shift; /* 20 for TFLM int8 */
  int32_t input1_multiplier, input1_shift;
  int32_t input2_multiplier, input2_shift;
  int32_t output_multiplier, output_shift;
  int32_t act_min, act_max;
} tinytvm_add_params;

typedef struct {
  int32_t input1_zp, input2_zp, output_zp;
  int32_t output_multiplier, output_shift;
  int32_t act_min, act_max;
} tinytvm_mul_params;

/* Same-shape operands, `size` elements. */
void tinytvm_add_s8(const tinytvm_add_params* p, const int8_t* in1, const int8_t* in2, int8_t* out,
                    int32_t size);
void tinytvm_mul_s8(const tinytvm_mul_params* p, const int8_t* in1, const int8_t* in2, int8_t* out,
                    int32_t size);

/* Broadcasting (numpy rules: shapes aligned at the last dimension, size-1 dimensions stretch),
 * rank <= TINYTVM_MAX_DIMS.  `out_shape` is the broadcast shape.  Returns TINYTVM_OK or
 * TINYTVM_ERR_SHAPE for incompatible shapes (nothing written). */
tinytvm_status tinytvm_add_s8_broadcast(const tinytvm_add_params* p, const tinytvm_shape* shape1,
                                        const int8_t* in1, const tinytvm_shape* shape2,
                                        const int8_t* in2, const tinytvm_shape* out_shape,
                                        int8_t* out);
tinytvm_status tinytvm_mul_s8_broadcast(const tinytvm_mul_params* p, const tinytvm_shape* shape1,
                                        const int8_t* in1, const tinytvm_shape* shape2,
                                        const int8_t* in2, const tinytvm_shape* out_shape,
                                        int8_t* out);

#ifdef __cplusplus
}
#endif

#endif /* TINYTVM_ELEMENTWISE_H_ */
