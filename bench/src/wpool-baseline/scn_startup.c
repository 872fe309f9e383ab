/*
 * scn_startup.c — how long a pool takes to come up.
 *
 * For every transport, pool size and start mode: one warm-up start (page
 * cache, dynamic loader, gRPC's first init), then the repetitions, each a
 * fresh pool from wp_pool_new to every slot ready, stopped before the next.
 * Repetitions run in rounds (round r = repetition r of every point, as in
 * ping.c), so each point's runs sample the shared machine over the whole
 * scenario instead of one moment; within a round the concurrent and
 * sequential starts of a point are neighbours, so a drift hits both modes
 * alike and the per-repetition speedup compares like with like.
 *
 * Metrics (ms, lower is better unless said):
 *   startup.all_ready/<t>/<mode>/n=N    until the last slot is ready
 *   startup.first_ready/<t>/<mode>/n=N  until the first one is
 *   startup.mean_ready/<t>/<mode>/n=N   mean per-slot spawn asked → ready
 *   startup.speedup/<t>/n=N             sequential / concurrent all_ready
 *                                       (ratio, higher is better)
 * each read against the bare posix_spawn floor of the same mode and size.
 * And their costs (class "cost", µs, lower is better), per worker started:
 *   cost.start_sup_cpu_us/<t>/<mode>/n=N  supervisor CPU over new + start
 *   cost.start_wrk_cpu_us/<t>/<mode>/n=N  worker CPU from its spawn to now,
 *                                         read as soon as the pool is ready
 */
#include <stdbool.h>
#include <stdlib.h>

#include "baseline.h"
#include "load.h"
#include "stats.h"

static const wp_mode_t modes[2] = {WP_MODE_CONCURRENT, WP_MODE_SEQUENTIAL};

/* One (transport, size) and its repetitions: [mode][rep]. */
typedef struct point {
  wp_transport_t t;
  int n;
  bool ok;            /* false once a start failed */
  double *all[2], *first[2], *mean[2];
  double *sup_cpu[2], *wrk_cpu[2]; /* µs per worker */
} point_t;

/* A start's figures: the wall-clock summary and what it cost. */
typedef struct start {
  wb_start_result_t r;
  double sup_cpu_us, wrk_cpu_us; /* per worker started */
} start_t;

static int start_once(wb_ctx_t *c, wp_transport_t t, wp_mode_t m, int n,
                      start_t *s) {
  wp_options_t o;
  bl_pool_options(c, t, n, &o);
  o.mode = m;
  wp_pool_t *p;
  uint64_t cpu0 = wb_costs_self_cpu_ns();
  uint64_t t0 = wp_now_ns(); /* what a caller waits: new + start */
  int err = wb_pool_up(c->loop, &o, &p);
  if (err) return err;
  uint64_t sup_ns = wb_costs_self_cpu_ns() - cpu0, wrk_ns;
  /* Read at once: a worker idles after its Hello, but gRPC's threads don't. */
  if (wb_pool_workers_cpu_ns(p, &wrk_ns) != 0) err = WP_EIO;
  wb_start_summary(p, t0, &s->r);
  s->sup_cpu_us = (double)sup_ns / 1e3 / n;
  s->wrk_cpu_us = (double)wrk_ns / 1e3 / n;
  wb_pool_down(c->loop, p);
  return err;
}

static void point_failed(wb_ctx_t *c, point_t *pt, int err) {
  pt->ok = false;
  bl_fail_point(c, err, "startup %s n=%d", wp_transport_name(pt->t), pt->n);
}

static void warm_up(wb_ctx_t *c, point_t *pt) {
  start_t r;
  for (int k = 0; k < 2 && pt->ok; k++) {
    bl_status(c, "%s n=%d warm-up (%s)", wp_transport_name(pt->t), pt->n,
              wp_mode_name(modes[k]));
    int err = start_once(c, pt->t, modes[k], pt->n, &r);
    if (err) point_failed(c, pt, err);
  }
}

/* Repetition i of one point: a concurrent and a sequential start, in
 * alternating order. Why: with concurrent always first, n=1 (where the
 * modes are the same thing) came out 15 % slower concurrent — the first
 * start after another point pays for it. */
static void one_rep(wb_ctx_t *c, point_t *pt, int i, int reps) {
  start_t s;
  for (int j = 0; j < 2 && pt->ok; j++) {
    int k = (j + i) % 2;
    bl_status(c, "round %d/%d: %s %s n=%d", i + 1, reps,
              wp_transport_name(pt->t), wp_mode_name(modes[k]), pt->n);
    int err = start_once(c, pt->t, modes[k], pt->n, &s);
    if (err) {
      point_failed(c, pt, err);
      return;
    }
    pt->all[k][i] = s.r.all_ready_ms;
    pt->first[k][i] = s.r.first_ready_ms;
    pt->mean[k][i] = s.r.mean_ready_ms;
    pt->sup_cpu[k][i] = s.sup_cpu_us;
    pt->wrk_cpu[k][i] = s.wrk_cpu_us;
  }
}

