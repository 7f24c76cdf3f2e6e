/*
 * conv2d_pointwise.c - the scratch-free pointwise path (TINYTVM_CONV_1X1_DIRECT).
 *
 * A 1x1 kernel without padding makes every output pixel the dot products of one input pixel
 * (in_c contiguous int8 values) with the weight rows, so the input is widened on the fly instead
 * of being staged as int16 columns: no scratch at all, for layers whose column scratch sits on
 * the arena peak.  The price is that an input word is widened once per channel pair instead of
 * once per pixel.  Channel pairs are the outer loop and pixel pairs the inner one, so a pair's
 * requantization parameters are prepared once.
 *
 * The hot case (DSP core, 2 x 2 blocks, in_c % 4 == 0, uniform requantization, full activation
 * range) is one assembly routine per channel pair: the input zero point is folded into the
 * bias (bias - zp * sum(w), exact in wrapping int32 like the SMLAD sums), which frees the
 * register SXTAB16 would need, so the 2-pixel x 2-channel loop fits the 14 registers:
 * 4 LDR, 8 SXTB16, 8 SMLAD and the loop test, 23 instructions per 16 MACs.
 */
#include "conv2d_internal.h"
#include "internal.h"

/* Input pixels of output pixels 0, 1, ... in NHWC order (1x1 kernel, no padding read).  The
 * column is an offset, so no pointer past a row (or the input) is ever formed. */
typedef struct {
  const int8_t* row;   /* input row of the current output row */
  const int8_t* batch; /* first input row of the current batch */
  size_t col, row_end; /* offset in the row, and out_w * step */
  size_t step, row_step, batch_step;
  int32_t oy, out_h;
} px_cursor;

static void cursor_init(px_cursor* c, const tinytvm_conv2d_params* p, const int8_t* input) {
  const size_t row = (size_t)p->in_w * p->in_c;
  c->row = c->batch = input;
  c->col = 0;
  c->step = (size_t)p->stride_w * p->in_c;
  c->row_end = (size_t)p->out_w * c->step;
  c->row_step = (size_t)p->stride_h * row;
  c->batch_step = (size_t)p->in_h * row;
  c->oy = 0;
  c->out_h = p->out_h;
}

TT_INLINE const int8_t* cursor_next(px_cursor* c) {
  const int8_t* x = c->row + c->col;
  c->col += c->step;
  if (c->col == c->row_end) {
    c->col = 0;
    if (++c->oy < c->out_h) {
      c->row += c->row_step;
    } else {
      c->oy = 0;
      c->batch += c->batch_step;
      c->row = c->batch;
    }
  }
  return x;
}

/* acc[2 * j + i] += sum_l (x_j[l] - zp) * w_i[l], l < k: pixels x0, x1, channels w0, w1.  Only the
 * k bytes of a pixel are read (no over-read into the next pixel or past the input). */
TT_INLINE void dot_2x2(const int8_t* x0, const int8_t* x1, const int8_t* w0, const int8_t* w1,
                       int32_t k, int32_t zp, int32_t* acc) {
  int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
  int32_t l = 0;
#if TINYTVM_DSP
  const uint32_t off = tt_pack_offset(zp);
  for (; l + 4 <= k; l += 4) {
    const uint32_t v0 = tt_load_u32(x0 + l), v1 = tt_load_u32(x1 + l);
    const uint32_t xa0 = __sxtab16(off, v0), xb0 = tt_sxtab16_ror8(off, v0);
    const uint32_t xa1 = __sxtab16(off, v1), xb1 = tt_sxtab16_ror8(off, v1);
    uint32_t w = tt_load_u32(w0 + l);
    uint32_t wa = __sxtb16(w), wb = tt_sxtb16_ror8(w);
    a00 = __smlad(xb0, wb, __smlad(xa0, wa, a00));
    a10 = __smlad(xb1, wb, __smlad(xa1, wa, a10));
    w = tt_load_u32(w1 + l);
    wa = __sxtb16(w);
    wb = tt_sxtb16_ror8(w);
    a01 = __smlad(xb0, wb, __smlad(xa0, wa, a01));
    a11 = __smlad(xb1, wb, __smlad(xa1, wa, a11));
  }
#endif
  for (; l < k; ++l) {
    const int32_t u0 = x0[l] - zp, u1 = x1[l] - zp;
    a00 += u0 * w0[l];
    a01 += u0 * w1[l];
    a10 += u1 * w0[l];
    a11 += u1 * w1[l];
  }
  acc[0] = a00;
  acc[1] = a01;
  acc[2] = a10;
  acc[3] = a11;
}

