/*
 * worker.h — the inside of the C worker SDK (wpw.h is its public face),
 * shared by its transports.
 *
 * Owns: the worker's configuration, what a request does (wk_handle: Ping
 * echoes, Work burns CPU then sleeps then replies, Call runs a registered
 * method through wpw.c), and writing the Hello. The transports (pipe.c,
 * grpc.c) own only moving bytes.
 *
 * May call: the wire library (wire/: framing, every message's encoding,
 * protocol constants; its messages are the protobuf-c structs), libc, and
 * in grpc.c gRPC core. Never libwpool or libuv: a worker links libwpwire.
 */
#ifndef WK_WORKER_H
#define WK_WORKER_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "wire.h"

typedef struct wk_config {
  int transport;          /* WPOOL__V1__TRANSPORT__TRANSPORT_PIPE / _GRPC */
  const char *listen;     /* gRPC: "unix:PATH" or "127.0.0.1:PORT" (0 = any) */
  uint32_t delay_us;      /* --delay-us: busy time added to every reply */
  uint32_t max_frame;     /* --max-frame: largest frame accepted */
  const char *prog;       /* basename of argv[0], for messages */
  int standalone;         /* --standalone: started by systemd/Kubernetes, not
                           * a pool: no Hello, no stdin or parent watch;
                           * SIGTERM/SIGINT drain, then exit (gRPC only) */
  bool compact;           /* pipe, protocol 3 (set by wk_pipe_serve): replies
                           * are sized in the compact envelope */
} wk_config_t;

/* wpw.c: runs the Call's method into reply (status, error, payload; valid
 * until the next call; a reply over max_frame in the framing spoken,
 * compact or not, is the method's error), and the registered names for
 * the Hello. */
void wk_call(const Wpool__V1__Call *call, bool compact, Wpool__V1__Reply *reply);
const char *const *wk_method_names(size_t *n);

/* Result of handling one request. The reply's payload may point into the
 * request (echo) or into the worker's scratch buffer; valid until the next
 * call. shutdown is set for a Shutdown request; cancelled when a Work
 * stopped because cancelled() said so (wk_handle_until). */
typedef struct wk_result {
  Wpool__V1__Reply reply;
  int shutdown;
  int cancelled;
} wk_result_t;

void wk_handle(const wk_config_t *cfg, const Wpool__V1__Request *req,
               wk_result_t *out);

/* Whether the request is still wanted; checked between slices of a Work. */
typedef int (*wk_cancelled_fn)(void *arg);
/* wk_handle, but a Work asks cancelled(arg) every slice (about 1 ms) and
 * stops once it says yes: out->cancelled is set and the reply is a
 * WORKER_ERROR "cancelled". The gRPC transport passes "the call's deadline
 * passed" and answers such a call DEADLINE_EXCEEDED (work done past the
 * deadline only delays the calls behind it). */
void wk_handle_until(const wk_config_t *cfg, const Wpool__V1__Request *req,
                     wk_result_t *out, wk_cancelled_fn cancelled, void *arg);

/* Spins on the CPU for us microseconds (the "work" of a request). */
void wk_burn_us(uint32_t us);

/* Writes the Hello frame (u32 BE length | Hello, listing the registered
 * methods, saying protocol `version`) to fd; 0 or -1. */
int wk_write_hello(int fd, int transport, const char *address, uint32_t version);

/* Writes all of buf to fd, retrying short writes and EINTR; 0 or -1. */
int wk_write_all(int fd, const void *buf, size_t len);

/* Exits when the supervisor goes away: PR_SET_PDEATHSIG plus the getppid
 * check for the race where the parent died before the prctl. */
void wk_die_with_parent(void);

/* zygote.c: the template's loop on the pool's socket. Returns 1 in a
 * forked child (now a worker on its own stdio: serve), with its own flags
 * in args (NUL-separated, *nargs bytes; room for WPI_ZYG_ARGS_MAX), 0 in
 * the template when it is done, with its exit code in *code. */
int wk_zygote_run(int sock, int *code, char *args, size_t *nargs);

/* The transports' main loops; each returns the process exit code. */
int wk_pipe_serve(const wk_config_t *cfg);
int wk_grpc_serve(const wk_config_t *cfg);

#endif
