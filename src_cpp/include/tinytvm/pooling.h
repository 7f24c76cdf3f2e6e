/*
 * tinytvm/pooling.h - int8 average / max pooling (TFLM reference_integer_ops::AveragePool /
 * MaxPool) and MEAN over any axes (TFLM reduce MEAN, int8).
 *
 * Pooling never requantizes (TFLM requires equal input/output quantization); windows are
 * clipped to the image: AVERAGE divides by the number of valid taps, rounding half away from
 * zero: acc > 0 ? (acc + n/2) / n : (acc - n/2) / n.  A window with no valid tap (possible only
 * with padding >= kernel) makes TFLM's AveragePool fail; here it yields clamp(0).  MAX starts
 * from -128 like TFLM, then clamps to [act_min, act_max].
 */
#ifndef TINYTVM_POOLING_H_
#define TINYTVM_POOLING_H_

#include "tinytvm/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int32_t batches, in_h, in_w, channels;
  int32_t out_h, out_w;
  int32_t k_h, k_w;
  int32_t stride_h, stride_w;
  int32_t pad_top, pad_left, pad_bottom, pad_right; /* bottom/right informational */
  int32_t act_min, act_max;
} tinytvm_pool2d_params;

void tinytvm_avg_pool2d_s8(const tinytvm_pool2d_params* p, const int8_t* input, int8_t* output);
void tinytvm_max_pool2d_s8(const tinytvm_pool2d_params* p, const int8_t* input, int8_t* output);

/* MEAN over arbitrary axes (TFLM reduce.cc EvalIntegerMean -> reference_ops::QuantizedMeanOrSum,
 * the branch TFLM takes for every int8 MEAN):
 *   out = clamp(MultiplyByQuantizedMultiplier(wrap32(sum - input_zp * n), multiplier, shift)
 *               + output_zp, -128, 127)
 * where the int32 (wrapping) `sum` runs over the n = prod(in_shape.dims[axes]) reduced elements
 * and multiplier/shift already include the 1/n factor (TFLM folds it in at Eval time; the
 * multiplier may then be any int32, shift in [-31, 30]).  `axes` are resolved (0 <= axis < rank,
 * no duplicates, any order); num_axes == 0 reduces nothing (n = 1).  The output holds the kept
 * dimensions in order (keepdims does not change the memory layout).  No scratch: each output
 * element is accumulated and written in turn.  rank <= TINYTVM_MAX_DIMS. */
typedef struct {
  tinytvm_shape in_shape;
  int32_t num_axes;
  int32_t axes[TINYTVM_MAX_DIMS];
  int32_t input_zp, output_zp;
  int32_t multiplier, shift;
} tinytvm_mean_params;

void tinytvm_mean_s8(const tinytvm_mean_params* p, const int8_t* input, int8_t* output);

#ifdef __cplusplus
}
#endif

#endif /* TINYTVM_POOLING_H_ */
