/*
 * elementwise.c - int8 ADD / MUL (TFLM integer_ops::Add / Mul) with N-D broadcasting.
 */
#include "tinytvm/elementwise.h"

#include "internal.h"

TT_INLINE int8_t add_one(const tinytvm_add_params* p, int32_t x, int32_t y) {
  const int32_t a = tinytvm_wrap_shl(x - p->input1_zp, p->left_shift);
  const int32_t b = tinytvm_wrap_shl(y - p->input2_zp, p->left_shift);
  const int32_t sa = tinytvm_mbqm(a, p->input1_multiplier, p->input1_shift);
  const int32_t sb = tinytvm_mbqm(b, p->input2_multiplier, p->input2_shift);
  const int32_t raw =
      tinytvm_mbqm(tinytvm_wrap_add(sa, sb), p->output_multiplier, p->output_shift) + p->output_zp;
  return (int8_t)tt_clamp(raw, p->act_min, p->act_max);
}

TT_INLINE int8_t mul_one(const tinytvm_mul_params* p, int32_t x, int32_t y) {
  const int32_t prod = (x - p->input1_zp) * (y - p->input2_zp); /* |.| <= 255 * 255 */
  const int32_t raw = tinytvm_mbqm(prod, p->output_multiplier, p->output_shift) + p->output_zp;
  return (int8_t)tt_clamp(raw, p->act_min, p->act_max);
}

/* Fast ADD.  With the usual TFLM parameters (left_shift <= 22, multipliers in [2^30, 2^31),
 * shifts <= 0 on the inputs and <= -1 on the output) every MBQM can use internal.h's SMMLAR
 * form: the shifted inputs are < 2^30 in magnitude, so nothing overflows.  An input with
 * shift 0 (TFLM gives the input of larger scale exactly 0.5 = (2^30, 0)) skips its rounding
 * shift.  About 25 instructions per element instead of ~120. */
typedef struct {
  int32_t ls;
  int32_t zp1s, zp2s; /* input zero points << left_shift */
  int32_t m1, r1, m2, r2; /* input multipliers (m << 1) and right shift - 1 (-1: none) */
  int32_t mo, ro, zp2p1;  /* output */
  int32_t lo, hi, full;
} add_fast;

static int add_fast_init(const tinytvm_add_params* p, add_fast* f) {
  const int32_t ms[3] = {p->input1_multiplier, p->input2_multiplier, p->output_multiplier};
  const int32_t ss[3] = {p->input1_shift, p->input2_shift, p->output_shift};
  int i;
  if (p->left_shift < 0 || p->left_shift > 22) return 0;
  for (i = 0; i < 3; ++i)
    if (ms[i] < 0x40000000 || ss[i] > (i == 2 ? -1 : 0) || ss[i] < -31) return 0;
  f->ls = p->left_shift;
  f->zp1s = (int32_t)((uint32_t)p->input1_zp << p->left_shift);
  f->zp2s = (int32_t)((uint32_t)p->input2_zp << p->left_shift);
  f->m1 = (int32_t)((uint32_t)p->input1_multiplier << 1);
  f->r1 = -p->input1_shift - 1;
  f->m2 = (int32_t)((uint32_t)p->input2_multiplier << 1);
  f->r2 = -p->input2_shift - 1;
  f->mo = (int32_t)((uint32_t)p->output_multiplier << 1);
  f->ro = -p->output_shift - 1;
  f->zp2p1 = 2 * p->output_zp + 1;
  f->lo = p->act_min;
  f->hi = p->act_max;
  f->full = p->act_min <= -128 && p->act_max >= 127;
  return 1;
}

/* MBQM(a, m, s) for |a| < 2^30, s <= 0, m in [2^30, 2^31): rsm1 = -s - 1 (-1: s == 0). */
TT_INLINE int32_t add_scale(int32_t a, int32_t m2, int32_t rsm1) {
  const int32_t y = tt_smmlar(a, m2, a);
  if (rsm1 < 0) return y;
  return (tt_asr_reg(y + (y >> 31), rsm1) + 1) >> 1;
}

