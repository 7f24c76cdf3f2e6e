/*
 * depthwise_conv2d.c - int8 depthwise convolution (GENERIC, PLANE and ROWS paths).
 *
 * PLANE and ROWS share one engine: input rows are copied into int16 buffers with the input
 * zero point subtracted and the padding materialized as zeros (0 after subtracting the zero
 * point == TFLM skipping taps outside the image), one buffer row per (input row, channel).
 *   - PLANE keeps every padded row of one channel (the ring never wraps);
 *   - ROWS keeps a ring of the (k_h - 1) * dilation_h + 1 rows one output row needs, for
 *     ch_block channels; each output row fills only the rows that are new (1 for stride 1).
 * Rows are filled lazily, just before the first output row that needs them, which is what
 * makes the in-place use (output == input) safe.  With 4 channels per block on a DSP core the
 * fill reads 4 channels x 2 columns per step (two word loads), widens them with SXTAB16 and
 * transposes with PKHBT/PKHTB into 4 rows: ~2 instructions per element instead of ~4.
 *
 * The kernel weights of one output channel are packed as int16 pairs (an odd kernel width gets
 * a zero partner), so two horizontal taps cost one unaligned word load and one SMLAD.  3x3
 * with dilation 1 has unrolled stride-1 and stride-2 loops producing two outputs per
 * iteration (stride 1 shares the middle pair: 3 loads and 4 multiply-accumulates per kernel
 * row for two outputs), requantized branch-free (internal.h, tt_rqu_s8).
 */
#include "tinytvm/depthwise_conv2d.h"

#include "internal.h"

#define DW_ROWS_CACHED 16 /* row pointers kept in an array; taller kernels compute the rest */

typedef struct {
  int32_t ph, pw; /* padded rows / columns the windows cover */
  int32_t pws;    /* int16 stride of a buffered row: pw + 2 elements of slack, even */
  int32_t kwp;    /* k_w rounded up to even */
  int32_t dm;     /* depth multiplier */
  int32_t out_c;  /* in_c * dm */
  int32_t rows;   /* rows in the ring */
  int32_t g;      /* channels per block */
} dw_geom;

static int32_t dw_mult(const tinytvm_depthwise_conv2d_params* p) {
  return p->depth_multiplier > 1 ? p->depth_multiplier : 1;
}

tinytvm_dw_impl tinytvm_depthwise_conv2d_s8_resolve_impl(const tinytvm_depthwise_conv2d_params* p) {
  const int pointwise = p->k_h == 1 && p->k_w == 1 && p->pad_top == 0 && p->pad_left == 0;
  if (p->impl == TINYTVM_DW_GENERIC) return TINYTVM_DW_GENERIC;
  if (p->impl == TINYTVM_DW_PLANE) return TINYTVM_DW_PLANE;
  if (p->impl == TINYTVM_DW_ROWS) return TINYTVM_DW_ROWS;
  return pointwise ? TINYTVM_DW_GENERIC : TINYTVM_DW_ROWS;
}

static dw_geom dw_geometry(const tinytvm_depthwise_conv2d_params* p, tinytvm_dw_impl impl) {
  dw_geom g;
  g.ph = (p->out_h - 1) * p->stride_h + (p->k_h - 1) * p->dilation_h + 1;
  g.pw = (p->out_w - 1) * p->stride_w + (p->k_w - 1) * p->dilation_w + 1;
  g.pws = (g.pw + 2 + 1) & ~1;
  g.kwp = (p->k_w + 1) & ~1;
  g.dm = dw_mult(p);
  g.out_c = p->in_c * g.dm;
  if (impl == TINYTVM_DW_PLANE) {
    g.rows = g.ph;
    g.g = 1;
  } else {
    g.rows = (p->k_h - 1) * p->dilation_h + 1;
    g.g = p->ch_block >= 1 && p->ch_block <= 16 ? p->ch_block : 4;
    if (g.g > p->in_c) g.g = p->in_c;
  }
  return g;
}

static size_t dw_band_elems(const dw_geom* g) { return (size_t)g->g * g->rows * g->pws; }
/* Per buffered output channel: {m2, rsm1, zp2p1, bias} (int32) then the packed kernel
 * weights, kh rows of kwp int16. */
#define DW_BLOCK_HEAD 8 /* int16 elements of the int32 header */
static int32_t dw_block_elems(const tinytvm_depthwise_conv2d_params* p, const dw_geom* g) {
  return DW_BLOCK_HEAD + p->k_h * g->kwp;
}
static size_t dw_wpk_elems(const tinytvm_depthwise_conv2d_params* p, const dw_geom* g) {
  return (size_t)g->g * g->dm * dw_block_elems(p, g);
}

size_t tinytvm_depthwise_conv2d_s8_scratch_bytes(const tinytvm_depthwise_conv2d_params* p) {
  const tinytvm_dw_impl impl = tinytvm_depthwise_conv2d_s8_resolve_impl(p);
  dw_geom g;
  if (impl == TINYTVM_DW_GENERIC) return 0;
  g = dw_geometry(p, impl);
  return (dw_band_elems(&g) + dw_wpk_elems(p, &g)) * sizeof(int16_t);
}

tinytvm_status tinytvm_depthwise_conv2d_s8_check(const tinytvm_depthwise_conv2d_params* p) {
  int32_t eff, span;
  if (p->batches < 1 || p->in_h < 1 || p->in_w < 1 || p->in_c < 1 || p->out_h < 1 ||
      p->out_w < 1 || p->k_h < 1 || p->k_w < 1 || p->depth_multiplier < 0)
    return TINYTVM_ERR_SHAPE;
  if (p->stride_h < 1 || p->stride_w < 1 || p->dilation_h < 1 || p->dilation_w < 1 ||
      p->pad_top < 0 || p->pad_left < 0 || p->pad_bottom < 0 || p->pad_right < 0)
    return TINYTVM_ERR_PARAM;
  eff = (p->k_h - 1) * p->dilation_h + 1;
  span = p->in_h + p->pad_top + p->pad_bottom - eff;
  if (span < 0 || p->out_h != span / p->stride_h + 1) return TINYTVM_ERR_SHAPE;
  eff = (p->k_w - 1) * p->dilation_w + 1;
  span = p->in_w + p->pad_left + p->pad_right - eff;
  if (span < 0 || p->out_w != span / p->stride_w + 1) return TINYTVM_ERR_SHAPE;
  if (p->input_zp < -128 || p->input_zp > 127 || p->rq.output_zp < -128 ||
      p->rq.output_zp > 127 || p->rq.act_min < -128 || p->rq.act_max > 127 ||
      p->rq.act_min > p->rq.act_max || !p->rq.multiplier || !p->rq.shift)
    return TINYTVM_ERR_PARAM;
  if (p->impl < 0 || p->impl > TINYTVM_DW_ROWS || p->ch_block < 0 || p->ch_block > 16)
    return TINYTVM_ERR_PARAM;
  return TINYTVM_OK;
}