/* Requantization and weights of one output channel, read once per channel block. */
typedef struct {
  tt_rqu u;
  int32_t bias;
  int32_t o;
  const int8_t* w;
} chan_rq;

typedef struct {
  const tinytvm_conv2d_params* p;
  const int8_t* input;
  const int8_t* weight;
  const int32_t* bias;
  int8_t* output;
  int32_t mode; /* TT_RQ_UNIFORM / TT_RQ_EXACT for all channels */
  int32_t zp2p1, act_min, act_max;
} direct_ctx;

static chan_rq chan_init(const direct_ctx* c, int32_t o) {
  chan_rq r;
  r.u = tt_rqu_channel(&c->p->rq, o);
  r.bias = c->bias ? c->bias[o] : 0;
  r.o = o;
  r.w = c->weight + (size_t)o * c->p->in_c;
  return r;
}

/* Out of line: only the C blocks use it, and four inlined copies cost 0.6 KB of flash. */
static int8_t requant(const direct_ctx* c, const chan_rq* r, int32_t acc) {
  const int32_t v = c->mode == TT_RQ_UNIFORM ? tt_rqu_s8(acc, r->u.m2, r->u.rsm1, c->zp2p1)
                                             : tt_rq_exact(acc, &c->p->rq, r->o);
  return (int8_t)tt_clamp(v, c->act_min, c->act_max);
}

/* Channels r[0], r[1] of pixels x0, x1 (pixel 1's outputs one out_c further in `out`).  A single
 * pixel or channel repeats the other operand (x1 = x0, r[1] = r[0]) and keeps only its outputs:
 * one small block serves every remainder. */
static void block_2x2(const direct_ctx* c, const chan_rq* r, const int8_t* x0, const int8_t* x1,
                      int32_t npx, int32_t noc, int8_t* out) {
  int32_t acc[4];
  acc[0] = acc[2] = r[0].bias;
  acc[1] = acc[3] = r[1].bias;
  dot_2x2(x0, x1, r[0].w, r[1].w, c->p->in_c, c->p->input_zp, acc);
  out[0] = requant(c, &r[0], acc[0]);
  if (noc == 2) out[1] = requant(c, &r[1], acc[1]);
  if (npx == 2) {
    out += c->p->out_c;
    out[0] = requant(c, &r[0], acc[2]);
    if (noc == 2) out[1] = requant(c, &r[1], acc[3]);
  }
}

/* Output channels o .. o + noc - 1 of every pixel, portable loops. */
static void channel_block(const direct_ctx* c, int32_t o, int32_t noc) {
  const tinytvm_conv2d_params* p = c->p;
  const int32_t total = p->batches * p->out_h * p->out_w;
  chan_rq r[2];
  int8_t* out = c->output + o;
  px_cursor cur;
  int32_t n;
  r[0] = chan_init(c, o);
  r[1] = chan_init(c, o + noc - 1);
  cursor_init(&cur, p, c->input);
  for (n = 0; n < total; n += 2) {
    const int8_t* x0 = cursor_next(&cur);
    const int32_t npx = n + 1 < total ? 2 : 1;
    block_2x2(c, r, x0, npx == 2 ? cursor_next(&cur) : x0, npx, noc, out);
    out += 2 * (size_t)p->out_c;
  }
}

