/*
 * test_conv2d.c - tinytvm_conv2d_s8 against a scalar TFLM-ConvPerChannel reference, on every
 * implementation path and unroll setting (all must agree bit for bit).
 */
#include "test_util.h"
#include "tinytvm/conv2d.h"

#define MAX_IN (2 * 13 * 13 * 12)
#define MAX_W (12 * 5 * 5 * 12)
#define MAX_OUT (2 * 13 * 13 * 12)
#define MAX_C 12

static int8_t g_in[MAX_IN], g_w[MAX_W], g_out[MAX_OUT], g_ref[MAX_OUT];
static int32_t g_bias[MAX_C], g_mult[MAX_C], g_shift[MAX_C];
static uint64_t g_scratch[4096];
#define CANARY 0xA5u

/* Literal transcription of TFLM reference_integer_ops::ConvPerChannel. */
static void ref_conv(const tinytvm_conv2d_params* p, const int8_t* in, const int8_t* w,
                     const int32_t* bias, int8_t* out) {
  const int32_t groups = p->groups > 1 ? p->groups : 1;
  const int32_t fic = p->in_c / groups, fpg = p->out_c / groups;
  int32_t b, oy, ox, o, ky, kx, i;
  for (b = 0; b < p->batches; ++b)
    for (oy = 0; oy < p->out_h; ++oy)
      for (ox = 0; ox < p->out_w; ++ox)
        for (o = 0; o < p->out_c; ++o) {
          int32_t acc = 0;
          const int32_t g = o / fpg;
          for (ky = 0; ky < p->k_h; ++ky)
            for (kx = 0; kx < p->k_w; ++kx) {
              const int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
              const int32_t ix = ox * p->stride_w - p->pad_left + kx * p->dilation_w;
              if (iy < 0 || iy >= p->in_h || ix < 0 || ix >= p->in_w) continue;
              for (i = 0; i < fic; ++i)
                acc += w[((o * p->k_h + ky) * p->k_w + kx) * fic + i] *
                       (in[((b * p->in_h + iy) * p->in_w + ix) * p->in_c + g * fic + i] -
                        p->input_zp);
            }
          if (bias) acc += bias[o];
          acc = tinytvm_mbqm(acc, p->rq.multiplier[p->rq.per_tensor ? 0 : o],
                             p->rq.shift[p->rq.per_tensor ? 0 : o]) + p->rq.output_zp;
          acc = acc < p->rq.act_min ? p->rq.act_min : acc;
          acc = acc > p->rq.act_max ? p->rq.act_max : acc;
          out[((b * p->out_h + oy) * p->out_w + ox) * p->out_c + o] = (int8_t)acc;
        }
}

static int32_t out_dim(int32_t in, int32_t k, int32_t s, int32_t d, int32_t pb, int32_t pa) {
  return (in + pb + pa - ((k - 1) * d + 1)) / s + 1;
}

static void run_case_zp(int id, int32_t batches, int32_t h, int32_t w, int32_t ci, int32_t co,
                        int32_t kh, int32_t kw, int32_t sh, int32_t sw, int32_t dh, int32_t dw,
                        int32_t pt, int32_t pl, int32_t pb, int32_t pr, int32_t groups,
                        int big_bias, int rq_kind, int32_t in_zp, int32_t out_zp);

/* rq_kind: 0 random (sometimes a left shift -> exact requantization), 1 full activation range
 * and per-channel uniform requantization (the assembly path on DSP cores) with a dead channel
 * (multiplier 0), 2 per-tensor requantization. */
static void run_case_rq(int id, int32_t batches, int32_t h, int32_t w, int32_t ci, int32_t co,
                        int32_t kh, int32_t kw, int32_t sh, int32_t sw, int32_t dh, int32_t dw,
                        int32_t pt, int32_t pl, int32_t pb, int32_t pr, int32_t groups,
                        int big_bias, int rq_kind) {
  const int32_t in_zp = tt_rand_zp(), out_zp = tt_rand_zp();
  run_case_zp(id, batches, h, w, ci, co, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, groups, big_bias,
              rq_kind, in_zp, out_zp);
}

