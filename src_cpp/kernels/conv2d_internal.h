/*
 * conv2d_internal.h - entry points of the fast convolution paths (internal).
 */
#ifndef TINYTVM_KERNELS_CONV2D_INTERNAL_H_
#define TINYTVM_KERNELS_CONV2D_INTERNAL_H_

#include "tinytvm/conv2d.h"

int32_t tt_conv_px_unroll(const tinytvm_conv2d_params* p);
size_t tt_conv_col_bytes(const tinytvm_conv2d_params* p);
size_t tt_conv_stage_bytes(const tinytvm_conv2d_params* p);
size_t tt_conv_tailw_bytes(const tinytvm_conv2d_params* p);

void tt_conv_im2col(const tinytvm_conv2d_params* p, const int8_t* input, const int8_t* weight,
                    const int32_t* bias, int8_t* output, void* scratch);
void tt_conv_1x1(const tinytvm_conv2d_params* p, const int8_t* input, const int8_t* weight,
                 const int32_t* bias, int8_t* output, void* scratch);
void tt_conv_1x1_direct(const tinytvm_conv2d_params* p, const int8_t* input,
                        const int8_t* weight, const int32_t* bias, int8_t* output);

#endif /* TINYTVM_KERNELS_CONV2D_INTERNAL_H_ */
