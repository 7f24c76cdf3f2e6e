/*
 * depthwise_conv2d.c - int8 depthwise convolution (generic and PLANE paths).
 *
 * PLANE path: for each input channel, the receptive rows/columns are copied once into an int16
 * plane with the input zero point subtracted and the padding materialized as zeros (0 after
 * subtracting the zero point == TFLM skipping taps outside the image).  The kernel weights of
 * one output channel are packed as int16 pairs (an odd kernel width gets a zero partner), so
 * on DSP cores every two horizontal taps cost one unaligned word load and one SMLAD, and two
 * horizontally adjacent outputs are produced per iteration.  3x3 keeps its six packed weight
 * words in registers; 3x3 and 5x5 get unrolled specializations.
 */
#include "tinytvm/depthwise_conv2d.h"

#include "internal.h"

typedef struct {
  int32_t ph, pw;    /* plane rows / columns */
  int32_t kwp;       /* k_w rounded up to even */
  int32_t out_c;     /* in_c * depth_multiplier */
  int32_t dm;        /* depth multiplier */
} dw_geom;

static int32_t dw_mult(const tinytvm_depthwise_conv2d_params* p) {
  return p->depth_multiplier > 1 ? p->depth_multiplier : 1;
}

static dw_geom dw_geometry(const tinytvm_depthwise_conv2d_params* p) {
  dw_geom g;
  g.ph = (p->out_h - 1) * p->stride_h + (p->k_h - 1) * p->dilation_h + 1;
  g.pw = (p->out_w - 1) * p->stride_w + (p->k_w - 1) * p->dilation_w + 1;
  g.kwp = (p->k_w + 1) & ~1;
  g.dm = dw_mult(p);
  g.out_c = p->in_c * g.dm;
  return g;
}

tinytvm_dw_impl tinytvm_depthwise_conv2d_s8_resolve_impl(const tinytvm_depthwise_conv2d_params* p) {
  if (p->impl == TINYTVM_DW_GENERIC) return TINYTVM_DW_GENERIC;
  if (p->impl == TINYTVM_DW_PLANE) return TINYTVM_DW_PLANE;
  return (p->k_h == 1 && p->k_w == 1) ? TINYTVM_DW_GENERIC : TINYTVM_DW_PLANE;
}

/* Plane (+2 elements of slack read by the zero-weighted half of the last pair) followed by the
 * packed weights of one output channel. */
static size_t dw_plane_elems(const dw_geom* g) { return ((size_t)g->ph * g->pw + 2 + 1) & ~(size_t)1; }

size_t tinytvm_depthwise_conv2d_s8_scratch_bytes(const tinytvm_depthwise_conv2d_params* p) {
  dw_geom g;
  if (tinytvm_depthwise_conv2d_s8_resolve_impl(p) != TINYTVM_DW_PLANE) return 0;
  g = dw_geometry(p);
  return (dw_plane_elems(&g) + (size_t)p->k_h * g.kwp) * sizeof(int16_t);
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
  if (p->impl < 0 || p->impl > TINYTVM_DW_PLANE) return TINYTVM_ERR_PARAM;
  return TINYTVM_OK;
}

/* ---- GENERIC: TFLM's loop nest ------------------------------------------------------------ */
static void dw_generic(const tinytvm_depthwise_conv2d_params* p, const int8_t* input,
                       const int8_t* weight, const int32_t* bias, int8_t* output) {
  const int32_t dm = dw_mult(p);
  const int32_t out_c = p->in_c * dm;
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
                (int8_t)tt_clamp(tt_rq_exact(acc, &p->rq, o), p->rq.act_min, p->rq.act_max);
          }
}

/* ---- PLANE ----------------------------------------------------------------------------------- */

