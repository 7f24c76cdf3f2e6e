/*
 * tinytvm/shape_ops.h - int8 data movement: pad, transpose, nearest-neighbour resize,
 * concatenation.  None of them requantize (TFLM requires matching quantization for these ops;
 * a code generator inserts tinytvm_requantize_s8 where a model needs it).
 */
#ifndef TINYTVM_SHAPE_OPS_H_
#define TINYTVM_SHAPE_OPS_H_

#include "tinytvm/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* PAD / PADV2 with a constant: out has shape in_shape + before + after; the fill value is the
 * quantized constant (TFLM: the output zero point for PAD, constant_values for PADV2). */
typedef struct {
  tinytvm_shape in_shape;
  int32_t before[TINYTVM_MAX_DIMS]; /* >= 0 */
  int32_t after[TINYTVM_MAX_DIMS];  /* >= 0 */
  int32_t pad_value;                /* in [-128, 127] */
} tinytvm_pad_params;

void tinytvm_pad_s8(const tinytvm_pad_params* p, const int8_t* input, int8_t* output);

/* TRANSPOSE: out.dims[i] = in.dims[perm[i]] (rank <= 6). */
typedef struct {
  tinytvm_shape in_shape;
  int32_t perm[TINYTVM_MAX_DIMS];
} tinytvm_transpose_params;

void tinytvm_transpose_s8(const tinytvm_transpose_params* p, const int8_t* input, int8_t* output);

/* RESIZE_NEAREST_NEIGHBOR on NHWC (TFLM reference_ops::ResizeNearestNeighbor index math:
 * float32 scale = align_corners && out > 1 ? (in - 1) / (out - 1) : in / out;
 * idx = min(align_corners ? round((o + off) * scale) : floor((o + off) * scale), in - 1),
 * off = half_pixel_centers ? 0.5 : 0, and max(idx, 0) when half_pixel_centers). */
typedef struct {
  int32_t batches, in_h, in_w, channels;
  int32_t out_h, out_w;
  int32_t align_corners;
  int32_t half_pixel_centers;
} tinytvm_resize_nearest_params;

void tinytvm_resize_nearest_s8(const tinytvm_resize_nearest_params* p, const int8_t* input,
                               int8_t* output);

/* CONCATENATION along one axis.  With the inputs viewed as [outer, axis_i * inner]:
 * out[o, :] = in_0[o, :] ++ in_1[o, :] ++ ...  chunk_bytes[i] = axis_i * inner (product of the
 * input's dimensions from the concat axis on). */
typedef struct {
  int32_t num_inputs;
  int32_t outer; /* product of the dimensions before the axis */
  const int32_t* chunk_bytes;
} tinytvm_concat_params;

void tinytvm_concat_s8(const tinytvm_concat_params* p, const int8_t* const* inputs, int8_t* output);

/* Copies a rows x cols window of `channels`-channel NHWC pixels between two images of widths
 * src_w and dst_w, from (src_row, src_col) to (dst_row, dst_col): the tile loads, crops and
 * stores of patch-based inference.  Rows are contiguous runs of cols * channels bytes. */
typedef struct {
  int32_t rows, cols, channels;
  int32_t src_w, src_row, src_col;
  int32_t dst_w, dst_row, dst_col;
} tinytvm_window_params;

void tinytvm_copy_window_s8(const tinytvm_window_params* p, const int8_t* src, int8_t* dst);

#ifdef __cplusplus
}
#endif

#endif /* TINYTVM_SHAPE_OPS_H_ */
