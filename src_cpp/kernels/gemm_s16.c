/*
 * gemm_s16.c - drives the gemm_s16.h micro-kernels over all output channels for one or two
 * activation columns and writes requantized int8 results.  Shared by the im2col / 1x1
 * convolution paths.
 *
 * The hot case (DSP core, 2 pixels, per-channel uniform requantization, full int8 activation
 * range) is one assembly routine: for every channel pair it runs the 2-pixel x 2-channel
 * SMLAD loop and then requantizes the four accumulators in registers (internal.h:
 * SMMLAR/ADD/ASR/ADD/SSAT) with the channel's multiplier and shift loaded on the fly, so
 * neither an accumulator buffer nor a requantization table is needed.  Everything else (one
 * pixel, an odd last channel, exact requantization, a narrowed activation range, the portable
 * build) goes through the C micro-kernels with the same arithmetic.
 */
#include "gemm_driver.h"
#include "gemm_s16.h"

#if TINYTVM_DSP
void tt_gemm2_pairs_dsp(gemm2_state* st);
/* Registers in the MAC loop: r0-r3 accumulators (p0c0, p0c1, p1c0, p1c1), r4 column, r8/r5
 * weight rows of channel 0/1, r6 group count, r7/r9 and r10/r11 the column words of pixel 0
 * and 1, r12/lr the widened weight halves.  The first group is peeled so that the accumulators
 * start from the bias without extra moves. */
#define GEMM2_GROUP_FIRST                        \
  "  ldr    r12, [r8], #4\n"                     \
  "  ldrd   r7, r9, [r4], #16\n"                 \
  "  ldrd   r10, r11, [r4, #-8]\n"               \
  "  sxtb16 lr, r12\n"                           \
  "  sxtb16 r12, r12, ror #8\n"                  \
  "  smlad  r2, r10, lr, r0\n"                   \
  "  smlad  r0, r7, lr, r0\n"                    \
  "  smlad  r0, r9, r12, r0\n"                   \
  "  smlad  r2, r11, r12, r2\n"                  \
  "  ldr    r12, [r5], #4\n"                     \
  "  sxtb16 lr, r12\n"                           \
  "  sxtb16 r12, r12, ror #8\n"                  \
  "  smlad  r3, r10, lr, r1\n"                   \
  "  smlad  r1, r7, lr, r1\n"                    \
  "  smlad  r1, r9, r12, r1\n"                   \
  "  smlad  r3, r11, r12, r3\n"
#define GEMM2_GROUP                              \
  "  ldr    r12, [r8], #4\n"                     \
  "  ldrd   r7, r9, [r4], #16\n"                 \
  "  sxtb16 lr, r12\n"                           \
  "  sxtb16 r12, r12, ror #8\n"                  \
  "  smlad  r0, r7, lr, r0\n"                    \
  "  ldrd   r10, r11, [r4, #-8]\n"               \
  "  smlad  r0, r9, r12, r0\n"                   \
  "  smlad  r2, r10, lr, r2\n"                   \
  "  smlad  r2, r11, r12, r2\n"                  \
  "  ldr    r12, [r5], #4\n"                     \
  "  sxtb16 lr, r12\n"                           \
  "  sxtb16 r12, r12, ror #8\n"                  \
  "  smlad  r1, r7, lr, r1\n"                    \
  "  smlad  r1, r9, r12, r1\n"                   \
  "  smlad  r3, r10, lr, r3\n"                   \
  "  smlad  r3, r11, r12, r3\n"
#define GEMM2_RQ(R, M, S) TT_ASM_REQUANT(R, M, S, "r8")
__asm__(
    "  .text\n"
    "  .syntax unified\n"
    "  .thumb\n"
    "  .align 2\n"
    "  .global tt_gemm2_pairs_dsp\n"
    "  .type tt_gemm2_pairs_dsp, %function\n"
    "  .thumb_func\n"
    "tt_gemm2_pairs_dsp:\n"
    "  push   {r4-r11, lr}\n"
    "  sub    sp, sp, #4\n" /* keeps sp 8-byte aligned */
    "  str    r0, [sp]\n"
    "1:\n"
    "  ldr    lr, [sp]\n"
    "  ldmia  lr, {r4-r9}\n"        /* col, k, k4, bias_step, w, bias */
    "  ldrd   r0, r1, [r9]\n"       /* a00 = b0, a01 = b1 */
    "  add    r9, r9, r7\n"
    "  add    r7, r8, r5, lsl #1\n" /* next pair's weights */
    "  strd   r7, r9, [lr, #16]\n"
    "  add    r5, r8, r5\n"         /* w1 */
    GEMM2_GROUP_FIRST
    "  subs   r6, r6, #1\n"
    "  beq    3f\n"
    "2:\n"
    GEMM2_GROUP
    "  subs   r6, r6, #1\n"
    "  bne    2b\n"
    "3:\n"
    /* requantize a00/a10 with channel 0, a01/a11 with channel 1 */
    "  ldr    lr, [sp]\n"
    "  add    r4, lr, #24\n"
    "  ldmia  r4, {r4-r9}\n"        /* mult, shift, out, out_stride, zp2p1, out_end */
    "  ldrd   r10, r11, [r4], #8\n" /* m0, m1 */
    "  ldrd   r12, lr, [r5], #8\n"  /* s0, s1 */
    "  lsl    r10, r10, #1\n"
    "  lsl    r11, r11, #1\n"
    "  mvn    r12, r12\n"
    "  mvn    lr, lr\n"
    GEMM2_RQ("r0", "r10", "r12") GEMM2_RQ("r2", "r10", "r12")
    GEMM2_RQ("r1", "r11", "lr") GEMM2_RQ("r3", "r11", "lr")
    "  strb   r0, [r6]\n"
    "  strb   r1, [r6, #1]\n"
    "  strb   r2, [r6, r7]\n"
    "  add    r7, r6, r7\n"
    "  strb   r3, [r7, #1]\n"
    "  add    r6, r6, #2\n"
    "  ldr    lr, [sp]\n"
    "  add    r10, lr, #24\n"
    "  stmia  r10, {r4-r6}\n"       /* mult, shift, out */
    "  cmp    r6, r9\n"
    "  bne    1b\n"
    "  add    sp, sp, #4\n"
    "  pop    {r4-r11, pc}\n"
    "  .size tt_gemm2_pairs_dsp, .-tt_gemm2_pairs_dsp\n");