/* Copies input channel c of image b into the plane interior (borders stay zero). */
static void dw_fill_plane(const tinytvm_depthwise_conv2d_params* p, const dw_geom* g,
                          const int8_t* input, int32_t b, int32_t c, int16_t* plane) {
  const int32_t r0 = p->pad_top, r1 = tinytvm_min_i32(g->ph, p->pad_top + p->in_h);
  const int32_t c0 = p->pad_left, c1 = tinytvm_min_i32(g->pw, p->pad_left + p->in_w);
  const int32_t n = c1 - c0;
  const int32_t zp = p->input_zp;
  const size_t step = (size_t)p->in_c;
  int32_t r;
  for (r = r0; r < r1; ++r) {
    const int8_t* src = input + (((size_t)b * p->in_h + (r - p->pad_top)) * p->in_w) * step + c;
    int16_t* dst = plane + (size_t)r * g->pw + c0;
    int32_t i = n;
    while (i >= 4) {
      dst[0] = (int16_t)(src[0] - zp);
      dst[1] = (int16_t)(src[step] - zp);
      dst[2] = (int16_t)(src[2 * step] - zp);
      dst[3] = (int16_t)(src[3 * step] - zp);
      src += 4 * step;
      dst += 4;
      i -= 4;
    }
    while (i-- > 0) {
      *dst++ = (int16_t)(*src - zp);
      src += step;
    }
  }
}

/* Dot product of KW taps (packed weight pairs) starting at r. */
TT_INLINE int32_t dw_row(const int16_t* r, const int16_t* w, int32_t npairs, int32_t acc) {
  int32_t j;
  for (j = 0; j < npairs; ++j) {
#if TINYTVM_DSP
    acc = __smlad(tt_load_u32(r + 2 * j), tt_load_u32(w + 2 * j), acc);
#else
    acc += r[2 * j] * w[2 * j] + r[2 * j + 1] * w[2 * j + 1];
#endif
  }
  return acc;
}

/* fast: 0 exact, 1 fast with a right shift (the common case), 2 fast general. */
TT_INLINE int8_t dw_out(int32_t acc, tt_rq_ch ch, const tinytvm_requant_params* rq, int32_t o,
                        int fast, int32_t zp2p1, int32_t lo, int32_t hi, const int full) {
  int32_t v;
  if (fast == 1) {
    v = tt_rq_fast_rshift(acc, ch.mult, ch.lsh1, ch.rsh_m1, zp2p1);
  } else if (fast == 2) {
    v = tt_rq_fast(acc, ch, rq->output_zp);
  } else {
    v = tt_rq_exact(acc, rq, o);
  }
#if TINYTVM_DSP
  v = __ssat(v, 8);
  if (full) return (int8_t)v;
#else
  (void)full;
#endif
  return (int8_t)tt_clamp(v, lo, hi);
}

/* 3x3, dilation 1: the six packed weight pairs stay in registers for the whole plane. */
TT_INLINE int32_t dw_row3(const int16_t* r, uint32_t w01, uint32_t w2z, int32_t acc) {
#if TINYTVM_DSP
  acc = __smlad(tt_load_u32(r), w01, acc);
  return __smlad(tt_load_u32(r + 2), w2z, acc);
#else
  return acc + r[0] * (int16_t)(w01 & 0xFFFF) + r[1] * (int16_t)(w01 >> 16) +
         r[2] * (int16_t)(w2z & 0xFFFF);
#endif
}

/* One output channel over the whole plane.  KH/KW > 0 are compile-time kernel sizes (unrolled,
 * dilation_w == 1); 0 means "read from params".  SW > 0 is a compile-time horizontal stride
 * (3x3 only: turns the tap loads into immediate offsets); FULL: act range is [-128, 127]. */
