/*
 * test_depthwise_conv2d.c - tinytvm_depthwise_conv2d_s8 (GENERIC and PLANE) against a scalar
 * transcription of TFLM DepthwiseConvPerChannel; includes the in-place (output == input) case.
 */
#include "test_util.h"
#include "tinytvm/depthwise_conv2d.h"

#define MAX_IN (2 * 14 * 14 * 8)
#define MAX_OUT (2 * 14 * 14 * 24)
#define MAX_C 24

static int8_t g_in[MAX_IN], g_w[7 * 7 * MAX_C], g_out[MAX_OUT], g_ref[MAX_OUT], g_inplace[MAX_IN];
static int32_t g_bias[MAX_C], g_mult[MAX_C], g_shift[MAX_C];
static uint64_t g_scratch[2048];
#define CANARY 0xA5u

static void ref_dw(const tinytvm_depthwise_conv2d_params* p, const int8_t* in, const int8_t* w,
                   const int32_t* bias, int8_t* out) {
  const int32_t M = p->depth_multiplier, OC = p->in_c * M;
  int32_t b, oy, ox, c, m, ky, kx;
  for (b = 0; b < p->batches; ++b)
    for (oy = 0; oy < p->out_h; ++oy)
      for (ox = 0; ox < p->out_w; ++ox)
        for (c = 0; c < p->in_c; ++c)
          for (m = 0; m < M; ++m) {
            const int32_t o = c * M + m;
            int32_t acc = 0;
            for (ky = 0; ky < p->k_h; ++ky)
              for (kx = 0; kx < p->k_w; ++kx) {
                const int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
                const int32_t ix = ox * p->stride_w - p->pad_left + kx * p->dilation_w;
                if (iy < 0 || iy >= p->in_h || ix < 0 || ix >= p->in_w) continue;
                acc += w[(ky * p->k_w + kx) * OC + o] *
                       (in[((b * p->in_h + iy) * p->in_w + ix) * p->in_c + c] - p->input_zp);
              }
            if (bias) acc += bias[o];
            acc = tinytvm_mbqm(acc, p->rq.multiplier[o], p->rq.shift[o]) + p->rq.output_zp;
            acc = acc < p->rq.act_min ? p->rq.act_min : (acc > p->rq.act_max ? p->rq.act_max : acc);
            out[((b * p->out_h + oy) * p->out_w + ox) * OC + o] = (int8_t)acc;
          }
}

