/*
 * gemm_driver.h - one or two activation columns x all output channels -> int8 (internal).
 */
#ifndef TINYTVM_KERNELS_GEMM_DRIVER_H_
#define TINYTVM_KERNELS_GEMM_DRIVER_H_

#include <stddef.h>

#include "internal.h"

#if TINYTVM_DSP
/* State of the 2-pixel assembly routine (gemm_s16.c); the field offsets are used by it. */
typedef struct {
  const int16_t* col;   /*  0: interleaved 2-pixel column */
  int32_t k;            /*  4: row stride (bytes) */
  int32_t k4;           /*  8: groups of 4 per row, ceil(k / 4) >= 1 (the column is zero-padded) */
  int32_t bias_step;    /* 12: 8, or 0 with bias pointing at two zeros */
  const int8_t* w;      /* 16: weight row of the next pair's first channel */
  const int32_t* bias;  /* 20: next pair's bias */
  const int32_t* mult;  /* 24: next pair's multipliers */
  const int32_t* shift; /* 28: next pair's shifts */
  int8_t* out;          /* 32: pixel 0 output of the next pair */
  int32_t out_stride;   /* 36: pixel 1 output - pixel 0 output */
  int32_t zp2p1;        /* 40: 2 * output_zp + 1 */
  int8_t* out_end;      /* 44: out after the last pair */
} gemm2_state;
#endif

typedef struct {
  const int8_t* weight; /* [out_c, k], row-major */
  const int32_t* bias;  /* [out_c] or NULL */
  int32_t k;
  int32_t out_c;
  int32_t oc_unroll; /* 1 or 2 */
  const tinytvm_requant_params* rq;
  int32_t rq_mode;    /* TT_RQ_UNIFORM / TT_RQ_EXACT, set by tt_gemm_init */
  int32_t out_stride; /* bytes between the outputs of consecutive pixels */
  /* k % 4 != 0 and out_c even: a copy of the last two weight rows followed by >= 4 readable
   * bytes (the assembly reads rows in whole words), or NULL (that pair then takes the C path). */
  const int8_t* last_pair_w;
#if TINYTVM_DSP
  int32_t asm_pairs; /* channel pairs the assembly routine handles directly, -1: not used */
  gemm2_state st;    /* its state; the per-layer fields are set by tt_gemm_init */
#endif
} tt_gemm_args;

/* Chooses the requantization mode and prepares the assembly state (needs weight, bias, k,
 * out_c, oc_unroll, rq, out_stride, last_pair_w set).  O(out_c). */
void tt_gemm_init(tt_gemm_args* a);

/* out[p * out_stride + o] for pixel p < npx (1 or 2) and o in [0, out_c).  `col` holds npx
 * columns in the gemm_s16.h layout with gstride 4 (npx == 1) or 8 (npx == 2).  No scratch:
 * each block of outputs is requantized as soon as its accumulators are complete. */
void tt_gemm_cols(tt_gemm_args* a, const int16_t* col, int32_t npx, int8_t* out);

#endif /* TINYTVM_KERNELS_GEMM_DRIVER_H_ */
