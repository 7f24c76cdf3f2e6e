/*
 * gemm_s16.h - int16 activation "column" x int8 weight micro-kernels (internal).
 *
 * Convolution (im2col / 1x1) reduces to dot products between an activation vector of length K with the input zero point already subtracted (int16) and a
 * weight row of K int8 values.  Converting the activations once per output pixel and reusing
 * them for every output channel amortizes the widening; each weight word is widened once and
 * reused for the 2 pixels of a block.
 *
 * Column layout.  Logical element L of pixel p lives at
 *     col[(L / 4) * gstride + 4 * p + perm(L % 4)]
 * for every L < 4 * ceil(K / 4); the elements K .. 4 * ceil(K / 4) - 1 of a partial last group
 * are zero (kernels that read whole groups see zero products there).  gstride = 8 interleaves
 * the groups of two pixels (so one pointer and LDRD with immediate offsets reach both),
 * gstride = 4 is a single pixel.  perm = {0, 2, 1, 3} in the DSP build: SXTAB16 of an int8
 * word yields the even bytes, SXTAB16 of the word rotated by 8 the odd ones, which pairs with
 * SXTB16 / SXTB16-ROR8 of the weight word in two SMLADs.  The portable build uses
 * perm = identity.  A column buffer holds (K / 4 + 1) * gstride int16.
 *
 * DSP cost per 4 values of K for a 2-pixel x 2-channel block: 2 LDRD, 2 LDR, 4 SXTB16, 8 SMLAD
 * and the loop branch: 18 instructions for 16 MACs (the assembly loop in gemm_s16.c; the C
 * micro-kernels below serve the remainders: one pixel, an odd channel, exact requantization).
 */
#ifndef TINYTVM_KERNELS_GEMM_S16_H_
#define TINYTVM_KERNELS_GEMM_S16_H_

#include "internal.h"

/* int16 elements of a column buffer for K values with group stride 8 (fits 1 or 2 pixels). */
TT_INLINE int32_t tt_col_elems(int32_t k) { return ((k >> 2) + 1) * 8; }


/* Physical position of element r (0..3) inside a group. */
#if TINYTVM_DSP
#define TT_PERM(r) ((r) == 1 ? 2 : (r) == 2 ? 1 : (r))
#else
#define TT_PERM(r) (r)
#endif

/* Physical index of logical element l. */
TT_INLINE int32_t tt_col_index(int32_t l, int32_t gstride) {
  return (l >> 2) * gstride + TT_PERM(l & 3);
}

/* Writes src[0..n) - zp as logical elements l0 .. l0 + n - 1 of the pixel column at `col`
 * (already offset by 4 * p). */
TT_INLINE void tt_col_convert(int16_t* col, int32_t gstride, int32_t l0, const int8_t* src,
                              int32_t n, int32_t zp) {
  if ((l0 & 3) == 0) {
    /* Fast path: whole groups, 4 values per iteration. */
    int16_t* d = col + (l0 >> 2) * gstride;
    int32_t groups = n >> 2;
#if TINYTVM_DSP
    const uint32_t off = tt_pack_offset(zp);
#endif
    n -= groups * 4;
    l0 += groups * 4;
    while (groups-- > 0) {
#if TINYTVM_DSP
      const uint32_t v = tt_load_u32(src);
      tt_store_u32(d, __sxtab16(off, v));
      tt_store_u32(d + 2, tt_sxtab16_ror8(off, v));
#else
      d[0] = (int16_t)(src[0] - zp);
      d[1] = (int16_t)(src[1] - zp);
      d[2] = (int16_t)(src[2] - zp);
      d[3] = (int16_t)(src[3] - zp);
#endif
      src += 4;
      d += gstride;
    }
  }
  while (n-- > 0) col[tt_col_index(l0++, gstride)] = (int16_t)(*src++ - zp);
}

/* Zero logical elements l0 .. l0 + n - 1. */
TT_INLINE void tt_col_zero(int16_t* col, int32_t gstride, int32_t l0, int32_t n) {
  if ((l0 & 3) == 0) {
    int16_t* d = col + (l0 >> 2) * gstride;
    int32_t groups = n >> 2;
    n -= groups * 4;
    l0 += groups * 4;
    while (groups-- > 0) {
      tt_store_u32(d, 0);
      tt_store_u32(d + 2, 0);
      d += gstride;
    }
  }
  while (n-- > 0) col[tt_col_index(l0++, gstride)] = 0;
}

/* ---- micro-kernels ------------------------------------------------------------------------- */

