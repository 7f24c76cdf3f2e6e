/*
 * test_pooling.c - average / max pooling and the H,W mean against scalar references.
 */
#include <math.h>

#include "test_util.h"
#include "tinytvm/pooling.h"

#define MAX_N (2 * 12 * 12 * 7)
static int8_t g_in[MAX_N], g_out[MAX_N], g_ref[MAX_N];

static void ref_pool(const tinytvm_pool2d_params* p, int is_max) {
  int32_t b, oy, ox, c, ky, kx;
  for (b = 0; b < p->batches; ++b)
    for (oy = 0; oy < p->out_h; ++oy)
      for (ox = 0; ox < p->out_w; ++ox)
        for (c = 0; c < p->channels; ++c) {
          int32_t acc = is_max ? -128 : 0, cnt = 0;
          for (ky = 0; ky < p->k_h; ++ky)
            for (kx = 0; kx < p->k_w; ++kx) {
              const int32_t iy = oy * p->stride_h - p->pad_top + ky;
              const int32_t ix = ox * p->stride_w - p->pad_left + kx;
              int32_t v;
              if (iy < 0 || iy >= p->in_h || ix < 0 || ix >= p->in_w) continue;
              v = g_in[((b * p->in_h + iy) * p->in_w + ix) * p->channels + c];
              if (is_max) {
                acc = v > acc ? v : acc;
              } else {
                acc += v;
              }
              ++cnt;
            }
          if (!is_max) {
            /* round half away from zero, written with floating point */
            const double q = (double)acc / cnt;
            acc = (int32_t)(q >= 0 ? floor(q + 0.5) : -floor(-q + 0.5));
          }
          acc = acc < p->act_min ? p->act_min : (acc > p->act_max ? p->act_max : acc);
          g_ref[((b * p->out_h + oy) * p->out_w + ox) * p->channels + c] = (int8_t)acc;
        }
}

static void run_pool(int id, int32_t b, int32_t h, int32_t w, int32_t c, int32_t kh, int32_t kw,
                     int32_t sh, int32_t sw, int32_t pt, int32_t pl, int32_t pb, int32_t pr) {
  tinytvm_pool2d_params p;
  size_t n;
  memset(&p, 0, sizeof p);
  p.batches = b;
  p.in_h = h;
  p.in_w = w;
  p.channels = c;
  p.k_h = kh;
  p.k_w = kw;
  p.stride_h = sh;
  p.stride_w = sw;
  p.pad_top = pt;
  p.pad_left = pl;
  p.pad_bottom = pb;
  p.pad_right = pr;
  p.out_h = (h + pt + pb - kh) / sh + 1;
  p.out_w = (w + pl + pr - kw) / sw + 1;
  p.act_min = tt_rand() % 2 ? -128 : tt_rand_range(-128, 0);
  p.act_max = tt_rand() % 2 ? 127 : tt_rand_range(p.act_min, 127);
  n = (size_t)b * p.out_h * p.out_w * c;
  tt_fill_s8(g_in, (size_t)b * h * w * c, -128, 127);
  ref_pool(&p, 0);
  tinytvm_avg_pool2d_s8(&p, g_in, g_out);
  TT_CHECK_BYTES(g_out, g_ref, n, "avg case %d", id);
  ref_pool(&p, 1);
  tinytvm_max_pool2d_s8(&p, g_in, g_out);
  TT_CHECK_BYTES(g_out, g_ref, n, "max case %d", id);
}

/* MEAN over a random subset of axes (any order) of a random rank-0..6 tensor, against a
 * direct transcription of QuantizedMeanOrSum (accumulate every input element into its output
 * slot, then requantize). */
static int32_t g_sum[2048];

