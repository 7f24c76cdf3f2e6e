/*
 * bench_kernels.c - instruction counts per MAC of representative layers on QEMU Cortex-M7.
 *
 * Run: qemu-system-arm -machine mps2-an500 -cpu cortex-m7 -nographic -monitor none
 *        -semihosting-config enable=on,target=native -icount shift=10,align=off,sleep=off
 *        -kernel bench_kernels.elf
 * Prints, per layer and implementation path, QEMU instructions (SysTick ticks * 40 / 1024)
 * and instructions per MAC.  Deterministic: the same binary always prints the same numbers.
 */
#include <stdint.h>
#include <string.h>

#include "cycle_counter.h"
#include "semihost.h"
#include "tinytvm/kernels.h"

#define MAX_ACT (48 * 48 * 32)
static int8_t g_in[MAX_ACT], g_out[MAX_ACT];
static int8_t g_w[64 * 3 * 3 * 64];
static int32_t g_bias[256], g_mult[256], g_shift[256];
static uint64_t g_scratch[8192];

static uint32_t rng = 1;
static int8_t rnd8(void) {
  rng ^= rng << 13;
  rng ^= rng >> 17;
  rng ^= rng << 5;
  return (int8_t)rng;
}

static void init_data(void) {
  int i;
  for (i = 0; i < MAX_ACT; ++i) g_in[i] = rnd8();
  for (i = 0; i < (int)sizeof g_w; ++i) g_w[i] = rnd8();
  for (i = 0; i < 256; ++i) {
    g_bias[i] = rnd8() * 37;
    g_mult[i] = 0x40000000 + (int32_t)((uint32_t)rnd8() << 20 & 0x3FFFFFFF);
    g_shift[i] = -9;
  }
}

static void report(const char* name, uint64_t ticks, uint64_t macs) {
  const uint64_t instr = tt_ticks_to_qemu_instructions(ticks);
  const uint32_t ipm_x1000 = (uint32_t)(instr * 1000u / macs);
  tt_printf("%-44s MACs %8u  instr %9u  instr/MAC %u.%03u\n", name, (unsigned)macs,
            (unsigned)instr, (unsigned)(ipm_x1000 / 1000), (unsigned)(ipm_x1000 % 1000));
}

static void bench_conv(const char* name, int32_t h, int32_t w, int32_t ci, int32_t co, int32_t k,
                       int32_t impl, int32_t oc_unroll, int32_t px_unroll) {
  tinytvm_conv2d_params p;
  uint64_t t;
  memset(&p, 0, sizeof p);
  p.batches = 1;
  p.in_h = h;
  p.in_w = w;
  p.in_c = ci;
  p.out_h = h;
  p.out_w = w;
  p.out_c = co;
  p.k_h = p.k_w = k;
  p.stride_h = p.stride_w = 1;
  p.dilation_h = p.dilation_w = 1;
  p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = k / 2;
  p.input_zp = -3;
  p.rq.multiplier = g_mult;
  p.rq.shift = g_shift;
  p.rq.output_zp = -128;
  p.rq.act_min = -128;
  p.rq.act_max = 127;
  p.impl = impl;
  p.oc_unroll = oc_unroll;
  p.px_unroll = px_unroll;
  if (tinytvm_conv2d_s8_scratch_bytes(&p) > sizeof g_scratch) {
    tt_printf("%s: scratch too large\n", name);
    return;
  }
  tt_cycle_counter_start();
  tinytvm_conv2d_s8(&p, g_in, g_w, g_bias, g_out, g_scratch);
  t = tt_cycle_counter_ticks();
  report(name, t, (uint64_t)h * w * co * k * k * ci);
}

static void bench_dw(const char* name, int32_t h, int32_t w, int32_t c, int32_t k, int32_t s,
                     int32_t impl, int32_t ch_block) {
  tinytvm_depthwise_conv2d_params p;
  uint64_t t;
  memset(&p, 0, sizeof p);
  p.batches = 1;
  p.in_h = h;
  p.in_w = w;
  p.in_c = c;
  p.depth_multiplier = 1;
  p.out_h = (h + s - 1) / s;
  p.out_w = (w + s - 1) / s;
  p.k_h = p.k_w = k;
  p.stride_h = p.stride_w = s;
  p.dilation_h = p.dilation_w = 1;
  p.pad_top = p.pad_left = s == 1 ? k / 2 : ((p.out_h - 1) * s + k - h) / 2;
  p.pad_bottom = p.pad_right = s == 1 ? k / 2 : ((p.out_h - 1) * s + k - h) - p.pad_top;
  p.input_zp = 5;
  p.rq.multiplier = g_mult;
  p.rq.shift = g_shift;
  p.rq.output_zp = -128;
  p.rq.act_min = -128;
  p.rq.act_max = 127;
  p.impl = impl;
  p.ch_block = ch_block;
  if (tinytvm_depthwise_conv2d_s8_scratch_bytes(&p) > sizeof g_scratch) {
    tt_printf("%s: scratch too large\n", name);
    return;
  }
  tt_cycle_counter_start();
  tinytvm_depthwise_conv2d_s8(&p, g_in, g_w, g_bias, g_out, g_scratch);
  t = tt_cycle_counter_ticks();
  report(name, t, (uint64_t)p.out_h * p.out_w * c * k * k);
}