TT_INLINE void dw_channel(const tinytvm_depthwise_conv2d_params* p, const dw_geom* g,
                          const int16_t* plane, const int16_t* wpk, int32_t bias, int32_t o,
                          int8_t* out, int fast, const int KH, const int KW, const int SW,
                          const int FULL) {
  const int32_t kh = KH ? KH : p->k_h;
  const int32_t npairs = KW ? (KW + 1) / 2 : g->kwp / 2;
  const int32_t kwp = KW ? ((KW + 1) & ~1) : g->kwp;
  const int32_t sh = p->stride_h, sw = SW ? SW : p->stride_w, dw = p->dilation_w;
  const int32_t row_step = p->dilation_h * g->pw;
  const size_t out_px = (size_t)g->out_c;
  const tt_rq_ch ch = tt_rq_channel(&p->rq, o);
  /* Copies: the int8 output stores may alias anything, so fields read through `p` would be
   * reloaded after every store. */
  const int32_t zp2p1 = 2 * p->rq.output_zp + 1;
  const int32_t lo = p->rq.act_min, hi = p->rq.act_max;
  const int32_t out_w = p->out_w, out_h = p->out_h;
  const int pairs = KW ? 1 : dw == 1;
  int32_t oy, ox, ky, kx;
  if (KH == 3 && KW == 3) {
    const uint32_t w0 = tt_load_u32(wpk), w0z = tt_load_u32(wpk + 2);
    const uint32_t w1 = tt_load_u32(wpk + 4), w1z = tt_load_u32(wpk + 6);
    const uint32_t w2 = tt_load_u32(wpk + 8), w2z = tt_load_u32(wpk + 10);
    for (oy = 0; oy < out_h; ++oy) {
      const int16_t* r0 = plane + (size_t)oy * sh * g->pw;
      const int16_t* r1 = r0 + row_step;
      const int16_t* r2 = r1 + row_step;
      int8_t* dst = out + (size_t)oy * out_w * out_px;
      for (ox = 0; ox + 1 < out_w; ox += 2) {
        int32_t a0 = dw_row3(r0, w0, w0z, bias);
        int32_t a1 = dw_row3(r0 + sw, w0, w0z, bias);
        a0 = dw_row3(r1, w1, w1z, a0);
        a1 = dw_row3(r1 + sw, w1, w1z, a1);
        a0 = dw_row3(r2, w2, w2z, a0);
        a1 = dw_row3(r2 + sw, w2, w2z, a1);
        dst[0] = dw_out(a0, ch, &p->rq, o, fast, zp2p1, lo, hi, FULL);
        dst[out_px] = dw_out(a1, ch, &p->rq, o, fast, zp2p1, lo, hi, FULL);
        dst += 2 * out_px;
        r0 += 2 * sw;
        r1 += 2 * sw;
        r2 += 2 * sw;
      }
      if (ox < out_w) {
        int32_t a0 = dw_row3(r0, w0, w0z, bias);
        a0 = dw_row3(r1, w1, w1z, a0);
        a0 = dw_row3(r2, w2, w2z, a0);
        dst[0] = dw_out(a0, ch, &p->rq, o, fast, zp2p1, lo, hi, FULL);
      }
    }
    return;
  }
  for (oy = 0; oy < out_h; ++oy) {
    const int16_t* base = plane + (size_t)oy * sh * g->pw;
    int8_t* dst = out + (size_t)oy * out_w * out_px;
    for (ox = 0; ox + 1 < out_w; ox += 2) {
      const int16_t* r = base + (size_t)ox * sw;
      int32_t a0 = bias, a1 = bias;
      for (ky = 0; ky < kh; ++ky) {
        const int16_t* w = wpk + ky * kwp;
        if (pairs) {
          a0 = dw_row(r, w, npairs, a0);
          a1 = dw_row(r + sw, w, npairs, a1);
        } else {
          for (kx = 0; kx < p->k_w; ++kx) {
            a0 += r[kx * dw] * w[kx];
            a1 += r[sw + kx * dw] * w[kx];
          }
        }
        r += row_step;
      }
      dst[0] = dw_out(a0, ch, &p->rq, o, fast, zp2p1, lo, hi, FULL);
      dst[out_px] = dw_out(a1, ch, &p->rq, o, fast, zp2p1, lo, hi, FULL);
      dst += 2 * out_px;
    }
    if (ox < out_w) {
      const int16_t* r = base + (size_t)ox * sw;
      int32_t a0 = bias;
      for (ky = 0; ky < kh; ++ky) {
        const int16_t* w = wpk + ky * kwp;
        if (pairs) {
          a0 = dw_row(r, w, npairs, a0);
        } else {
          for (kx = 0; kx < p->k_w; ++kx) a0 += r[kx * dw] * w[kx];
        }
        r += row_step;
      }
      dst[0] = dw_out(a0, ch, &p->rq, o, fast, zp2p1, lo, hi, FULL);
    }
  }
}

