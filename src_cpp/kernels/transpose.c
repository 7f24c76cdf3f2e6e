/*
 * transpose.c - N-D int8 transpose (rank <= 6).
 */
#include "tinytvm/shape_ops.h"

#include "internal.h"

void tinytvm_transpose_s8(const tinytvm_transpose_params* p, const int8_t* input, int8_t* output) {
  const int32_t rank = p->in_shape.rank;
  int32_t in_stride[TINYTVM_MAX_DIMS], out_dims[TINYTVM_MAX_DIMS], stride[TINYTVM_MAX_DIMS];
  int32_t idx[TINYTVM_MAX_DIMS] = {0};
  int32_t d, s = 1, inner, inner_stride;
  size_t total = 1;
  if (rank <= 0) {
    *output = *input;
    return;
  }
  for (d = rank - 1; d >= 0; --d) {
    in_stride[d] = s;
    s *= p->in_shape.dims[d];
  }
  for (d = 0; d < rank; ++d) {
    out_dims[d] = p->in_shape.dims[p->perm[d]];
    stride[d] = in_stride[p->perm[d]]; /* input step per output index step */
    total *= (size_t)out_dims[d];
  }
  if (total == 0) return;
  inner = out_dims[rank - 1];
  inner_stride = stride[rank - 1];
  for (;;) {
    const int8_t* src = input;
    int32_t k;
    for (d = 0; d < rank - 1; ++d) src += (size_t)idx[d] * stride[d];
    if (inner_stride == 1) {
      memcpy(output, src, (size_t)inner);
      output += inner;
    } else {
      for (k = 0; k < inner; ++k) *output++ = src[(size_t)k * inner_stride];
    }
    for (d = rank - 2; d >= 0; --d) {
      if (++idx[d] < out_dims[d]) break;
      idx[d] = 0;
    }
    if (d < 0) break;
  }
}