/* ---- GENERIC: TFLM's loop nest ------------------------------------------------------------ */
static void dw_generic(const tinytvm_depthwise_conv2d_params* p, const int8_t* input,
                       const int8_t* weight, const int32_t* bias, int8_t* output) {
  const int32_t dm = dw_mult(p);
  const int32_t out_c = p->in_c * dm;
  const int32_t mode = tt_rq_mode(&p->rq, out_c, bias, tt_dot_bound(p->k_h * p->k_w));
  int32_t b, oy, ox, c, m, ky, kx;
  for (b = 0; b < p->batches; ++b)
    for (oy = 0; oy < p->out_h; ++oy)
      for (ox = 0; ox < p->out_w; ++ox)
        for (c = 0; c < p->in_c; ++c)
          for (m = 0; m < dm; ++m) {
            const int32_t o = c * dm + m;
            int32_t acc = 0;
            for (ky = 0; ky < p->k_h; ++ky) {
              const int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
              if (iy < 0 || iy >= p->in_h) continue;
              for (kx = 0; kx < p->k_w; ++kx) {
                const int32_t ix = ox * p->stride_w - p->pad_left + kx * p->dilation_w;
                if (ix < 0 || ix >= p->in_w) continue;
                acc += weight[(ky * p->k_w + kx) * out_c + o] *
                       (input[(((size_t)b * p->in_h + iy) * p->in_w + ix) * p->in_c + c] -
                        p->input_zp);
              }
            }
            if (bias) acc += bias[o];
            output[(((size_t)b * p->out_h + oy) * p->out_w + ox) * out_c + o] =
                tt_rq_out(acc, &p->rq, o, mode);
          }
}

/* ---- buffered rows (PLANE / ROWS) ------------------------------------------------------------ */

/* Input row iy of channels c0 .. c0 + gc - 1 into the buffer rows dst + j * pws (column 0 of a
 * buffer row is padded column 0, i.e. input column -pad_left).  Rows outside the image become
 * zeros; the padding columns are zero from the initial memset and never written. */
static void dw_fill_row(const tinytvm_depthwise_conv2d_params* p, const dw_geom* g,
                        const int8_t* input, int32_t b, int32_t c0, int32_t gc, int32_t iy,
                        int16_t* dst) {
  const int32_t pl = p->pad_left;
  const int32_t nx = tinytvm_max_i32(0, tinytvm_min_i32(p->in_w, g->pw - pl));
  const int32_t zp = p->input_zp;
  const size_t step = (size_t)p->in_c;
  const int8_t* src;
  int32_t j, ix;
  if (nx == 0) return;
  if (iy < 0 || iy >= p->in_h) {
    for (j = 0; j < gc; ++j) {
      int16_t* d = dst + (size_t)j * g->pws + pl;
      for (ix = 0; ix < nx; ++ix) d[ix] = 0;
    }
    return;
  }
  src = input + (((size_t)b * p->in_h + iy) * p->in_w) * step + c0;
#if TINYTVM_DSP
  if (gc == 4) {
    const uint32_t off = tt_pack_offset(zp);
    int16_t* d0 = dst + pl;
    int16_t* d1 = d0 + g->pws;
    int16_t* d2 = d1 + g->pws;
    int16_t* d3 = d2 + g->pws;
    for (ix = 0; ix + 1 < nx; ix += 2) {
      const uint32_t v0 = tt_load_u32(src), v1 = tt_load_u32(src + step);
      const uint32_t e0 = __sxtab16(off, v0), o0 = tt_sxtab16_ror8(off, v0);
      const uint32_t e1 = __sxtab16(off, v1), o1 = tt_sxtab16_ror8(off, v1);
      tt_store_u32(d0 + ix, tt_pkhbt16(e0, e1));
      tt_store_u32(d1 + ix, tt_pkhbt16(o0, o1));
      tt_store_u32(d2 + ix, tt_pkhtb16(e1, e0));
      tt_store_u32(d3 + ix, tt_pkhtb16(o1, o0));
      src += 2 * step;
    }
    if (ix < nx) {
      const uint32_t v0 = tt_load_u32(src);
      const uint32_t e0 = __sxtab16(off, v0), o0 = tt_sxtab16_ror8(off, v0);
      d0[ix] = (int16_t)e0;
      d1[ix] = (int16_t)o0;
      d2[ix] = (int16_t)(e0 >> 16);
      d3[ix] = (int16_t)(o0 >> 16);
    }
    return;
  }
#endif
  for (j = 0; j < gc; ++j) {
    const int8_t* s = src + j;
    int16_t* d = dst + (size_t)j * g->pws + pl;
    for (ix = 0; ix < nx; ++ix) {
      d[ix] = (int16_t)(*s - zp);
      s += step;
    }
  }
}

#if TINYTVM_DSP
/* ---- assembly (DSP cores) -------------------------------------------------------------------
 * tt_dw_fill4_dsp: input row of 4 channels -> 4 buffer rows, two columns per iteration.
 * tt_dw3s{1,2}_row_dsp: one output row of one channel, 3x3, dilation 1, uniform requant and
 * full activation range; four outputs per iteration (stride 1: five pair loads per kernel row
 * for four outputs), then single outputs.  The channel block holds {m2, rsm1, zp2p1, bias,
 * w0, w0z, w1, w1z, w2, w2z} (w_k = (w[k][0], w[k][1]), w_kz = (w[k][2], 0) as int16 pairs);
 * the weights are reloaded per kernel row (LDRD) so that the loop fits in 14 registers. */
