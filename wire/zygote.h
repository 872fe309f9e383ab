/*
 * zygote.h — the zygote template protocol, defined once for both sides:
 * the supervisor (pool/zygote.c) and the C worker SDK (worker/zygote.c);
 * the Python SDK packs the same 16 bytes with struct "=IIii".
 *
 * The pool starts the worker command once with WPOOL_ZYGOTE=FD in its
 * environment: FD is its end of a SOCK_SEQPACKET socketpair, one message
 * per datagram, host byte order (both ends are on one machine).
 *
 *   template → pool  READY   {pid}            init done, forks on request
 *   pool → template  SPAWN   {tag} + SCM_RIGHTS stdin, stdout[, stderr],
 *                            then the worker's own flags (gRPC: --transport
 *                            grpc --listen ADDR), each NUL-terminated
 *   child → pool     FORKED  {tag, pid}       the child exists (sent by the
 *                            child itself, before it closes the socket)
 *   template → pool  FAILED  {tag, status=errno}  the clone failed
 *
 * The template clones each child with CLONE_PARENT: the child's parent is
 * the supervisor, which reaps it and sees its status as for an exec'd
 * worker (op 5, EXITED, the template's reap report, is retired). EOF on
 * the socket, either way, ends the other side's interest: the template
 * exits (its children live on: they are the supervisor's), the pool
 * treats the template as dead. May call: nothing (constants and one struct).
 */
#ifndef WPI_ZYGOTE_H
#define WPI_ZYGOTE_H

#include <stdint.h>

#define WPI_ZYG_ENV "WPOOL_ZYGOTE"
/* A SPAWN's flags after the 16-byte header: at most this many bytes. */
#define WPI_ZYG_ARGS_MAX 240

enum {
  WPI_ZYG_READY = 1,
  WPI_ZYG_SPAWN = 2,
  WPI_ZYG_FORKED = 3,
  WPI_ZYG_FAILED = 4,
  /* 5 was EXITED: children are the supervisor's now, it reaps them */
};

typedef struct wpi_zyg_msg {
  uint32_t op;
  uint32_t tag;    /* the pool's slot index, echoed in FORKED/FAILED */
  int32_t pid;
  int32_t status;
} wpi_zyg_msg_t;

#endif
