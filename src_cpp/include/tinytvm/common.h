/*
 * tinytvm/common.h - conventions shared by every tinytvm int8 kernel.
 *
 * Layout: all activations are NHWC int8, contiguous, batch-major.  Weights keep the TFLite
 * layouts (conv OHWI, depthwise 1HWC with C = in_c * depth_multiplier, fully connected [out, in]),
 * so the code generator can emit a model's constant buffers unchanged.
 *
 * Quantization parameters are passed the way TFLite stores them, not the way TFLM's kernels
 * negate them internally:
 *   - *_zp        : the tensor's zero point (TFLM uses input_offset = -input_zp internally).
 *   - multiplier  : Q0.31 fixed-point multiplier in [2^30, 2^31) or 0, exactly what
 *                   tflite::QuantizeMultiplier(real_scale) returns.  Must be >= 0.
 *   - shift       : power-of-two exponent from QuantizeMultiplier; > 0 shifts left, < 0 right.
 *                   The rescaling applied is MultiplyByQuantizedMultiplier (double rounding).
 *   - act_min/max : the fused-activation clamp in the output's quantized domain, within
 *                   [-128, 127] (TFLM's quantized_activation_min/max).
 *
 * Scratch: every kernel that needs temporary memory has a tinytvm_<kernel>_scratch_bytes()
 * companion; pass a buffer of at least that many bytes, 4-byte aligned (8 recommended).  A
 * result of 0 means the scratch pointer may be NULL.  Kernels never allocate.
 *
 * Performance knobs (which implementation, unroll factors) are plain fields of the params
 * structs.  0 always means "default"; a knob that is not applicable to a shape silently falls
 * back to a path that is (results are bit-identical across all paths).
 */
#ifndef TINYTVM_COMMON_H_
#define TINYTVM_COMMON_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TINYTVM_VERSION_MAJOR 0
#define TINYTVM_VERSION_MINOR 1

/* Maximum rank handled by the N-D kernels (broadcasting add/mul, transpose, pad). */
#define TINYTVM_MAX_DIMS 6

/* Returned by the *_check() helpers. */
typedef enum {
  TINYTVM_OK = 0,
  TINYTVM_ERR_SHAPE = -1,      /* inconsistent shapes (e.g. output size vs padding/stride) */
  TINYTVM_ERR_PARAM = -2,      /* a parameter is out of its documented range */
  TINYTVM_ERR_UNSUPPORTED = -3 /* valid in TFLite but not implemented here */
} tinytvm_status;

/* An N-D shape (row-major, last dimension fastest), rank <= TINYTVM_MAX_DIMS. */
typedef struct {
  int32_t rank;
  int32_t dims[TINYTVM_MAX_DIMS];
} tinytvm_shape;

/* Requantization of an int32 accumulator to int8: the tail end shared by conv/depthwise/FC.
 *   out = clamp(MultiplyByQuantizedMultiplier(acc, multiplier[c], shift[c]) + output_zp,
 *               act_min, act_max)
 * with c the output channel, or c = 0 for every channel when per_tensor != 0. */
typedef struct {
  const int32_t* multiplier; /* [out_channels] (or [1] if per_tensor), Q0.31, >= 0 */
  const int32_t* shift;      /* [out_channels] (or [1] if per_tensor), > 0 left, < 0 right */
  int32_t output_zp;
  int32_t act_min;
  int32_t act_max;
  int32_t per_tensor; /* 0: per-channel arrays (TFLM conv/depthwise always); 1: one value */
} tinytvm_requant_params;

#ifdef __cplusplus
}
#endif

#endif /* TINYTVM_COMMON_H_ */
