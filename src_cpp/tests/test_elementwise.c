/*
 * test_elementwise.c - ADD / MUL against TFLM's AddFunc / MulElementwise, elementwise and with
 * 4-D and 6-D broadcasting.
 */
#include "test_util.h"
#include "tinytvm/elementwise.h"

#define N 1024
static int8_t g_a[N], g_b[N], g_out[N], g_ref[N];

static int8_t ref_add(const tinytvm_add_params* p, int32_t x, int32_t y) {
  /* TFLM: MultiplyByQuantizedMultiplierSmallerThanOneExp on every stage. */
  const int32_t a = (x - p->input1_zp) * (1 << p->left_shift);
  const int32_t b = (y - p->input2_zp) * (1 << p->left_shift);
  const int32_t sa = tinytvm_mbqm_smaller_than_one_exp(a, p->input1_multiplier, p->input1_shift);
  const int32_t sb = tinytvm_mbqm_smaller_than_one_exp(b, p->input2_multiplier, p->input2_shift);
  int32_t r = tinytvm_mbqm_smaller_than_one_exp(sa + sb, p->output_multiplier, p->output_shift) +
              p->output_zp;
  r = r < p->act_min ? p->act_min : (r > p->act_max ? p->act_max : r);
  return (int8_t)r;
}

static int8_t ref_mul(const tinytvm_mul_params* p, int32_t x, int32_t y) {
  int32_t r = tinytvm_mbqm((x - p->input1_zp) * (y - p->input2_zp), p->output_multiplier,
                           p->output_shift) + p->output_zp;
  r = r < p->act_min ? p->act_min : (r > p->act_max ? p->act_max : r);
  return (int8_t)r;
}

static void rand_add(tinytvm_add_params* p) {
  p->input1_zp = tt_rand_zp();
  p->input2_zp = tt_rand_zp();
  p->output_zp = tt_rand_zp();
  p->left_shift = 20;
  /* TFLM Prepare: input multipliers of s_i / (2 max s) < 1, output 2 max s / (2^20 s_out) */
  p->input1_multiplier = (int32_t)(0x40000000u + (tt_rand() & 0x3FFFFFFFu));
  p->input1_shift = tt_rand_range(-4, -1);
  p->input2_multiplier = (int32_t)(0x40000000u + (tt_rand() & 0x3FFFFFFFu));
  p->input2_shift = -1;
  if (tt_rand() % 2) { /* the input of larger scale: exactly 0.5 = (2^30, 0), as TFLM computes */
    p->input2_multiplier = 0x40000000;
    p->input2_shift = 0;
  } else if (tt_rand() % 2) {
    p->input1_multiplier = 0x40000000;
    p->input1_shift = 0;
  }
  p->output_multiplier = (int32_t)(0x40000000u + (tt_rand() & 0x3FFFFFFFu));
  p->output_shift = tt_rand_range(-21, -17);
  if (tt_rand() % 8 == 0) p->output_shift = 0; /* outside the fast path's range */
  p->act_min = tt_rand() % 2 ? -128 : tt_rand_range(-128, 0);
  p->act_max = tt_rand() % 2 ? 127 : tt_rand_range(p->act_min, 127);
}

static void rand_mul(tinytvm_mul_params* p) {
  p->input1_zp = tt_rand_zp();
  p->input2_zp = tt_rand_zp();
  p->output_zp = tt_rand_zp();
  p->output_multiplier = (int32_t)(0x40000000u + (tt_rand() & 0x3FFFFFFFu));
  p->output_shift = tt_rand_range(-12, -6);
  p->act_min = tt_rand() % 2 ? -128 : tt_rand_range(-128, 0);
  p->act_max = tt_rand() % 2 ? 127 : tt_rand_range(p->act_min, 127);
}

/* Broadcast reference on 6-D right-aligned shapes. */
static int32_t bidx(const tinytvm_shape* s, const int32_t* idx6) {
  int32_t d, off = 0;
  for (d = 0; d < s->rank; ++d) {
    const int32_t i = idx6[6 - s->rank + d];
    off = off * s->dims[d] + (s->dims[d] == 1 ? 0 : i);
  }
  return off;
}

