/*
 * resize_nearest.c - RESIZE_NEAREST_NEIGHBOR (NHWC int8), TFLM index math in float32.
 */
#include "tinytvm/shape_ops.h"

#include "internal.h"

static int32_t nearest(int32_t o, int32_t in_size, int32_t out_size, int align_corners,
                       int half_pixel_centers) {
  const float scale = (align_corners && out_size > 1)
                          ? (float)(in_size - 1) / (float)(out_size - 1)
                          : (float)in_size / (float)out_size;
  const float offset = half_pixel_centers ? 0.5f : 0.0f;
  const float x = ((float)o + offset) * scale;
  int32_t v = (int32_t)(align_corners ? tinytvm_roundf(x) : tinytvm_floorf(x));
  if (v > in_size - 1) v = in_size - 1;
  if (half_pixel_centers && v < 0) v = 0;
  return v;
}

void tinytvm_resize_nearest_s8(const tinytvm_resize_nearest_params* p, const int8_t* input,
                               int8_t* output) {
  const size_t C = (size_t)p->channels;
  int32_t b, y, x;
  for (b = 0; b < p->batches; ++b)
    for (y = 0; y < p->out_h; ++y) {
      const int32_t iy = nearest(y, p->in_h, p->out_h, p->align_corners, p->half_pixel_centers);
      const int8_t* row = input + ((size_t)b * p->in_h + iy) * p->in_w * C;
      for (x = 0; x < p->out_w; ++x) {
        const int32_t ix = nearest(x, p->in_w, p->out_w, p->align_corners, p->half_pixel_centers);
        memcpy(output, row + (size_t)ix * C, C);
        output += C;
      }
    }
}
