/*
 * main.c — wpool-worker: the reference worker, for both transports, on the
 * C worker SDK (wpw.h).
 *
 *   wpool-worker [--transport pipe|grpc] [--listen unix:PATH|127.0.0.1:PORT]
 *                [--delay-us N] [--max-frame BYTES]
 *
 * Ping echoes, Work burns CPU and sleeps (the SDK's reference answers).
 * Its Call methods are test knobs for the pool's error paths:
 *   echo    the payload back
 *   fail    an error reply whose text is the payload; the worker lives on
 *   crash   abort(): the process dies with the request in flight
 *   leak    keeps 64 KiB (written, so resident) for good, then echoes: a
 *           worker that leaks on purpose, for soak tests
 * --delay-us N is a test knob too: N µs of busy time added to every reply,
 * so a benchmark can prove it notices a slowdown. Exit codes: 0 on stdin
 * EOF or Shutdown; 1 on an I/O or gRPC failure; 2 on a protocol error or
 * bad usage.
 */
#include <stdlib.h>
#include <string.h>

#include "wpw.h"

static int echo(wpw_ctx_t *ctx, const uint8_t *in, size_t len, void *arg) {
  (void)arg;
  return wpw_reply(ctx, in, len) ? wpw_fail(ctx, "out of memory") : 0;
}

static int fail(wpw_ctx_t *ctx, const uint8_t *in, size_t len, void *arg) {
  (void)arg;
  return wpw_fail(ctx, "%.*s", len > 1000 ? 1000 : (int)len, (const char *)in);
}

static int crash(wpw_ctx_t *ctx, const uint8_t *in, size_t len, void *arg) {
  (void)ctx, (void)in, (void)len, (void)arg;
  abort();
}

#define LEAK_BYTES (64 * 1024)

static int leak(wpw_ctx_t *ctx, const uint8_t *in, size_t len, void *arg) {
  static void **kept; /* reachable, so no leak checker calls it a bug */
  static size_t nkept, cap;
  (void)arg;
  if (nkept == cap) {
    void **k = realloc(kept, (cap ? cap * 2 : 64) * sizeof *k);
    if (!k) return wpw_fail(ctx, "out of memory");
    kept = k;
    cap = cap ? cap * 2 : 64;
  }
  char *b = malloc(LEAK_BYTES);
  if (!b) return wpw_fail(ctx, "out of memory");
  memset(b, 'l', LEAK_BYTES);
  kept[nkept++] = b;
  return echo(ctx, in, len, NULL);
}

int main(int argc, char **argv) {
  wpw_method("echo", echo, NULL);
  wpw_method("fail", fail, NULL);
  wpw_method("crash", crash, NULL);
  wpw_method("leak", leak, NULL);
  return wpw_run(argc, argv);
}
