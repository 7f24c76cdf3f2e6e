/*
 * test_shape_ops.c - pad, transpose, nearest-neighbour resize and concatenation.
 */
#include <math.h>

#include "test_util.h"
#include "tinytvm/shape_ops.h"

#define N 4096
static int8_t g_in[N], g_in2[N], g_out[N], g_ref[N];

static void unravel(int32_t i, int32_t rank, const int32_t* dims, int32_t* idx) {
  int32_t d;
  for (d = rank - 1; d >= 0; --d) {
    idx[d] = i % dims[d];
    i /= dims[d];
  }
}

static void test_pad(void) {
  int r;
  for (r = 0; r < 20; ++r) {
    tinytvm_pad_params p;
    int32_t d, i, n_out = 1, n_in = 1, odims[6], idx[6];
    memset(&p, 0, sizeof p);
    p.in_shape.rank = tt_rand_range(1, 6);
    for (d = 0; d < p.in_shape.rank; ++d) {
      p.in_shape.dims[d] = tt_rand_range(1, 3);
      p.before[d] = tt_rand_range(0, 2);
      p.after[d] = tt_rand_range(0, 2);
      odims[d] = p.in_shape.dims[d] + p.before[d] + p.after[d];
      n_out *= odims[d];
      n_in *= p.in_shape.dims[d];
    }
    p.pad_value = tt_rand_zp();
    if (n_out > N) continue; /* keep within the static buffers */
    tt_fill_s8(g_in, (size_t)n_in, -128, 127);
    for (i = 0; i < n_out; ++i) {
      int32_t off = 0, inside = 1;
      unravel(i, p.in_shape.rank, odims, idx);
      for (d = 0; d < p.in_shape.rank; ++d) {
        const int32_t x = idx[d] - p.before[d];
        if (x < 0 || x >= p.in_shape.dims[d]) inside = 0;
        off = off * p.in_shape.dims[d] + x;
      }
      g_ref[i] = inside ? g_in[off] : (int8_t)p.pad_value;
    }
    tinytvm_pad_s8(&p, g_in, g_out);
    TT_CHECK_BYTES(g_out, g_ref, (size_t)n_out, "pad %d", r);
  }
}

static void test_transpose(void) {
  int r;
  for (r = 0; r < 30; ++r) {
    tinytvm_transpose_params p;
    int32_t d, i, n = 1, odims[6], idx[6], used[6] = {0};
    p.in_shape.rank = tt_rand_range(1, 6);
    for (d = 0; d < p.in_shape.rank; ++d) {
      p.in_shape.dims[d] = tt_rand_range(1, 4);
      n *= p.in_shape.dims[d];
    }
    for (d = 0; d < p.in_shape.rank; ++d) { /* random permutation */
      int32_t k = tt_rand_range(0, p.in_shape.rank - 1);
      while (used[k]) k = (k + 1) % p.in_shape.rank;
      used[k] = 1;
      p.perm[d] = k;
      odims[d] = p.in_shape.dims[k];
    }
    tt_fill_s8(g_in, (size_t)n, -128, 127);
    for (i = 0; i < n; ++i) {
      int32_t in_idx[6], off = 0;
      unravel(i, p.in_shape.rank, odims, idx);
      for (d = 0; d < p.in_shape.rank; ++d) in_idx[p.perm[d]] = idx[d];
      for (d = 0; d < p.in_shape.rank; ++d) off = off * p.in_shape.dims[d] + in_idx[d];
      g_ref[i] = g_in[off];
    }
    tinytvm_transpose_s8(&p, g_in, g_out);
    TT_CHECK_BYTES(g_out, g_ref, (size_t)n, "transpose %d", r);
  }
}

static int32_t ref_nn(int32_t o, int32_t in, int32_t out, int ac, int hp) {
  const float scale = (ac && out > 1) ? (float)(in - 1) / (float)(out - 1) : (float)in / (float)out;
  const float off = hp ? 0.5f : 0.0f;
  int32_t v = ac ? (int32_t)roundf(((float)o + off) * scale) : (int32_t)floorf(((float)o + off) * scale);
  if (v > in - 1) v = in - 1;
  if (hp && v < 0) v = 0;
  return v;
}

static void test_resize(void) {
  int r;
  for (r = 0; r < 40; ++r) {
    tinytvm_resize_nearest_params p;
    int32_t b, y, x, c, i = 0;
    p.batches = tt_rand_range(1, 2);
    p.in_h = tt_rand_range(1, 6);
    p.in_w = tt_rand_range(1, 6);
    p.channels = tt_rand_range(1, 4);
    p.out_h = tt_rand_range(1, 12);
    p.out_w = tt_rand_range(1, 12);
    p.align_corners = r % 4 >= 2;
    p.half_pixel_centers = r % 2;
    tt_fill_s8(g_in, (size_t)p.batches * p.in_h * p.in_w * p.channels, -128, 127);
    for (b = 0; b < p.batches; ++b)
      for (y = 0; y < p.out_h; ++y)
        for (x = 0; x < p.out_w; ++x)
          for (c = 0; c < p.channels; ++c) {
            const int32_t iy = ref_nn(y, p.in_h, p.out_h, p.align_corners, p.half_pixel_centers);
            const int32_t ix = ref_nn(x, p.in_w, p.out_w, p.align_corners, p.half_pixel_centers);
            g_ref[i++] = g_in[((b * p.in_h + iy) * p.in_w + ix) * p.channels + c];
          }
    tinytvm_resize_nearest_s8(&p, g_in, g_out);
    TT_CHECK_BYTES(g_out, g_ref, (size_t)i, "resize %d", r);
  }
  {
    /* 2x upscale without flags: out[i] = in[i / 2] */
    tinytvm_resize_nearest_params p = {1, 1, 3, 1, 1, 6, 0, 0};
    const int8_t in[3] = {1, 2, 3}, want[6] = {1, 1, 2, 2, 3, 3};
    tinytvm_resize_nearest_s8(&p, in, g_out);
    TT_CHECK_BYTES(g_out, want, 6, "2x upscale");
  }
}

static void test_concat(void) {
  const int32_t chunks[2] = {6, 10};
  const int8_t* inputs[2];
  tinytvm_concat_params p;
  int32_t o, i;
  p.num_inputs = 2;
  p.outer = 7;
  p.chunk_bytes = chunks;
  tt_fill_s8(g_in, 7 * 6, -128, 127);
  tt_fill_s8(g_in2, 7 * 10, -128, 127);
  inputs[0] = g_in;
  inputs[1] = g_in2;
  for (o = 0; o < 7; ++o) {
    for (i = 0; i < 6; ++i) g_ref[o * 16 + i] = g_in[o * 6 + i];
    for (i = 0; i < 10; ++i) g_ref[o * 16 + 6 + i] = g_in2[o * 10 + i];
  }
  tinytvm_concat_s8(&p, inputs, g_out);
  TT_CHECK_BYTES(g_out, g_ref, 7 * 16, "concat");
}

int main(void) {
  tt_seed(3);
  test_pad();
  test_transpose();
  test_resize();
  test_concat();
  return tt_report("test_shape_ops");
}
