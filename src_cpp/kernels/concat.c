/*
 * concat.c - CONCATENATION of int8 tensors along one axis (pure data movement).
 */
#include "tinytvm/shape_ops.h"

#include "internal.h"

void tinytvm_concat_s8(const tinytvm_concat_params* p, const int8_t* const* inputs, int8_t* output) {
  int32_t o, i;
  for (o = 0; o < p->outer; ++o)
    for (i = 0; i < p->num_inputs; ++i) {
      const size_t n = (size_t)p->chunk_bytes[i];
      memcpy(output, inputs[i] + (size_t)o * n, n);
      output += n;
    }
}
