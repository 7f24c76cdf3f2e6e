/*
 * requant.c - eligibility check for the 6-instruction requantization in internal.h.
 */
#include "internal.h"

int tt_rq_fast_ok(const tinytvm_requant_params* rq, int32_t channels, const int32_t* bias,
                  uint32_t max_abs_acc_without_bias) {
  const int32_t n = rq->per_tensor ? 1 : channels;
  uint32_t max_abs_bias = 0;
  int32_t max_left_shift = 0;
  int32_t c;
  uint64_t bound;
  for (c = 0; c < n; ++c) {
    const int32_t m = rq->multiplier[c];
    const int32_t s = rq->shift[c];
    if (m < 0 || s > 30 || s < -31) return 0;
    if (s > max_left_shift) max_left_shift = s;
  }
  if (bias) {
    for (c = 0; c < channels; ++c) {
      const int32_t b = bias[c];
      const uint32_t a = b < 0 ? 0u - (uint32_t)b : (uint32_t)b;
      if (a > max_abs_bias) max_abs_bias = a;
    }
  }
  /* The fast path needs acc << (ls + 1) to fit in int32, i.e. |acc| < 2^(30 - ls). */
  bound = (uint64_t)max_abs_acc_without_bias + max_abs_bias;
  return bound < ((uint64_t)1 << (30 - max_left_shift));
}