TT_INLINE int8_t add_one_fast(const add_fast* f, int32_t x, int32_t y) {
  const int32_t a = (int32_t)((uint32_t)x << f->ls) - f->zp1s;
  const int32_t b = (int32_t)((uint32_t)y << f->ls) - f->zp2s;
  const int32_t v = tt_rqu_s8(add_scale(a, f->m1, f->r1) + add_scale(b, f->m2, f->r2), f->mo,
                              f->ro, f->zp2p1);
  return (int8_t)(f->full ? v : tt_clamp(v, f->lo, f->hi));
}

/* The flat loop with the per-layer choices as compile-time constants (S1/S2: input has a
 * rounding shift, FULL: no activation clamp) and the constants in locals. */
TT_INLINE void add_flat(const add_fast* f, const int8_t* in1, const int8_t* in2, int8_t* out,
                        int32_t size, const int S1, const int S2, const int FULL) {
  const int32_t ls = f->ls, zp1s = f->zp1s, zp2s = f->zp2s, m1 = f->m1, r1 = f->r1;
  const int32_t m2 = f->m2, r2 = f->r2, mo = f->mo, ro = f->ro, zp2p1 = f->zp2p1;
  const int32_t lo = f->lo, hi = f->hi;
  int32_t i;
  for (i = 0; i < size; ++i) {
    const int32_t a = (int32_t)((uint32_t)in1[i] << ls) - zp1s;
    const int32_t b = (int32_t)((uint32_t)in2[i] << ls) - zp2s;
    const int32_t v = tt_rqu_s8(add_scale(a, m1, S1 ? r1 : -1) + add_scale(b, m2, S2 ? r2 : -1),
                                mo, ro, zp2p1);
    out[i] = (int8_t)(FULL ? v : tt_clamp(v, lo, hi));
  }
}

void tinytvm_add_s8(const tinytvm_add_params* p, const int8_t* in1, const int8_t* in2, int8_t* out,
                    int32_t size) {
  add_fast f;
  int32_t i;
  if (add_fast_init(p, &f)) {
    const int s1 = f.r1 >= 0, s2 = f.r2 >= 0;
    if (!f.full) {
      for (i = 0; i < size; ++i) out[i] = add_one_fast(&f, in1[i], in2[i]);
    } else if (s1 && s2) {
      add_flat(&f, in1, in2, out, size, 1, 1, 1);
    } else if (s1) {
      add_flat(&f, in1, in2, out, size, 1, 0, 1);
    } else if (s2) {
      add_flat(&f, in1, in2, out, size, 0, 1, 1);
    } else {
      add_flat(&f, in1, in2, out, size, 0, 0, 1);
    }
    return;
  }
  for (i = 0; i < size; ++i) out[i] = add_one(p, in1[i], in2[i]);
}

void tinytvm_mul_s8(const tinytvm_mul_params* p, const int8_t* in1, const int8_t* in2, int8_t* out,
                    int32_t size) {
  int32_t i;
  for (i = 0; i < size; ++i) out[i] = mul_one(p, in1[i], in2[i]);
}

/* Broadcast geometry: both inputs' strides expressed on the output's (right-aligned, padded to
 * TINYTVM_MAX_DIMS) index space; a stretched dimension has stride 0. */
typedef struct {
  int32_t dims[TINYTVM_MAX_DIMS];
  int32_t s1[TINYTVM_MAX_DIMS];
  int32_t s2[TINYTVM_MAX_DIMS];
} bcast;

