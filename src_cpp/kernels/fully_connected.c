/*
 * fully_connected.c - int8 fully connected layer, no scratch.
 *
 * Each input row is read directly as int8: SXTAB16 widens four input values and subtracts
 * the input zero point in two instructions, and every widened word is reused for oc_unroll
 * (default 4) weight rows.  On DSP cores a 1-row x 4-channel assembly loop costs 25
 * instructions per 16 MACs; the requantization parameters are read per channel (no table).
 * A non-zero weight zero point takes the direct reference-like path.
 */
#include "tinytvm/fully_connected.h"

#include "internal.h"

size_t tinytvm_fully_connected_s8_scratch_bytes(const tinytvm_fully_connected_params* p) {
  (void)p;
  return 0;
}

static void fc_direct(const tinytvm_fully_connected_params* p, const int8_t* input,
                      const int8_t* weight, const int32_t* bias, int8_t* output) {
  int32_t b, o, i;
  for (b = 0; b < p->batches; ++b) {
    const int8_t* in = input + (size_t)b * p->in_features;
    for (o = 0; o < p->out_features; ++o) {
      const int8_t* w = weight + (size_t)o * p->in_features;
      int32_t acc = 0;
      for (i = 0; i < p->in_features; ++i) acc += (w[i] - p->weight_zp) * (in[i] - p->input_zp);
      if (bias) acc += bias[o];
      output[(size_t)b * p->out_features + o] = tt_rq_out(acc, &p->rq, o, TT_RQ_EXACT);
    }
  }
}

#if TINYTVM_DSP
/* Groups of 4 output features of one input row, K % 4 == 0, uniform requantization, full
 * activation range: per group the 4 x K dot products (SXTAB16 widens 4 inputs and subtracts
 * the zero point; each widened pair feeds 4 rows: 25 instructions per 16 MACs), then the
 * branch-free requantization with per-channel multipliers/shifts read on the fly. */
typedef struct {
  const int8_t* x;      /*  0: input row */
  const int8_t* w;      /*  4: next group's first weight row */
  int32_t k;            /*  8: in_features (bytes per row) */
  const int32_t* bias;  /* 12: next group's bias (4 words; a zero array when NULL) */
  int32_t k4;           /* 16: k / 4 (>= 1) */
  uint32_t off;         /* 20: (-zp, -zp) */
  const int32_t* mult;  /* 24: next group's multipliers */
  const int32_t* shift; /* 28 */
  int8_t* out;          /* 32 */
  int32_t zp2p1;        /* 36 */
  int8_t* out_end;      /* 40: out after the last group */
  int32_t bias_step;    /* 44: 16, or 0 with bias pointing at 4 zeros */
} fc_rows4_state;

void tt_fc_rows4_dsp(fc_rows4_state* st);
#define FC_RQ(R, M, S) TT_ASM_REQUANT(R, M, S, "r3")
__asm__(
    "  .text\n"
    "  .syntax unified\n"
    "  .thumb\n"
    "  .align 2\n"
    "  .global tt_fc_rows4_dsp\n"
    "  .type tt_fc_rows4_dsp, %function\n"
    "  .thumb_func\n"
    "tt_fc_rows4_dsp:\n"
    "  push    {r4-r11, lr}\n"
    "  sub     sp, sp, #4\n"
    "  str     r0, [sp]\n"
    "1:\n"
    "  ldr     lr, [sp]\n"
    "  ldmia   lr, {r0-r3}\n"       /* x, w, k, bias */
    "  ldmia   r3, {r4-r7}\n"       /* accumulators = bias */
    "  ldr     r8, [lr, #44]\n"
    "  add     r3, r3, r8\n"
    "  str     r3, [lr, #12]\n"
    "  ldrd    r8, r9, [lr, #16]\n" /* k4, off */
    "  add     r3, r1, r2, lsl #1\n" /* rows 2 and 3 */
    "  add     r10, r1, r2, lsl #2\n"
    "  str     r10, [lr, #4]\n"
    "2:\n"
    "  ldr     lr, [r0], #4\n"
    "  sxtab16 r10, r9, lr\n"
    "  sxtab16 r11, r9, lr, ror #8\n"
    "  ldr     r12, [r1, r2]\n"
    "  sxtb16  lr, r12\n"
    "  sxtb16  r12, r12, ror #8\n"
    "  smlad   r5, r10, lr, r5\n"
    "  smlad   r5, r11, r12, r5\n"
    "  ldr     r12, [r1], #4\n"
    "  sxtb16  lr, r12\n"
    "  sxtb16  r12, r12, ror #8\n"
    "  smlad   r4, r10, lr, r4\n"
    "  smlad   r4, r11, r12, r4\n"
    "  ldr     r12, [r3, r2]\n"
    "  sxtb16  lr, r12\n"
    "  sxtb16  r12, r12, ror #8\n"
    "  smlad   r7, r10, lr, r7\n"
    "  smlad   r7, r11, r12, r7\n"
    "  ldr     r12, [r3], #4\n"
    "  sxtb16  lr, r12\n"
    "  sxtb16  r12, r12, ror #8\n"
    "  smlad   r6, r10, lr, r6\n"
    "  smlad   r6, r11, r12, r6\n"
    "  subs    r8, r8, #1\n"
    "  bne     2b\n"
    "  ldr     lr, [sp]\n"
    "  add     r0, lr, #24\n"
    "  ldmia   r0, {r0-r3, r8}\n"   /* mult, shift, out, zp2p1, out_end */
    "  ldrd    r9, r10, [r0], #8\n"
    "  ldrd    r11, r12, [r1], #8\n"
    "  lsl     r9, r9, #1\n"
    "  lsl     r10, r10, #1\n"
    "  mvn     r11, r11\n"
    "  mvn     r12, r12\n" FC_RQ("r4", "r9", "r11") FC_RQ("r5", "r10", "r12")
    "  ldrd    r9, r10, [r0], #8\n"
    "  ldrd    r11, r12, [r1], #8\n"
    "  lsl     r9, r9, #1\n"
    "  lsl     r10, r10, #1\n"
    "  mvn     r11, r11\n"
    "  mvn     r12, r12\n" FC_RQ("r6", "r9", "r11") FC_RQ("r7", "r10", "r12")
    "  strb    r4, [r2]\n"
    "  strb    r5, [r2, #1]\n"
    "  strb    r6, [r2, #2]\n"
    "  strb    r7, [r2, #3]\n"
    "  add     r2, r2, #4\n"
    "  add     r9, lr, #24\n"
    "  stmia   r9, {r0-r2}\n"
    "  cmp     r2, r8\n"
    "  bne     1b\n"
    "  add     sp, sp, #4\n"
    "  pop     {r4-r11, pc}\n"
    "  .size tt_fc_rows4_dsp, .-tt_fc_rows4_dsp\n");

