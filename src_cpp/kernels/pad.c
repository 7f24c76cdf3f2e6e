/*
 * pad.c - constant padding of an N-D int8 tensor (PAD / PADV2).
 */
#include "tinytvm/shape_ops.h"

#include "internal.h"

/* Recursive over dimensions; the last dimension is a fill + memcpy + fill. */
static int8_t* pad_dim(const tinytvm_pad_params* p, int32_t d, const int8_t** in, int8_t* out,
                       const int32_t* out_dims, const size_t* out_block) {
  const int32_t n = p->in_shape.dims[d];
  const int8_t v = (int8_t)p->pad_value;
  int32_t i;
  if (d == p->in_shape.rank - 1) {
    memset(out, v, (size_t)p->before[d]);
    out += p->before[d];
    memcpy(out, *in, (size_t)n);
    out += n;
    *in += n;
    memset(out, v, (size_t)p->after[d]);
    return out + p->after[d];
  }
  memset(out, v, (size_t)p->before[d] * out_block[d]);
  out += (size_t)p->before[d] * out_block[d];
  for (i = 0; i < n; ++i) out = pad_dim(p, d + 1, in, out, out_dims, out_block);
  memset(out, v, (size_t)p->after[d] * out_block[d]);
  (void)out_dims;
  return out + (size_t)p->after[d] * out_block[d];
}

void tinytvm_pad_s8(const tinytvm_pad_params* p, const int8_t* input, int8_t* output) {
  int32_t out_dims[TINYTVM_MAX_DIMS];
  size_t out_block[TINYTVM_MAX_DIMS]; /* elements in one index step of dimension d */
  int32_t d;
  size_t block = 1;
  if (p->in_shape.rank <= 0) {
    *output = *input;
    return;
  }
  for (d = p->in_shape.rank - 1; d >= 0; --d) {
    out_dims[d] = p->in_shape.dims[d] + p->before[d] + p->after[d];
    out_block[d] = block;
    block *= (size_t)out_dims[d];
  }
  for (d = 0; d < p->in_shape.rank; ++d)
    if (p->in_shape.dims[d] == 0) {
      memset(output, (int8_t)p->pad_value, block);
      return;
    }
  pad_dim(p, 0, &input, output, out_dims, out_block);
}
