/*
 * write_all.h — the helper programs' one blocking write loop (header-only:
 * each helper is a program of its own, and floor_child links libc alone).
 */
#ifndef HELPERS_WRITE_ALL_H
#define HELPERS_WRITE_ALL_H

#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

/* Writes all n bytes to stdout; 0, or -1 when a write fails. */
static inline int write_all(const uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(STDOUT_FILENO, p, n);
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

#endif
