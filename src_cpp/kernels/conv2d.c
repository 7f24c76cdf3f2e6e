/*
 * conv2d.c - int8 convolution: parameter checks, path selection and the generic path.
 * The fast paths (IM2COL, 1X1) live in conv2d_im2col.c, 1X1_DIRECT in conv2d_pointwise.c.
 */
#include "tinytvm/conv2d.h"

#include "conv2d_internal.h"
#include "gemm_driver.h"
#include "gemm_s16.h"

static int32_t conv_groups(const tinytvm_conv2d_params* p) { return p->groups > 1 ? p->groups : 1; }

/* No padding at all: a declared bottom/right padding could put a 1x1 window outside the image,
 * where the pointwise paths would read past the row instead of contributing 0. */
static int is_pointwise(const tinytvm_conv2d_params* p) {
  return p->k_h == 1 && p->k_w == 1 &&
         (p->pad_top | p->pad_left | p->pad_bottom | p->pad_right) == 0;
}

/* Inlined into the dispatch: it runs on every call. */
TT_INLINE tinytvm_conv_impl resolve(const tinytvm_conv2d_params* p) {
  if (conv_groups(p) != 1 || p->impl == TINYTVM_CONV_GENERIC) return TINYTVM_CONV_GENERIC;
  if (p->impl == TINYTVM_CONV_IM2COL) return TINYTVM_CONV_IM2COL;
  if (p->impl == TINYTVM_CONV_1X1_DIRECT) /* asked for to save scratch: stay scratch-free */
    return is_pointwise(p) ? TINYTVM_CONV_1X1_DIRECT : TINYTVM_CONV_GENERIC;
  return is_pointwise(p) ? TINYTVM_CONV_1X1 : TINYTVM_CONV_IM2COL;
}

tinytvm_conv_impl tinytvm_conv2d_s8_resolve_impl(const tinytvm_conv2d_params* p) {
  return resolve(p);
}

int32_t tt_conv_px_unroll(const tinytvm_conv2d_params* p) { return p->px_unroll == 1 ? 1 : 2; }

size_t tinytvm_conv2d_s8_scratch_bytes(const tinytvm_conv2d_params* p) {
  const tinytvm_conv_impl impl = tinytvm_conv2d_s8_resolve_impl(p);
  if (impl == TINYTVM_CONV_GENERIC || impl == TINYTVM_CONV_1X1_DIRECT) return 0;
  return tt_conv_col_bytes(p) + tt_conv_stage_bytes(p) + tt_conv_tailw_bytes(p);
}

/* TFLM derives output sizes from the padding mode; for explicit padding the standard relation
 * is out = (in + pad_before + pad_after - dilated_kernel) / stride + 1 (floor). */
static int out_size_ok(int32_t in, int32_t k, int32_t s, int32_t d, int32_t pb, int32_t pa,
                       int32_t out) {
  const int32_t eff = (k - 1) * d + 1;
  const int32_t span = in + pb + pa - eff;
  return span >= 0 && out == span / s + 1;
}

tinytvm_status tinytvm_conv2d_s8_check(const tinytvm_conv2d_params* p) {
  const int32_t g = conv_groups(p);
  if (p->batches < 1 || p->in_h < 1 || p->in_w < 1 || p->in_c < 1 || p->out_h < 1 ||
      p->out_w < 1 || p->out_c < 1 || p->k_h < 1 || p->k_w < 1)
    return TINYTVM_ERR_SHAPE;
  if (p->stride_h < 1 || p->stride_w < 1 || p->dilation_h < 1 || p->dilation_w < 1)
    return TINYTVM_ERR_PARAM;
  if (p->pad_top < 0 || p->pad_left < 0 || p->pad_bottom < 0 || p->pad_right < 0)
    return TINYTVM_ERR_PARAM;
  if (p->in_c % g != 0 || p->out_c % g != 0) return TINYTVM_ERR_SHAPE;
  if (!out_size_ok(p->in_h, p->k_h, p->stride_h, p->dilation_h, p->pad_top, p->pad_bottom,
                   p->out_h) ||
      !out_size_ok(p->in_w, p->k_w, p->stride_w, p->dilation_w, p->pad_left, p->pad_right,
                   p->out_w))
    return TINYTVM_ERR_SHAPE;
  if (p->input_zp < -128 || p->input_zp > 127 || p->rq.output_zp < -128 ||
      p->rq.output_zp > 127 || p->rq.act_min < -128 || p->rq.act_max > 127 ||
      p->rq.act_min > p->rq.act_max || !p->rq.multiplier || !p->rq.shift)
    return TINYTVM_ERR_PARAM;
  if (p->impl < 0 || p->impl > TINYTVM_CONV_1X1_DIRECT || p->oc_unroll < 0 || p->oc_unroll > 2 ||
      p->px_unroll < 0 || p->px_unroll > 2)
    return TINYTVM_ERR_PARAM;
  return TINYTVM_OK;
}

/* Reference-structured loops (TFLM ConvPerChannel), grouped convolution included. */
static void conv_generic(const tinytvm_conv2d_params* p, const int8_t* input, const int8_t* weight,
                         const int32_t* bias, int8_t* output) {
  const int32_t groups = conv_groups(p);
  const int32_t filter_in_c = p->in_c / groups;
  const int32_t per_group = p->out_c / groups;
  int32_t b, oy, ox, o, ky, kx, i;
  for (b = 0; b < p->batches; ++b) {
    for (oy = 0; oy < p->out_h; ++oy) {
      const int32_t iy0 = oy * p->stride_h - p->pad_top;
      for (ox = 0; ox < p->out_w; ++ox) {
        const int32_t ix0 = ox * p->stride_w - p->pad_left;
        int8_t* out = output + (((size_t)b * p->out_h + oy) * p->out_w + ox) * p->out_c;
        for (o = 0; o < p->out_c; ++o) {
          const int32_t g = o / per_group;
          int32_t acc = 0;
          for (ky = 0; ky < p->k_h; ++ky) {
            const int32_t iy = iy0 + ky * p->dilation_h;
            if (iy < 0 || iy >= p->in_h) continue;
            for (kx = 0; kx < p->k_w; ++kx) {
              const int32_t ix = ix0 + kx * p->dilation_w;
              const int8_t* in;
              const int8_t* w;
              if (ix < 0 || ix >= p->in_w) continue;
              in = input + (((size_t)b * p->in_h + iy) * p->in_w + ix) * p->in_c +
                   (size_t)g * filter_in_c;
              w = weight + (((size_t)o * p->k_h + ky) * p->k_w + kx) * filter_in_c;
              for (i = 0; i < filter_in_c; ++i) acc += w[i] * (in[i] - p->input_zp);
            }
          }
          if (bias) acc += bias[o];
          out[o] = tt_rq_out(acc, &p->rq, o, TT_RQ_EXACT);
        }
      }
    }
  }
}

void tinytvm_conv2d_s8(const tinytvm_conv2d_params* p, const int8_t* input, const int8_t* weight,
                       const int32_t* bias, int8_t* output, void* scratch) {
  switch (resolve(p)) {
    case TINYTVM_CONV_GENERIC:
      conv_generic(p, input, weight, bias, output);
      break;
    case TINYTVM_CONV_1X1:
      tt_conv_1x1(p, input, weight, bias, output, scratch);
      break;
    case TINYTVM_CONV_1X1_DIRECT:
      tt_conv_1x1_direct(p, input, weight, bias, output);
      break;
    default:
      tt_conv_im2col(p, input, weight, bias, output, scratch);
      break;
  }
}