static void bench_fc(const char* name, int32_t batches, int32_t in, int32_t out) {
  tinytvm_fully_connected_params p;
  uint64_t t;
  memset(&p, 0, sizeof p);
  p.batches = batches;
  p.in_features = in;
  p.out_features = out;
  p.input_zp = 3;
  p.rq.multiplier = g_mult;
  p.rq.shift = g_shift;
  p.rq.output_zp = 0;
  p.rq.act_min = -128;
  p.rq.act_max = 127;
  p.rq.per_tensor = 1;
  tt_cycle_counter_start();
  tinytvm_fully_connected_s8(&p, g_in, g_w, g_bias, g_out, g_scratch);
  t = tt_cycle_counter_ticks();
  report(name, t, (uint64_t)batches * in * out);
}

int main(void) {
  init_data();
  tt_printf("tinytvm kernel benchmark (QEMU instruction counts)\n");
  bench_conv("conv 1x1 48x48x16->32 AUTO(1x1)", 48, 48, 16, 32, 1, TINYTVM_CONV_AUTO, 0, 0);
  bench_conv("conv 1x1 48x48x16->32 IM2COL", 48, 48, 16, 32, 1, TINYTVM_CONV_IM2COL, 0, 0);
  bench_conv("conv 1x1 48x48x16->32 oc1 px2", 48, 48, 16, 32, 1, TINYTVM_CONV_1X1, 1, 2);
  bench_conv("conv 1x1 48x48x16->32 oc2 px1", 48, 48, 16, 32, 1, TINYTVM_CONV_1X1, 2, 1);
  bench_conv("conv 1x1 48x48x16->32 GENERIC", 48, 48, 16, 32, 1, TINYTVM_CONV_GENERIC, 0, 0);
  bench_conv("conv 1x1 48x48x8->16 AUTO(1x1)", 48, 48, 8, 16, 1, TINYTVM_CONV_AUTO, 0, 0);
  bench_conv("conv 1x1 48x48x8->16 1X1_DIRECT", 48, 48, 8, 16, 1, TINYTVM_CONV_1X1_DIRECT, 0, 0);
  bench_conv("conv 1x1 48x48x16->32 1X1_DIRECT", 48, 48, 16, 32, 1, TINYTVM_CONV_1X1_DIRECT, 0, 0);
  bench_conv("conv 1x1 24x24x64->64 1X1_DIRECT", 24, 24, 64, 64, 1, TINYTVM_CONV_1X1_DIRECT, 0, 0);
  bench_conv("conv 3x3 32x32x16->16 AUTO(im2col)", 32, 32, 16, 16, 3, TINYTVM_CONV_AUTO, 0, 0);
  bench_conv("conv 3x3 32x32x16->16 oc1 px1", 32, 32, 16, 16, 3, TINYTVM_CONV_IM2COL, 1, 1);
  bench_conv("conv 3x3 32x32x16->16 GENERIC", 32, 32, 16, 16, 3, TINYTVM_CONV_GENERIC, 0, 0);
  bench_conv("conv 3x3 16x16x32->32 AUTO(im2col)", 16, 16, 32, 32, 3, TINYTVM_CONV_AUTO, 0, 0);
  bench_conv("conv 1x1 24x24x64->64 AUTO(1x1)", 24, 24, 64, 64, 1, TINYTVM_CONV_AUTO, 0, 0);
  bench_conv("conv 3x3 32x32x3->16 AUTO(im2col, RGB)", 32, 32, 3, 16, 3, TINYTVM_CONV_AUTO, 0, 0);
  bench_fc("fully connected 1x256->64", 1, 256, 64);
  bench_fc("fully connected 8x256->64", 8, 256, 64);
  bench_dw("dwconv 3x3 48x48x32 s1 AUTO(rows)", 48, 48, 32, 3, 1, TINYTVM_DW_AUTO, 0);
  bench_dw("dwconv 3x3 48x48x32 s1 ROWS ch_block 1", 48, 48, 32, 3, 1, TINYTVM_DW_ROWS, 1);
  bench_dw("dwconv 3x3 48x48x32 s1 PLANE", 48, 48, 32, 3, 1, TINYTVM_DW_PLANE, 0);
  bench_dw("dwconv 3x3 48x48x32 s1 GENERIC", 48, 48, 32, 3, 1, TINYTVM_DW_GENERIC, 0);
  bench_dw("dwconv 3x3 48x48x32 s2 AUTO(rows)", 48, 48, 32, 3, 2, TINYTVM_DW_AUTO, 0);
  bench_dw("dwconv 3x3 6x6x128 s1 AUTO(rows)", 6, 6, 128, 3, 1, TINYTVM_DW_AUTO, 0);
  bench_dw("dwconv 5x5 24x24x32 s1 AUTO(rows)", 24, 24, 32, 5, 1, TINYTVM_DW_AUTO, 0);
  return 0;
}
