/*
 * startup.c - reset handler and vector table for tinytvm bare-metal images (ARMv7-M/ARMv8-M).
 *
 * Reset: enable the FPU (float code faults otherwise), copy .data from flash, zero .bss, run
 * C static constructors, call main() and report its return value through semihosting (so a
 * QEMU run exits with main's status).  Faults print a message and exit with status 128+n.
 */
#include <stdint.h>

#include "cycle_counter.h"
#include "semihost.h"

extern uint32_t __data_load, __data_start, __data_end, __bss_start, __bss_end, __stack_top;
extern void (*__preinit_array_start[])(void);
extern void (*__preinit_array_end[])(void);
extern void (*__init_array_start[])(void);
extern void (*__init_array_end[])(void);

int main(void);
void tt_reset_handler(void);

#define SCB_CPACR (*(volatile uint32_t*)0xE000ED88u)

void tt_reset_handler(void) {
  uint32_t* src;
  uint32_t* dst;
  void (**fn)(void);
#if defined(__ARM_FP)
  /* CP10/CP11 full access; the barriers make the next instruction see the enabled FPU. */
  SCB_CPACR |= 0xFu << 20;
  __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
  for (src = &__data_load, dst = &__data_start; dst < &__data_end;) *dst++ = *src++;
  for (dst = &__bss_start; dst < &__bss_end;) *dst++ = 0;
  for (fn = __preinit_array_start; fn < __preinit_array_end; ++fn) (*fn)();
  for (fn = __init_array_start; fn < __init_array_end; ++fn) (*fn)();
  tt_semihost_exit(main());
}

static void fault(int n, const char* name) {
  tt_printf("*** %s\n", name);
  tt_semihost_exit(128 + n);
}

static void tt_nmi_handler(void) { fault(2, "NMI"); }
static void tt_hardfault_handler(void) { fault(3, "HardFault"); }
static void tt_memmanage_handler(void) { fault(4, "MemManage fault"); }
static void tt_busfault_handler(void) { fault(5, "BusFault"); }
static void tt_usagefault_handler(void) { fault(6, "UsageFault"); }
static void tt_default_handler(void) { fault(7, "unexpected interrupt"); }

typedef void (*vector_fn)(void);

/* Cortex-M core exceptions; external interrupts are not used by the tinytvm runtime. */
__attribute__((section(".isr_vector"), used)) const vector_fn tt_vector_table[16] = {
    (vector_fn)(uintptr_t)&__stack_top, /* initial MSP */
    tt_reset_handler,
    tt_nmi_handler,
    tt_hardfault_handler,
    tt_memmanage_handler,
    tt_busfault_handler,
    tt_usagefault_handler,
    0,
    0,
    0,
    0,
    tt_default_handler, /* SVCall */
    tt_default_handler, /* DebugMonitor */
    0,
    tt_default_handler, /* PendSV */
    tt_systick_handler, /* SysTick: extends the 24-bit counter, see cycle_counter.c */
};