typedef struct {
  const int8_t* src; /*  0 */
  int32_t step;      /*  4: in_c (bytes between columns) */
  int16_t* d0;       /*  8: channel 0 buffer row at the first interior column */
  int32_t pws;       /* 12: bytes between the 4 buffer rows */
  int32_t pairs;     /* 16: column pairs */
  uint32_t off;      /* 20: (-zp, -zp) */
  int32_t tail;      /* 24: 1 if a last single column follows */
} dw_fill4_args;

void tt_dw_fill4_dsp(const dw_fill4_args* a);
__asm__(
    "  .text\n"
    "  .syntax unified\n"
    "  .thumb\n"
    "  .align 2\n"
    "  .global tt_dw_fill4_dsp\n"
    "  .type tt_dw_fill4_dsp, %function\n"
    "  .thumb_func\n"
    "tt_dw_fill4_dsp:\n"
    "  push    {r4-r11, lr}\n"
    "  ldmia   r0, {r0-r6}\n"
    "  add     r7, r2, r3, lsl #1\n" /* channels 2, 3 */
    "  cmp     r4, #0\n"
    "  beq     2f\n"
    "1:\n"
    "  ldr     r8, [r0]\n"
    "  ldr     r9, [r0, r1]\n"
    "  add     r0, r0, r1, lsl #1\n"
    "  sxtab16 r10, r5, r8\n"
    "  sxtab16 r8, r5, r8, ror #8\n"
    "  sxtab16 r11, r5, r9\n"
    "  sxtab16 r9, r5, r9, ror #8\n"
    "  pkhbt   r12, r10, r11, lsl #16\n"
    "  pkhtb   r11, r11, r10, asr #16\n"
    "  pkhbt   r10, r8, r9, lsl #16\n"
    "  pkhtb   r9, r9, r8, asr #16\n"
    "  str     r10, [r2, r3]\n"
    "  str     r12, [r2], #4\n"
    "  str     r9, [r7, r3]\n"
    "  str     r11, [r7], #4\n"
    "  subs    r4, r4, #1\n"
    "  bne     1b\n"
    "2:\n"
    "  cbz     r6, 3f\n"
    "  ldr     r8, [r0]\n"
    "  sxtab16 r10, r5, r8\n"
    "  sxtab16 r8, r5, r8, ror #8\n"
    "  strh    r10, [r2]\n"
    "  strh    r8, [r2, r3]\n"
    "  lsr     r10, r10, #16\n"
    "  lsr     r8, r8, #16\n"
    "  strh    r10, [r7]\n"
    "  strh    r8, [r7, r3]\n"
    "3:\n"
    "  pop     {r4-r11, pc}\n"
    "  .size tt_dw_fill4_dsp, .-tt_dw_fill4_dsp\n");

typedef struct {
  const int16_t* r0;  /*  0: kernel row 0 buffer row of the first channel */
  const int16_t* r1;  /*  4 */
  const int16_t* r2;  /*  8 */
  int8_t* out;        /* 12: first output of the first channel */
  int32_t step;       /* 16: bytes between horizontally adjacent outputs */
  int32_t n4;         /* 20: groups of 4 outputs per row */
  const int32_t* blk; /* 24: channel block of the first channel */
  int32_t n21;        /* 28: bit 1: a pair of outputs follows, bit 0: a single output */
  int32_t row_adv;    /* 32: bytes from one channel's buffer rows to the next (0: same rows) */
  int32_t blk_adv;    /* 36: bytes between channel blocks */
  int32_t nch;        /* 40: channels (>= 1); consecutive channels are consecutive outputs */
} dw3_row_args;

void tt_dw3s1_rows_dsp(dw3_row_args* a);
void tt_dw3s2_rows_dsp(dw3_row_args* a);

/* Kernel row at block offset KY of 4 outputs at stride 1: pairs P01..P45 at byte offsets 0..8.
 * A7..A9: accumulator inputs of the first multiply-accumulate (the bias in r10 for row 0). */
#define DW3S1_ROW4(RP, KY, A7, A8, A9)              \
  "  ldrd    r11, r12, [r6, #" #KY "]\n"            \
  "  ldr     lr, [" RP "], #8\n"                    \
  "  smlad   r7, lr, r11, " A7 "\n"                 \
  "  ldr     lr, [" RP ", #-6]\n"                   \
  "  smlad   r8, lr, r11, " A8 "\n"                 \
  "  ldr     lr, [" RP ", #-4]\n"                   \
  "  smlabb  r7, lr, r12, r7\n"                     \
  "  smlatb  r8, lr, r12, r8\n"                     \
  "  smlad   r9, lr, r11, " A9 "\n"                 \
  "  ldr     lr, [" RP ", #-2]\n"                   \
  "  smlad   r10, lr, r11, r10\n"                   \
  "  ldr     lr, [" RP "]\n"                        \
  "  smlabb  r9, lr, r12, r9\n"                     \
  "  smlatb  r10, lr, r12, r10\n"
/* Stride 2: pairs P0..P4 at byte offsets 0..16. */
#define DW3S2_ROW4(RP, KY, A7, A8, A9)              \
  "  ldrd    r11, r12, [r6, #" #KY "]\n"            \
  "  ldr     lr, [" RP "], #16\n"                   \
  "  smlad   r7, lr, r11, " A7 "\n"                 \
  "  ldr     lr, [" RP ", #-12]\n"                  \
  "  smlabb  r7, lr, r12, r7\n"                     \
  "  smlad   r8, lr, r11, " A8 "\n"                 \
  "  ldr     lr, [" RP ", #-8]\n"                   \
  "  smlabb  r8, lr, r12, r8\n"                     \
  "  smlad   r9, lr, r11, " A9 "\n"                 \
  "  ldr     lr, [" RP ", #-4]\n"                   \
  "  smlabb  r9, lr, r12, r9\n"                     \
  "  smlad   r10, lr, r11, r10\n"                   \
  "  ldr     lr, [" RP "]\n"                        \
  "  smlabb  r10, lr, r12, r10\n"