#if TINYTVM_DSP
/* State of the 2-pixel x 2-channel routine; the field offsets are used by it. */
typedef struct {
  const int8_t* x;    /*  0: pixel 0 of the next pair */
  int32_t step;       /*  4: bytes from pixel 0 to pixel 1, and from pixel 1 to the next pair */
  const int8_t* w;    /*  8: weight row of channel 0 (channel 1's follows) */
  int32_t k;          /* 12: in_c, a multiple of 4 */
  int32_t bias[2];    /* 16: bias - input_zp * sum(w) per channel */
  int32_t m2[2];      /* 24: multiplier << 1 */
  int32_t rsm1[2];    /* 32: ~shift */
  int32_t zp2p1;      /* 40: 2 * output_zp + 1 */
  int8_t* out;        /* 44: pixel 0, channel 0 of the next pair */
  int32_t out_stride; /* 48: out_c */
  int8_t* out_end;    /* 52: out after the last pair */
} direct2_state;

void tt_conv_direct2_dsp(direct2_state* st);
/* r0-r3 accumulators (p0c0, p0c1, p1c0, p1c1), r4/r5 pixel 0/1, r6/r7 weight rows of channel
 * 0/1, r8-r11 the widened weights, r12/lr the widened input word; [sp, #4] is pixel 0's end. */
#define DIRECT2_RQ(R, M, S) TT_ASM_REQUANT(R, M, S, "r8")
__asm__(
    "  .text\n"
    "  .syntax unified\n"
    "  .thumb\n"
    "  .align 2\n"
    "  .global tt_conv_direct2_dsp\n"
    "  .type tt_conv_direct2_dsp, %function\n"
    "  .thumb_func\n"
    "tt_conv_direct2_dsp:\n"
    "  push    {r4-r11, lr}\n"
    "  sub     sp, sp, #12\n" /* keeps sp 8-byte aligned */
    "  str     r0, [sp]\n"
    "1:\n"
    "  ldr     lr, [sp]\n"
    "  ldmia   lr, {r4-r7}\n"        /* x, step, w, k */
    "  add     r8, r4, r5, lsl #1\n"
    "  str     r8, [lr]\n"           /* next pair */
    "  add     r5, r4, r5\n"
    "  add     r8, r4, r7\n"
    "  str     r8, [sp, #4]\n"
    "  add     r7, r6, r7\n"
    "  ldrd    r0, r1, [lr, #16]\n"  /* accumulators = bias */
    "  mov     r2, r0\n"
    "  mov     r3, r1\n"
    "2:\n"
    "  ldr     r8, [r6], #4\n"
    "  ldr     r10, [r7], #4\n"
    "  sxtb16  r9, r8\n"
    "  sxtb16  r8, r8, ror #8\n"
    "  sxtb16  r11, r10\n"
    "  sxtb16  r10, r10, ror #8\n"
    "  ldr     r12, [r4], #4\n"
    "  sxtb16  lr, r12\n"
    "  sxtb16  r12, r12, ror #8\n"
    "  smlad   r0, lr, r9, r0\n"
    "  smlad   r0, r12, r8, r0\n"
    "  smlad   r1, lr, r11, r1\n"
    "  smlad   r1, r12, r10, r1\n"
    "  ldr     r12, [r5], #4\n"
    "  sxtb16  lr, r12\n"
    "  sxtb16  r12, r12, ror #8\n"
    "  smlad   r2, lr, r9, r2\n"
    "  smlad   r2, r12, r8, r2\n"
    "  smlad   r3, lr, r11, r3\n"
    "  smlad   r3, r12, r10, r3\n"
    "  ldr     r8, [sp, #4]\n"
    "  cmp     r4, r8\n"
    "  bne     2b\n"
    "  ldr     lr, [sp]\n"
    "  add     r4, lr, #24\n"
    "  ldmia   r4, {r4-r11}\n"       /* m0, m1, s0, s1, zp2p1, out, out_stride, out_end */
    DIRECT2_RQ("r0", "r4", "r6") DIRECT2_RQ("r2", "r4", "r6")
    DIRECT2_RQ("r1", "r5", "r7") DIRECT2_RQ("r3", "r5", "r7")
    "  strb    r0, [r9]\n"
    "  strb    r1, [r9, #1]\n"
    "  add     r9, r9, r10\n"
    "  strb    r2, [r9]\n"
    "  strb    r3, [r9, #1]\n"
    "  add     r9, r9, r10\n"
    "  str     r9, [lr, #44]\n"
    "  cmp     r9, r11\n"
    "  bne     1b\n"
    "  add     sp, sp, #12\n"
    "  pop     {r4-r11, pc}\n"
    "  .size tt_conv_direct2_dsp, .-tt_conv_direct2_dsp\n");

