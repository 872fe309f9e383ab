/*
 * ping.h — the ping grid: closed-loop ping load over every transport, pool
 * size, concurrency and dispatch mode, measured once per run and shared by
 * the throughput and latency scenarios (whichever runs first measures it).
 *
 * Owns: the grid's points and their per-repetition figures (req/s, the
 * latency percentiles and the cost counters per request of each
 * repetition), and the percentile set every latency figure of the suite
 * uses (pool and floors alike).
 *
 * Modes: checkout = one request per worker at a time (max_inflight 1; with
 * C above the pool size the rest wait in the pool's queue); pipelined =
 * max_inflight ceil(C / n), so all C are on the wire. A pipelined point
 * exists only where it differs from checkout (C > n).
 */
#ifndef BL_PING_H
#define BL_PING_H

#include <stdbool.h>

#include "baseline.h"
#include "hist.h"

#define BL_NPCT 6
/* 50, 90, 95, 99, 99.9, 100 and their id names p50 ... p99_9, max. */
extern const double bl_pct[BL_NPCT];
extern const char *const bl_pct_name[BL_NPCT];
/* The percentiles of h in microseconds. */
void bl_hist_pcts(const wb_hist_t *h, double out_us[BL_NPCT]);
/* Whether percentile k is worth reporting from `samples` per run: at least
 * 10 samples beyond it (P99.9 needs 10,000), else one stray sample decides
 * it and two runs of one build "differ". max is exact and always kept. */
bool bl_pct_reportable(int k, uint64_t samples);

/* Cost counters per request (costs.h), measured over each repetition's
 * measured run: sup_cpu_us, wrk_cpu_us, sup_csw, wrk_csw, sup_syscalls,
 * wrk_syscalls. The last two only where syscalls can be counted. */
enum { BL_COST_SUP_CPU, BL_COST_WRK_CPU, BL_COST_SUP_CSW, BL_COST_WRK_CSW,
       BL_COST_SUP_SYS, BL_COST_WRK_SYS, BL_NCOST };
extern const char *const bl_cost_name[BL_NCOST];
extern const char *const bl_cost_unit[BL_NCOST];

typedef struct bl_ping_point {
  wp_transport_t t;
  bool pipelined;
  int n, c, max_inflight;
  bool ok;                 /* false once a repetition failed: no figures */
  double *rps;             /* [reps] */
  double *pct[BL_NPCT];    /* [reps], µs */
  bool costs_ok;           /* every repetition's counters were read */
  bool syscalls_ok;        /* ... and syscalls counted in every one */
  double *cost[BL_NCOST];  /* [reps], per request */
  /* Pipe points: the bare C pool (floor_pool.c) at the same n, C and
   * max_inflight, run next to the pool in each round; bare_ok false once a
   * run of it failed. */
  bool bare_ok;
  double *bare_rps;        /* [reps] */
  double *bare_pct[BL_NPCT]; /* [reps], µs */
  double bare_per_write;   /* requests per write() in its last measured run */
} bl_ping_point_t;

struct bl_ping_grid {
  bl_ping_point_t *pts;
  size_t npts;
  int reps;
};

/* "checkout" / "pipelined". */
const char *bl_ping_mode(const bl_ping_point_t *pt);
/* Requests actually on the wire at a point: min(C, n x max_inflight); the
 * rest wait in the pool's queue. Its floor is the bare transport at this
 * concurrency. */
int bl_ping_wire(const bl_ping_point_t *pt);
/* Every such concurrency of the grid the options describe, ascending: the
 * floors measure these. */
void bl_ping_wire_concs(const bl_opts_t *o, bl_list_t *out);
/* The Request{id, ping} the pool sends at these options, in buf: compact
 * (protocol 3, what the C worker is sent on a pipe) or a protobuf Request
 * (gRPC); its size (0: over cap). The floors send frames of this size. */
size_t bl_ping_request(const bl_opts_t *o, bool compact, uint8_t *buf, size_t cap);
/* A point's figures for reps repetitions (free pt->rps to release them). */
bool bl_ping_point_init(bl_ping_point_t *pt, int reps, wp_transport_t t, int n, int conc,
                        bool pipelined);
/* One repetition of pt on a fresh pool with options po: its warm-up, then
 * the measured run, figures into repetition rep. 0 or the WP_E* that
 * failed it. */
int bl_ping_rep(wb_ctx_t *c, bl_ping_point_t *pt, const wp_options_t *po, int rep);
/* The grid of this run, measured on the first call. NULL: out of memory. */
const bl_ping_grid_t *bl_ping_grid(wb_ctx_t *c);
void bl_ping_free(wb_ctx_t *c);

#endif