/* Two outputs (r9, r10): stride 1 pairs P01, P12, P23; stride 2 P0, P1, P2. */
#define DW3S1_ROW2(RP, KY, A9)                      \
  "  ldrd    r11, r12, [r6, #" #KY "]\n"            \
  "  ldr     lr, [" RP "], #4\n"                    \
  "  smlad   r9, lr, r11, " A9 "\n"                 \
  "  ldr     lr, [" RP ", #-2]\n"                   \
  "  smlad   r10, lr, r11, r10\n"                   \
  "  ldr     lr, [" RP "]\n"                        \
  "  smlabb  r9, lr, r12, r9\n"                     \
  "  smlatb  r10, lr, r12, r10\n"
#define DW3S2_ROW2(RP, KY, A9)                      \
  "  ldrd    r11, r12, [r6, #" #KY "]\n"            \
  "  ldr     lr, [" RP "], #8\n"                    \
  "  smlad   r9, lr, r11, " A9 "\n"                 \
  "  ldr     lr, [" RP ", #-4]\n"                   \
  "  smlabb  r9, lr, r12, r9\n"                     \
  "  smlad   r10, lr, r11, r10\n"                   \
  "  ldr     lr, [" RP "]\n"                        \
  "  smlabb  r10, lr, r12, r10\n"
/* One output (r10): the pair at [RP] (then RP += ADV), the third tap the low half of [RP + OFF]. */
#define DW3_ROW1(RP, KY, ADV, OFF)                  \
  "  ldrd    r11, r12, [r6, #" #KY "]\n"            \
  "  ldr     lr, [" RP "], #" #ADV "\n"             \
  "  smlad   r10, lr, r11, r10\n"                   \
  "  ldr     lr, [" RP ", #" #OFF "]\n"             \
  "  smlabb  r10, lr, r12, r10\n"
#define DW3_RQ(R)                                   \
  "  smmlar  " R ", " R ", r11, " R "\n"            \
  "  add     " R ", " R ", " R ", asr #31\n"        \
  "  asr     " R ", " R ", r12\n"                   \
  "  add     " R ", " R ", lr\n"                    \
  "  ssat    " R ", #8, " R ", asr #1\n"
/* Registers: r0-r2 buffer rows, r3 out, r4 step, r5 loop end, r6 channel block, r7-r10
 * accumulators, r11/r12 weight pair words (then m2/rsm1), lr loaded pair (then zp2p1). */
#define DW3_ROWS_FN(NAME, ROW4, ROW2, ADV1, OFF1)                                            \
  __asm__(                                                                                   \
      "  .text\n"                                                                            \
      "  .syntax unified\n"                                                                  \
      "  .thumb\n"                                                                           \
      "  .align 2\n"                                                                         \
      "  .global " NAME "\n"                                                                 \
      "  .type " NAME ", %function\n"                                                        \
      "  .thumb_func\n" NAME ":\n"                                                           \
      "  push    {r4-r11, lr}\n"                                                             \
      "  sub     sp, sp, #4\n"                                                               \
      "  str     r0, [sp]\n"                                                                 \
      "0:\n"                                                                                 \
      "  ldr     r0, [sp]\n"                                                                 \
      "  ldmia   r0, {r0-r6}\n"                                                              \
      "  mul     r5, r5, r4\n"                                                               \
      "  add     r5, r3, r5, lsl #2\n" /* end of the 4-output groups */                     \
      "  cmp     r3, r5\n"                                                                   \
      "  beq     3f\n"                                                                       \
      "1:\n"                                                                                 \
      "  ldr     r10, [r6, #12]\n" /* bias */                                               \
      ROW4("r0", 16, "r10", "r10", "r10") ROW4("r1", 24, "r7", "r8", "r9")                   \
      ROW4("r2", 32, "r7", "r8", "r9")                                                       \
      "  ldmia   r6, {r11, r12, lr}\n" DW3_RQ("r7") DW3_RQ("r8") DW3_RQ("r9") DW3_RQ("r10")  \
      "  strb    r7, [r3]\n"                                                                 \
      "  strb    r8, [r3, r4]\n"                                                             \
      "  add     r3, r3, r4, lsl #1\n"                                                       \
      "  strb    r9, [r3]\n"                                                                 \
      "  strb    r10, [r3, r4]\n"                                                            \
      "  add     r3, r3, r4, lsl #1\n"                                                       \
      "  cmp     r3, r5\n"                                                                   \
      "  bne     1b\n"                                                                       \
      "3:\n"                                                                                 \
      "  ldr     r5, [sp]\n"                                                                 \
      "  ldr     r5, [r5, #28]\n"                                                            \
      "  tst     r5, #2\n"                                                                   \
      "  beq     4f\n"                                                                       \
      "  ldr     r10, [r6, #12]\n" ROW2("r0", 16, "r10") ROW2("r1", 24, "r9")                \
          ROW2("r2", 32, "r9")                                                               \
      "  ldmia   r6, {r11, r12, lr}\n" DW3_RQ("r9") DW3_RQ("r10")                            \
      "  strb    r9, [r3]\n"                                                                 \
      "  strb    r10, [r3, r4]\n"                                                            \
      "  add     r3, r3, r4, lsl #1\n"                                                       \
      "4:\n"                                                                                 \
      "  tst     r5, #1\n"                                                                   \
      "  beq     5f\n"                                                                       \
      "  ldr     r10, [r6, #12]\n" DW3_ROW1("r0", 16, ADV1, OFF1)                            \
          DW3_ROW1("r1", 24, ADV1, OFF1) DW3_ROW1("r2", 32, ADV1, OFF1)                      \
      "  ldmia   r6, {r11, r12, lr}\n" DW3_RQ("r10")                                         \
      "  strb    r10, [r3]\n"                                                                \
      "5:\n" /* next channel */                                                             \
      "  ldr     r7, [sp]\n"                                                                 \
      "  ldmia   r7, {r0-r3}\n"                                                              \
      "  ldrd    r4, r5, [r7, #32]\n" /* row_adv, blk_adv */                                \
      "  ldr     r6, [r7, #24]\n"                                                            \
      "  add     r0, r0, r4\n"                                                               \
      "  add     r1, r1, r4\n"                                                               \
      "  add     r2, r2, r4\n"                                                               \
      "  add     r3, r3, #1\n"                                                               \
      "  add     r6, r6, r5\n"                                                               \
      "  stmia   r7, {r0-r3}\n"                                                              \
      "  str     r6, [r7, #24]\n"                                                            \
      "  ldr     r4, [r7, #40]\n"                                                            \
      "  subs    r4, r4, #1\n"                                                               \
      "  str     r4, [r7, #40]\n"                                                            \
      "  bne     0b\n"                                                                       \
      "  add     sp, sp, #4\n"                                                               \
      "  pop     {r4-r11, pc}\n"                                                             \
      "  .size " NAME ", .-" NAME "\n")

