/*
 * conv2d_im2col.c - the fast convolution paths.
 *
 * Both paths walk the output pixels in NHWC order, px_unroll (1 or 2) at a time.  For each
 * pixel the receptive field is gathered into an int16 column with the input zero point
 * subtracted (padding taps become 0, which is exactly TFLM's "skip taps outside the image"),
 * then tt_gemm_cols() computes and requantizes every output channel of those pixels.  Scratch
 * holds only the two columns (K int16 each, zero-padded to a multiple of 4) and, when in_c is
 * not a multiple of 4, a K-byte int8 staging row: the receptive field is first copied there
 * (padding taps and the tail filled with input_zp) and then widened 4 values at a time, which
 * is much cheaper than widening 3-channel pieces one value at a time.  When K itself is not a
 * multiple of 4, the assembly micro-kernel reads every weight row up to the next multiple of
 * 4 (times zero column entries); the last two rows are then copied (2K + 4 bytes of scratch)
 * so that nothing past the end of the weight array is read.
 */
#include "conv2d_internal.h"
#include "gemm_driver.h"
#include "gemm_s16.h"

size_t tt_conv_col_bytes(const tinytvm_conv2d_params* p) {
  /* tt_col_elems() holds two interleaved columns; px_unroll 1 needs one. */
  const size_t elems = (size_t)tt_col_elems(p->k_h * p->k_w * p->in_c);
  return (tt_conv_px_unroll(p) == 2 ? elems : elems / 2) * sizeof(int16_t);
}

size_t tt_conv_stage_bytes(const tinytvm_conv2d_params* p) {
  const int32_t k = p->k_h * p->k_w * p->in_c;
  return (p->in_c & 3) ? (size_t)((k + 3) & ~3) : 0;
}

size_t tt_conv_tailw_bytes(const tinytvm_conv2d_params* p) {
  const int32_t k = p->k_h * p->k_w * p->in_c;
  return (k & 3) ? (size_t)((2 * k + 4 + 3) & ~3) : 0;
}

typedef struct {
  tt_gemm_args g;
  int16_t* col;
  int8_t* stage; /* NULL when in_c % 4 == 0 */
  int32_t k;
  int32_t px_unroll;
  int k27; /* 3x3 kernel on 3 input channels: gather_k27 for interior windows */
} conv_ctx;

static void conv_ctx_init(conv_ctx* c, const tinytvm_conv2d_params* p, const int8_t* weight,
                          const int32_t* bias, void* scratch) {
  const int32_t k = p->k_h * p->k_w * p->in_c;
  const size_t col_bytes = tt_conv_col_bytes(p);
  c->g.weight = weight;
  c->g.bias = bias;
  c->g.k = k;
  c->g.out_c = p->out_c;
  c->g.oc_unroll = p->oc_unroll == 1 ? 1 : 2;
  c->g.rq = &p->rq;
  c->g.out_stride = p->out_c;
  c->px_unroll = tt_conv_px_unroll(p);
  c->col = (int16_t*)scratch;
  c->k = k;
  c->k27 = 0;
  c->stage = tt_conv_stage_bytes(p) ? (int8_t*)scratch + col_bytes : NULL;
  c->g.last_pair_w = NULL;
  /* The padding of a partial last group must read as zero. */
  memset(c->col, 0, col_bytes);
  if (c->stage) memset(c->stage, (int)(int8_t)p->input_zp, tt_conv_stage_bytes(p));
  if (tt_conv_tailw_bytes(p) && p->out_c >= 2) {
    int8_t* t = (int8_t*)scratch + col_bytes + tt_conv_stage_bytes(p);
    memset(t, 0, tt_conv_tailw_bytes(p));
    memcpy(t, weight + (size_t)(p->out_c - 2) * k, (size_t)(2 * k));
    c->g.last_pair_w = t;
  }
  tt_gemm_init(&c->g);
}

/* Receptive field of output pixel (b, oy, ox) as int8 into `dst` (K bytes), taps outside the
 * image set to input_zp. */
