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
  /* ROWS, except GENERIC for 1x1 kernels without padding (nothing to reuse). */
  TINYTVM_DW_AUTO = 0,
  /* Direct loops, no scratch.  NOT in-place capable (except 1x1 without padding). */
  TINYTVM_DW_GENERIC = 1,
  /* Channel by channel, the whole zero-padded input plane of one channel as int16 (zero point
   * subtracted): scratch ~ 2 * padded_h * padded_w bytes (e.g. ~5 KB for 48x48). */
  TINYTVM_DW_PLANE = 2,
  /* Like PLANE, but only a ring of the (k_h - 1) * dilation_h + 1 padded input rows the current
   * output row needs, for ch_block channels at once (filled 4 channels x 2 columns per step
   * straight from NHWC int8 on DSP cores): scratch ~ 2 * ch_block * rows * padded_w bytes. */
  TINYTVM_DW_ROWS = 3
} tinytvm_dw_impl;

/* In place: PLANE, ROWS and AUTO allow output == input (same address) when
 * depth_multiplier == 1, out_h <= in_h, out_w <= in_w (any stride) and
 * pad_top <= (k_h - 1) * dilation_h (always true for SAME / VALID padding): an output row only
 * overwrites input pixels (of the same channels) at or before its own linear position, and
 * every input row is copied into the int16 buffer before the first output row that can
 * overwrite it is written.  GENERIC is not in-place capable (except for 1x1 kernels without
 * padding, the only case AUTO gives it).  PLANE and ROWS share the inner loops: the kernel
 * weights of one output channel are packed as int16 pairs (an odd kernel width gets a zero
 * partner) so two horizontal taps cost one word load and one SMLAD; 3x3 (stride 1 and 2) has
 * unrolled loops that produce four outputs per iteration and requantize branch-free. */

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
  int32_t impl;              /* tinytvm_dw_impl, 0 = AUTO */
  /* ROWS: input channels buffered (and filled) together, 1..16; 0 = default 4.  Scratch grows
   * linearly with it; 4 matches the 4-channel fill.  Ignored by the other paths. */
  int32_t ch_block;
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
