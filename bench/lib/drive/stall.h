/*
 * stall.h — the watchdog that makes every measuring loop end, even when a
 * worker stops answering (SIGSTOPped, or it reads requests and never
 * replies) and no request timeout is set: a benchmark must always end.
 *
 * Owns: the stall bound and what a stall did. When a worker has held a
 * request for longer than the bound, the loop that owns the guard stops at
 * once and returns WP_ETIMEDOUT with the stall filled in; the requests it
 * leaves unanswered are the pool's to end (wb_pool_down: the normal stop,
 * which SIGKILLs a worker that will not go), their callbacks then free what
 * the loop left them. Why not kill the worker and wait: a worker that hangs
 * on every request would hang its replacement too, one bound per queued
 * request. The bound, unless the caller gives one: the larger of 2 s, 50 x
 * the slowest answer so far and 50 x the request's own work (cpu_us +
 * sleep_us) x the requests on that worker — a slow but working pool never
 * trips it.
 *
 * May call: libwpool and libuv.
 */
#ifndef WB_STALL_H
#define WB_STALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wpool.h"

#define WB_STALL_OFF UINT64_MAX /* no bound: a request timeout ends stalls */

typedef struct wb_stall {
  int workers;              /* workers found stalled (0: none) */
  int slot, pid;            /* the first of them */
  uint64_t held;            /* requests the first of them held */
  uint64_t bound_ns;        /* the bound they passed */
  uint64_t unanswered;      /* requests still unanswered when the run stopped */
} wb_stall_t;

/* "N requests got no answer: worker slot S (pid P) held K for more than
 * B s" (and how many other workers stalled), into buf. */
void wb_stall_describe(const wb_stall_t *s, char *buf, size_t len);

/* The newest stall that stopped a loop of this process (load.c notes it
 * once its unanswered count is known), for programs that report a failure
 * far from the loop (bench/baseline's scenarios, bench/tune's sweep) by
 * its WP_E* code alone. wb_stall_take describes it into buf and forgets
 * it: false (buf "") when no loop stopped on a stall since the last take
 * or the newest loop's start. One loop at a time, as these programs run. */
void wb_stall_note(const wb_stall_t *s);
bool wb_stall_take(char *buf, size_t len);

typedef struct wb_guard {
  uv_timer_t timer;
  wp_pool_t *pool;
  uint64_t bound_ns;        /* the caller's, 0 = scaled */
  uint64_t work_ns;         /* the request's own cpu + sleep */
  uint64_t slowest;         /* slowest answer so far, ns */
  wb_stall_t *out;
  bool armed, fired, closed;
  void (*on_fire)(void *arg); /* a stall: the loop stops */
  void *arg;
} wb_guard_t;

/* Watches p every 100 ms until it fires once or wb_guard_close. bound_ns:
 * 0 scaled, or WB_STALL_OFF (then nothing is watched). */
void wb_guard_start(wb_guard_t *g, uv_loop_t *loop, wp_pool_t *p, uint64_t bound_ns,
                   const wp_request_t *req, wb_stall_t *out,
                   void (*on_fire)(void *arg), void *arg);
/* An answer came after latency_ns: the scaled bound follows it. */
void wb_guard_answer(wb_guard_t *g, uint64_t latency_ns);
/* Stops watching; returns once the timer is closed. */
void wb_guard_close(wb_guard_t *g, uv_loop_t *loop);

#endif