static void run_case(int id, int32_t batches, int32_t h, int32_t w, int32_t c, int32_t m,
                     int32_t kh, int32_t kw, int32_t sh, int32_t sw, int32_t dh, int32_t dw,
                     int32_t pt, int32_t pl, int32_t pb, int32_t pr, int big_bias) {
  tinytvm_depthwise_conv2d_params p;
  size_t n_in, n_out;
  int32_t i, impl, oc = c * m;
  memset(&p, 0, sizeof p);
  p.batches = batches;
  p.in_h = h;
  p.in_w = w;
  p.in_c = c;
  p.depth_multiplier = m;
  p.k_h = kh;
  p.k_w = kw;
  p.stride_h = sh;
  p.stride_w = sw;
  p.dilation_h = dh;
  p.dilation_w = dw;
  p.pad_top = pt;
  p.pad_left = pl;
  p.pad_bottom = pb;
  p.pad_right = pr;
  p.out_h = (h + pt + pb - ((kh - 1) * dh + 1)) / sh + 1;
  p.out_w = (w + pl + pr - ((kw - 1) * dw + 1)) / sw + 1;
  p.input_zp = tt_rand_zp();
  p.rq.output_zp = tt_rand_zp();
  p.rq.act_min = -128;
  p.rq.act_max = 127;
  if (tt_rand() % 3 == 0) {
    p.rq.act_min = tt_rand_range(-128, 0);
    p.rq.act_max = tt_rand_range(p.rq.act_min, 127);
  }
  p.rq.multiplier = g_mult;
  p.rq.shift = g_shift;
  TT_CHECK(tinytvm_depthwise_conv2d_s8_check(&p) == TINYTVM_OK, "case %d check", id);
  n_in = (size_t)batches * h * w * c;
  n_out = (size_t)batches * p.out_h * p.out_w * oc;
  if (n_in > MAX_IN || n_out > MAX_OUT || oc > MAX_C || kh * kw > 49 || kh > 17) {
    TT_CHECK(0, "case %d too large", id);
    return;
  }
  tt_fill_s8(g_in, n_in, -128, 127);
  tt_fill_s8(g_w, (size_t)kh * kw * oc, -128, 127);
  tt_rand_requant(g_mult, g_shift, oc, kh * kw);
  for (i = 0; i < oc; ++i) g_bias[i] = tt_rand_range(-3000, 3000);
  if (big_bias) g_bias[oc - 1] = -(1 << 30);
  if (tt_rand() % 3 == 0) { /* dead channel: QuantizeMultiplier(0) = (0, 0) */
    g_mult[oc / 2] = 0;
    g_shift[oc / 2] = 0;
  }
  if (tt_rand() % 5 == 0) g_shift[0] = 0; /* no right shift: exact requantization */
  ref_dw(&p, g_in, g_w, g_bias, g_ref);
  for (impl = TINYTVM_DW_AUTO; impl <= TINYTVM_DW_ROWS + 4; ++impl) {
    /* ROWS with ch_block 0 (default 4), 1, 3, 5, 16 */
    static const int32_t blocks[5] = {0, 1, 3, 5, 16};
    size_t scratch;
    p.impl = impl > TINYTVM_DW_ROWS ? TINYTVM_DW_ROWS : impl;
    p.ch_block = impl >= TINYTVM_DW_ROWS ? blocks[impl - TINYTVM_DW_ROWS] : 0;
    TT_CHECK(tinytvm_depthwise_conv2d_s8_check(&p) == TINYTVM_OK, "case %d check", id);
    scratch = tinytvm_depthwise_conv2d_s8_scratch_bytes(&p);
    TT_CHECK(scratch + 16 <= sizeof g_scratch, "case %d scratch", id);
    memset(g_out, 0x55, n_out);
    memset(g_scratch, CANARY, sizeof g_scratch);
    tinytvm_depthwise_conv2d_s8(&p, g_in, g_w, g_bias, g_out, scratch ? (void*)g_scratch : NULL);
    TT_CHECK_BYTES(g_out, g_ref, n_out, "case %d impl %d ch_block %d", id, (int)p.impl,
                   (int)p.ch_block);
    for (i = 0; i < 16; ++i)
      TT_CHECK(((const uint8_t*)g_scratch)[scratch + i] == CANARY, "case %d wrote past scratch",
               id);
    /* In place (depthwise_conv2d.h): depth multiplier 1, output no larger than the input. */
    if (m == 1 && p.out_h <= h && p.out_w <= w && pt <= (kh - 1) * dh &&
        tinytvm_depthwise_conv2d_s8_resolve_impl(&p) != TINYTVM_DW_GENERIC) {
      memcpy(g_inplace, g_in, n_in);
      tinytvm_depthwise_conv2d_s8(&p, g_inplace, g_w, g_bias, g_inplace, g_scratch);
      TT_CHECK_BYTES(g_inplace, g_ref, n_out, "case %d in place impl %d ch_block %d", id,
                     (int)p.impl, (int)p.ch_block);
    }
  }
  /* No bias. */
  ref_dw(&p, g_in, g_w, NULL, g_ref);
  for (impl = TINYTVM_DW_PLANE; impl <= TINYTVM_DW_ROWS; ++impl) {
    p.impl = impl;
    p.ch_block = 0;
    tinytvm_depthwise_conv2d_s8(&p, g_in, g_w, NULL, g_out, g_scratch);
    TT_CHECK_BYTES(g_out, g_ref, n_out, "case %d impl %d no bias", id, (int)impl);
  }
}

