/*
 * test_util.h - tiny self-contained test harness for the kernel unit tests.
 *
 * Runs unchanged on the host (stdio) and bare-metal under QEMU (semihosting, no heap): tests
 * use static buffers only.  A test binary's main() returns the number of failed checks, which
 * becomes the process / QEMU exit status.
 */
#ifndef TINYTVM_TESTS_TEST_UTIL_H_
#define TINYTVM_TESTS_TEST_UTIL_H_

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tinytvm/fixed_point.h"

#if defined(TINYTVM_BAREMETAL)
#include "semihost.h"
#define TT_LOG tt_printf
#else
#include <stdio.h>
#define TT_LOG printf
#endif

static int tt_failures = 0;
static int tt_checks = 0;

#define TT_CHECK(cond, ...)                                        \
  do {                                                             \
    ++tt_checks;                                                   \
    if (!(cond)) {                                                 \
      ++tt_failures;                                               \
      TT_LOG("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);       \
      TT_LOG(__VA_ARGS__);                                         \
      TT_LOG("\n");                                                \
    }                                                              \
  } while (0)

#define TT_CHECK_EQ_INT(a, b)                                                              \
  TT_CHECK((long)(a) == (long)(b), "%ld != %ld", (long)(a), (long)(b))

/* Returns the index of the first differing byte, or -1. */
static inline long tt_first_diff(const int8_t* a, const int8_t* b, size_t n) {
  size_t i;
  for (i = 0; i < n; ++i)
    if (a[i] != b[i]) return (long)i;
  return -1;
}

#define TT_CHECK_BYTES(got, want, n, ...)                                                    \
  do {                                                                                       \
    const long d_ = tt_first_diff((const int8_t*)(got), (const int8_t*)(want), (n));        \
    ++tt_checks;                                                                             \
    if (d_ >= 0) {                                                                           \
      ++tt_failures;                                                                         \
      TT_LOG("FAIL %s:%d: byte %ld: got %d want %d: ", __FILE__, __LINE__, d_,               \
             (int)((const int8_t*)(got))[d_], (int)((const int8_t*)(want))[d_]);             \
      TT_LOG(__VA_ARGS__);                                                                   \
      TT_LOG("\n");                                                                          \
    }                                                                                        \
  } while (0)

static inline int tt_report(const char* name) {
  TT_LOG("%s: %d checks, %d failed\n", name, tt_checks, tt_failures);
  return tt_failures ? 1 : 0;
}

/* ---- deterministic PRNG (xorshift32) ----------------------------------------------------- */
static uint32_t tt_rng_state = 0x12345678u;
static inline void tt_seed(uint32_t s) { tt_rng_state = s ? s : 1u; }
static inline uint32_t tt_rand(void) {
  uint32_t x = tt_rng_state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return tt_rng_state = x;
}
/* Uniform in [lo, hi]. */
static inline int32_t tt_rand_range(int32_t lo, int32_t hi) {
  return lo + (int32_t)(tt_rand() % (uint32_t)(hi - lo + 1));
}
static inline void tt_fill_s8(int8_t* p, size_t n, int32_t lo, int32_t hi) {
  size_t i;
  for (i = 0; i < n; ++i) p[i] = (int8_t)tt_rand_range(lo, hi);
}
/* A random zero point that hits the extremes often. */
static inline int32_t tt_rand_zp(void) {
  switch (tt_rand() % 4) {
    case 0:
      return -128;
    case 1:
      return 127;
    default:
      return tt_rand_range(-128, 127);
  }
}
/* Random per-channel multipliers in [2^30, 2^31) and shifts suited to a dot product of length k
 * (so outputs spread over the int8 range rather than saturating). */
static inline void tt_rand_requant(int32_t* mult, int32_t* shift, int32_t n, int32_t k) {
  int32_t i, log2k = 0;
  while ((1 << log2k) < k) ++log2k;
  for (i = 0; i < n; ++i) {
    mult[i] = (int32_t)(0x40000000u + (tt_rand() & 0x3FFFFFFFu));
    shift[i] = -(log2k + 6) + tt_rand_range(-1, 2);
  }
}

#endif /* TINYTVM_TESTS_TEST_UTIL_H_ */
