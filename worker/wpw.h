/*
 * wpw.h — write a wpool worker in C: register methods by name, then run.
 *
 *   #include "wpw.h"
 *
 *   static int upper(wpw_ctx_t *ctx, const uint8_t *in, size_t len, void *arg) {
 *     uint8_t *out = wpw_reply_buf(ctx, len);
 *     if (!out) return wpw_fail(ctx, "out of memory");
 *     for (size_t i = 0; i < len; i++) out[i] = (uint8_t)toupper(in[i]);
 *     return 0;
 *   }
 *
 *   int main(int argc, char **argv) {
 *     wpw_method("upper", upper, NULL);
 *     return wpw_run(argc, argv);
 *   }
 *
 * Owns: the method registry and everything a worker does besides its
 * methods — the flags every wpool worker takes (--transport pipe|grpc,
 * --listen ADDR, --max-frame BYTES, --delay-us N), the Hello (protocol 2,
 * listing the methods), both transports, the reference answers to Ping,
 * Work and Shutdown, error replies, and exiting with the supervisor.
 *
 * Contract for a method: it runs on one thread, one request at a time
 * (whatever the transport), so it needs no locking. It returns 0 with its
 * result set by wpw_reply or wpw_reply_buf (nothing set: an empty result),
 * or non-zero — return wpw_fail(ctx, "why %d", x) — for a STATUS_WORKER_ERROR
 * reply with that text; the worker serves on. A Call for a method that is
 * not registered is answered STATUS_UNKNOWN_METHOD naming it. A method that
 * crashes the process is the supervisor's business (WP_EWORKER_EXITED, the
 * worker is replaced).
 *
 * Linking: the worker's sources with worker/{wpw,handle,pipe}.c and either
 * grpc.c (gRPC in this binary) or grpc_exec.c (the lean binary: for
 * --transport grpc it execs the same program built with grpc.c, found
 * beside it as "<this program>-grpc"). The Makefile builds both for the
 * reference worker and for worker/examples/.
 */
#ifndef WPW_H
#define WPW_H

#include <stddef.h>
#include <stdint.h>

typedef struct wpw_ctx wpw_ctx_t;

/* A method: payload/len is the Call's payload (valid during the call). */
typedef int (*wpw_method_fn)(wpw_ctx_t *ctx, const uint8_t *payload,
                             size_t len, void *arg);

/* Registers `name` (copied; 1..255 bytes; at most 64 methods). Call
 * before wpw_run. 0, or -1 for a bad or duplicate name or too many. */
int wpw_method(const char *name, wpw_method_fn fn, void *arg);

/* The result: `len` bytes copied from data (which may point into the
 * current result); a second call replaces the first. A result whose reply
 * would be over --max-frame becomes the method's error instead. 0, or -1
 * (no memory). */
int wpw_reply(wpw_ctx_t *ctx, const void *data, size_t len);
/* A buffer of len bytes that becomes the result: write it before the
 * method returns. NULL when out of memory. */
uint8_t *wpw_reply_buf(wpw_ctx_t *ctx, size_t len);
/* Sets the error text (printf style) and returns -1, for
 * `return wpw_fail(ctx, ...)`. */
int wpw_fail(wpw_ctx_t *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The method's name, for a function registered under several. */
const char *wpw_method_name(const wpw_ctx_t *ctx);

/* Parses the worker flags (exit 2 on bad usage, 0 for --help), then serves
 * until stdin EOF, Shutdown or a fatal error; returns the exit code
 * (0 ok, 1 I/O or transport failure, 2 protocol error or bad usage). */
int wpw_run(int argc, char **argv);

#endif