int main(void) {
  int id = 0, r;
  tt_seed(777);
  /*        id    b  h   w  c  m kh kw sh sw dh dw pt pl pb pr big */
  run_case(id++, 1, 8, 8, 8, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0);     /* 3x3 s1 SAME */
  run_case(id++, 1, 9, 9, 5, 1, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0);     /* s2 */
  run_case(id++, 1, 8, 8, 4, 1, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 0);     /* s2 asym pad */
  run_case(id++, 2, 7, 10, 3, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0);    /* depth multiplier 2 */
  run_case(id++, 1, 6, 6, 4, 3, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 0);     /* 5x5, m 3 */
  run_case(id++, 1, 12, 12, 3, 1, 7, 7, 1, 1, 1, 1, 3, 3, 3, 3, 0);   /* 7x7 */
  run_case(id++, 1, 12, 12, 3, 1, 7, 7, 2, 2, 1, 1, 2, 2, 3, 3, 0);   /* 7x7 s2 */
  run_case(id++, 1, 10, 10, 6, 1, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 0);   /* dilation 2 */
  run_case(id++, 1, 10, 9, 6, 1, 2, 3, 1, 2, 3, 1, 1, 0, 2, 1, 0);    /* rect, mixed dilation */
  run_case(id++, 1, 6, 6, 5, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0);     /* 1x1 */
  run_case(id++, 1, 8, 8, 8, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);     /* huge bias -> exact rq */
  run_case(id++, 1, 5, 14, 2, 1, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 0);    /* wide */
  run_case(id++, 1, 4, 4, 2, 1, 4, 4, 1, 1, 1, 1, 0, 0, 0, 0, 0);     /* kernel == input */
  /* MobileNet-like 3x3 with channel counts around the 4-channel fill, widths hitting the
   * 4-, 2- and 1-output tails, both strides */
  run_case(id++, 1, 9, 13, 12, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0);
  run_case(id++, 1, 6, 6, 8, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0);
  run_case(id++, 1, 3, 3, 8, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0);
  run_case(id++, 1, 12, 12, 7, 1, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 0);
  run_case(id++, 1, 13, 11, 8, 1, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1);
  run_case(id++, 2, 5, 10, 4, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0);
  run_case(id++, 1, 7, 9, 8, 1, 3, 3, 1, 1, 2, 1, 2, 1, 2, 1, 0);     /* 3x3, dilation_h 2 */
  run_case(id++, 1, 8, 8, 5, 1, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 0);     /* stride 3 */
  run_case(id++, 1, 20, 3, 8, 1, 17, 1, 1, 1, 1, 1, 8, 0, 8, 0, 0);   /* 17x1 (tall kernel) */
  run_case(id++, 1, 10, 10, 8, 1, 5, 5, 2, 2, 1, 1, 2, 2, 2, 2, 0);   /* 5x5 s2 (in place too) */
  for (r = 0; r < 24; ++r) {
    /* arguments are evaluated in an unspecified order: draw them first */
    const int32_t b = tt_rand_range(1, 2), c = tt_rand_range(1, 8), m = tt_rand_range(1, 3);
    const int32_t kh = tt_rand_range(1, 5), kw = tt_rand_range(1, 5);
    const int32_t sh = tt_rand_range(1, 2), sw = tt_rand_range(1, 2);
    const int32_t dh = tt_rand_range(1, 2), dw = tt_rand_range(1, 2);
    const int32_t h = tt_rand_range((kh - 1) * dh + 1, 11), w = tt_rand_range((kw - 1) * dw + 1, 11);
    const int32_t pt = tt_rand_range(0, 2), pl = tt_rand_range(0, 2);
    const int32_t pb = tt_rand_range(0, 2), pr = tt_rand_range(0, 2);
    run_case(id++, b, h, w, c, m, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, 0);
  }
  return tt_report("test_depthwise_conv2d");
}