static void run_bcast(int id, const tinytvm_shape* s1, const tinytvm_shape* s2,
                      const tinytvm_shape* so) {
  tinytvm_add_params pa;
  tinytvm_mul_params pm;
  int32_t idx[6], d, n = 1, i;
  int32_t dims6[6];
  for (d = 0; d < 6; ++d) dims6[d] = d < 6 - so->rank ? 1 : so->dims[d - (6 - so->rank)];
  for (d = 0; d < 6; ++d) n *= dims6[d];
  rand_add(&pa);
  rand_mul(&pm);
  tt_fill_s8(g_a, N, -128, 127);
  tt_fill_s8(g_b, N, -128, 127);
  for (i = 0; i < n; ++i) {
    int32_t r = i;
    for (d = 5; d >= 0; --d) {
      idx[d] = r % dims6[d];
      r /= dims6[d];
    }
    g_ref[i] = ref_add(&pa, g_a[bidx(s1, idx)], g_b[bidx(s2, idx)]);
  }
  TT_CHECK(tinytvm_add_s8_broadcast(&pa, s1, g_a, s2, g_b, so, g_out) == TINYTVM_OK, "add st");
  TT_CHECK_BYTES(g_out, g_ref, (size_t)n, "add broadcast case %d", id);
  for (i = 0; i < n; ++i) {
    int32_t r = i;
    for (d = 5; d >= 0; --d) {
      idx[d] = r % dims6[d];
      r /= dims6[d];
    }
    g_ref[i] = ref_mul(&pm, g_a[bidx(s1, idx)], g_b[bidx(s2, idx)]);
  }
  TT_CHECK(tinytvm_mul_s8_broadcast(&pm, s1, g_a, s2, g_b, so, g_out) == TINYTVM_OK, "mul st");
  TT_CHECK_BYTES(g_out, g_ref, (size_t)n, "mul broadcast case %d", id);
}

int main(void) {
  int r, i;
  tt_seed(5);
  for (r = 0; r < 60; ++r) {
    tinytvm_add_params pa;
    tinytvm_mul_params pm;
    const int32_t n = tt_rand_range(1, N);
    rand_add(&pa);
    rand_mul(&pm);
    tt_fill_s8(g_a, (size_t)n, -128, 127);
    tt_fill_s8(g_b, (size_t)n, -128, 127);
    for (i = 0; i < n; ++i) g_ref[i] = ref_add(&pa, g_a[i], g_b[i]);
    tinytvm_add_s8(&pa, g_a, g_b, g_out, n);
    TT_CHECK_BYTES(g_out, g_ref, (size_t)n, "add %d", r);
    for (i = 0; i < n; ++i) g_ref[i] = ref_mul(&pm, g_a[i], g_b[i]);
    tinytvm_mul_s8(&pm, g_a, g_b, g_out, n);
    TT_CHECK_BYTES(g_out, g_ref, (size_t)n, "mul %d", r);
  }
  {
    const tinytvm_shape a1 = {4, {1, 4, 5, 6}}, b1 = {1, {6}}, o1 = {4, {1, 4, 5, 6}};
    const tinytvm_shape a2 = {4, {2, 1, 5, 1}}, b2 = {4, {1, 3, 1, 4}}, o2 = {4, {2, 3, 5, 4}};
    const tinytvm_shape a3 = {6, {2, 1, 3, 1, 2, 3}}, b3 = {5, {2, 1, 4, 2, 1}},
                        o3 = {6, {2, 2, 3, 4, 2, 3}};
    const tinytvm_shape a4 = {3, {1, 1, 7}}, b4 = {4, {3, 5, 1, 1}}, o4 = {4, {3, 5, 1, 7}};
    const tinytvm_shape a5 = {0, {0}}, b5 = {2, {3, 4}}, o5 = {2, {3, 4}}; /* scalar */
    const tinytvm_shape bad = {1, {5}};
    run_bcast(0, &a1, &b1, &o1);
    run_bcast(1, &a2, &b2, &o2);
    run_bcast(2, &a3, &b3, &o3);
    run_bcast(3, &a4, &b4, &o4);
    run_bcast(4, &b4, &a4, &o4);
    run_bcast(5, &a5, &b5, &o5);
    {
      tinytvm_add_params pa;
      rand_add(&pa);
      TT_CHECK(tinytvm_add_s8_broadcast(&pa, &a1, g_a, &bad, g_b, &o1, g_out) == TINYTVM_ERR_SHAPE,
               "incompatible shapes rejected");
    }
  }
  return tt_report("test_elementwise");
}
