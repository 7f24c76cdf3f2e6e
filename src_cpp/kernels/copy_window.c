/*
 * copy_window.c - window copies between NHWC images (patch-based inference).
 */
#include "tinytvm/shape_ops.h"

#include "internal.h"

void tinytvm_copy_window_s8(const tinytvm_window_params* p, const int8_t* src, int8_t* dst) {
  const size_t row_bytes = (size_t)p->cols * (size_t)p->channels;
  const size_t src_stride = (size_t)p->src_w * (size_t)p->channels;
  const size_t dst_stride = (size_t)p->dst_w * (size_t)p->channels;
  const int8_t* from = src + ((size_t)p->src_row * (size_t)p->src_w + (size_t)p->src_col) * (size_t)p->channels;
  int8_t* to = dst + ((size_t)p->dst_row * (size_t)p->dst_w + (size_t)p->dst_col) * (size_t)p->channels;
  int32_t r;
  for (r = 0; r < p->rows; ++r) {
    memmove(to, from, row_bytes); /* a crop may move a tile within its own buffer */
    from += src_stride;
    to += dst_stride;
  }
}