DW3_ROWS_FN("tt_dw3s1_rows_dsp", DW3S1_ROW4, DW3S1_ROW2, 2, 2);
DW3_ROWS_FN("tt_dw3s2_rows_dsp", DW3S2_ROW4, DW3S2_ROW2, 4, 0);
#endif

/* Per-call constants of the row kernels. */
typedef struct {
  const tinytvm_requant_params* rq;
  int32_t mode;
  int32_t zp2p1;
  int32_t step; /* bytes between horizontally adjacent outputs (out_c) */
} dw_ctx;

#define DW_RQ(acc)                                                                          \
  (FAST ? (int8_t)tt_rqu_s8((acc), u.m2, u.rsm1, zp2p1) : tt_rq_out((acc), cx->rq, o, cx->mode))

#if TINYTVM_DSP
#define DW_SMLAD(x, w, a) __smlad((x), (w), (a))
#define DW_SMLABB(x, w, a) __smlabb((x), (w), (a))
#define DW_SMLATB(x, w, a) __smlatb((x), (w), (a))
#else
TT_INLINE int32_t dw_lo(uint32_t v) { return (int16_t)(v & 0xFFFFu); }
TT_INLINE int32_t dw_hi(uint32_t v) { return (int16_t)(v >> 16); }
#define DW_SMLAD(x, w, a) ((a) + dw_lo(x) * dw_lo(w) + dw_hi(x) * dw_hi(w))
#define DW_SMLABB(x, w, a) ((a) + dw_lo(x) * dw_lo(w))
#define DW_SMLATB(x, w, a) ((a) + dw_hi(x) * dw_lo(w))
#endif

/* 3x3, dilation 1, stride 1: one output row of one channel.  Two outputs per iteration share
 * the middle pair: A = (p0, p1), C = (p1, p2), B = (p2, p3) per kernel row. */
TT_INLINE void dw3_s1(const dw_ctx* cx, const int16_t* r0, const int16_t* r1, const int16_t* r2,
                      const int16_t* wpk, int32_t bias, int32_t o, int32_t n, int8_t* out,
                      const int FAST) {
  const uint32_t w0 = tt_load_u32(wpk), w0z = tt_load_u32(wpk + 2);
  const uint32_t w1 = tt_load_u32(wpk + 4), w1z = tt_load_u32(wpk + 6);
  const uint32_t w2 = tt_load_u32(wpk + 8), w2z = tt_load_u32(wpk + 10);
  const tt_rqu u = tt_rqu_channel(cx->rq, o);
  const int32_t zp2p1 = cx->zp2p1, step = cx->step;
  int32_t x;
  for (x = 0; x + 1 < n; x += 2) {
    uint32_t A = tt_load_u32(r0), C = tt_load_u32(r0 + 1), B = tt_load_u32(r0 + 2);
    int32_t a0 = DW_SMLAD(A, w0, bias), a1 = DW_SMLAD(C, w0, bias);
    a0 = DW_SMLABB(B, w0z, a0);
    a1 = DW_SMLATB(B, w0z, a1);
    A = tt_load_u32(r1);
    C = tt_load_u32(r1 + 1);
    B = tt_load_u32(r1 + 2);
    a0 = DW_SMLAD(A, w1, a0);
    a1 = DW_SMLAD(C, w1, a1);
    a0 = DW_SMLABB(B, w1z, a0);
    a1 = DW_SMLATB(B, w1z, a1);
    A = tt_load_u32(r2);
    C = tt_load_u32(r2 + 1);
    B = tt_load_u32(r2 + 2);
    a0 = DW_SMLAD(A, w2, a0);
    a1 = DW_SMLAD(C, w2, a1);
    a0 = DW_SMLABB(B, w2z, a0);
    a1 = DW_SMLATB(B, w2z, a1);
    out[0] = DW_RQ(a0);
    out[step] = DW_RQ(a1);
    out += 2 * step;
    r0 += 2;
    r1 += 2;
    r2 += 2;
  }
  if (x < n) {
    int32_t a0 = DW_SMLAD(tt_load_u32(r0), w0, bias);
    a0 = DW_SMLABB(tt_load_u32(r0 + 2), w0z, a0);
    a0 = DW_SMLAD(tt_load_u32(r1), w1, a0);
    a0 = DW_SMLABB(tt_load_u32(r1 + 2), w1z, a0);
    a0 = DW_SMLAD(tt_load_u32(r2), w2, a0);
    a0 = DW_SMLABB(tt_load_u32(r2 + 2), w2z, a0);
    out[0] = DW_RQ(a0);
  }
}

/* 3x3, dilation 1, stride 2: output x reads the pairs (p2x, p2x+1) and (p2x+2, p2x+3); the
 * second is the first of output x + 1. */
