/*
 * load.h — driving a pool for measurement: bring it up, time its start,
 * push a closed loop of requests through it, take it down.
 *
 * Owns: the blocking helpers that run the caller's uv loop until a pool
 * phase is over, shared by the wpool CLI, bench/baseline and the tests.
 * Latencies go into a wb_hist_t in nanoseconds.
 *
 * Two load shapes (see ARCHITECTURE.md, "Measuring honestly"):
 *   closed loop (wb_run_closed): C requests in flight, each answer sends the
 *     next — for throughput and scaling. A stalled worker also stalls the
 *     sender, so the requests that would have waited are never sent and the
 *     stall barely shows in the percentiles (coordinated omission).
 *   open loop (wb_run_open): requests leave at a fixed rate whatever the
 *     answers do, and each latency runs from the request's intended send
 *     time (wrk2) — for latency under load; a stall shows in full.
 *
 * May call: libwpool, libuv, and in bench/lib: interrupt, stall, costs,
 * series, payloads (drive/) and hist (stat/).
 */
#ifndef WB_LOAD_H
#define WB_LOAD_H

#include <stdbool.h>
#include <stdint.h>

#include "costs.h"
#include "hist.h"
#include "stall.h"
#include "payloads.h"
#include "series.h"
#include "wpool.h"

/* Starts a pool and runs loop until it is up (or the start failed).
 * On failure the pool is already stopped and freed; *out is NULL. From up
 * to down the pool is held for interrupt.h: SIGINT/SIGTERM/SIGHUP stop it
 * and exit the program. */
int wb_pool_up(uv_loop_t *loop, const wp_options_t *o, wp_pool_t **out);
/* The same, and on failure why (len > 0) gets wp_pool_last_error's line
 * about the worker that failed the start, read after the stop so its exit
 * status is in it ("" when no worker is to blame). */
int wb_pool_up_why(uv_loop_t *loop, const wp_options_t *o, wp_pool_t **out,
                   char *why, size_t len);
/* Stops the pool, runs the loop until every child is reaped, frees it. */
void wb_pool_down(uv_loop_t *loop, wp_pool_t *p);

typedef struct wb_start_result {
  uint64_t t0;              /* wp_pool_start called (ns) */
  double all_ready_ms;      /* t0 → last slot ready */
  double first_ready_ms;    /* t0 → first slot ready */
  double mean_ready_ms;     /* mean per-slot spawn asked → ready */
  double mean_spawn_ms;     /* mean per-slot spawn asked → process started */
} wb_start_result_t;

/* Summarises the timelines of an up pool started at t0. */
void wb_start_summary(const wp_pool_t *p, uint64_t t0, wb_start_result_t *r);

/* A cost window (costs.h) over this process and the pool's live workers;
 * NULL when out of memory. */
wb_costs_t *wb_pool_costs_begin(const wp_pool_t *p, bool syscalls);
/* CPU the pool's live workers have used since each started, summed (ns).
 * 0, or -1 when one is gone. */
int wb_pool_workers_cpu_ns(const wp_pool_t *p, uint64_t *ns);

/* Both loops always end, even when a worker stops answering: see stall.h
 * (a stalled run returns WP_ETIMEDOUT and says which worker in its stall). */

typedef struct wb_load {
  int concurrency;          /* requests in flight, exactly (closed loop) */
  uint64_t requests;        /* stop after this many answered (0: duration) */
  uint64_t duration_ns;     /* or after this long */
  uint64_t warmup;          /* requests answered before measuring */
  wp_request_t req;         /* template: kind, payload, work */
  uint64_t stall_ns;        /* stall bound: 0 scaled (stall.h), or WB_STALL_OFF */
  /* The user's payload set (NULL: req's own): request i carries
   * set[i % nset] (its payload; the rest from req), cycled in order. */
  const wb_payload_t *set;
  size_t nset;
  bool split;               /* also fill wait and service (see the result) */
  /* Closed loop: count syscalls (costs.h) over the steady state only — a
   * window opened when measuring starts (the ramp of the first sends left
   * out: set warmup to at least the concurrency) and closed when the last
   * request is sent (the drain of the last replies left out). Apart from
   * a timed run: the counter slows every syscall (results/README.md). */
  bool count_syscalls;
} wb_load_t;

