/*
 * scn_startup.c — how long a pool takes to come up.
 *
 * For every transport, pool size and start mode: one warm-up start (page
 * cache, dynamic loader, gRPC's first init), then the repetitions, each a
 * fresh pool from wp_pool_new to every slot ready, stopped before the next.
 * Concurrent and sequential repetitions alternate, so a drift in the
 * machine's state hits both modes alike and the per-repetition ratio
 * sequential/concurrent (the speedup) compares neighbours.
 *
 * Metrics (ms, lower is better unless said):
 *   startup.all_ready/<t>/<mode>/n=N    until the last slot is ready
 *   startup.first_ready/<t>/<mode>/n=N  until the first one is
 *   startup.mean_ready/<t>/<mode>/n=N   mean per-slot spawn asked → ready
 *   startup.speedup/<t>/n=N             sequential / concurrent all_ready
 *                                       (ratio, higher is better)
 * each read against the bare posix_spawn floor of the same mode and size.
 */
#include <stdlib.h>

#include "baseline.h"
#include "load.h"
#include "stats.h"

static const wp_mode_t modes[2] = {WP_MODE_CONCURRENT, WP_MODE_SEQUENTIAL};

/* The repetitions of one (transport, size): [mode][rep]. */
typedef struct point {
  double *all[2], *first[2], *mean[2];
  int reps;
} point_t;

static int start_once(wb_ctx_t *c, wp_transport_t t, wp_mode_t m, int n,
                      wb_start_result_t *r) {
  wp_options_t o;
  bl_pool_options(c, t, n, &o);
  o.mode = m;
  wp_pool_t *p;
  uint64_t t0 = wp_now_ns(); /* what a caller waits: new + start */
  int err = bl_pool_up(c, &o, &p);
  if (err) return err;
  wb_start_summary(p, t0, r);
  bl_pool_down(c, p);
  return 0;
}

static int measure(wb_ctx_t *c, wp_transport_t t, int n, point_t *pt) {
  const char *tn = wp_transport_name(t);
  wb_start_result_t r;
  for (int k = 0; k < 2; k++) {
    bl_status(c, "%s n=%d warm-up (%s)", tn, n, wp_mode_name(modes[k]));
    int err = start_once(c, t, modes[k], n, &r);
    if (err) return err;
  }
  for (int i = 0; i < pt->reps; i++)
    for (int k = 0; k < 2; k++) {
      bl_status(c, "%s %s n=%d rep %d/%d", tn, wp_mode_name(modes[k]), n,
                i + 1, pt->reps);
      int err = start_once(c, t, modes[k], n, &r);
      if (err) return err;
      pt->all[k][i] = r.all_ready_ms;
      pt->first[k][i] = r.first_ready_ms;
      pt->mean[k][i] = r.mean_ready_ms;
    }
  return 0;
}

/* {transport, mode, n}; no mode for the speedup (it is both). */
static json_t *params(wp_transport_t t, const char *mode, int n) {
  json_t *p = json_pack("{s:s, s:i}", "transport", wp_transport_name(t), "n", n);
  if (p && mode) json_object_set_new(p, "mode", json_string(mode));
  return p;
}

static void emit(wb_ctx_t *c, wp_transport_t t, int n, const point_t *pt) {
  const char *tn = wp_transport_name(t);
  size_t r = (size_t)pt->reps;
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

static void run_point(wb_ctx_t *c, wp_transport_t t, int n) {
  point_t pt = {.reps = c->opt->startup_reps};
  double *buf = calloc((size_t)pt.reps * 6, sizeof *buf);
  if (!buf) return bl_fail(c, "out of memory");
  for (int k = 0; k < 2; k++) {
    pt.all[k] = buf + (size_t)pt.reps * (0 + k);
    pt.first[k] = buf + (size_t)pt.reps * (2 + k);
    pt.mean[k] = buf + (size_t)pt.reps * (4 + k);
  }
  int err = measure(c, t, n, &pt);
  if (err)
    bl_fail(c, "%s n=%d: pool did not start: %s (%s)", wp_transport_name(t),
            n, wp_strerror(err), wp_errname(err));
  else
    emit(c, t, n, &pt);
  free(buf);
}

static void run(wb_ctx_t *c) {
  const bl_opts_t *o = c->opt;
  for (int ti = 0; ti < o->ntransports; ti++)
    for (int i = 0; i < o->startup_sizes.n; i++) {
      int n = o->startup_sizes.v[i];
      if (o->transports[ti] == WP_TRANSPORT_GRPC && n > o->startup_grpc_max)
        continue;
      run_point(c, o->transports[ti], n);
    }
}

const wb_scenario_t scn_startup = {
    "startup",
    "pool start-up, concurrent and sequential: all ready, first ready, "
    "mean spawn→ready, speedup",
    run};