static int direct2_ok(const direct_ctx* c) {
  const tinytvm_conv2d_params* p = c->p;
  return c->mode == TT_RQ_UNIFORM && c->act_min <= -128 && c->act_max >= 127 &&
         (p->in_c & 3) == 0;
}

/* bias - zp * sum(w) in wrapping int32, as the SMLAD sums wrap. */
static int32_t folded_bias(const chan_rq* r, int32_t k, int32_t zp) {
  uint32_t sum = 0;
  int32_t l;
  for (l = 0; l < k; ++l) sum += (uint32_t)(int32_t)r->w[l];
  return tinytvm_wrap_sub(r->bias, (int32_t)(sum * (uint32_t)zp));
}

/* `count` pixels from x, `step` bytes apart, channels r[0], r[1]: pairs in assembly, an odd
 * last pixel in C. */
static void direct2_run(const direct_ctx* c, direct2_state* st, const chan_rq* r,
                        const int8_t* x, size_t step, int32_t count, int8_t* out) {
  const int32_t pairs = count >> 1;
  int8_t* const out_end = out + 2 * (size_t)pairs * st->out_stride;
  if (pairs) {
    st->x = x;
    st->out = out;
    st->out_end = out_end;
    tt_conv_direct2_dsp(st);
  }
  if (count & 1) {
    const int8_t* last = x + 2 * (size_t)pairs * step;
    block_2x2(c, r, last, last, 1, 2, out_end);
  }
}

/* Channels o, o + 1 of every pixel.  Pairs never straddle two input rows unless the rows are
 * contiguous (stride 1), where all pixels form one run. */
static void channel_pair_dsp(const direct_ctx* c, int32_t o) {
  const tinytvm_conv2d_params* p = c->p;
  const size_t step = (size_t)p->stride_w * p->in_c, row = (size_t)p->in_w * p->in_c;
  direct2_state st;
  chan_rq r[2];
  int32_t i, b, oy;
  r[0] = chan_init(c, o);
  r[1] = chan_init(c, o + 1);
  st.step = (int32_t)step;
  st.w = r[0].w;
  st.k = p->in_c;
  st.zp2p1 = c->zp2p1;
  st.out_stride = p->out_c;
  for (i = 0; i < 2; ++i) {
    st.bias[i] = folded_bias(&r[i], p->in_c, p->input_zp);
    st.m2[i] = r[i].u.m2;
    st.rsm1[i] = r[i].u.rsm1;
  }
  if (p->stride_h == 1 && p->stride_w == 1) {
    direct2_run(c, &st, r, c->input, step, p->batches * p->out_h * p->out_w, c->output + o);
    return;
  }
  for (b = 0; b < p->batches; ++b)
    for (oy = 0; oy < p->out_h; ++oy)
      direct2_run(c, &st, r, c->input + ((size_t)b * p->in_h + (size_t)oy * p->stride_h) * row,
                  step, p->out_w,
                  c->output + ((size_t)b * p->out_h + oy) * p->out_w * p->out_c + o);
}
#endif

void tt_conv_1x1_direct(const tinytvm_conv2d_params* p, const int8_t* input,
                        const int8_t* weight, const int32_t* bias, int8_t* output) {
  direct_ctx c;
  int32_t o;
  c.p = p;
  c.input = input;
  c.weight = weight;
  c.bias = bias;
  c.output = output;
  c.mode = tt_rq_mode(&p->rq, p->out_c, bias, tt_dot_bound(p->in_c));
  c.zp2p1 = 2 * p->rq.output_zp + 1;
  c.act_min = p->rq.act_min;
  c.act_max = p->rq.act_max;
  for (o = 0; o < p->out_c; o += 2) {
    const int32_t noc = o + 1 < p->out_c ? 2 : 1;
#if TINYTVM_DSP
    if (noc == 2 && direct2_ok(&c)) {
      channel_pair_dsp(&c, o);
      continue;
    }
#endif
    channel_block(&c, o, noc);
  }
}
