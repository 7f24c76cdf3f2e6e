/*
 * test_fully_connected.c - tinytvm_fully_connected_s8 against TFLM FullyConnected(PerChannel).
 */
#include "test_util.h"
#include "tinytvm/fully_connected.h"

#define MAX_B 5
#define MAX_IN 67
#define MAX_OUT 33
static int8_t g_in[MAX_B * MAX_IN], g_w[MAX_OUT * MAX_IN], g_out[MAX_B * MAX_OUT],
    g_ref[MAX_B * MAX_OUT];
static int32_t g_bias[MAX_OUT], g_mult[MAX_OUT], g_shift[MAX_OUT];
static uint64_t g_scratch[256];

static void ref_fc(const tinytvm_fully_connected_params* p, const int32_t* bias) {
  int32_t b, o, i;
  for (b = 0; b < p->batches; ++b)
    for (o = 0; o < p->out_features; ++o) {
      const int32_t q = p->rq.per_tensor ? 0 : o;
      int32_t acc = 0;
      for (i = 0; i < p->in_features; ++i)
        acc += (g_w[o * p->in_features + i] - p->weight_zp) *
               (g_in[b * p->in_features + i] - p->input_zp);
      if (bias) acc += bias[o];
      acc = tinytvm_mbqm(acc, p->rq.multiplier[q], p->rq.shift[q]) + p->rq.output_zp;
      acc = acc < p->rq.act_min ? p->rq.act_min : (acc > p->rq.act_max ? p->rq.act_max : acc);
      g_ref[b * p->out_features + o] = (int8_t)acc;
    }
}

/* full: full activation range, per-channel, a dead channel (the assembly path on DSP cores
 * when in % 4 == 0). */
static void run_case_full(int id, int32_t batches, int32_t in, int32_t out, int per_tensor,
                          int32_t weight_zp, int full);
static void run_case(int id, int32_t batches, int32_t in, int32_t out, int per_tensor,
                     int32_t weight_zp) {
  run_case_full(id, batches, in, out, per_tensor, weight_zp, 0);
}

static void run_case_full(int id, int32_t batches, int32_t in, int32_t out, int per_tensor,
                          int32_t weight_zp, int full) {
  tinytvm_fully_connected_params p;
  int32_t i, oc;
  memset(&p, 0, sizeof p);
  p.batches = batches;
  p.in_features = in;
  p.out_features = out;
  p.input_zp = tt_rand_zp();
  p.weight_zp = weight_zp;
  p.rq.output_zp = tt_rand_zp();
  p.rq.act_min = tt_rand() % 2 ? -128 : tt_rand_range(-128, 0);
  p.rq.act_max = tt_rand() % 2 ? 127 : tt_rand_range(p.rq.act_min, 127);
  p.rq.multiplier = g_mult;
  p.rq.shift = g_shift;
  p.rq.per_tensor = per_tensor;
  tt_fill_s8(g_in, (size_t)batches * in, -128, 127);
  tt_fill_s8(g_w, (size_t)out * in, -128, 127);
  if (full) {
    p.rq.act_min = -128;
    p.rq.act_max = 127;
  }
  tt_rand_requant(g_mult, g_shift, out, in);
  for (i = 0; i < out; ++i) g_bias[i] = tt_rand_range(-20000, 20000);
  if (full && out > 2) {
    g_mult[out - 2] = 0;
    g_shift[out - 2] = 0;
  }
  for (oc = 0; oc <= 4; ++oc) {
    const int32_t* bias = oc % 2 ? g_bias : NULL;
    p.oc_unroll = oc;
    ref_fc(&p, bias);
    TT_CHECK(tinytvm_fully_connected_s8_scratch_bytes(&p) <= sizeof g_scratch, "scratch");
    memset(g_out, 0x55, sizeof g_out);
    tinytvm_fully_connected_s8(&p, g_in, g_w, bias, g_out, g_scratch);
    TT_CHECK_BYTES(g_out, g_ref, (size_t)batches * out, "case %d oc_unroll %d", id, (int)oc);
  }
}

int main(void) {
  int id = 0, r;
  tt_seed(99);
  run_case(id++, 1, 64, 10, 0, 0);
  run_case(id++, 1, 64, 10, 1, 0);
  run_case(id++, 3, 67, 33, 0, 0);
  run_case(id++, 2, 5, 7, 1, 0);
  run_case(id++, 4, 16, 1, 0, 0);
  run_case(id++, 2, 13, 9, 0, 3); /* non-zero weight zero point */
  run_case_full(id++, 1, 64, 33, 0, 0, 1);
  run_case_full(id++, 1, 8, 12, 0, 0, 1);
  run_case_full(id++, 3, 4, 5, 0, 0, 1);
  run_case_full(id++, 2, 60, 8, 1, 0, 1);
  run_case_full(id++, 1, 67, 16, 0, 0, 1); /* in % 4 != 0: C path */
  for (r = 0; r < 20; ++r)
    run_case(id++, tt_rand_range(1, MAX_B), tt_rand_range(1, MAX_IN), tt_rand_range(1, MAX_OUT),
             (int)(tt_rand() & 1), 0);
  return tt_report("test_fully_connected");
}
