/*
 * semihost.c - Arm semihosting calls and a tiny printf on top of them.
 */
#include "semihost.h"

#include <stdarg.h>

#define SYS_WRITE0 0x04
#define SYS_WRITE 0x05
#define SYS_EXIT 0x18
#define SYS_EXIT_EXTENDED 0x20
#define ADP_STOPPED_APPLICATION_EXIT 0x20026
#define ADP_STOPPED_RUNTIME_ERROR 0x20023

static int semihost_call(int op, const void* arg) {
  register int r0 __asm__("r0") = op;
  register const void* r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

void tt_semihost_puts(const char* s) { semihost_call(SYS_WRITE0, s); }

void tt_semihost_write(const void* data, size_t n) {
  uint32_t block[3];
  block[0] = 1; /* stdout */
  block[1] = (uint32_t)(uintptr_t)data;
  block[2] = (uint32_t)n;
  semihost_call(SYS_WRITE, block);
}

void tt_semihost_exit(int code) {
  uint32_t block[2];
  block[0] = ADP_STOPPED_APPLICATION_EXIT;
  block[1] = (uint32_t)code;
  semihost_call(SYS_EXIT_EXTENDED, block);
  /* Hosts without SYS_EXIT_EXTENDED: plain SYS_EXIT can only say success or failure. */
  semihost_call(SYS_EXIT, (const void*)(uintptr_t)(code == 0 ? ADP_STOPPED_APPLICATION_EXIT
                                                                 : ADP_STOPPED_RUNTIME_ERROR));
  for (;;) {
  }
}

/* ---- tt_printf: buffered, so each call is one semihosting trap ---------------------------- */
typedef struct {
  char buf[256];
  unsigned n;
} out_buf;

static void put_char(out_buf* o, char c) {
  if (o->n + 1 >= sizeof o->buf) {
    o->buf[o->n] = 0;
    tt_semihost_puts(o->buf);
    o->n = 0;
  }
  o->buf[o->n++] = c;
}

static void put_uint(out_buf* o, uint32_t v, unsigned base, int width, char pad, int negative) {
  char tmp[12];
  int len = 0;
  do {
    const unsigned d = (unsigned)(v % base);
    tmp[len++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
    v /= base;
  } while (v);
  {
    const int total = len + (negative ? 1 : 0);
    if (negative && pad == '0') put_char(o, '-');
    for (; width > total; --width) put_char(o, pad);
    if (negative && pad != '0') put_char(o, '-');
  }
  while (len) put_char(o, tmp[--len]);
}

void tt_printf(const char* fmt, ...) {
  out_buf o;
  va_list ap;
  o.n = 0;
  va_start(ap, fmt);
  for (; *fmt; ++fmt) {
    char pad = ' ';
    int width = 0;
    int left = 0;
    if (*fmt != '%') {
      put_char(&o, *fmt);
      continue;
    }
    ++fmt;
    if (*fmt == '-') {
      left = 1;
      ++fmt;
    }
    if (*fmt == '0') {
      pad = '0';
      ++fmt;
    }
    while (*fmt >= '0' && *fmt <= '9') width = width * 10 + (*fmt++ - '0');
    while (*fmt == 'l') ++fmt;
    switch (*fmt) {
      case 'd':
      case 'i': {
        const int v = va_arg(ap, int);
        put_uint(&o, v < 0 ? 0u - (uint32_t)v : (uint32_t)v, 10, width, pad, v < 0);
        break;
      }
      case 'u':
        put_uint(&o, va_arg(ap, unsigned), 10, width, pad, 0);
        break;
      case 'x':
        put_uint(&o, va_arg(ap, unsigned), 16, width, pad, 0);
        break;
      case 'c':
        put_char(&o, (char)va_arg(ap, int));
        break;
      case 's': {
        const char* s = va_arg(ap, const char*);
        int len = 0;
        while (s[len]) ++len;
        if (!left)
          for (; width > len; --width) put_char(&o, ' ');
        while (*s) put_char(&o, *s++);
        if (left)
          for (; width > len; --width) put_char(&o, ' ');
        break;
      }
      case '%':
        put_char(&o, '%');
        break;
      case 0:
        --fmt;
        break;
      default:
        put_char(&o, '%');
        put_char(&o, *fmt);
        break;
    }
  }
  va_end(ap);
  o.buf[o.n] = 0;
  if (o.n) tt_semihost_puts(o.buf);
}