static void run_mean(int id, int32_t rank, int32_t num_axes, int hw) {
  tinytvm_mean_params p;
  int32_t d, i, total = 1, out_total = 1, n = 1, pick[TINYTVM_MAX_DIMS];
  memset(&p, 0, sizeof p);
  p.in_shape.rank = rank;
  for (d = 0; d < rank; ++d) {
    p.in_shape.dims[d] = tt_rand_range(1, rank > 4 ? 3 : 5);
    total *= p.in_shape.dims[d];
    pick[d] = d;
  }
  /* random distinct axes in random order */
  for (d = rank - 1; d > 0; --d) {
    const int32_t j = tt_rand_range(0, d), t = pick[d];
    pick[d] = pick[j];
    pick[j] = t;
  }
  if (hw) { /* NHWC spatial mean, axes given as (2, 1) */
    pick[0] = 2;
    pick[1] = 1;
  }
  if (num_axes > rank) num_axes = rank;
  p.num_axes = num_axes;
  for (d = 0; d < num_axes; ++d) {
    p.axes[d] = pick[d];
    n *= p.in_shape.dims[pick[d]];
  }
  for (d = 0; d < rank; ++d) {
    int32_t a, red = 0;
    for (a = 0; a < num_axes; ++a) red |= p.axes[a] == d;
    if (!red) out_total *= p.in_shape.dims[d];
  }
  p.input_zp = tt_rand_zp();
  p.output_zp = tt_rand_zp();
  /* multiplier/shift with 1/n folded in, as TFLM's Eval does (occasionally a large ratio) */
  p.multiplier = (int32_t)(0x40000000u + (tt_rand() & 0x3FFFFFFFu));
  p.shift = tt_rand_range(-6, 1);
  {
    int32_t extra = 0;
    while ((2 << extra) <= n) ++extra;
    if (extra > 31 + p.shift) extra = 31 + p.shift;
    p.multiplier = (int32_t)((((int64_t)p.multiplier) << extra) / n);
    p.shift -= extra;
  }
  if (id % 7 == 3) p.multiplier = -p.multiplier; /* wrapped static_cast in TFLM */
  tt_fill_s8(g_in, (size_t)total, -128, 127);
  memset(g_sum, 0, sizeof g_sum);
  for (i = 0; i < total; ++i) {
    int32_t rem = i, o = 0, ostride = 1;
    for (d = rank - 1; d >= 0; --d) {
      int32_t a, red = 0;
      const int32_t c = rem % p.in_shape.dims[d];
      rem /= p.in_shape.dims[d];
      for (a = 0; a < num_axes; ++a) red |= p.axes[a] == d;
      if (!red) {
        o += c * ostride;
        ostride *= p.in_shape.dims[d];
      }
    }
    g_sum[o] += g_in[i];
  }
  for (i = 0; i < out_total; ++i) {
    int32_t v = tinytvm_mbqm((int32_t)((uint32_t)g_sum[i] - (uint32_t)p.input_zp * (uint32_t)n),
                             p.multiplier, p.shift) + p.output_zp;
    g_ref[i] = (int8_t)(v < -128 ? -128 : (v > 127 ? 127 : v));
  }
  memset(g_out, 0x55, (size_t)out_total + 1);
  tinytvm_mean_s8(&p, g_in, g_out);
  TT_CHECK_BYTES(g_out, g_ref, (size_t)out_total, "mean case %d (rank %d, %d axes)", id,
                 (int)rank, (int)num_axes);
  TT_CHECK(g_out[out_total] == 0x55, "mean case %d wrote past the output", id);
}

int main(void) {
  int r;
  tt_seed(11);
  run_pool(0, 1, 8, 8, 3, 2, 2, 2, 2, 0, 0, 0, 0);
  run_pool(1, 2, 9, 7, 5, 3, 3, 2, 2, 1, 1, 1, 1);
  run_pool(2, 1, 10, 10, 4, 3, 3, 1, 1, 1, 1, 1, 1);
  run_pool(3, 1, 6, 11, 7, 3, 2, 2, 3, 0, 1, 1, 0);
  run_pool(4, 1, 12, 12, 2, 12, 12, 1, 1, 0, 0, 0, 0); /* global */
  for (r = 0; r < 20; ++r) {
    const int32_t kh = tt_rand_range(1, 4), kw = tt_rand_range(1, 4);
    run_pool(5 + r, tt_rand_range(1, 2), tt_rand_range(kh, 12), tt_rand_range(kw, 12),
             tt_rand_range(1, 7), kh, kw, tt_rand_range(1, 3), tt_rand_range(1, 3),
             tt_rand_range(0, kh - 1), tt_rand_range(0, kw - 1), tt_rand_range(0, kh - 1),
             tt_rand_range(0, kw - 1));
  }
  for (r = 0; r < 60; ++r) run_mean(r, tt_rand_range(0, 6), tt_rand_range(0, 6), 0);
  for (r = 60; r < 64; ++r) run_mean(r, 4, 2, 1);
  return tt_report("test_pooling");
}
