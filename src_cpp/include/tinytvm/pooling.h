/*
 * tinytvm/pooling.h - int8 average / max pooling (TFLM reference_integer_ops::AveragePool /
 * MaxPool) and the spatial mean (TFLM MEAN over H and W).
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

/* MEAN over axes (1, 2) of an NHWC tensor -> [batches, channels] (keepdims does not change the
 * memory layout).  TFLM (reduce_common.cc EvalIntegerMean):
 *   - input_zp == output_zp and input_scale == output_scale:
 *       out = (int32 sum of raw values) / (H * W)           (C integer division, truncating)
 *   - otherwise (reference_ops::QuantizedMeanOrSum), in float32:
 *       scale = input_scale / output_scale; bias = -input_zp * scale;
 *       mean = (float)sum / (float)(H * W);
 *       out = clamp(round_half_away(mean * scale + bias) + output_zp, -128, 127)
 * The scales are the tensors' float32 scales, exactly as stored in the model. */
typedef struct {
  int32_t batches, in_h, in_w, channels;
  int32_t input_zp, output_zp;
  float input_scale, output_scale;
} tinytvm_mean_hw_params;

void tinytvm_mean_hw_s8(const tinytvm_mean_hw_params* p, const int8_t* input, int8_t* output);

#ifdef __cplusplus
}
#endif

#endif /* TINYTVM_POOLING_H_ */