static const int32_t k_zero_bias[2] = {0, 0};
#endif

void tt_gemm_init(tt_gemm_args* a) {
  a->rq_mode = tt_rq_mode(a->rq, a->out_c, a->bias, tt_dot_bound(a->k));
#if TINYTVM_DSP
  {
    const tinytvm_requant_params* rq = a->rq;
    gemm2_state* st = &a->st;
    const int32_t pairs = a->out_c >> 1;
    a->asm_pairs = -1; /* not eligible */
    if (a->oc_unroll >= 2 && a->rq_mode == TT_RQ_UNIFORM && !rq->per_tensor &&
        rq->act_min <= -128 && rq->act_max >= 127 && a->k > 0) {
      /* With k % 4 != 0 the routine reads each row up to the next multiple of 4 (times zero
       * column entries): the very last row of the weight array must come from the padded
       * copy (last_pair_w), otherwise that pair takes the C path. */
      a->asm_pairs = ((a->k & 3) && !(a->out_c & 1)) ? pairs - 1 : pairs;
    }
    st->k = a->k;
    st->k4 = (a->k + 3) >> 2;
    st->bias_step = a->bias ? 8 : 0;
    st->out_stride = a->out_stride;
    st->zp2p1 = 2 * rq->output_zp + 1;
  }
#endif
}

/* Channels [o0, out_c) for npx pixels with the C micro-kernels. */
static void gemm_cols_c(const tt_gemm_args* a, const int16_t* col, int32_t npx, int8_t* out,
                        int32_t o0) {
  const int32_t k = a->k, n = a->out_c, mode = a->rq_mode;
  const tinytvm_requant_params* rq = a->rq;
  const int32_t stride = a->out_stride;
  const int8_t* w = a->weight + (size_t)o0 * k;
  int32_t o = o0;
  int32_t t[4];
  if (a->oc_unroll >= 2) {
    for (; o + 1 < n; o += 2) {
      const int32_t b0 = a->bias ? a->bias[o] : 0, b1 = a->bias ? a->bias[o + 1] : 0;
      if (npx == 2) {
        t[0] = t[2] = b0;
        t[1] = t[3] = b1;
        tt_mk_2x2(col, w, w + k, k, t);
        out[o] = tt_rq_out(t[0], rq, o, mode);
        out[o + 1] = tt_rq_out(t[1], rq, o + 1, mode);
        out[stride + o] = tt_rq_out(t[2], rq, o, mode);
        out[stride + o + 1] = tt_rq_out(t[3], rq, o + 1, mode);
      } else {
        t[0] = b0;
        t[1] = b1;
        tt_mk_1x2(col, w, w + k, k, t);
        out[o] = tt_rq_out(t[0], rq, o, mode);
        out[o + 1] = tt_rq_out(t[1], rq, o + 1, mode);
      }
      w += 2 * k;
    }
  }
  for (; o < n; ++o) {
    const int32_t b0 = a->bias ? a->bias[o] : 0;
    if (npx == 2) {
      t[0] = t[1] = b0;
      tt_mk_2x1(col, w, k, t);
      out[o] = tt_rq_out(t[0], rq, o, mode);
      out[stride + o] = tt_rq_out(t[1], rq, o, mode);
    } else {
      out[o] = tt_rq_out(tt_mk_1x1(col, w, k, b0), rq, o, mode);
    }
    w += k;
  }
}

void tt_gemm_cols(tt_gemm_args* a, const int16_t* col, int32_t npx, int8_t* out) {
  int32_t o0 = 0;
#if TINYTVM_DSP
  if (npx == 2 && a->asm_pairs >= 0) {
    gemm2_state* st = &a->st;
    st->col = col;
    st->w = a->weight;
    st->bias = a->bias ? a->bias : k_zero_bias;
    st->mult = a->rq->multiplier;
    st->shift = a->rq->shift;
    st->out = out;
    if (a->asm_pairs > 0) {
      st->out_end = out + 2 * a->asm_pairs;
      tt_gemm2_pairs_dsp(st);
      o0 = 2 * a->asm_pairs;
    }
    if (a->last_pair_w && (a->k & 3) && !(a->out_c & 1) && o0 + 2 == a->out_c) {
      st->w = a->last_pair_w; /* bias, mult, shift, out already point at the last pair */
      st->out_end = st->out + 2;
      tt_gemm2_pairs_dsp(st);
      o0 += 2;
    }
  }
#endif
  if (o0 < a->out_c) gemm_cols_c(a, col, npx, out, o0);
}
