/*
 * tinytvm/quantize.h - QUANTIZE (float -> int8, int8 -> int8) and DEQUANTIZE (int8 -> float)
 * with TFLM reference semantics.
 */
#ifndef TINYTVM_QUANTIZE_H_
#define TINYTVM_QUANTIZE_H_

#include "tinytvm/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* reference_ops::AffineQuantize: q = clamp(round_half_away(x / scale) + zp, -128, 127), the
 * division in float32 (TFLM casts its double scale, which came from the float tensor scale,
 * back to float).  NaN maps to zp; values beyond int32 saturate. */
void tinytvm_quantize_f32_s8(const float* input, int8_t* output, int32_t size, float scale,
                             int32_t zp);

/* reference_ops::Dequantize: x = (float)(scale * (q - zp)) with the product in double
 * (`scale` is the tensor's float scale promoted to double, as TFLM's DequantizationParams). */
void tinytvm_dequantize_s8_f32(const int8_t* input, float* output, int32_t size, double scale,
                               int32_t zp);

/* reference_ops::Requantize (QUANTIZE int8 -> int8):
 * q = clamp(MBQM(x - input_zp, multiplier, shift) + output_zp, -128, 127), multiplier/shift
 * from QuantizeMultiplier(input_scale / output_scale). */
void tinytvm_requantize_s8(const int8_t* input, int8_t* output, int32_t size, int32_t input_zp,
                           int32_t output_zp, int32_t multiplier, int32_t shift);

#ifdef __cplusplus
}
#endif

#endif /* TINYTVM_QUANTIZE_H_ */
