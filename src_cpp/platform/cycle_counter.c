/*
 * cycle_counter.c - SysTick-based 64-bit tick counter (see cycle_counter.h).
 */
#include "cycle_counter.h"

#define SYST_CSR (*(volatile uint32_t*)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t*)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t*)0xE000E018u)
#define SYST_RELOAD 0x00FFFFFFu

#define CSR_ENABLE (1u << 0)
#define CSR_TICKINT (1u << 1)
#define CSR_CLKSOURCE (1u << 2) /* processor clock */
#define CSR_COUNTFLAG (1u << 16)

static volatile uint32_t g_wraps;

void tt_systick_handler(void) {
  /* Reading CSR clears COUNTFLAG, so tt_cycle_counter_ticks() sees each wrap exactly once. */
  (void)SYST_CSR;
  ++g_wraps;
}

void tt_cycle_counter_start(void) {
  SYST_CSR = 0;
  g_wraps = 0;
  SYST_RVR = SYST_RELOAD;
  SYST_CVR = 0; /* any write clears the counter and COUNTFLAG; it reloads on the next tick */
  SYST_CSR = CSR_ENABLE | CSR_TICKINT | CSR_CLKSOURCE;
  /* Wait for the first reload so that a reading of 0 below always means "just wrapped". */
  while (SYST_CVR == 0) {
  }
}

uint64_t tt_cycle_counter_ticks(void) {
  uint32_t wraps, value;
  /* Re-read if the counter wrapped between reading the two halves. */
  do {
    wraps = g_wraps;
    value = SYST_CVR;
  } while (wraps != g_wraps);
  /* The wrap interrupt fires when the counter reaches 0 (one tick before the reload), so at
   * value 0 the wrap has already been counted: elapsed = wraps * 2^24 - 1. */
  if (value == 0) return (uint64_t)wraps * (SYST_RELOAD + 1u) - 1u;
  return (uint64_t)wraps * (SYST_RELOAD + 1u) + (SYST_RELOAD - value);
}

void tt_cycle_counter_stop(void) { SYST_CSR = 0; }
