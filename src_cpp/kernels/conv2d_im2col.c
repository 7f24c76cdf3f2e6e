/*
 * conv2d_im2col.c - the fast convolution paths.
 *
 * Both paths walk the output pixels in NHWC order, px_unroll (1 or 2) at a time.  For each
 * pixel the receptive field is gathered into an int16 column with the input zero point
 * subtracted (padding taps become 0, which is exactly TFLM's "skip taps outside the image"),
 * then tt_gemm_cols() computes every output channel of those pixels.  Scratch therefore holds
 * only px_unroll columns (plus the per-channel requantization table), never a full im2col
 * matrix: K * 2 * px_unroll bytes.
 */
#include "conv2d_internal.h"
#include "gemm_driver.h"
#include "gemm_s16.h"

typedef struct {
  tt_gemm_args g;
  int16_t* col;
  int32_t k4; /* K / 4 */
  int32_t px_unroll;
} conv_ctx;

static void conv_ctx_init(conv_ctx* c, const tinytvm_conv2d_params* p, const int8_t* weight,
                          const int32_t* bias, void* scratch) {
  const int32_t k = p->k_h * p->k_w * p->in_c;
  const size_t rq_bytes = (tt_gemm_rq_scratch_bytes(&p->rq, p->out_c) + 7u) & ~(size_t)7u;
  c->g.weight = weight;
  c->g.bias = bias;
  c->g.k = k;
  c->g.out_c = p->out_c;
  c->g.oc_unroll = p->oc_unroll == 1 ? 1 : 2;
  c->g.rq = &p->rq;
  c->g.out_stride = p->out_c;
  tt_gemm_prepare_rq(&c->g, bias, scratch);
  c->px_unroll = tt_conv_px_unroll(p);
  c->col = (int16_t*)((uint8_t*)scratch + rq_bytes);
  c->k4 = k >> 2;
}

/* Gathers the receptive field of output pixel (b, oy, ox) into the column at `col` (already
 * offset for the pixel's slot) with group stride gstride. */
static void im2col_pixel(const tinytvm_conv2d_params* p, const int8_t* input, int32_t b, int32_t oy,
                         int32_t ox, int16_t* col, int32_t gstride, int32_t k4) {
  const int32_t c = p->in_c;
  const int32_t iy0 = oy * p->stride_h - p->pad_top;
  const int32_t ix0 = ox * p->stride_w - p->pad_left;
  const int32_t zp = p->input_zp;
  int32_t l = 0; /* logical position in the column */
  int32_t ky, kx;
  for (ky = 0; ky < p->k_h; ++ky) {
    const int32_t iy = iy0 + ky * p->dilation_h;
    const int row_inside = iy >= 0 && iy < p->in_h;
    const int8_t* row = input + ((size_t)b * p->in_h + (row_inside ? iy : 0)) * p->in_w * c;
    if (!row_inside) {
      tt_col_zero(col, gstride, k4, l, p->k_w * c);
      l += p->k_w * c;
      continue;
    }
    if (p->dilation_w == 1 && ix0 >= 0 && ix0 + p->k_w <= p->in_w) {
      /* Whole kernel row inside the image: one contiguous run of k_w * in_c values. */
      tt_col_convert(col, gstride, k4, l, row + (size_t)ix0 * c, p->k_w * c, zp);
      l += p->k_w * c;
      continue;
    }
    for (kx = 0; kx < p->k_w; ++kx) {
      const int32_t ix = ix0 + kx * p->dilation_w;
      if (ix >= 0 && ix < p->in_w) {
        tt_col_convert(col, gstride, k4, l, row + (size_t)ix * c, c, zp);
      } else {
        tt_col_zero(col, gstride, k4, l, c);
      }
      l += c;
    }
  }
}

/* Shared pixel loop; `gather` fills the column of one output pixel. */
typedef void (*gather_fn)(const tinytvm_conv2d_params* p, const int8_t* input, int32_t b,
                          int32_t oy, int32_t ox, int16_t* col, int32_t gstride, int32_t k4);

static void pointwise_pixel(const tinytvm_conv2d_params* p, const int8_t* input, int32_t b,
                            int32_t oy, int32_t ox, int16_t* col, int32_t gstride, int32_t k4) {
  const int8_t* src =
      input + (((size_t)b * p->in_h + (size_t)oy * p->stride_h) * p->in_w +
               (size_t)ox * p->stride_w) * p->in_c;
  tt_col_convert(col, gstride, k4, 0, src, p->in_c, p->input_zp);
}

static void conv_pixels(const tinytvm_conv2d_params* p, const int8_t* input, const int8_t* weight,
                        const int32_t* bias, int8_t* output, void* scratch, gather_fn gather) {
  conv_ctx c;
  const int32_t total = p->batches * p->out_h * p->out_w;
  int32_t b = 0, oy = 0, ox = 0; /* coordinates of pixel `n` */
  int32_t n = 0;
  conv_ctx_init(&c, p, weight, bias, scratch);
  while (n < total) {
    const int32_t npx = (c.px_unroll == 2 && n + 1 < total) ? 2 : 1;
    const int32_t gstride = npx == 2 ? 8 : 4;
    int32_t i;
    for (i = 0; i < npx; ++i) {
      gather(p, input, b, oy, ox, c.col + 4 * i, gstride, c.k4);
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

void tt_conv_im2col(const tinytvm_conv2d_params* p, const int8_t* input, const int8_t* weight,
                    const int32_t* bias, int8_t* output, void* scratch) {
  conv_pixels(p, input, weight, bias, output, scratch, im2col_pixel);
}

void tt_conv_1x1(const tinytvm_conv2d_params* p, const int8_t* input, const int8_t* weight,
                 const int32_t* bias, int8_t* output, void* scratch) {
  conv_pixels(p, input, weight, bias, output, scratch, pointwise_pixel);
}
