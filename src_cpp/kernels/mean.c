/*
 * mean.c - int8 MEAN over arbitrary axes (TFLM QuantizedMeanOrSum, see pooling.h).
 *
 * The shape is first compressed: adjacent dimensions of the same kind (both reduced or both
 * kept) merge into one, and size-1 dimensions vanish, so MEAN over H, W of an NHWC tensor
 * becomes "kept N, reduced H*W (stride C), kept C".  Each output element is then the sum of a
 * strided sub-tensor, walked with the innermost reduced dimension as a tight loop.
 */
#include "tinytvm/pooling.h"

#include "internal.h"

typedef struct {
  int32_t n;
  int32_t dims[TINYTVM_MAX_DIMS];
  int32_t strides[TINYTVM_MAX_DIMS]; /* elements */
} mean_dims;

/* Sum (wrapping int32) of the sub-tensor at `base` spanned by the reduced dimensions. */
static uint32_t mean_sum(const int8_t* base, const mean_dims* r) {
  int32_t idx[TINYTVM_MAX_DIMS] = {0};
  const int32_t last = r->n - 1;
  const int32_t inner = last >= 0 ? r->dims[last] : 1;
  const int32_t step = last >= 0 ? r->strides[last] : 0;
  uint32_t sum = 0;
  int32_t d;
  for (;;) {
    const int8_t* src = base;
    int32_t i;
    for (d = 0; d < last; ++d) src += (size_t)idx[d] * (size_t)r->strides[d];
    if (step == 1) {
      for (i = 0; i < inner; ++i) sum += (uint32_t)(int32_t)src[i];
    } else {
      for (i = 0; i < inner; ++i) {
        sum += (uint32_t)(int32_t)*src;
        src += step;
      }
    }
    for (d = last - 1; d >= 0; --d) {
      if (++idx[d] < r->dims[d]) break;
      idx[d] = 0;
    }
    if (d < 0) return sum;
  }
}

void tinytvm_mean_s8(const tinytvm_mean_params* p, const int8_t* input, int8_t* output) {
  const int32_t rank = p->in_shape.rank;
  int32_t reduced[TINYTVM_MAX_DIMS] = {0};
  int32_t strides[TINYTVM_MAX_DIMS];
  mean_dims keep, red;
  int32_t d, count = 1, kidx[TINYTVM_MAX_DIMS] = {0};
  int32_t prev_kind = -1;
  uint32_t zp_n;
  size_t stride = 1;
  for (d = 0; d < p->num_axes; ++d)
    if (p->axes[d] >= 0 && p->axes[d] < rank) reduced[p->axes[d]] = 1;
  for (d = rank - 1; d >= 0; --d) {
    strides[d] = (int32_t)stride;
    stride *= (size_t)p->in_shape.dims[d];
    if (p->in_shape.dims[d] == 0) return; /* empty input: nothing to write (no output element
                                             or an empty reduction TFLM rejects) */
  }
  /* Compress: drop size-1 dimensions, merge runs of the same kind (row-major strides make a
   * run contiguous: stride[d] == dims[d + 1] * stride[d + 1]). */
  keep.n = red.n = 0;
  for (d = 0; d < rank; ++d) {
    mean_dims* t = reduced[d] ? &red : &keep;
    const int32_t kind = reduced[d];
    if (p->in_shape.dims[d] == 1) continue;
    if (reduced[d]) count *= p->in_shape.dims[d];
    if (kind == prev_kind && t->n > 0) {
      t->dims[t->n - 1] *= p->in_shape.dims[d];
      t->strides[t->n - 1] = strides[d];
    } else {
      t->dims[t->n] = p->in_shape.dims[d];
      t->strides[t->n] = strides[d];
      ++t->n;
    }
    prev_kind = kind;
  }
  zp_n = (uint32_t)p->input_zp * (uint32_t)count;
  for (;;) {
    const int8_t* base = input;
    int32_t v;
    for (d = 0; d < keep.n; ++d) base += (size_t)kidx[d] * (size_t)keep.strides[d];
    v = tinytvm_mbqm((int32_t)(mean_sum(base, &red) - zp_n), p->multiplier, p->shift) +
        p->output_zp;
    *output++ = (int8_t)tt_clamp(v, -128, 127);
    for (d = keep.n - 1; d >= 0; --d) {
      if (++kidx[d] < keep.dims[d]) break;
      kidx[d] = 0;
    }
    if (d < 0) return;
  }
}
