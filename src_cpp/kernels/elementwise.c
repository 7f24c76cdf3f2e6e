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

void tinytvm_add_s8(const tinytvm_add_params* p, const int8_t* in1, const int8_t* in2, int8_t* out,
                    int32_t size) {
  int32_t i;
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
  const tinytvm_status st = bcast_init(&g, shape1, shape2, out_shape);
  if (st != TINYTVM_OK) return st;
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