static void run_case(int id, int32_t batches, int32_t h, int32_t w, int32_t ci, int32_t co,
                     int32_t kh, int32_t kw, int32_t sh, int32_t sw, int32_t dh, int32_t dw,
                     int32_t pt, int32_t pl, int32_t pb, int32_t pr, int32_t groups, int big_bias) {
  run_case_rq(id, batches, h, w, ci, co, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, groups, big_bias, 0);
}

/* Pointwise (1x1, no padding) with the given zero points. */
static void run_pointwise(int id, int32_t batches, int32_t h, int32_t w, int32_t ci, int32_t co,
                          int32_t sh, int32_t sw, int rq_kind, int32_t in_zp, int32_t out_zp) {
  run_case_zp(id, batches, h, w, ci, co, 1, 1, sh, sw, 1, 1, 0, 0, 0, 0, 1, 0, rq_kind, in_zp,
              out_zp);
}

static void run_case_zp(int id, int32_t batches, int32_t h, int32_t w, int32_t ci, int32_t co,
                        int32_t kh, int32_t kw, int32_t sh, int32_t sw, int32_t dh, int32_t dw,
                        int32_t pt, int32_t pl, int32_t pb, int32_t pr, int32_t groups,
                        int big_bias, int rq_kind, int32_t in_zp, int32_t out_zp) {
  tinytvm_conv2d_params p;
  size_t n_out, n_in, n_w;
  int32_t i, impl, oc, px;
  memset(&p, 0, sizeof p);
  p.batches = batches;
  p.in_h = h;
  p.in_w = w;
  p.in_c = ci;
  p.out_c = co;
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
  p.groups = groups;
  p.out_h = out_dim(h, kh, sh, dh, pt, pb);
  p.out_w = out_dim(w, kw, sw, dw, pl, pr);
  p.input_zp = in_zp;
  p.rq.output_zp = out_zp;
  p.rq.act_min = -128;
  p.rq.act_max = 127;
  if (rq_kind == 0 && tt_rand() % 3 == 0) { /* fused ReLU6-like clamp */
    p.rq.act_min = tt_rand_range(-128, 0);
    p.rq.act_max = tt_rand_range(p.rq.act_min, 127);
  }
  p.rq.multiplier = g_mult;
  p.rq.shift = g_shift;
  TT_CHECK(tinytvm_conv2d_s8_check(&p) == TINYTVM_OK, "case %d: check", id);
  n_in = (size_t)batches * h * w * ci;
  n_w = (size_t)co * kh * kw * (ci / (groups > 1 ? groups : 1));
  n_out = (size_t)batches * p.out_h * p.out_w * co;
  if (n_in > MAX_IN || n_w > MAX_W || n_out > MAX_OUT || co > MAX_C) {
    TT_CHECK(0, "case %d too large", id);
    return;
  }
  tt_fill_s8(g_in, n_in, -128, 127);
  tt_fill_s8(g_w, n_w, -128, 127);
  tt_rand_requant(g_mult, g_shift, co, kh * kw * ci);
  for (i = 0; i < co; ++i) {
    g_bias[i] = tt_rand_range(-5000, 5000);
    if (big_bias && i == co / 2) g_bias[i] = 1 << 30; /* forces the exact requant path */
  }
  if (rq_kind == 0 && tt_rand() % 4 == 0) g_shift[0] = 1; /* a left shift */
  if (rq_kind == 1 && co > 1) {
    g_mult[co - 1] = 0; /* dead channel: QuantizeMultiplier(0) = (0, 0) */
    g_shift[co - 1] = 0;
  }
  p.rq.per_tensor = rq_kind == 2;
  ref_conv(&p, g_in, g_w, g_bias, g_ref);

  for (impl = TINYTVM_CONV_AUTO; impl <= TINYTVM_CONV_1X1_DIRECT; ++impl)
    for (oc = 1; oc <= 2; ++oc)
      for (px = 1; px <= 2; ++px) {
        const int32_t* bias = (impl == TINYTVM_CONV_GENERIC && oc == 2 && px == 2) ||
                                      (impl == TINYTVM_CONV_1X1_DIRECT && oc == 2 && px == 1)
                                  ? NULL
                                  : g_bias;
        p.impl = impl;
        p.oc_unroll = oc;
        p.px_unroll = px;
        const size_t scratch = tinytvm_conv2d_s8_scratch_bytes(&p);
        TT_CHECK(scratch + 16 <= sizeof g_scratch, "case %d scratch", id);
        TT_CHECK(impl != TINYTVM_CONV_1X1_DIRECT || scratch == 0, "case %d direct scratch", id);
        if (!bias) ref_conv(&p, g_in, g_w, NULL, g_ref);
        memset(g_out, 0x55, n_out);
        memset(g_scratch, CANARY, sizeof g_scratch);
        tinytvm_conv2d_s8(&p, g_in, g_w, bias, g_out, scratch ? (void*)g_scratch : NULL);
        for (i = 0; i < 16; ++i)
          TT_CHECK(((const uint8_t*)g_scratch)[scratch + i] == CANARY, "case %d wrote past scratch",
                   id);
        /* conv2d.h: the 1X1 path is in-place capable when out_c <= in_c. */
        if (tinytvm_conv2d_s8_resolve_impl(&p) == TINYTVM_CONV_1X1 && co <= ci && bias &&
            n_in <= MAX_OUT) {
          memcpy(g_out, g_in, n_in);
          tinytvm_conv2d_s8(&p, g_out, g_w, bias, g_out, scratch ? (void*)g_scratch : NULL);
          TT_CHECK_BYTES(g_out, g_ref, n_out, "case %d in place oc %d px %d", id, (int)oc, (int)px);
        }
        TT_CHECK_BYTES(g_out, g_ref, n_out, "case %d impl %d (resolved %d) oc %d px %d", id,
                       (int)impl, (int)tinytvm_conv2d_s8_resolve_impl(&p), (int)oc, (int)px);
        if (!bias) ref_conv(&p, g_in, g_w, g_bias, g_ref);
      }
}