TT_INLINE void dw3_s2(const dw_ctx* cx, const int16_t* r0, const int16_t* r1, const int16_t* r2,
                      const int16_t* wpk, int32_t bias, int32_t o, int32_t n, int8_t* out,
                      const int FAST) {
  const uint32_t w0 = tt_load_u32(wpk), w0z = tt_load_u32(wpk + 2);
  const uint32_t w1 = tt_load_u32(wpk + 4), w1z = tt_load_u32(wpk + 6);
  const uint32_t w2 = tt_load_u32(wpk + 8), w2z = tt_load_u32(wpk + 10);
  const tt_rqu u = tt_rqu_channel(cx->rq, o);
  const int32_t zp2p1 = cx->zp2p1, step = cx->step;
  int32_t x;
  for (x = 0; x + 1 < n; x += 2) {
    uint32_t A = tt_load_u32(r0), B = tt_load_u32(r0 + 2), C = tt_load_u32(r0 + 4);
    int32_t a0 = DW_SMLAD(A, w0, bias), a1 = DW_SMLAD(B, w0, bias);
    a0 = DW_SMLABB(B, w0z, a0);
    a1 = DW_SMLABB(C, w0z, a1);
    A = tt_load_u32(r1);
    B = tt_load_u32(r1 + 2);
    C = tt_load_u32(r1 + 4);
    a0 = DW_SMLAD(A, w1, a0);
    a1 = DW_SMLAD(B, w1, a1);
    a0 = DW_SMLABB(B, w1z, a0);
    a1 = DW_SMLABB(C, w1z, a1);
    A = tt_load_u32(r2);
    B = tt_load_u32(r2 + 2);
    C = tt_load_u32(r2 + 4);
    a0 = DW_SMLAD(A, w2, a0);
    a1 = DW_SMLAD(B, w2, a1);
    a0 = DW_SMLABB(B, w2z, a0);
    a1 = DW_SMLABB(C, w2z, a1);
    out[0] = DW_RQ(a0);
    out[step] = DW_RQ(a1);
    out += 2 * step;
    r0 += 4;
    r1 += 4;
    r2 += 4;
  }
  if (x < n) {
    int32_t a0 = DW_SMLAD(tt_load_u32(r0), w0, bias);
    a0 = DW_SMLABB(tt_load_u32(r0 + 2), w0z, a0);
    a0 = DW_SMLAD(tt_load_u32(r1), w1, a0);
    a0 = DW_SMLABB(tt_load_u32(r1 + 2), w1z, a0);
    a0 = DW_SMLAD(tt_load_u32(r2), w2, a0);
    a0 = DW_SMLABB(tt_load_u32(r2 + 2), w2z, a0);
    out[0] = DW_RQ(a0);
  }
}

/* Buffer rows of one channel for one output row: kernel row ky is ring slot
 * (s0 + ky * dh) % rows. */
typedef struct {
  const int16_t* base; /* the channel's row in slot 0 */
  size_t sstride;      /* int16 elements between slots */
  int32_t s0, nrows, dh;
} dw_rows;

TT_INLINE const int16_t* dw_row_ptr(const dw_rows* r, int32_t ky) {
  return r->base + (size_t)((r->s0 + ky * r->dh) % r->nrows) * r->sstride;
}

/* Any kernel size / stride / dilation. */
static void dw_row_any(const tinytvm_depthwise_conv2d_params* p, const dw_geom* g,
                       const dw_ctx* cx, const dw_rows* rr, const int16_t* wpk, int32_t bias,
                       int32_t o, int8_t* out) {
  const int32_t kh = p->k_h, kw = p->k_w, npairs = g->kwp / 2;
  const int32_t sw = p->stride_w, dw = p->dilation_w;
  const int16_t* rows[DW_ROWS_CACHED];
  int32_t x, ky, kx, j;
  for (ky = 0; ky < kh && ky < DW_ROWS_CACHED; ++ky) rows[ky] = dw_row_ptr(rr, ky);
  for (x = 0; x < p->out_w; ++x) {
    int32_t acc = bias;
    for (ky = 0; ky < kh; ++ky) {
      const int16_t* r = (ky < DW_ROWS_CACHED ? rows[ky] : dw_row_ptr(rr, ky)) + (size_t)x * sw;
      const int16_t* w = wpk + ky * g->kwp;
      if (dw == 1) {
        for (j = 0; j < npairs; ++j) acc = DW_SMLAD(tt_load_u32(r + 2 * j), tt_load_u32(w + 2 * j), acc);
      } else {
        for (kx = 0; kx < kw; ++kx) acc += r[kx * dw] * w[kx];
      }
    }
    *out = tt_rq_out(acc, cx->rq, o, cx->mode);
    out += cx->step;
  }
}

/* Kernel widths of up to 8 taps with dilation_w == 1 and k_h <= DW_ROWS_CACHED: NP weight
 * pairs per kernel row, fully unrolled, two outputs per iteration sharing the weight loads;
 * any stride.  Not inlined: it needs its own register allocation. */
TT_INLINE void dw_row_pairs_body(const tinytvm_depthwise_conv2d_params* p, const dw_geom* g,
                                 const dw_ctx* cx, const dw_rows* rr, const int16_t* wpk,
                                 int32_t bias, int32_t o, int8_t* out, const int NP,
                                 const int FAST) {
  const int32_t kh = p->k_h, kwp = g->kwp, n = p->out_w, sw = p->stride_w, step = cx->step;
  const tt_rqu u = tt_rqu_channel(cx->rq, o);
  const int32_t zp2p1 = cx->zp2p1;
  const int16_t* rows[DW_ROWS_CACHED];
  int32_t x, ky;
  for (ky = 0; ky < kh; ++ky) rows[ky] = dw_row_ptr(rr, ky);
  for (x = 0; x < n; x += 2) {
    const int16_t* w = wpk;
    const size_t off = (size_t)x * sw;
    const int two = x + 1 < n;
    int32_t a0 = bias, a1 = bias;
    for (ky = 0; ky < kh; ++ky, w += kwp) {
      const int16_t* r = rows[ky] + off;
      const int16_t* r1 = r + sw;
      uint32_t wv = tt_load_u32(w);
      a0 = DW_SMLAD(tt_load_u32(r), wv, a0);
      a1 = DW_SMLAD(tt_load_u32(r1), wv, a1);
      if (NP > 1) {
        wv = tt_load_u32(w + 2);
        a0 = DW_SMLAD(tt_load_u32(r + 2), wv, a0);
        a1 = DW_SMLAD(tt_load_u32(r1 + 2), wv, a1);
      }
      if (NP > 2) {
        wv = tt_load_u32(w + 4);
        a0 = DW_SMLAD(tt_load_u32(r + 4), wv, a0);
        a1 = DW_SMLAD(tt_load_u32(r1 + 4), wv, a1);
      }
      if (NP > 3) {
        wv = tt_load_u32(w + 6);
        a0 = DW_SMLAD(tt_load_u32(r + 6), wv, a0);
        a1 = DW_SMLAD(tt_load_u32(r1 + 6), wv, a1);
      }
    }
    out[0] = DW_RQ(a0);
    if (!two) break;
    out[step] = DW_RQ(a1);
    out += 2 * step;
  }
}

