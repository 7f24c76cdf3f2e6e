/*
 * semihost.h - minimal Arm semihosting (BKPT 0xAB) for bare-metal test/benchmark images.
 *
 * Works with `qemu-system-arm ... -semihosting-config enable=on,target=native` and with debug
 * probes that implement semihosting.  Without a debugger attached on real hardware, BKPT
 * escalates to HardFault: only use these calls in test/benchmark builds.
 */
#ifndef TINYTVM_PLATFORM_SEMIHOST_H_
#define TINYTVM_PLATFORM_SEMIHOST_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Writes a NUL-terminated string to the host console (SYS_WRITE0). */
void tt_semihost_puts(const char* s);

/* Writes n bytes to the host's stdout (SYS_WRITE on handle 1). */
void tt_semihost_write(const void* data, size_t n);

/* Ends the program: QEMU exits with `code` (SYS_EXIT_EXTENDED, ADP_Stopped_ApplicationExit). */
void tt_semihost_exit(int code) __attribute__((noreturn));

/* Small printf subset: %d %i %u %x %s %c %%, optional width, '0' and '-' (for %s) flags;
 * 'l' is accepted and ignored (pass 32-bit values). */
void tt_printf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

#ifdef __cplusplus
}
#endif

#endif /* TINYTVM_PLATFORM_SEMIHOST_H_ */
