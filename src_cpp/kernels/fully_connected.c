/*
 * fully_connected.c - int8 fully connected layer.
 *
 * With symmetric weights (weight_zp == 0, always the case for TFLite int8 models) the layer is
 * a 1x1 convolution over `batches` pixels: input rows are widened into gemm_s16 columns two at
 * a time and the shared micro-kernels do the rest.  A non-zero weight zero point takes the
 * direct path.
 */
#include "tinytvm/fully_connected.h"

#include "gemm_driver.h"
#include "gemm_s16.h"

static size_t fc_rq_bytes(const tinytvm_fully_connected_params* p) {
  return (tt_gemm_rq_scratch_bytes(&p->rq, p->out_features) + 7u) & ~(size_t)7u;
}

size_t tinytvm_fully_connected_s8_scratch_bytes(const tinytvm_fully_connected_params* p) {
  if (p->weight_zp != 0) return 0;
  return fc_rq_bytes(p) + (size_t)tt_col_elems(p->in_features) * sizeof(int16_t);
}

static void fc_direct(const tinytvm_fully_connected_params* p, const int8_t* input,
                      const int8_t* weight, const int32_t* bias, int8_t* output) {
  int32_t b, o, i;
  for (b = 0; b < p->batches; ++b) {
    const int8_t* in = input + (size_t)b * p->in_features;
    for (o = 0; o < p->out_features; ++o) {
      const int8_t* w = weight + (size_t)o * p->in_features;
      int32_t acc = 0;
      for (i = 0; i < p->in_features; ++i) acc += (w[i] - p->weight_zp) * (in[i] - p->input_zp);
      if (bias) acc += bias[o];
      output[(size_t)b * p->out_features + o] =
          (int8_t)tt_clamp(tt_rq_exact(acc, &p->rq, o), p->rq.act_min, p->rq.act_max);
    }
  }
}

void tinytvm_fully_connected_s8(const tinytvm_fully_connected_params* p, const int8_t* input,
                                const int8_t* weight, const int32_t* bias, int8_t* output,
                                void* scratch) {
  tt_gemm_args g;
  int16_t* col;
  int32_t k4, b = 0;
  if (p->weight_zp != 0) {
    fc_direct(p, input, weight, bias, output);
    return;
  }
  g.weight = weight;
  g.bias = bias;
  g.k = p->in_features;
  g.out_c = p->out_features;
  g.oc_unroll = p->oc_unroll == 1 ? 1 : 2;
  g.rq = &p->rq;
  g.out_stride = p->out_features;
  tt_gemm_prepare_rq(&g, bias, scratch);
  col = (int16_t*)((uint8_t*)scratch + fc_rq_bytes(p));
  k4 = p->in_features >> 2;
  while (b < p->batches) {
    const int32_t npx = b + 1 < p->batches ? 2 : 1;
    const int32_t gstride = npx == 2 ? 8 : 4;
    int32_t i;
    for (i = 0; i < npx; ++i)
      tt_col_convert(col + 4 * i, gstride, k4, 0, input + (size_t)(b + i) * p->in_features,
                     p->in_features, p->input_zp);
    tt_gemm_cols(&g, col, npx, output + (size_t)b * p->out_features);
    b += npx;
  }
}