#define DW_ROW_PAIRS_FN(NP, FAST)                                                              \
  static TT_NOINLINE void dw_row_pairs_##NP##_##FAST(                                          \
      const tinytvm_depthwise_conv2d_params* p, const dw_geom* g, const dw_ctx* cx,            \
      const dw_rows* rr, const int16_t* wpk, int32_t bias, int32_t o, int8_t* out) {           \
    dw_row_pairs_body(p, g, cx, rr, wpk, bias, o, out, NP, FAST);                              \
  }
DW_ROW_PAIRS_FN(1, 0)
DW_ROW_PAIRS_FN(1, 1)
DW_ROW_PAIRS_FN(2, 0)
DW_ROW_PAIRS_FN(2, 1)
DW_ROW_PAIRS_FN(3, 0)
DW_ROW_PAIRS_FN(3, 1)
DW_ROW_PAIRS_FN(4, 0)
DW_ROW_PAIRS_FN(4, 1)

static void dw_row_dispatch(const tinytvm_depthwise_conv2d_params* p, const dw_geom* g,
                            const dw_ctx* cx, const dw_rows* rr, const int16_t* wpk,
                            int32_t bias, int32_t o, int8_t* out, int fast, int kind) {
  if (kind) {
    const int16_t* r0 = dw_row_ptr(rr, 0);
    const int16_t* r1 = dw_row_ptr(rr, 1);
    const int16_t* r2 = dw_row_ptr(rr, 2);
    if (kind == 1) {
      if (fast) {
        dw3_s1(cx, r0, r1, r2, wpk, bias, o, p->out_w, out, 1);
      } else {
        dw3_s1(cx, r0, r1, r2, wpk, bias, o, p->out_w, out, 0);
      }
    } else {
      if (fast) {
        dw3_s2(cx, r0, r1, r2, wpk, bias, o, p->out_w, out, 1);
      } else {
        dw3_s2(cx, r0, r1, r2, wpk, bias, o, p->out_w, out, 0);
      }
    }
  } else if (p->dilation_w == 1 && g->kwp <= 8 && p->k_h <= DW_ROWS_CACHED) {
    typedef void (*row_fn)(const tinytvm_depthwise_conv2d_params*, const dw_geom*, const dw_ctx*,
                           const dw_rows*, const int16_t*, int32_t, int32_t, int8_t*);
    static const row_fn fns[4][2] = {{dw_row_pairs_1_0, dw_row_pairs_1_1},
                                     {dw_row_pairs_2_0, dw_row_pairs_2_1},
                                     {dw_row_pairs_3_0, dw_row_pairs_3_1},
                                     {dw_row_pairs_4_0, dw_row_pairs_4_1}};
    fns[g->kwp / 2 - 1][fast ? 1 : 0](p, g, cx, rr, wpk, bias, o, out);
  } else {
    dw_row_any(p, g, cx, rr, wpk, bias, o, out);
  }
}

/* Fills the buffer rows of input row iy (ring slot) for channels c0 .. c0 + gc - 1. */
static void dw_fill(const tinytvm_depthwise_conv2d_params* p, const dw_geom* g, const int8_t* input,
                    int32_t b, int32_t c0, int32_t gc, int32_t iy, int16_t* dst) {
#if TINYTVM_DSP
  const int32_t nx = tinytvm_max_i32(0, tinytvm_min_i32(p->in_w, g->pw - p->pad_left));
  if (gc == 4 && nx > 0 && iy >= 0 && iy < p->in_h) {
    dw_fill4_args a;
    a.src = input + (((size_t)b * p->in_h + iy) * p->in_w) * p->in_c + c0;
    a.step = p->in_c;
    a.d0 = dst + p->pad_left;
    a.pws = g->pws * (int32_t)sizeof(int16_t);
    a.pairs = nx >> 1;
    a.off = tt_pack_offset(p->input_zp);
    a.tail = nx & 1;
    tt_dw_fill4_dsp(&a);
    return;
  }
#endif
  dw_fill_row(p, g, input, b, c0, gc, iy, dst);
}

#if TINYTVM_DSP
/* 3x3 fast path (uniform requantization, full range): every output row of one channel block,
 * with the per-row work reduced to the ring bookkeeping and two assembly calls. */
static TT_NOINLINE void dw3_block_rows_dsp(const tinytvm_depthwise_conv2d_params* p,
                                           const dw_geom* g, const int8_t* input, int32_t b,
                                           int32_t c0, int32_t gc, int16_t* band,
                                           const int16_t* blocks, int32_t bstride, int8_t* out_img,
                                           int kind) {
  const int32_t dm = g->dm, rows = g->rows, pt = p->pad_top, dh = p->dilation_h;
  const size_t slot_elems = (size_t)g->g * g->pws;
  const size_t out_row_bytes = (size_t)p->out_w * g->out_c;
  const int32_t groups = dm == 1 ? 1 : gc; /* calls per output row */
  const int32_t nx = tinytvm_max_i32(0, tinytvm_min_i32(p->in_w, g->pw - p->pad_left));
  const int8_t* in_img = input + (size_t)b * p->in_h * p->in_w * p->in_c + c0;
  const size_t in_row_bytes = (size_t)p->in_w * p->in_c;
  dw3_row_args a;
  dw_fill4_args f;
  int32_t next = -pt, oy, j;
  f.step = p->in_c;
  f.pws = g->pws * (int32_t)sizeof(int16_t);
  f.pairs = nx >> 1;
  f.off = tt_pack_offset(p->input_zp);
  f.tail = nx & 1;
  for (oy = 0; oy < p->out_h; ++oy) {
    const int32_t iy0 = oy * p->stride_h - pt;
    const int32_t last = iy0 + 2 * dh;
    int32_t iy;
    for (iy = tinytvm_max_i32(next, iy0); iy <= last; ++iy) {
      int16_t* dst = band + (size_t)((iy + pt) % rows) * slot_elems;
      if (gc == 4 && nx > 0 && iy >= 0 && iy < p->in_h) {
        f.src = in_img + (size_t)iy * in_row_bytes;
        f.d0 = dst + p->pad_left;
        tt_dw_fill4_dsp(&f);
      } else {
        dw_fill_row(p, g, input, b, c0, gc, iy, dst);
      }
    }
    if (last + 1 > next) next = last + 1;
    for (j = 0; j < groups; ++j) {
      const int16_t* base = band + (size_t)j * g->pws;
      a.r0 = base + (size_t)((iy0 + pt) % rows) * slot_elems;
      a.r1 = base + (size_t)((iy0 + dh + pt) % rows) * slot_elems;
      a.r2 = base + (size_t)((iy0 + 2 * dh + pt) % rows) * slot_elems;
      a.out = out_img + (size_t)oy * out_row_bytes + (size_t)(c0 + j) * dm;
      a.step = g->out_c;
      a.n4 = p->out_w >> 2;
      a.blk = (const int32_t*)(const void*)(blocks + (size_t)j * dm * bstride);
      a.n21 = p->out_w & 3;
      a.row_adv = dm == 1 ? g->pws * (int32_t)sizeof(int16_t) : 0;
      a.blk_adv = bstride * (int32_t)sizeof(int16_t);
      a.nch = dm == 1 ? gc : dm;
      if (kind == 1) {
        tt_dw3s1_rows_dsp(&a);
      } else {
        tt_dw3s2_rows_dsp(&a);
      }
    }
  }
}
#endif

