/*
 * pooling.c - int8 average / max pooling (TFLM semantics, see pooling.h).  MEAN is in mean.c.
 */
#include "tinytvm/pooling.h"

#include "internal.h"

/* Valid kernel range [*k0, *k1) along one axis for window origin `o`. */
TT_INLINE void window(int32_t o, int32_t k, int32_t in, int32_t* k0, int32_t* k1) {
  *k0 = o < 0 ? -o : 0;
  *k1 = in - o < k ? in - o : k;
}

void tinytvm_avg_pool2d_s8(const tinytvm_pool2d_params* p, const int8_t* input, int8_t* output) {
  const int32_t C = p->channels;
  int32_t b, oy, ox, c, ky, kx;
  for (b = 0; b < p->batches; ++b)
    for (oy = 0; oy < p->out_h; ++oy) {
      const int32_t iy0 = oy * p->stride_h - p->pad_top;
      int32_t ky0, ky1;
      window(iy0, p->k_h, p->in_h, &ky0, &ky1);
      for (ox = 0; ox < p->out_w; ++ox) {
        const int32_t ix0 = ox * p->stride_w - p->pad_left;
        int8_t* out = output + (((size_t)b * p->out_h + oy) * p->out_w + ox) * C;
        int32_t kx0, kx1, count;
        window(ix0, p->k_w, p->in_w, &kx0, &kx1);
        count = (ky1 - ky0) * (kx1 - kx0);
        for (c = 0; c < C; ++c) {
          int32_t acc = 0;
          for (ky = ky0; ky < ky1; ++ky) {
            const int8_t* row = input + (((size_t)b * p->in_h + iy0 + ky) * p->in_w + ix0) * C + c;
            for (kx = kx0; kx < kx1; ++kx) acc += row[(size_t)kx * C];
          }
          if (count > 0) {
            /* Round half away from zero (C division truncates toward zero). */
            acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
          } else {
            acc = 0;
          }
          out[c] = (int8_t)tt_clamp(acc, p->act_min, p->act_max);
        }
      }
    }
}

void tinytvm_max_pool2d_s8(const tinytvm_pool2d_params* p, const int8_t* input, int8_t* output) {
  const int32_t C = p->channels;
  int32_t b, oy, ox, c, ky, kx;
  for (b = 0; b < p->batches; ++b)
    for (oy = 0; oy < p->out_h; ++oy) {
      const int32_t iy0 = oy * p->stride_h - p->pad_top;
      int32_t ky0, ky1;
      window(iy0, p->k_h, p->in_h, &ky0, &ky1);
      for (ox = 0; ox < p->out_w; ++ox) {
        const int32_t ix0 = ox * p->stride_w - p->pad_left;
        int8_t* out = output + (((size_t)b * p->out_h + oy) * p->out_w + ox) * C;
        int32_t kx0, kx1;
        window(ix0, p->k_w, p->in_w, &kx0, &kx1);
        for (c = 0; c < C; ++c) out[c] = -128;
        for (ky = ky0; ky < ky1; ++ky)
          for (kx = kx0; kx < kx1; ++kx) {
            const int8_t* in = input + (((size_t)b * p->in_h + iy0 + ky) * p->in_w + ix0 + kx) * C;
            for (c = 0; c < C; ++c)
              if (in[c] > out[c]) out[c] = in[c];
          }
        for (c = 0; c < C; ++c) out[c] = (int8_t)tt_clamp(out[c], p->act_min, p->act_max);
      }
    }
}