static const int32_t k_zero4[4] = {0, 0, 0, 0};
#endif

/* acc[j] += sum_{i < len} (x[i] - zp) * w[j * k + i] for j < rows (1..4), portable widening. */
TT_INLINE void fc_dot_c(const int8_t* x, const int8_t* w, int32_t k, int32_t len, int32_t zp,
                        int32_t rows, int32_t* acc) {
  int32_t i = 0, j;
#if TINYTVM_DSP
  const uint32_t off = tt_pack_offset(zp);
  for (; i + 4 <= len; i += 4) {
    const uint32_t v = tt_load_u32(x + i);
    const uint32_t xa = __sxtab16(off, v), xb = tt_sxtab16_ror8(off, v);
    for (j = 0; j < rows; ++j) {
      const uint32_t wv = tt_load_u32(w + (size_t)j * k + i);
      acc[j] = __smlad(xb, tt_sxtb16_ror8(wv), __smlad(xa, __sxtb16(wv), acc[j]));
    }
  }
#endif
  for (; i < len; ++i) {
    const int32_t xv = x[i] - zp;
    for (j = 0; j < rows; ++j) acc[j] += xv * w[(size_t)j * k + i];
  }
}

void tinytvm_fully_connected_s8(const tinytvm_fully_connected_params* p, const int8_t* input,
                                const int8_t* weight, const int32_t* bias, int8_t* output,
                                void* scratch) {
  const int32_t k = p->in_features, n = p->out_features;
  const int32_t unroll = p->oc_unroll >= 1 && p->oc_unroll <= 4 ? p->oc_unroll : 4;
  const tinytvm_requant_params* rq = &p->rq;
  int32_t mode, b;
  (void)scratch;
  if (p->weight_zp != 0) {
    fc_direct(p, input, weight, bias, output);
    return;
  }
  mode = tt_rq_mode(rq, n, bias, tt_dot_bound(k));
  for (b = 0; b < p->batches; ++b) {
    const int8_t* x = input + (size_t)b * k;
    int8_t* out = output + (size_t)b * n;
    int32_t o = 0;
#if TINYTVM_DSP
    if (unroll == 4 && mode == TT_RQ_UNIFORM && rq->act_min <= -128 && rq->act_max >= 127 &&
        (k & 3) == 0 && k > 0 && n >= 4) {
      fc_rows4_state st;
      int32_t m4[4], s4[4], j;
      st.x = x;
      st.w = weight;
      st.k = k;
      st.bias = bias ? bias : k_zero4;
      st.bias_step = bias ? 16 : 0;
      st.k4 = k >> 2;
      st.off = tt_pack_offset(p->input_zp);
      st.mult = rq->multiplier;
      st.shift = rq->shift;
      st.out = out;
      st.zp2p1 = 2 * rq->output_zp + 1;
      if (!rq->per_tensor) {
        st.out_end = out + (n & ~3);
        tt_fc_rows4_dsp(&st);
      } else {
        /* One multiplier/shift: feed the routine a replicated copy, one group at a time. */
        for (j = 0; j < 4; ++j) {
          m4[j] = rq->multiplier[0];
          s4[j] = rq->shift[0];
        }
        for (j = 0; j < (n >> 2); ++j) {
          st.mult = m4;
          st.shift = s4;
          st.out_end = st.out + 4;
          tt_fc_rows4_dsp(&st);
        }
      }
      o = n & ~3;
    }
#endif
    while (o < n) {
      const int32_t rows = n - o < unroll ? n - o : unroll;
      int32_t acc[4], j;
      for (j = 0; j < rows; ++j) acc[j] = bias ? bias[o + j] : 0;
      fc_dot_c(x, weight + (size_t)o * k, k, k, p->input_zp, rows, acc);
      for (j = 0; j < rows; ++j) out[o + j] = tt_rq_out(acc[j], rq, o + j, mode);
      o += rows;
    }
  }
}
