/*
 * gemm_s16.c - drives the gemm_s16.h micro-kernels over all output channels for one or two
 * activation columns and writes requantized int8 results.  Shared by the im2col / 1x1
 * convolution paths and fully connected.
 *
 * With K as small as 16 (pointwise layers) the per-output epilogue costs as much as the dot
 * product, so the work is split in two passes: the micro-kernels write int32 accumulators for
 * all channels (scratch, 2 * out_c words), then a tight requantization loop converts them.  The
 * requantization loop is specialized: exact / fast with a right shift on every channel / fast
 * mixed, and the activation clamp is skipped when it is the full int8 range (saturation alone
 * suffices).
 */
#include "gemm_driver.h"
#include "gemm_s16.h"

enum { RQ_EXACT = 0, RQ_FAST_RSHIFT = 1, RQ_FAST = 2 };

/* Accumulator layout (scratch, written by pass 1, read by pass 2): channel pairs first, each
 * pair as [p0c0, p0c1, p1c0, p1c1] (npx == 2) or [p0c0, p0c1] (npx == 1), then the odd last
 * channel as [p0, p1] / [p0]. */
#if TINYTVM_DSP
/* 2 pixels x all channel pairs, K % 4 == 0, in assembly: the 2x2 micro-kernel needs all 14
 * allocatable registers, so with C around it every block paid ~35 instructions of spills.
 * Here the per-block state lives in a struct and the block overhead is ~23 instructions. */
typedef struct {
  const int16_t* col;  /* 0: interleaved 2-pixel column */
  const int8_t* w;     /* 4: weight row of the next pair's first channel */
  int32_t k;           /* 8: row length, multiple of 4 */
  const int32_t* bias; /* 12: next pair's bias */
  int32_t bias_step;   /* 16: 8, or 0 with bias pointing at two zeros */
  int32_t* acc;        /* 20: output, 4 words per pair */
  int32_t pairs;       /* 24: > 0 */
} mk_pairs_state;

void tt_mk_2x2_pairs_dsp(mk_pairs_state* st);
__asm__(
    "  .text\n"
    "  .syntax unified\n"
    "  .thumb\n"
    "  .align 2\n"
    "  .global tt_mk_2x2_pairs_dsp\n"
    "  .type tt_mk_2x2_pairs_dsp, %function\n"
    "  .thumb_func\n"
    "tt_mk_2x2_pairs_dsp:\n"
    "  push   {r4-r11, lr}\n"
    "  sub    sp, sp, #12\n"      /* keeps sp 8-byte aligned */

    "  str    r0, [sp]\n"          /* state */
    "  ldr    r1, [r0, #24]\n"
    "  str    r1, [sp, #4]\n"      /* pairs left */
    "1:\n"
    "  ldr    lr, [sp]\n"
    "  ldrd   r4, r5, [lr, #12]\n" /* bias, bias_step */
    "  ldrd   r0, r1, [r4]\n"      /* a00 = b0, a01 = b1 */
    "  add    r4, r4, r5\n"
    "  str    r4, [lr, #12]\n"
    "  mov    r2, r0\n"            /* a10 */
    "  mov    r3, r1\n"            /* a11 */
    "  ldrd   r4, r5, [lr]\n"      /* c, w0 */
    "  ldr    r7, [lr, #8]\n"      /* k */
    "  add    r6, r5, r7\n"        /* w1 */
    "  lsrs   r7, r7, #2\n"        /* K / 4 iterations */
    "2:\n"
    "  ldr    r12, [r5], #4\n"
    "  ldrd   r8, r9, [r4], #16\n"
    "  sxtb16 lr, r12\n"
    "  sxtb16 r12, r12, ror #8\n"
    "  smlad  r0, r8, lr, r0\n"
    "  ldrd   r10, r11, [r4, #-8]\n"
    "  smlad  r0, r9, r12, r0\n"
    "  smlad  r2, r10, lr, r2\n"
    "  smlad  r2, r11, r12, r2\n"
    "  ldr    r12, [r6], #4\n"
    "  sxtb16 lr, r12\n"
    "  sxtb16 r12, r12, ror #8\n"
    "  smlad  r1, r8, lr, r1\n"
    "  smlad  r1, r9, r12, r1\n"
    "  smlad  r3, r10, lr, r3\n"
    "  smlad  r3, r11, r12, r3\n"
    "  subs   r7, r7, #1\n"
    "  bne    2b\n"
    "  ldr    lr, [sp]\n"
    "  str    r6, [lr, #4]\n"      /* w1 end == next pair's w0 */
    "  ldr    r4, [lr, #20]\n"
    "  stmia  r4!, {r0-r3}\n"
    "  str    r4, [lr, #20]\n"
    "  ldr    r4, [sp, #4]\n"
    "  subs   r4, r4, #1\n"
    "  str    r4, [sp, #4]\n"
    "  bne    1b\n"
    "  add    sp, sp, #12\n"
    "  pop    {r4-r11, pc}\n"
    "  .size tt_mk_2x2_pairs_dsp, .-tt_mk_2x2_pairs_dsp\n");

