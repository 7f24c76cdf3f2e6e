/*
 * tinytvm/fully_connected.h - int8 fully connected layer, TFLM reference_integer_ops::
 * FullyConnected / FullyConnectedPerChannel semantics:
 *   out[b, o] = requant_o( bias[o] + sum_i (w[o, i] - weight_zp) * (in[b, i] - input_zp) )
 *
 * No scratch (tinytvm_fully_connected_s8_scratch_bytes() is 0 and scratch may be NULL): input
 * rows are read as int8 and widened on the fly (SXTAB16 subtracts the zero point), each widened
 * word serving oc_unroll weight rows; requantization parameters are read per output feature.
 * On DSP cores, in_features % 4 == 0, per-channel uniform requantization and the full int8
 * activation range take a 4-row assembly loop (25 instructions per 16 MACs).
 */
#ifndef TINYTVM_FULLY_CONNECTED_H_
#define TINYTVM_FULLY_CONNECTED_H_

#include "tinytvm/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int32_t batches;      /* rows of the 2-D input [batches, in_features] */
  int32_t in_features;  /* accumulation depth */
  int32_t out_features; /* weight is [out_features, in_features] */
  int32_t input_zp;
  int32_t weight_zp; /* TFLM filter_offset = -weight_zp; 0 for symmetric int8 weights */
  tinytvm_requant_params rq; /* per-channel (arrays [out_features]) or per_tensor = 1 */
  int32_t oc_unroll; /* output features computed together: 1..4 (0 = default 4) */
} tinytvm_fully_connected_params;

size_t tinytvm_fully_connected_s8_scratch_bytes(const tinytvm_fully_connected_params* p);

/* bias may be NULL.  input [batches, in_features], output [batches, out_features]. */
void tinytvm_fully_connected_s8(const tinytvm_fully_connected_params* p, const int8_t* input,
                                const int8_t* weight, const int32_t* bias, int8_t* output,
                                void* scratch);

#ifdef __cplusplus
}
#endif

#endif /* TINYTVM_FULLY_CONNECTED_H_ */
