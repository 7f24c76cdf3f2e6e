/*
 * tinytvm/conv2d.h - int8 2-D convolution, TFLM reference_integer_ops::ConvPerChannel semantics.
 *
 *   out[b, y, x, o] = requant_o( bias[o] + sum_{ky, kx, i} w[o, ky, kx, i] *
 *                                 (in[b, y*sh - pad_top + ky*dh, x*sw - pad_left + kx*dw, g*Ci + i]
 *                                  - input_zp) )
 * where taps falling outside the input contribute nothing (zero padding in the real domain),
 * Ci = in_c / groups, g = o / (out_c / groups), and requant_o is tinytvm_requant_params.
 */
#ifndef TINYTVM_CONV2D_H_
#define TINYTVM_CONV2D_H_

#include "tinytvm/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  /* Pick the fastest applicable path: 1X1 for 1x1 kernels without padding, else IM2COL. */
  TINYTVM_CONV_AUTO = 0,
  /* Direct loops; handles everything including groups; no scratch.  Slow (reference-like). */
  TINYTVM_CONV_GENERIC = 1,
  /* im2col of px_unroll output pixels into int16 columns (input zero point already subtracted,
   * padded to a multiple of 4 values), then a 2-pixel x 2-channel SMLAD micro-kernel whose four
   * accumulators are requantized in registers (no accumulator or requantization buffers).
   * groups == 1 only.  Inputs whose in_c is not a multiple of 4 are staged as int8 first (3x3
   * on 3 channels, the usual RGB stem, has a dedicated gather). */
  TINYTVM_CONV_IM2COL = 2,
  /* Pointwise: k_h == k_w == 1, no padding, any stride.  Like IM2COL but the "gather" is a
   * straight widening copy of one input pixel.  groups == 1 only. */
  TINYTVM_CONV_1X1 = 3,
  /* Pointwise without scratch (same shapes as 1X1): each input pixel is widened on the fly, once
   * per channel pair; 2 pixels x 2 channels per step, the unroll knobs do not apply.  Faster
   * than 1X1 for in_c <= 8, slower for wide inputs (in_c 64: ~20%): meant for layers whose
   * column scratch raises the arena.  Other shapes and groups take GENERIC, so the scratch stays
   * 0.  Not in-place capable. */
  TINYTVM_CONV_1X1_DIRECT = 4
} tinytvm_conv_impl;

typedef struct {
  /* Shapes: input [batches, in_h, in_w, in_c], weight [out_c, k_h, k_w, in_c / groups],
   * output [batches, out_h, out_w, out_c]. */
  int32_t batches;
  int32_t in_h, in_w, in_c;
  int32_t out_h, out_w, out_c;
  int32_t k_h, k_w;
  int32_t stride_h, stride_w;     /* >= 1 */
  int32_t dilation_h, dilation_w; /* >= 1 */
  /* Explicit padding.  The kernel reads pad_top/pad_left (the origin of the first window);
   * pad_bottom/pad_right are only checked by tinytvm_conv2d_s8_check() (TFLM likewise derives
   * nothing from them: the output size bounds the windows). */
  int32_t pad_top, pad_left, pad_bottom, pad_right;
  int32_t groups; /* 0 or 1: ordinary convolution; in_c and out_c must be divisible by groups */
  int32_t input_zp;
  tinytvm_requant_params rq; /* per output channel */

  /* Implementation choice (tinytvm_conv_impl) and tuning knobs; 0 = default. */
  int32_t impl;
  /* Output channels computed together by the micro-kernel: 1 or 2 (default 2; the assembly
   * fast path needs 2). */
  int32_t oc_unroll;
  /* Output pixels computed together (im2col columns held in scratch): 1 or 2 (default 2; the
   * assembly fast path needs 2).  1 halves the column scratch (a memory knob). */
  int32_t px_unroll;
} tinytvm_conv2d_params;

/* Bytes of scratch tinytvm_conv2d_s8 needs for these params (0 for GENERIC and 1X1_DIRECT).
 * IM2COL / 1X1:
 *   px_unroll * 2 * 4 * (K / 4 + 1)              px_unroll int16 columns, K = k_h * k_w * in_c
 * + (in_c % 4 ? ceil4(K) : 0)                    int8 staging row
 * + (K % 4 ? (2 * K + 7) & ~3 : 0)               padded copy of the last two weight rows
 * Nothing grows with out_c: requantization parameters are read per channel on the fly.
 *
 * Aliasing: the 1X1 path is in-place capable (output == input) when out_c <= in_c: output
 * pixels are written in NHWC order after the input pixels of their block were widened into
 * the columns, and never reach input pixels not yet read.  IM2COL reads the receptive fields
 * of output pixels n and n + 1 before writing either, so an output buffer may overlap the
 * input as long as output pixel n lies below every input pixel the windows of pixels >= n
 * still read. */
size_t tinytvm_conv2d_s8_scratch_bytes(const tinytvm_conv2d_params* p);

/* The path tinytvm_conv2d_s8 will actually run (resolves AUTO and inapplicable requests). */
tinytvm_conv_impl tinytvm_conv2d_s8_resolve_impl(const tinytvm_conv2d_params* p);

/* Validates shapes/params (output size from padding/stride/dilation, ranges).  TINYTVM_OK or
 * an error; the kernel itself does not validate (it is meant for generated code). */
tinytvm_status tinytvm_conv2d_s8_check(const tinytvm_conv2d_params* p);

/* bias may be NULL (no bias).  scratch: tinytvm_conv2d_s8_scratch_bytes(p) bytes, 4-aligned. */
void tinytvm_conv2d_s8(const tinytvm_conv2d_params* p, const int8_t* input, const int8_t* weight,
                       const int32_t* bias, int8_t* output, void* scratch);

#ifdef __cplusplus
}
#endif

#endif /* TINYTVM_CONV2D_H_ */