static const int32_t k_zero_bias[2] = {0, 0};
#endif

/* Pass 1: raw accumulators (bias included) of 1 or 2 pixels for every channel.  Keeping the
 * epilogue out of this loop leaves the micro-kernels all the registers they need.
 * `has_bias` is a compile-time constant. */
TT_INLINE void gemm_acc_body(const tt_gemm_args* a, const int16_t* col, int32_t npx, int32_t* acc,
                             const int has_bias) {
  const int32_t k = a->k;
  const int32_t n = a->out_c;
  const int32_t pairs = a->oc_unroll >= 2 ? n >> 1 : 0;
  const int32_t* bias = a->bias;
  const int8_t* w = a->weight;
  int32_t o = 2 * pairs;
  int32_t t[4];
  int32_t i;
  if (npx == 2) {
#if TINYTVM_DSP
    if ((k & 3) == 0 && k > 0 && pairs > 0) {
      mk_pairs_state st;
      st.col = col;
      st.w = w;
      st.k = k;
      st.bias = has_bias ? bias : k_zero_bias;
      st.bias_step = has_bias ? 8 : 0;
      st.acc = acc;
      st.pairs = pairs;
      tt_mk_2x2_pairs_dsp(&st);
      acc += 4 * pairs;
      w += (size_t)2 * k * pairs;
      bias += has_bias ? 2 * pairs : 0;
    } else
#endif
    {
      for (i = 0; i < pairs; ++i) {
        t[0] = t[2] = has_bias ? bias[0] : 0;
        t[1] = t[3] = has_bias ? bias[1] : 0;
        tt_mk_2x2(col, w, w + k, k, t);
        acc[0] = t[0];
        acc[1] = t[1];
        acc[2] = t[2];
        acc[3] = t[3];
        acc += 4;
        bias += has_bias ? 2 : 0;
        w += 2 * k;
      }
    }
    for (; o < n; ++o) {
      t[0] = t[1] = has_bias ? *bias++ : 0;
      tt_mk_2x1(col, w, k, t);
      acc[0] = t[0];
      acc[1] = t[1];
      acc += 2;
      w += k;
    }
  } else {
    for (i = 0; i < pairs; ++i) {
      t[0] = has_bias ? bias[0] : 0;
      t[1] = has_bias ? bias[1] : 0;
      tt_mk_1x2(col, w, w + k, k, t);
      acc[0] = t[0];
      acc[1] = t[1];
      acc += 2;
      bias += has_bias ? 2 : 0;
      w += 2 * k;
    }
    for (; o < n; ++o) {
      *acc++ = tt_mk_1x1(col, w, k, has_bias ? *bias++ : 0);
      w += k;
    }
  }
}

static void gemm_acc(const tt_gemm_args* a, const int16_t* col, int32_t npx, int32_t* acc) {
  if (a->bias) {
    gemm_acc_body(a, col, npx, acc, 1);
  } else {
    gemm_acc_body(a, col, npx, acc, 0);
  }
}

/* Pass 2: requantize, clamp and store.  `mode`, `full` and `npx` are compile-time constants in
 * each instantiation, so the loop body is branch-free straight-line code. */
TT_INLINE int32_t rq_value(int32_t x, const tt_gemm_args* a, const tt_rq_ch* t, int32_t o,
                           int32_t zp, int32_t zp2p1, int32_t lo, int32_t hi, const int mode,
                           const int full) {
  int32_t v;
  if (mode == RQ_FAST_RSHIFT) {
    v = tt_rq_fast_rshift(x, t->mult, t->lsh1, t->rsh_m1, zp2p1);
  } else if (mode == RQ_FAST) {
    v = tt_rq_fast(x, *t, zp);
  } else {
    v = tt_rq_exact(x, a->rq, o);
  }
#if TINYTVM_DSP
  v = __ssat(v, 8);
  if (!full) v = tt_clamp(v, lo, hi);
#else
  (void)full;
  v = tt_clamp(v, lo, hi);
#endif
  return v;
}

