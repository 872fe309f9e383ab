/*
 * floor.h — the floors: the cheapest way this machine can do what the pool
 * does, measured in the same run so every pool figure has a reference that
 * drifted with it.
 *
 * Owns: a bare child process with two pipes (fl_child_t), timing N bare
 * posix_spawns to their first byte, a blocking pipe ping-pong against an
 * echo child (same framing as the pipe transport, no libuv, no protobuf),
 * the bare C pool (N echo children, an epoll loop, the pool's rules), and
 * a gRPC C-core unary call loop on one thread against the gRPC worker.
 * None of it uses libwpool: that is the point.
 */
#ifndef BL_FLOOR_H
#define BL_FLOOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hist.h"

/* A child with stdin/stdout on pipes (the parent's ends CLOEXEC). */
typedef struct fl_child {
  int pid;
  int in;               /* write end: the child's stdin */
  int out;              /* read end: the child's stdout */
  uint64_t t_spawn;     /* just before posix_spawn */
  uint64_t t_byte;      /* its first byte was read (fl_spawn) */
} fl_child_t;

/* posix_spawn of argv[0] with nothing else set up. 0, or -1 with errno. */
int fl_child_spawn(char *const argv[], fl_child_t *ch);
/* Closes its stdin (a worker's cue to exit) and its stdout, reaps it. */
void fl_child_end(fl_child_t *ch);
/* Reads exactly n bytes from fd within timeout_ms; 0 or -1. */
int fl_read_full(int fd, void *buf, size_t n, int timeout_ms);
/* Writes all n bytes (blocking), adding each write() call to *calls; 0 or -1. */
int fl_write_all(int fd, const void *buf, size_t n, uint64_t *calls);

typedef struct fl_spawn_result {
  double all_ms;        /* first spawn → last child's first byte */
  double first_ms;      /* first spawn → first child's first byte */
  double mean_ms;       /* mean per child: its spawn → its first byte */
} fl_spawn_result_t;

/* Spawns n copies of child (all at once, or each after the previous one's
 * first byte), times them to their first byte, then ends them all. */
int fl_spawn(const char *child, int n, bool sequential, fl_spawn_result_t *r);

/* A closed loop's figures (both floors). lat: caller's histogram, ns. */
typedef struct fl_load {
  int conc;             /* requests in flight */
  uint64_t requests;    /* measured */
  uint64_t warmup;      /* answered before measuring */
} fl_load_t;

typedef struct fl_pipe fl_pipe_t;
/* Starts `child echo` (echoes each frame in a write of its own). 0 or -1. */
int fl_pipe_open(const char *child, uint32_t body, fl_pipe_t **out);
/* Frames of `body` bytes, conc in flight, one write() per frame; 0 or -1
 * (the child broke). */
int fl_pipe_run(fl_pipe_t *f, const fl_load_t *l, wb_hist_t *lat, double *rps);
/* Requests answered and write() calls on each side since the last call
 * (echo_writes from the child's /proc/PID/io, -1 when unreadable). */
typedef struct fl_writes {
  uint64_t requests, writes;
  long long echo_writes;
} fl_writes_t;
void fl_pipe_writes(fl_pipe_t *f, fl_writes_t *w);
void fl_pipe_close(fl_pipe_t *f);

typedef struct fl_pool fl_pool_t;
/* Starts n `child batch` children: the bare C pool (floor_pool.c). 0 or -1. */
int fl_pool_open(const char *child, int n, uint32_t body, fl_pool_t **out);
/* A closed loop of l->conc requests, at most max_inflight out per child
 * (the rest queue), round-robin, one write() per frame; 0 or -1 (a child
 * broke or hung). */
int fl_pool_run(fl_pool_t *f, const fl_load_t *l, int max_inflight,
                wb_hist_t *lat, double *rps);
/* Requests answered and write() calls since the last call. */
void fl_pool_writes(fl_pool_t *f, uint64_t *requests, uint64_t *writes);
void fl_pool_close(fl_pool_t *f);

typedef struct fl_grpc fl_grpc_t;
/* Starts the gRPC worker on a unix socket, waits for its Hello, opens one
 * channel. req: a serialized Request (copied). 0 or -1 (why filled). */
int fl_grpc_open(const char *worker, const void *req, size_t len,
                 fl_grpc_t **out, char *why, size_t whylen);
int fl_grpc_run(fl_grpc_t *g, const fl_load_t *l, wb_hist_t *lat, double *rps);
void fl_grpc_close(fl_grpc_t *g);

#endif