/* 2 pixels (interleaved column, gstride 8) x 2 channels: acc = {p0c0, p0c1, p1c0, p1c1}. */
TT_INLINE void tt_mk_2x2(const int16_t* c, const int8_t* w0, const int8_t* w1, int32_t k,
                         int32_t* acc) {
  int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
  int32_t n = k >> 2, r;
  const int32_t t = k & 3;
#if TINYTVM_DSP
  while (n-- > 0) {
    uint32_t w = tt_load_u32(w0);
    uint32_t wa = __sxtb16(w), wb = tt_sxtb16_ror8(w);
    const uint32_t xa = tt_load_u32(c), xb = tt_load_u32(c + 2);
    const uint32_t ya = tt_load_u32(c + 4), yb = tt_load_u32(c + 6);
    a00 = __smlad(xb, wb, __smlad(xa, wa, a00));
    a10 = __smlad(yb, wb, __smlad(ya, wa, a10));
    w = tt_load_u32(w1);
    wa = __sxtb16(w);
    wb = tt_sxtb16_ror8(w);
    a01 = __smlad(xb, wb, __smlad(xa, wa, a01));
    a11 = __smlad(yb, wb, __smlad(ya, wa, a11));
    c += 8;
    w0 += 4;
    w1 += 4;
  }
#else
  while (n-- > 0) {
    for (r = 0; r < 4; ++r) {
      a00 += c[r] * w0[r];
      a01 += c[r] * w1[r];
      a10 += c[4 + r] * w0[r];
      a11 += c[4 + r] * w1[r];
    }
    c += 8;
    w0 += 4;
    w1 += 4;
  }
#endif
  for (r = 0; r < t; ++r) {
    a00 += c[TT_PERM(r)] * w0[r];
    a01 += c[TT_PERM(r)] * w1[r];
    a10 += c[4 + TT_PERM(r)] * w0[r];
    a11 += c[4 + TT_PERM(r)] * w1[r];
  }
  acc[0] = a00;
  acc[1] = a01;
  acc[2] = a10;
  acc[3] = a11;
}

/* 2 pixels (interleaved) x 1 channel: acc = {p0, p1}. */
TT_INLINE void tt_mk_2x1(const int16_t* c, const int8_t* w0, int32_t k, int32_t* acc) {
  int32_t a0 = acc[0], a1 = acc[1];
  int32_t n = k >> 2, r;
  const int32_t t = k & 3;
  while (n-- > 0) {
#if TINYTVM_DSP
    const uint32_t w = tt_load_u32(w0);
    const uint32_t wa = __sxtb16(w), wb = tt_sxtb16_ror8(w);
    a0 = __smlad(tt_load_u32(c + 2), wb, __smlad(tt_load_u32(c), wa, a0));
    a1 = __smlad(tt_load_u32(c + 6), wb, __smlad(tt_load_u32(c + 4), wa, a1));
#else
    for (r = 0; r < 4; ++r) {
      a0 += c[r] * w0[r];
      a1 += c[4 + r] * w0[r];
    }
#endif
    c += 8;
    w0 += 4;
  }
  for (r = 0; r < t; ++r) {
    a0 += c[TT_PERM(r)] * w0[r];
    a1 += c[4 + TT_PERM(r)] * w0[r];
  }
  acc[0] = a0;
  acc[1] = a1;
}

/* 1 pixel (gstride 4) x 2 channels. */
TT_INLINE void tt_mk_1x2(const int16_t* c, const int8_t* w0, const int8_t* w1, int32_t k,
                         int32_t* acc) {
  int32_t a0 = acc[0], a1 = acc[1];
  int32_t n = k >> 2, r;
  const int32_t t = k & 3;
  while (n-- > 0) {
#if TINYTVM_DSP
    const uint32_t xa = tt_load_u32(c), xb = tt_load_u32(c + 2);
    uint32_t w = tt_load_u32(w0);
    a0 = __smlad(xb, tt_sxtb16_ror8(w), __smlad(xa, __sxtb16(w), a0));
    w = tt_load_u32(w1);
    a1 = __smlad(xb, tt_sxtb16_ror8(w), __smlad(xa, __sxtb16(w), a1));
#else
    for (r = 0; r < 4; ++r) {
      a0 += c[r] * w0[r];
      a1 += c[r] * w1[r];
    }
#endif
    c += 4;
    w0 += 4;
    w1 += 4;
  }
  for (r = 0; r < t; ++r) {
    a0 += c[TT_PERM(r)] * w0[r];
    a1 += c[TT_PERM(r)] * w1[r];
  }
  acc[0] = a0;
  acc[1] = a1;
}

/* 1 pixel (gstride 4) x 1 channel. */
TT_INLINE int32_t tt_mk_1x1(const int16_t* c, const int8_t* w0, int32_t k, int32_t a0) {
  int32_t n = k >> 2, r;
  const int32_t t = k & 3;
  while (n-- > 0) {
#if TINYTVM_DSP
    const uint32_t w = tt_load_u32(w0);
    a0 = __smlad(tt_load_u32(c + 2), tt_sxtb16_ror8(w), __smlad(tt_load_u32(c), __sxtb16(w), a0));
#else
    for (r = 0; r < 4; ++r) a0 += c[r] * w0[r];
#endif
    c += 4;
    w0 += 4;
  }
  for (r = 0; r < t; ++r) a0 += c[TT_PERM(r)] * w0[r];
  return a0;
}

#endif /* TINYTVM_KERNELS_GEMM_S16_H_ */