TT_INLINE void gemm_requant(const tt_gemm_args* a, const int32_t* acc, int8_t* out,
                            const int32_t npx, const int mode, const int full) {
  const int32_t n = a->out_c;
  const int32_t pairs = a->oc_unroll >= 2 ? n >> 1 : 0;
  const int32_t tstep = a->rq->per_tensor ? 0 : 1;
  const tt_rq_ch* t = a->rqch;
  const int32_t zp = a->rq->output_zp, zp2p1 = 2 * zp + 1;
  const int32_t lo = a->rq->act_min, hi = a->rq->act_max;
  const int32_t stride = a->out_stride; /* locals: int8 stores may alias *a */
  int32_t i, o, r;
  int8_t* out1 = out + stride;
  for (i = 0; i < pairs; ++i) {
    /* Value copies, loaded once for both pixels (the stores below could alias the table). */
    const tt_rq_ch c0 = t[0], c1 = t[tstep];
    const tt_rq_ch* t0 = &c0;
    const tt_rq_ch* t1 = &c1;
    o = 2 * i;
    out[o] = (int8_t)rq_value(acc[0], a, t0, o, zp, zp2p1, lo, hi, mode, full);
    out[o + 1] = (int8_t)rq_value(acc[1], a, t1, o + 1, zp, zp2p1, lo, hi, mode, full);
    if (npx == 2) {
      out1[o] = (int8_t)rq_value(acc[2], a, t0, o, zp, zp2p1, lo, hi, mode, full);
      out1[o + 1] = (int8_t)rq_value(acc[3], a, t1, o + 1, zp, zp2p1, lo, hi, mode, full);
    }
    acc += 2 * npx;
    t += 2 * tstep;
  }
  for (o = 2 * pairs; o < n; ++o) {
    for (r = 0; r < npx; ++r)
      out[r * stride + o] = (int8_t)rq_value(acc[r], a, t, o, zp, zp2p1, lo, hi, mode, full);
    acc += npx;
    t += tstep;
  }
}

static void gemm_requant_dispatch(const tt_gemm_args* a, const int32_t* acc, int8_t* out,
                                  int32_t npx) {
  const int full = a->rq->act_min <= -128 && a->rq->act_max >= 127;
  if (a->rq_mode == RQ_FAST_RSHIFT) {
    if (npx == 2) {
      if (full) {
        gemm_requant(a, acc, out, 2, RQ_FAST_RSHIFT, 1);
      } else {
        gemm_requant(a, acc, out, 2, RQ_FAST_RSHIFT, 0);
      }
    } else {
      if (full) {
        gemm_requant(a, acc, out, 1, RQ_FAST_RSHIFT, 1);
      } else {
        gemm_requant(a, acc, out, 1, RQ_FAST_RSHIFT, 0);
      }
    }
  } else if (a->rq_mode == RQ_FAST) {
    if (npx == 2) {
      gemm_requant(a, acc, out, 2, RQ_FAST, 0);
    } else {
      gemm_requant(a, acc, out, 1, RQ_FAST, 0);
    }
  } else {
    if (npx == 2) {
      gemm_requant(a, acc, out, 2, RQ_EXACT, 0);
    } else {
      gemm_requant(a, acc, out, 1, RQ_EXACT, 0);
    }
  }
}

void tt_gemm_cols(const tt_gemm_args* a, const int16_t* col, int32_t npx, int8_t* out) {
  gemm_acc(a, col, npx, a->acc);
  gemm_requant_dispatch(a, a->acc, out, npx);
}

int32_t tt_gemm_prepare_rq(tt_gemm_args* a, const int32_t* bias, void* scratch) {
  tt_rq_ch* table = (tt_rq_ch*)scratch;
  const tinytvm_requant_params* rq = a->rq;
  const int32_t n = rq->per_tensor ? 1 : a->out_c;
  int32_t c, all_rshift = 1;
  a->rqch = table;
  a->acc = (int32_t*)(table + n);
  if (!tt_rq_fast_ok(rq, a->out_c, bias, tt_dot_bound(a->k))) {
    a->rq_mode = RQ_EXACT;
    return a->rq_mode;
  }
  for (c = 0; c < n; ++c) {
    table[c] = tt_rq_channel(rq, c);
    if (table[c].rsh_m1 < 0) all_rshift = 0;
  }
  a->rq_mode = all_rshift ? RQ_FAST_RSHIFT : RQ_FAST;
  return a->rq_mode;
}

size_t tt_gemm_rq_scratch_bytes(const tinytvm_requant_params* rq, int32_t channels) {
  /* requant table + 2 rows of int32 accumulators */
  return (size_t)(rq->per_tensor ? 1 : channels) * sizeof(tt_rq_ch) +
         2 * (size_t)channels * sizeof(int32_t);
}