static void im2col_stage(const tinytvm_conv2d_params* p, const int8_t* input, int32_t b,
                         int32_t oy, int32_t ox, int8_t* dst) {
  const int32_t c = p->in_c;
  const int32_t iy0 = oy * p->stride_h - p->pad_top;
  const int32_t ix0 = ox * p->stride_w - p->pad_left;
  const int32_t run = p->k_w * c;
  int32_t ky, kx;
  for (ky = 0; ky < p->k_h; ++ky) {
    const int32_t iy = iy0 + ky * p->dilation_h;
    const int8_t* row;
    if (iy < 0 || iy >= p->in_h) {
      tt_fill_small(dst, p->input_zp, run);
      dst += run;
      continue;
    }
    row = input + ((size_t)b * p->in_h + iy) * p->in_w * c;
    if (p->dilation_w == 1 && ix0 >= 0 && ix0 + p->k_w <= p->in_w) {
      tt_copy_small(dst, row + (size_t)ix0 * c, run);
      dst += run;
      continue;
    }
    for (kx = 0; kx < p->k_w; ++kx) {
      const int32_t ix = ix0 + kx * p->dilation_w;
      if (ix >= 0 && ix < p->in_w) {
        tt_copy_small(dst, row + (size_t)ix * c, c);
      } else {
        tt_fill_small(dst, p->input_zp, c);
      }
      dst += c;
    }
  }
}

/* Gathers the receptive field of output pixel (b, oy, ox) into the column at `col` (already
 * offset for the pixel's slot) with group stride gstride; in_c % 4 == 0 (every piece starts
 * on a group boundary). */
static void im2col_direct(const tinytvm_conv2d_params* p, const int8_t* input, int32_t b,
                          int32_t oy, int32_t ox, int16_t* col, int32_t gstride) {
  const int32_t c = p->in_c;
  const int32_t iy0 = oy * p->stride_h - p->pad_top;
  const int32_t ix0 = ox * p->stride_w - p->pad_left;
  const int32_t zp = p->input_zp;
  const int32_t run = p->k_w * c;
  int32_t l = 0; /* logical position in the column */
  int32_t ky, kx;
  for (ky = 0; ky < p->k_h; ++ky) {
    const int32_t iy = iy0 + ky * p->dilation_h;
    const int8_t* row;
    if (iy < 0 || iy >= p->in_h) {
      tt_col_zero(col, gstride, l, run);
      l += run;
      continue;
    }
    row = input + ((size_t)b * p->in_h + iy) * p->in_w * c;
    if (p->dilation_w == 1 && ix0 >= 0 && ix0 + p->k_w <= p->in_w) {
      /* Whole kernel row inside the image: one contiguous run of k_w * in_c values. */
      tt_col_convert(col, gstride, l, row + (size_t)ix0 * c, run, zp);
      l += run;
      continue;
    }
    for (kx = 0; kx < p->k_w; ++kx) {
      const int32_t ix = ix0 + kx * p->dilation_w;
      if (ix >= 0 && ix < p->in_w) {
        tt_col_convert(col, gstride, l, row + (size_t)ix * c, c, zp);
      } else {
        tt_col_zero(col, gstride, l, c);
      }
      l += c;
    }
  }
}

/* One group of 4 int8 values (a little-endian word) widened into group `g` of the column. */
TT_INLINE void col_word(int16_t* col, int32_t gstride, int32_t g, uint32_t v, int32_t zp) {
  int16_t* d = col + g * gstride;
#if TINYTVM_DSP
  const uint32_t off = tt_pack_offset(zp);
  tt_store_u32(d, __sxtab16(off, v));
  tt_store_u32(d + 2, tt_sxtab16_ror8(off, v));
#else
  int32_t r;
  for (r = 0; r < 4; ++r) d[r] = (int16_t)((int8_t)(v >> (8 * r)) - zp);
#endif
}

/* 3x3 window of a 3-channel (RGB) input, all taps inside the image: the three 9-byte rows
 * s0, s1, s2 become the 7 column groups (the last one padded with the zero point) without a
 * staging copy. */
static void gather_k27(int16_t* col, int32_t gstride, const int8_t* s0, const int8_t* s1,
                       const int8_t* s2, int32_t zp) {
  col_word(col, gstride, 0, tt_load_u32(s0), zp);
  col_word(col, gstride, 1, tt_load_u32(s0 + 4), zp);
  col_word(col, gstride, 2, (uint32_t)(uint8_t)s0[8] | (tt_load_u32(s1) << 8), zp);
  col_word(col, gstride, 3, tt_load_u32(s1 + 3), zp);
  col_word(col, gstride, 4, (tt_load_u32(s1 + 5) >> 16) | (tt_load_u32(s2) << 16), zp);
  col_word(col, gstride, 5, tt_load_u32(s2 + 2), zp);
  col_word(col, gstride, 6, (tt_load_u32(s2 + 5) >> 8) | ((uint32_t)(uint8_t)zp << 24), zp);
}

