/*
 * tinytvm/depthwise_conv2d.h - int8 depthwise convolution, TFLM
 * reference_integer_ops::DepthwiseConvPerChannel semantics.
 *
 *   out[b, y, x, c*M + m] = requant_{c*M+m}( bias[c*M+m] + sum_{ky, kx}
 *        w[ky, kx, c*M + m] * (in[b, y*sh - pad_top + ky*dh, x*sw - pad_left + kx*dw, c] - input_zp) )
 * with M = depth_multiplier; taps outside the input contribute nothing.
 */
#ifndef TINYTVM_DEPTHWISE_CONV2D_H_
#define TINYTVM_DEPTHWISE_CONV2D_H_

#include "tinytvm/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  /* PLANE unless the kernel is 1 tap wide and tall (then GENERIC is as fast). */
  TINYTVM_DW_AUTO = 0,
  /* Direct loops, no scratch. */
  TINYTVM_DW_GENERIC = 1,
  /* Channel by channel: the input channel is copied into a zero-padded int16 plane (zero point
   * subtracted) so the inner loops have no bounds checks and, on DSP cores, two horizontal taps
   * go through one SMLAD.  Any kernel size, stride, dilation, depth multiplier.
   * In-place capable: output may alias input when out_h == in_h, out_w == in_w and
   * depth_multiplier == 1 (each channel is read completely before it is overwritten). */
  TINYTVM_DW_PLANE = 2
} tinytvm_dw_impl;

typedef struct {
  /* input [batches, in_h, in_w, in_c], weight [1, k_h, k_w, in_c * depth_multiplier],
   * output [batches, out_h, out_w, in_c * depth_multiplier] */
  int32_t batches;
  int32_t in_h, in_w, in_c;
  int32_t depth_multiplier; /* >= 1 (0 is treated as 1) */
  int32_t out_h, out_w;
  int32_t k_h, k_w;
  int32_t stride_h, stride_w;
  int32_t dilation_h, dilation_w;
  int32_t pad_top, pad_left, pad_bottom, pad_right; /* bottom/right: see conv2d.h */
  int32_t input_zp;
  tinytvm_requant_params rq; /* per output channel (in_c * depth_multiplier) */
  int32_t impl;              /* tinytvm_dw_impl */
} tinytvm_depthwise_conv2d_params;

size_t tinytvm_depthwise_conv2d_s8_scratch_bytes(const tinytvm_depthwise_conv2d_params* p);
tinytvm_dw_impl tinytvm_depthwise_conv2d_s8_resolve_impl(const tinytvm_depthwise_conv2d_params* p);
tinytvm_status tinytvm_depthwise_conv2d_s8_check(const tinytvm_depthwise_conv2d_params* p);

/* bias may be NULL. */
void tinytvm_depthwise_conv2d_s8(const tinytvm_depthwise_conv2d_params* p, const int8_t* input,
                                 const int8_t* weight, const int32_t* bias, int8_t* output,
                                 void* scratch);

#ifdef __cplusplus
}
#endif

#endif /* TINYTVM_DEPTHWISE_CONV2D_H_ */
