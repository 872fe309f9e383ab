/*
 * scn_recovery.c — how fast the pool replaces a worker that dies.
 *
 * For every transport: one idle pool of N = 4 workers with the default
 * restart policy; each repetition SIGKILLs the next slot's worker
 * (round robin, through wp_pool_signal) and runs the loop until that
 * slot's next generation is ready. Kills are spaced so each slot has been
 * up longer than restart_cap_ns before it is killed again: every kill sees
 * the base backoff (10 ms ± 25 %), the figure of an isolated crash, not of
 * a crash loop. Under load and random kills: `wpool chaos`.
 *
 * Metrics (ms, lower is better), from the slot's timeline:
 *   recovery.ready/<t>/n=4    kill → replacement ready
 *   recovery.respawn/<t>/n=4  kill → replacement spawn asked (the exit
 *                             seen through the pidfd, plus the backoff)
 *   recovery.start/<t>/n=4    spawn asked → ready (the worker's start),
 *                             read against the one-child spawn floor
 */
#include <signal.h>
#include <stdlib.h>

#include "baseline.h"
#include "load.h"
#include "run.h"
#include "stats.h"

#define N 4
#define MIN_REPS 10
#define MS (1000000ull)

typedef struct reps {
  double *ready, *respawn, *start;
  int n;
} reps_t;

/* The slot a kill replaces: ready again in a newer generation. */
typedef struct watch {
  wp_pool_t *p;
  int slot, gen;
} watch_t;

static bool replaced(void *arg) {
  const watch_t *w = arg;
  wp_timeline_t tl;
  wp_pool_timeline(w->p, w->slot, &tl);
  return tl.generation > w->gen && wp_pool_slot_ready(w->p, w->slot);
}

/* Runs the loop for up to ns, or until done(w); a 1 ms timer keeps it
 * turning. Returns whether done. */
static bool run_loop(wb_ctx_t *c, watch_t *w, uint64_t ns, bool (*done)(void *)) {
  wb_until_t u = {.done = done, .arg = w, .deadline_ns = wp_now_ns() + ns, .wake_ms = 1};
  return wb_run_until(c->loop, &u);
}

/* One kill; fills rep i. 0 or a WP_E* code. */
static int kill_once(wb_ctx_t *c, wp_pool_t *p, int slot, reps_t *r, int i) {
  wp_timeline_t tl;
  wp_pool_timeline(p, slot, &tl);
  uint64_t at = wp_now_ns();
  int err = wp_pool_signal(p, slot, SIGKILL);
  if (err) return err;
  watch_t w = {.p = p, .slot = slot, .gen = tl.generation};
  if (!run_loop(c, &w, 5000 * MS, replaced)) return WP_ETIMEDOUT;
  wp_pool_timeline(p, slot, &tl);
  r->ready[i] = (double)(tl.ready - at) / 1e6;
  r->respawn[i] = (double)(tl.spawn_asked - at) / 1e6;
  r->start[i] = (double)(tl.ready - tl.spawn_asked) / 1e6;
  return 0;
}

static int measure(wb_ctx_t *c, wp_transport_t t, reps_t *r) {
  wp_options_t o;
  bl_pool_options(c, t, N, &o);
  o.restart = 1;
  /* Each slot killed again only after restart_cap: the base backoff. */
  uint64_t gap = o.restart_cap_ns / N + 50 * MS;
  wp_pool_t *p;
  int err = wb_pool_up(c->loop, &o, &p);
  if (err) return err;
  for (int i = 0; i < r->n && !err; i++) {
    bl_status(c, "%s n=%d kill %d/%d", wp_transport_name(t), N, i + 1, r->n);
    run_loop(c, NULL, gap, NULL); /* space the kills */
    err = kill_once(c, p, i % N, r, i);
  }
  wb_pool_down(c->loop, p);
  return err;
}

static void emit(wb_ctx_t *c, wp_transport_t t, const reps_t *r) {
  const char *tn = wp_transport_name(t);
  size_t n = (size_t)r->n;
#define PARAMS json_pack("{s:s, s:i}", "transport", tn, "n", N)
  bl_metric(c, "ms", "lower", PARAMS, r->ready, n, "recovery.ready/%s/n=%d", tn, N);
  bl_metric(c, "ms", "lower", PARAMS, r->respawn, n, "recovery.respawn/%s/n=%d", tn, N);
  json_t *m = bl_metric(c, "ms", "lower", PARAMS, r->start, n,
                        "recovery.start/%s/n=%d", tn, N);
  bl_link_floor(m, "floor.spawn/concurrent/n=1");
#undef PARAMS
  bl_done(c, "%s n=%d kill -> ready p50 %.2f ms (respawn %.2f + start %.2f)", tn, N,
          wb_stats_median(r->ready, n), wb_stats_median(r->respawn, n),
          wb_stats_median(r->start, n));
}

static void run(wb_ctx_t *c) {
  int reps = c->opt->startup_reps > MIN_REPS ? c->opt->startup_reps : MIN_REPS;
  double *buf = calloc((size_t)reps * 3, sizeof *buf);
  if (!buf) return bl_fail(c, "out of memory");
  reps_t r = {.ready = buf, .respawn = buf + reps, .start = buf + 2 * reps, .n = reps};
  for (int ti = 0; ti < c->opt->ntransports; ti++) {
    wp_transport_t t = c->opt->transports[ti];
    int err = measure(c, t, &r);
    if (err)
      bl_fail_point(c, err, "recovery %s n=%d", wp_transport_name(t), N);
    else
      emit(c, t, &r);
  }
  free(buf);
}

const wb_scenario_t scn_recovery = {
    "recovery", "kill -> replacement ready (respawn + start), per transport, n=4",
    run};