static void gather(const conv_ctx* cx, const tinytvm_conv2d_params* p, const int8_t* input,
                   int32_t b, int32_t oy, int32_t ox, int16_t* col, int32_t gstride) {
  const int32_t c = p->in_c;
  const int32_t iy0 = oy * p->stride_h - p->pad_top;
  const int32_t ix0 = ox * p->stride_w - p->pad_left;
  if (p->dilation_w == 1 && iy0 >= 0 && ix0 >= 0 && ix0 + p->k_w <= p->in_w &&
      iy0 + (p->k_h - 1) * p->dilation_h < p->in_h) {
    /* Window entirely inside the image: k_h runs of k_w * in_c contiguous values. */
    const int32_t run = p->k_w * c;
    const size_t row_step = (size_t)p->dilation_h * p->in_w * c;
    const int8_t* src = input + (((size_t)b * p->in_h + iy0) * p->in_w + ix0) * c;
    int32_t ky;
    if (cx->k27) {
      gather_k27(col, gstride, src, src + row_step, src + 2 * row_step, p->input_zp);
    } else if (cx->stage) {
      int8_t* dst = cx->stage;
      for (ky = 0; ky < p->k_h; ++ky, src += row_step, dst += run) tt_copy_small(dst, src, run);
      tt_col_convert(col, gstride, 0, cx->stage, (cx->k + 3) & ~3, p->input_zp);
    } else {
      int32_t l = 0;
      for (ky = 0; ky < p->k_h; ++ky, src += row_step, l += run)
        tt_col_convert(col, gstride, l, src, run, p->input_zp);
    }
    return;
  }
  if (cx->stage) {
    im2col_stage(p, input, b, oy, ox, cx->stage);
    tt_col_convert(col, gstride, 0, cx->stage, (cx->k + 3) & ~3, p->input_zp);
  } else {
    im2col_direct(p, input, b, oy, ox, col, gstride);
  }
}

/* im2col: pixels in NHWC order, px_unroll at a time. */
void tt_conv_im2col(const tinytvm_conv2d_params* p, const int8_t* input, const int8_t* weight,
                    const int32_t* bias, int8_t* output, void* scratch) {
  conv_ctx c;
  const int32_t total = p->batches * p->out_h * p->out_w;
  int32_t b = 0, oy = 0, ox = 0; /* coordinates of pixel `n` */
  int32_t n = 0;
  conv_ctx_init(&c, p, weight, bias, scratch);
  c.k27 = p->in_c == 3 && p->k_h == 3 && p->k_w == 3;
  while (n < total) {
    const int32_t npx = (c.px_unroll == 2 && n + 1 < total) ? 2 : 1;
    const int32_t gstride = npx == 2 ? 8 : 4;
    int32_t i;
    for (i = 0; i < npx; ++i) {
      gather(&c, p, input, b, oy, ox, c.col + 4 * i, gstride);
      if (++ox == p->out_w) {
        ox = 0;
        if (++oy == p->out_h) {
          oy = 0;
          ++b;
        }
      }
    }
    tt_gemm_cols(&c.g, c.col, npx, output + (size_t)n * p->out_c);
    n += npx;
  }
}

/* 1x1: the column of a pixel is its widened input vector; pixels are walked with a pointer
 * (stride_w * in_c per output column, one input row per output row). */
void tt_conv_1x1(const tinytvm_conv2d_params* p, const int8_t* input, const int8_t* weight,
                 const int32_t* bias, int8_t* output, void* scratch) {
  conv_ctx c;
  const int32_t total = p->batches * p->out_h * p->out_w;
  const int32_t in_c = p->in_c, kk = (p->k_h * p->k_w * in_c + 3) & ~3, zp = p->input_zp;
  const size_t col_step = (size_t)p->stride_w * in_c;
  int32_t b = 0, oy = 0, ox = 0;
  int32_t n = 0;
  const int8_t* src = input;
  conv_ctx_init(&c, p, weight, bias, scratch);
  while (n < total) {
    const int32_t npx = (c.px_unroll == 2 && n + 1 < total) ? 2 : 1;
    const int32_t gstride = npx == 2 ? 8 : 4;
    int32_t i;
    for (i = 0; i < npx; ++i) {
      if (ox == 0)
        src = input + (((size_t)b * p->in_h + (size_t)oy * p->stride_h) * p->in_w) * in_c;
      if (c.stage) {
        tt_copy_small(c.stage, src, in_c);
        tt_col_convert(c.col + 4 * i, gstride, 0, c.stage, kk, zp);
      } else {
        tt_col_convert(c.col + 4 * i, gstride, 0, src, kk, zp);
      }
      src += col_step;
      if (++ox == p->out_w) {
        ox = 0;
        if (++oy == p->out_h) {
          oy = 0;
          ++b;
        }
      }
    }
    tt_gemm_cols(&c.g, c.col, npx, output + (size_t)n * p->out_c);
    n += npx;
  }
}