static json_t *params(wp_transport_t t, const char *mode, int n) {
  json_t *p = json_pack("{s:s, s:i}", "transport", wp_transport_name(t), "n", n);
  if (p && mode) json_object_set_new(p, "mode", json_string(mode));
  return p;
}

static void emit(wb_ctx_t *c, const point_t *pt, int reps) {
  wp_transport_t t = pt->t;
  int n = pt->n;
  const char *tn = wp_transport_name(t);
  size_t r = (size_t)reps;
  for (int k = 0; k < 2; k++) {
    const char *mn = wp_mode_name(modes[k]);
    json_t *m;
    m = bl_metric(c, "ms", "lower", params(t, mn, n), pt->all[k], r,
                  "startup.all_ready/%s/%s/n=%d", tn, mn, n);
    bl_link_floor(m, "floor.spawn/%s/n=%d", mn, n);
    m = bl_metric(c, "ms", "lower", params(t, mn, n), pt->first[k], r,
                  "startup.first_ready/%s/%s/n=%d", tn, mn, n);
    bl_link_floor(m, "floor.spawn_first/%s/n=%d", mn, n);
    m = bl_metric(c, "ms", "lower", params(t, mn, n), pt->mean[k], r,
                  "startup.mean_ready/%s/%s/n=%d", tn, mn, n);
    bl_link_floor(m, "floor.spawn_mean/%s/n=%d", mn, n);
    bl_metric(c, "us", "lower", params(t, mn, n), pt->sup_cpu[k], r,
              "cost.start_sup_cpu_us/%s/%s/n=%d", tn, mn, n);
    bl_metric(c, "us", "lower", params(t, mn, n), pt->wrk_cpu[k], r,
              "cost.start_wrk_cpu_us/%s/%s/n=%d", tn, mn, n);
  }
  double *sp = malloc(sizeof *sp * r);
  if (!sp) return;
  for (size_t i = 0; i < r; i++) sp[i] = pt->all[1][i] / pt->all[0][i];
  bl_metric(c, "ratio", "higher", params(t, NULL, n), sp, r,
            "startup.speedup/%s/n=%d", tn, n);
  bl_done(c, "%s n=%-3d all ready: concurrent %.2f ms, sequential %.2f ms",
          tn, n, wb_stats_median(pt->all[0], r), wb_stats_median(pt->all[1], r));
  free(sp);
}

/* The points of this run, each with its arrays carved from buf. */
static int plan(const bl_opts_t *o, point_t *pts, double *buf) {
  int np = 0;
  size_t reps = (size_t)o->startup_reps;
  for (int ti = 0; ti < o->ntransports; ti++)
    for (int i = 0; i < o->startup_sizes.n; i++) {
      int n = o->startup_sizes.v[i];
      if (o->transports[ti] == WP_TRANSPORT_GRPC && n > o->startup_grpc_max)
        continue;
      point_t *pt = &pts[np++];
      *pt = (point_t){.t = o->transports[ti], .n = n, .ok = true};
      for (int k = 0; k < 2; k++) {
        pt->all[k] = buf, buf += reps;
        pt->first[k] = buf, buf += reps;
        pt->mean[k] = buf, buf += reps;
        pt->sup_cpu[k] = buf, buf += reps;
        pt->wrk_cpu[k] = buf, buf += reps;
      }
    }
  return np;
}

static void run(wb_ctx_t *c) {
  const bl_opts_t *o = c->opt;
  size_t maxp = (size_t)o->ntransports * (size_t)o->startup_sizes.n;
  point_t *pts = calloc(maxp, sizeof *pts);
  double *buf = calloc(maxp * 10 * (size_t)o->startup_reps, sizeof *buf);
  if (!pts || !buf) {
    free(pts);
    free(buf);
    return bl_fail(c, "out of memory");
  }
  int np = plan(o, pts, buf);
  for (int i = 0; i < np; i++) warm_up(c, &pts[i]);
  for (int r = 0; r < o->startup_reps; r++) {
    for (int i = 0; i < np; i++)
      if (pts[i].ok) one_rep(c, &pts[i], r, o->startup_reps);
    bl_done(c, "round %d/%d done (%d points)", r + 1, o->startup_reps, np);
  }
  for (int i = 0; i < np; i++)
    if (pts[i].ok) emit(c, &pts[i], o->startup_reps);
  free(pts);
  free(buf);
}

const wb_scenario_t scn_startup = {
    "startup",
    "pool start-up, concurrent and sequential: all ready, first ready, "
    "mean spawn→ready, speedup",
    run};
