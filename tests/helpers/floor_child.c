/*
 * floor_child.c — the trivial child of bench/baseline's floors
 * (bench/src/wpool-baseline/floor.h). Linked against libc alone, so its
 * start-up is exec + the dynamic loader + libc and nothing a worker adds.
 *
 *   floor_child        write one byte, then wait for stdin EOF; exit 0
 *   floor_child echo   echo each frame of the pipe framing (u32 big-endian
 *                      length | body) from stdin to stdout in a write of
 *                      its own, until EOF (the pipe floor's peer)
 *   floor_child batch  the same, but all the whole frames of one read in
 *                      one write, as the C worker answers (worker/pipe.c):
 *                      the bare C pool's peer (floor_pool.c)
 *
 * `echo` (the pipe floor): one write per frame, so the floor measures a
 * request's work, not syscall batching (echoing whatever one read returned
 * in one write answered up to C requests per syscall). `batch` (the bare C
 * pool) copies the pool's rules instead, its worker's batching included,
 * so the pool is read against a bare pool doing the same.
 */
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "write_all.h"

/* Writes every whole frame in buf[0..len) on its own, or (batch) all of
 * them in one write; the bytes used. */
static size_t echo_frames(const uint8_t *buf, size_t len, int batch, int *err) {
  size_t off = 0;
  while (len - off >= 4) {
    size_t flen = 4 + ((size_t)buf[off] << 24 | (size_t)buf[off + 1] << 16 |
                       (size_t)buf[off + 2] << 8 | buf[off + 3]);
    if (len - off < flen) break;
    if (!batch && write_all(buf + off, flen) != 0) *err = 1;
    off += flen;
  }
  if (batch && off > 0 && write_all(buf, off) != 0) *err = 1;
  return off;
}

static int echo(int batch) {
  static uint8_t buf[1 << 20]; /* frames here are ~30 bytes; one must fit */
  size_t have = 0;
  int err = 0;
  for (;;) {
    ssize_t n = read(STDIN_FILENO, buf + have, sizeof buf - have);
    if (n <= 0) return n == 0 && have == 0 ? 0 : 1;
    have += (size_t)n;
    size_t used = echo_frames(buf, have, batch, &err);
    if (err || (used == 0 && have == sizeof buf)) return 1;
    memmove(buf, buf + used, have - used);
    have -= used;
  }
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "echo") == 0) return echo(0);
  if (argc > 1 && strcmp(argv[1], "batch") == 0) return echo(1);
  if (write(STDOUT_FILENO, "!", 1) != 1) return 1;
  char b;
  while (read(STDIN_FILENO, &b, 1) > 0) {
  }
  return 0;
}