static void dw_buffered(const tinytvm_depthwise_conv2d_params* p, tinytvm_dw_impl impl,
                        const int8_t* input, const int8_t* weight, const int32_t* bias,
                        int8_t* output, void* scratch) {
  const dw_geom g = dw_geometry(p, impl);
  int16_t* band = (int16_t*)scratch;
  int16_t* blocks = band + dw_band_elems(&g);
  const int32_t kh = p->k_h, kw = p->k_w, dm = g.dm, bstride = dw_block_elems(p, &g);
  const int is3x3 = kh == 3 && kw == 3 && p->dilation_w == 1;
  const int kind = (is3x3 && p->stride_w == 1) ? 1 : (is3x3 && p->stride_w == 2) ? 2 : 0;
  dw_ctx cx;
  int fast;
  int32_t b, c0;
  cx.rq = &p->rq;
  cx.mode = tt_rq_mode(&p->rq, g.out_c, bias, tt_dot_bound(kh * kw));
  cx.zp2p1 = 2 * p->rq.output_zp + 1;
  cx.step = g.out_c;
  fast = cx.mode == TT_RQ_UNIFORM && p->rq.act_min <= -128 && p->rq.act_max >= 127;
  memset(band, 0, (dw_band_elems(&g) + dw_wpk_elems(p, &g)) * sizeof(int16_t));
  for (b = 0; b < p->batches; ++b) {
    int8_t* out_img = output + (size_t)b * p->out_h * p->out_w * g.out_c;
    for (c0 = 0; c0 < p->in_c; c0 += g.g) {
      const int32_t gc = tinytvm_min_i32(g.g, p->in_c - c0);
      int32_t next = -p->pad_top; /* first input row not yet buffered */
      int32_t oy, j, m, ky, kx;
      /* Channel blocks: requant constants, bias, packed weights. */
      for (j = 0; j < gc * dm; ++j) {
        const int32_t o = c0 * dm + j;
        int16_t* blk = blocks + (size_t)j * bstride;
        int32_t head[4];
        const tt_rqu u = tt_rqu_channel(&p->rq, o);
        head[0] = u.m2;
        head[1] = u.rsm1;
        head[2] = cx.zp2p1;
        head[3] = bias ? bias[o] : 0;
        memcpy(blk, head, sizeof head);
        for (ky = 0; ky < kh; ++ky)
          for (kx = 0; kx < kw; ++kx)
            blk[DW_BLOCK_HEAD + ky * g.kwp + kx] = weight[(ky * kw + kx) * g.out_c + o];
      }
#if TINYTVM_DSP
      if (fast && kind) {
        dw3_block_rows_dsp(p, &g, input, b, c0, gc, band, blocks, bstride, out_img, kind);
        continue;
      }
#endif
      for (oy = 0; oy < p->out_h; ++oy) {
        const int32_t iy0 = oy * p->stride_h - p->pad_top;
        const int32_t last = iy0 + (kh - 1) * p->dilation_h;
        int8_t* out_row = out_img + (size_t)oy * p->out_w * g.out_c;
        int32_t iy;
        for (iy = tinytvm_max_i32(next, iy0); iy <= last; ++iy) {
          const int32_t slot = (iy + p->pad_top) % g.rows;
          dw_fill(p, &g, input, b, c0, gc, iy, band + (size_t)slot * g.g * g.pws);
        }
        if (last + 1 > next) next = last + 1;
        for (j = 0; j < gc; ++j) {
          dw_rows rr;
          rr.base = band + (size_t)j * g.pws;
          rr.sstride = (size_t)g.g * g.pws;
          rr.s0 = (iy0 + p->pad_top) % g.rows;
          rr.nrows = g.rows;
          rr.dh = p->dilation_h;
          for (m = 0; m < dm; ++m) {
            const int32_t o = (c0 + j) * dm + m;
            const int16_t* blk = blocks + (size_t)(j * dm + m) * bstride;
            dw_row_dispatch(p, &g, &cx, &rr, blk + DW_BLOCK_HEAD, bias ? bias[o] : 0, o,
                            out_row + o, fast, kind);
          }
        }
      }
    }
  }
}

void tinytvm_depthwise_conv2d_s8(const tinytvm_depthwise_conv2d_params* p, const int8_t* input,
                                 const int8_t* weight, const int32_t* bias, int8_t* output,
                                 void* scratch) {
  const tinytvm_dw_impl impl = tinytvm_depthwise_conv2d_s8_resolve_impl(p);
  if (impl == TINYTVM_DW_GENERIC) {
    dw_generic(p, input, weight, bias, output);
  } else {
    dw_buffered(p, impl, input, weight, bias, output, scratch);
  }
}
