/*
 * cycle_counter.h - 64-bit SysTick tick counter for benchmarks.
 *
 * SysTick counts processor clock ticks (25 MHz on QEMU mps2-an500) in a 24-bit down-counter;
 * a wrap interrupt extends it to 64 bits.  Under QEMU with `-icount shift=10,align=off,sleep=off`
 * each guest instruction advances virtual time by 2^10 ns, so
 *     instructions = ticks * 40 / 1024      (40 ns per tick at 25 MHz)
 * exactly and deterministically (QEMU does not implement DWT CYCCNT, and this is an instruction
 * count, not Cortex-M7 cycles).  On real hardware the ticks are CPU cycles.
 */
#ifndef TINYTVM_PLATFORM_CYCLE_COUNTER_H_
#define TINYTVM_PLATFORM_CYCLE_COUNTER_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Starts (or restarts from 0) the counter.  Enables the SysTick interrupt. */
void tt_cycle_counter_start(void);

/* Ticks since tt_cycle_counter_start(). */
uint64_t tt_cycle_counter_ticks(void);

/* Stops SysTick and its interrupt. */
void tt_cycle_counter_stop(void);

/* Instruction count under QEMU -icount shift=10 (ticks * 40 / 1024). */
static inline uint64_t tt_ticks_to_qemu_instructions(uint64_t ticks) { return ticks * 40u / 1024u; }

/* The SysTick exception handler (installed by startup.c). */
void tt_systick_handler(void);

#ifdef __cplusplus
}
#endif

#endif /* TINYTVM_PLATFORM_CYCLE_COUNTER_H_ */
