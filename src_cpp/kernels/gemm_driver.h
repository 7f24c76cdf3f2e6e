/*
 * gemm_driver.h - one or two activation columns x all output channels -> int8 (internal).
 */
#ifndef TINYTVM_KERNELS_GEMM_DRIVER_H_
#define TINYTVM_KERNELS_GEMM_DRIVER_H_

#include <stddef.h>

#include "internal.h"

typedef struct {
  const int8_t* weight; /* [out_c, k], row-major */
  const int32_t* bias;  /* [out_c] or NULL */
  int32_t k;
  int32_t out_c;
  int32_t oc_unroll; /* 1 or 2 */
  const tinytvm_requant_params* rq;
  const tt_rq_ch* rqch; /* per-channel fast-requant table (in scratch) */
  int32_t rq_mode;      /* set by tt_gemm_prepare_rq */
  int32_t* acc;         /* 2 * out_c int32 accumulators (in scratch, set by tt_gemm_prepare_rq) */
  int32_t out_stride;   /* bytes between the outputs of consecutive pixels */
} tt_gemm_args;

/* out[p * out_stride + o] for pixel p < npx (1 or 2) and o in [0, out_c).  `col` holds npx
 * columns in the gemm_s16.h layout with gstride 4 (npx == 1) or 8 (npx == 2). */
void tt_gemm_cols(const tt_gemm_args* a, const int16_t* col, int32_t npx, int8_t* out);

/* Fills a->rqch (table in `scratch`, tt_gemm_rq_scratch_bytes bytes) and a->rq_mode: exact
 * requantization unless the fast form is provably exact for this layer (needs a->rq, a->k,
 * a->out_c set). */
int32_t tt_gemm_prepare_rq(tt_gemm_args* a, const int32_t* bias, void* scratch);
size_t tt_gemm_rq_scratch_bytes(const tinytvm_requant_params* rq, int32_t channels);

#endif /* TINYTVM_KERNELS_GEMM_DRIVER_H_ */