static tinytvm_status bcast_init(bcast* g, const tinytvm_shape* a, const tinytvm_shape* b,
                                 const tinytvm_shape* o) {
  int32_t d, st1 = 1, st2 = 1;
  if (a->rank > TINYTVM_MAX_DIMS || b->rank > TINYTVM_MAX_DIMS || o->rank > TINYTVM_MAX_DIMS ||
      a->rank < 0 || b->rank < 0 || o->rank < 0)
    return TINYTVM_ERR_SHAPE;
  for (d = TINYTVM_MAX_DIMS - 1; d >= 0; --d) {
    const int32_t i = d - (TINYTVM_MAX_DIMS - o->rank);
    const int32_t ia = d - (TINYTVM_MAX_DIMS - a->rank);
    const int32_t ib = d - (TINYTVM_MAX_DIMS - b->rank);
    const int32_t n = i >= 0 ? o->dims[i] : 1;
    const int32_t na = ia >= 0 ? a->dims[ia] : 1;
    const int32_t nb = ib >= 0 ? b->dims[ib] : 1;
    if ((na != n && na != 1) || (nb != n && nb != 1)) return TINYTVM_ERR_SHAPE;
    g->dims[d] = n;
    g->s1[d] = na == 1 ? 0 : st1;
    g->s2[d] = nb == 1 ? 0 : st2;
    st1 *= na;
    st2 *= nb;
  }
  return TINYTVM_OK;
}

/* Walks the output in order; the innermost dimension is a tight loop. */
#define TT_BCAST_LOOP(ONE)                                                                  \
  do {                                                                                      \
    int32_t idx[TINYTVM_MAX_DIMS] = {0};                                                    \
    const int32_t inner = g.dims[TINYTVM_MAX_DIMS - 1];                                     \
    const int32_t i1 = g.s1[TINYTVM_MAX_DIMS - 1], i2 = g.s2[TINYTVM_MAX_DIMS - 1];         \
    int32_t d, k;                                                                           \
    for (d = 0; d < TINYTVM_MAX_DIMS; ++d)                                                  \
      if (g.dims[d] == 0) return TINYTVM_OK;                                                \
    for (;;) {                                                                              \
      int32_t off1 = 0, off2 = 0;                                                           \
      for (d = 0; d < TINYTVM_MAX_DIMS - 1; ++d) {                                          \
        off1 += idx[d] * g.s1[d];                                                           \
        off2 += idx[d] * g.s2[d];                                                           \
      }                                                                                     \
      for (k = 0; k < inner; ++k) *out++ = ONE(p, in1[off1 + k * i1], in2[off2 + k * i2]); \
      for (d = TINYTVM_MAX_DIMS - 2; d >= 0; --d) {                                         \
        if (++idx[d] < g.dims[d]) break;                                                    \
        idx[d] = 0;                                                                         \
      }                                                                                     \
      if (d < 0) break;                                                                     \
    }                                                                                       \
  } while (0)

tinytvm_status tinytvm_add_s8_broadcast(const tinytvm_add_params* p, const tinytvm_shape* shape1,
                                        const int8_t* in1, const tinytvm_shape* shape2,
                                        const int8_t* in2, const tinytvm_shape* out_shape,
                                        int8_t* out) {
  bcast g;
  add_fast f;
  const tinytvm_status st = bcast_init(&g, shape1, shape2, out_shape);
  if (st != TINYTVM_OK) return st;
  if (add_fast_init(p, &f)) {
    const add_fast* fp = &f;
#define TT_ADD_FAST_ONE(p_, x_, y_) add_one_fast(fp, (x_), (y_))
    TT_BCAST_LOOP(TT_ADD_FAST_ONE);
#undef TT_ADD_FAST_ONE
    return TINYTVM_OK;
  }
  TT_BCAST_LOOP(add_one);
  return TINYTVM_OK;
}

tinytvm_status tinytvm_mul_s8_broadcast(const tinytvm_mul_params* p, const tinytvm_shape* shape1,
                                        const int8_t* in1, const tinytvm_shape* shape2,
                                        const int8_t* in2, const tinytvm_shape* out_shape,
                                        int8_t* out) {
  bcast g;
  const tinytvm_status st = bcast_init(&g, shape1, shape2, out_shape);
  if (st != TINYTVM_OK) return st;
  TT_BCAST_LOOP(mul_one);
  return TINYTVM_OK;
}
