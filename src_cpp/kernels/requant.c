/*
 * requant.c - eligibility check for the branch-free requantization in internal.h.
 */
#include "internal.h"

int32_t tt_rq_mode(const tinytvm_requant_params* rq, int32_t channels, const int32_t* bias,
                   uint32_t max_abs_acc_without_bias) {
  const int32_t n = rq->per_tensor ? 1 : channels;
  int need_bound = 0;
  int32_t c;
  for (c = 0; c < n; ++c) {
    const int32_t m = rq->multiplier[c];
    const int32_t s = rq->shift[c];
    if (m == 0 && s == 0) continue; /* dead channel: output_zp */
    if (m < 0x40000000 || s > -1 || s < -31) return TT_RQ_EXACT;
    if (s == -1) need_bound = 1;
  }
  if (need_bound) {
    /* rs == 1: ((y - (y < 0)) + 2 * zp + 1) must not overflow; |y| <= |acc|. */
    uint64_t bound = max_abs_acc_without_bias;
    uint32_t max_abs_bias = 0;
    if (bias) {
      for (c = 0; c < channels; ++c) {
        const int32_t b = bias[c];
        const uint32_t a = b < 0 ? 0u - (uint32_t)b : (uint32_t)b;
        if (a > max_abs_bias) max_abs_bias = a;
      }
    }
    bound += max_abs_bias;
    if (bound >= 0x7FFFFE00u) return TT_RQ_EXACT;
  }
  return TT_RQ_UNIFORM;
}