int main(void) {
  int id = 0;
  tt_seed(1234);
  /*        id    b  h   w  ci co kh kw sh sw dh dw pt pl pb pr g  big */
  run_case(id++, 1, 8, 8, 4, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0);
  run_case(id++, 1, 8, 8, 16, 8, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0);  /* pointwise */
  run_case(id++, 2, 7, 9, 12, 7, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1, 0);  /* pointwise s2, odd */
  run_case(id++, 1, 9, 9, 3, 5, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 1, 0);   /* s2, asym pad (SAME) */
  run_case(id++, 1, 10, 11, 5, 6, 3, 3, 2, 2, 1, 1, 1, 0, 1, 1, 1, 0); /* s2, asym pad */
  run_case(id++, 1, 11, 11, 4, 4, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1, 0); /* dilation 2 */
  run_case(id++, 1, 12, 10, 7, 9, 5, 3, 1, 2, 2, 1, 2, 1, 2, 1, 1, 0); /* rect kernel, mixed */
  run_case(id++, 2, 6, 6, 8, 12, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0);  /* VALID, batch 2 */
  run_case(id++, 1, 7, 7, 1, 3, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 1, 0);   /* in_c 1 */
  run_case(id++, 1, 6, 6, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2, 0);   /* groups 2 */
  run_case(id++, 1, 8, 8, 8, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1);   /* huge bias */
  run_case(id++, 1, 5, 5, 12, 11, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1); /* pointwise, huge bias */
  run_case(id++, 1, 4, 4, 6, 2, 4, 4, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0);   /* kernel == input */
  run_case(id++, 1, 13, 13, 2, 4, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 0); /* stride 3 */
  /* RGB stems (K = 27: staged gather, last-rows weight copy) and the assembly path */
  /*           id    b  h   w  ci co kh kw sh sw dh dw pt pl pb pr g  big rq */
  run_case_rq(id++, 1, 11, 11, 3, 8, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 1, 0, 1);
  run_case_rq(id++, 1, 9, 10, 3, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1);
  run_case_rq(id++, 2, 7, 7, 3, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1);
  run_case_rq(id++, 1, 8, 8, 3, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1);
  run_case_rq(id++, 1, 8, 9, 3, 4, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 1); /* 1x1, K = 3 */
  run_case_rq(id++, 1, 8, 8, 8, 12, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 1);
  run_case_rq(id++, 1, 6, 7, 12, 10, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1);
  run_case_rq(id++, 1, 7, 7, 1, 8, 5, 3, 1, 1, 1, 1, 2, 1, 2, 1, 1, 0, 1); /* in_c 1 */
  run_case_rq(id++, 1, 6, 6, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 2); /* per tensor */
  run_case_rq(id++, 1, 6, 6, 4, 9, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1, 0, 2);
  run_case_rq(id++, 2, 5, 7, 12, 8, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 1); /* 1x1 in place */
  run_case_rq(id++, 1, 9, 9, 8, 8, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1, 0, 1);
  run_case_rq(id++, 1, 5, 5, 7, 6, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 1);
  /* Pointwise with odd in_c (partial words on every path), stride 2, extreme zero points */
  /*             id    b  h  w  ci co sh sw rq in_zp out_zp */
  run_pointwise(id++, 1, 7, 7, 1, 5, 1, 1, 1, -128, 127);
  run_pointwise(id++, 1, 9, 8, 3, 8, 2, 2, 1, 127, -128);
  run_pointwise(id++, 2, 6, 7, 5, 7, 2, 2, 0, -128, -128);
  run_pointwise(id++, 1, 7, 9, 7, 6, 2, 1, 1, 127, 127);
  run_pointwise(id++, 1, 7, 7, 17, 9, 2, 2, 1, -128, 127);
  run_pointwise(id++, 2, 5, 6, 17, 12, 1, 2, 0, 127, -128);
  run_pointwise(id++, 1, 8, 8, 3, 1, 1, 1, 2, -128, 0);
  run_pointwise(id++, 1, 6, 5, 8, 11, 2, 2, 1, 127, -128); /* whole words, odd out_c */
  /* Runs of the DSP pair routine: odd pixel counts, strided rows, 2 batches, mixed strides */
  run_pointwise(id++, 1, 5, 5, 4, 6, 1, 1, 1, 127, -128);
  run_pointwise(id++, 2, 7, 5, 16, 6, 2, 2, 1, -128, 127);
  run_pointwise(id++, 1, 5, 7, 8, 4, 1, 2, 2, 0, 5);
  run_pointwise(id++, 2, 6, 4, 12, 2, 2, 1, 1, -128, -128);
  /* 1x1 whose last output row and column lie in the padding: not pointwise (IM2COL / GENERIC) */
  run_case(id++, 2, 6, 9, 1, 9, 1, 1, 1, 2, 1, 1, 0, 0, 1, 1, 1, 0);
  {
    int r;
    for (r = 0; r < 12; ++r) { /* random small shapes */
      const int32_t kh = tt_rand_range(1, 3), kw = tt_rand_range(1, 3);
      const int32_t sh = tt_rand_range(1, 2), sw = tt_rand_range(1, 2);
      const int32_t dh = tt_rand_range(1, 2), dw = tt_rand_range(1, 2);
      run_case(id++, tt_rand_range(1, 2), tt_rand_range(5, 9), tt_rand_range(5, 9),
               tt_rand_range(1, 12), tt_rand_range(1, 12), kh, kw, sh, sw, dh, dw,
               tt_rand_range(0, 1), tt_rand_range(0, 1), tt_rand_range(0, 1), tt_rand_range(0, 1),
               1, (int)(tt_rand() % 5 == 0));
    }
  }
  return tt_report("test_conv2d");
}