typedef struct wb_load_result {
  uint64_t sent, ok, failed;
  int first_err;            /* first WP_E* seen, 0 if none */
  uint64_t warmup_failed;   /* failures during the warm-up, not in failed */
  int warmup_first_err;     /* the first of them */
  wb_stall_t stall;         /* a worker that stopped answering, if any */
  double elapsed_s;         /* measured part only */
  double rps;               /* ok / elapsed_s */
  wb_hist_t *lat;           /* per-request latency, ns (caller frees) */
  /* With split: the pool's own split of each answered request (wp_reply_t
   * times), ns (caller frees): queued → sent, and sent → answered. */
  wb_hist_t *wait, *service;
  char first_text[256];     /* the worker's text of the first failure that
                               had one (warm-up included), or "" */
  /* With count_syscalls: the window's counts and the requests answered in
   * it (sys_ok false when they could not be counted). */
  wb_cost_t sys;
  uint64_t sys_answered;
  bool sys_ok;
} wb_load_result_t;

/* Runs a closed loop on an up pool: concurrency requests in flight, each
 * answer sends the next, until the count or duration is reached and every
 * request sent has been answered. 0, or a WP_E* that stopped the run. */
int wb_run_closed(uv_loop_t *loop, wp_pool_t *p, const wb_load_t *l,
                  wb_load_result_t *r);

/* wb_run_closed for its rate alone (a capacity, a load before a sample):
 * req/s into *rps (when not NULL), a failed answer counted as the run's
 * error. 0 or a WP_E*. */
int wb_run_rate(uv_loop_t *loop, wp_pool_t *p, const wb_load_t *l, double *rps);

/* One phase of a changing rate: rate requests/s for duration_ns. */
typedef struct wb_phase {
  double rate;
  uint64_t duration_ns;
} wb_phase_t;

typedef struct wb_open {
  double rate;              /* target arrivals per second, > 0 */
  uint64_t requests;        /* measured requests (0: duration) */
  uint64_t duration_ns;     /* or a schedule this long: ceil(rate × duration) */
  uint64_t warmup;          /* requests scheduled first and not measured */
  /* Requests handed to the pool and not yet answered, at most. A request
   * whose time comes while the cap is full waits (counted in overflow) and
   * is sent when an answer frees a place; its latency still runs from its
   * intended time. 0 means WB_OPEN_DEFAULT_CAP. */
  uint64_t max_outstanding;
  wp_request_t req;         /* template: kind, payload, work */
  uint64_t stall_ns;        /* stall bound: 0 scaled (stall.h), or WB_STALL_OFF */
  const wb_payload_t *set;  /* as in wb_load_t */
  size_t nset;
  bool split;
  /* A changing rate (a spike): the measured schedule is these phases one
   * after another, and rate, requests and duration_ns only set the
   * warm-up's pace (rate; 0: the first phase's). NULL: one fixed rate. */
  const wb_phase_t *phases;
  size_t nphases;
  /* Filled with the measured requests when non-NULL (series.h): offered
   * by intended time (unsent ones included), answers by arrival. */
  wb_series_t *series;
} wb_open_t;

#define WB_OPEN_DEFAULT_CAP 10000

typedef struct wb_open_result {
  uint64_t sent, ok, failed;  /* measured requests only */
  uint64_t overflow;        /* measured requests that found the cap full */
  uint64_t unsent;          /* measured requests still waiting for the cap
                               when a duration's schedule ended: never sent
                               (a run of a given count sends them all) */
  int first_err;            /* first WP_E* seen, 0 if none */
  uint64_t warmup_failed;   /* failures during the warm-up, not in failed */
  int warmup_first_err;     /* the first of them */
  wb_stall_t stall;         /* a worker that stopped answering, if any */
  double target_rps;        /* the rate asked for */
  double achieved_rps;      /* ok / elapsed_s */
  uint64_t t_first;         /* intended time of the first measured request */
  double elapsed_s;         /* first measured intended time → the later of
                               the schedule's end and the last answer */
  wb_hist_t *lat;           /* answer − intended send time, ns (caller frees) */
  wb_hist_t *lat_sent;      /* answer − actual send time, ns: what a closed
                               loop would report (caller frees) */
  wb_hist_t *wait, *service;/* with split, as in wb_load_result_t */
  char first_text[256];
} wb_open_result_t;

/* Runs an open loop on an up pool: request i is due at t0 + i / rate and is
 * sent as soon as the loop sees it due — every due request at once when the
 * loop was held up, so a late tick catches up instead of skipping. A
 * request the pool refuses because its queue_limit is full
 * (WP_EQUEUE_FULL) counts as sent and failed, and the run goes on: under
 * overload that is the answer a caller gets. Returns
 * when every request sent has been answered: 0, or a WP_E* that stopped the
 * run (the result then holds what was measured so far). */
int wb_run_open(uv_loop_t *loop, wp_pool_t *p, const wb_open_t *o,
                wb_open_result_t *r);

#endif