static void dw_channel_dispatch(const tinytvm_depthwise_conv2d_params* p, const dw_geom* g,
                                const int16_t* plane, const int16_t* wpk, int32_t bias, int32_t o,
                                int8_t* out, int fast) {
  const int square = p->k_h == p->k_w && p->dilation_w == 1;
  const int full = p->rq.act_min <= -128 && p->rq.act_max >= 127;
  /* Per channel: use the branch-free requantization when this channel shifts right. */
  if (fast && tt_rq_channel(&p->rq, o).rsh_m1 >= 0) fast = 1;
  else if (fast) fast = 2;
  if (square && p->k_w == 3) {
    if (fast == 1) {
      /* The common MobileNet case gets stride- and clamp-specialized copies. */
      if (p->stride_w == 1) {
        if (full) dw_channel(p, g, plane, wpk, bias, o, out, 1, 3, 3, 1, 1);
        else dw_channel(p, g, plane, wpk, bias, o, out, 1, 3, 3, 1, 0);
      } else if (p->stride_w == 2) {
        if (full) dw_channel(p, g, plane, wpk, bias, o, out, 1, 3, 3, 2, 1);
        else dw_channel(p, g, plane, wpk, bias, o, out, 1, 3, 3, 2, 0);
      } else {
        dw_channel(p, g, plane, wpk, bias, o, out, 1, 3, 3, 0, 0);
      }
    } else if (fast == 2) {
      dw_channel(p, g, plane, wpk, bias, o, out, 2, 3, 3, 0, 0);
    } else {
      dw_channel(p, g, plane, wpk, bias, o, out, 0, 3, 3, 0, 0);
    }
    return;
  }
  if (square && p->k_w == 5) {
    if (fast == 1) {
      dw_channel(p, g, plane, wpk, bias, o, out, 1, 5, 5, 0, 0);
    } else if (fast == 2) {
      dw_channel(p, g, plane, wpk, bias, o, out, 2, 5, 5, 0, 0);
    } else {
      dw_channel(p, g, plane, wpk, bias, o, out, 0, 5, 5, 0, 0);
    }
    return;
  }
  if (fast == 1) {
    dw_channel(p, g, plane, wpk, bias, o, out, 1, 0, 0, 0, 0);
  } else if (fast == 2) {
    dw_channel(p, g, plane, wpk, bias, o, out, 2, 0, 0, 0, 0);
  } else {
    dw_channel(p, g, plane, wpk, bias, o, out, 0, 0, 0, 0, 0);
  }
}

static void dw_plane(const tinytvm_depthwise_conv2d_params* p, const int8_t* input,
                     const int8_t* weight, const int32_t* bias, int8_t* output, void* scratch) {
  const dw_geom g = dw_geometry(p);
  int16_t* plane = (int16_t*)scratch;
  int16_t* wpk = plane + dw_plane_elems(&g);
  const int fast = tt_rq_fast_ok(&p->rq, g.out_c, bias, tt_dot_bound(p->k_h * p->k_w));
  int32_t b, c, m, ky, kx;
  memset(plane, 0, (dw_plane_elems(&g) + (size_t)p->k_h * g.kwp) * sizeof(int16_t));
  for (b = 0; b < p->batches; ++b) {
    int8_t* out_img = output + (size_t)b * p->out_h * p->out_w * g.out_c;
    for (c = 0; c < p->in_c; ++c) {
      dw_fill_plane(p, &g, input, b, c, plane);
      for (m = 0; m < g.dm; ++m) {
        const int32_t o = c * g.dm + m;
        for (ky = 0; ky < p->k_h; ++ky)
          for (kx = 0; kx < p->k_w; ++kx)
            wpk[ky * g.kwp + kx] = weight[(ky * p->k_w + kx) * g.out_c + o];
        dw_channel_dispatch(p, &g, plane, wpk, bias ? bias[o] : 0, o, out_img + o, fast);
      }
    }
  }
}

void tinytvm_depthwise_conv2d_s8(const tinytvm_depthwise_conv2d_params* p, const int8_t* input,
                                 const int8_t* weight, const int32_t* bias, int8_t* output,
                                 void* scratch) {
  if (tinytvm_depthwise_conv2d_s8_resolve_impl(p) == TINYTVM_DW_PLANE) {
    dw_plane(p, input, weight, bias, output, scratch);
  } else {
    dw_generic(p, input, weight, bias, output);
  }
}
