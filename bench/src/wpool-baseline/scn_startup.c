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
 *
 * --spawn exec,zygote adds the zygote points (pipe workers: the C and
 * Python SDKs both fork those; gRPC is left to the tests): <t> is then
 * "pipe-zygote" (exec keeps the plain transport name, so saved runs still
 * compare), the params carry "spawn", and two more metrics (ms, lower):
 *   startup.template_ready/<t>/<mode>/n=N  until the template's set-up was
 *                                          done (its READY), same t0
 *   startup.restart/<t>/n=N                one worker SIGKILLed in the
 *                                          ready pool (concurrent start) →
 *                                          its replacement ready, restart
 *                                          backoff 0; for exec points too
 *                                          when zygote is measured
 * And their costs (class "cost", µs, lower is better), per worker started:
 *   cost.start_sup_cpu_us/<t>/<mode>/n=N  supervisor CPU over new + start
 *   cost.start_wrk_cpu_us/<t>/<mode>/n=N  worker CPU from its spawn to now,
 *                                         read as soon as the pool is ready
 */
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>

#include "baseline.h"
#include "load.h"
#include "run.h"
#include "stats.h"

static const wp_mode_t modes[2] = {WP_MODE_CONCURRENT, WP_MODE_SEQUENTIAL};

/* One (transport, size) and its repetitions: [mode][rep]. */
typedef struct point {
  wp_transport_t t;
  wp_spawn_t sp;
  bool restarts;      /* measure the restart time too */
  int n;
  bool ok;            /* false once a start failed */
  double *all[2], *first[2], *mean[2];
  double *sup_cpu[2], *wrk_cpu[2]; /* µs per worker */
  double *tmpl[2];    /* zygote: template ready, ms from t0 */
  double *restart;    /* kill → replacement ready, ms (concurrent pools) */
} point_t;

#define ARRAYS_PER_POINT 13 /* the double arrays above, reps long each */

/* The metric's transport part: the transport, or pipe-zygote. */
static const char *tname(const point_t *pt) {
  return pt->sp == WP_SPAWN_ZYGOTE ? "pipe-zygote" : wp_transport_name(pt->t);
}

/* A start's figures: the wall-clock summary and what it cost. */
typedef struct start {
  wb_start_result_t r;
  double sup_cpu_us, wrk_cpu_us; /* per worker started */
  double tmpl_ms, restart_ms;
} start_t;

typedef struct respawn {
  wp_pool_t *p;
  int gen;
} respawn_t;

static bool respawned(void *arg) {
  respawn_t *r = arg;
  wp_timeline_t tl;
  return wp_pool_timeline(r->p, 0, &tl) == 0 && tl.generation > r->gen && tl.ready;
}

/* SIGKILLs slot 0's worker, runs until its replacement is ready: ms. */
static int restart_time(wb_ctx_t *c, wp_pool_t *p, double *ms) {
  wp_timeline_t tl;
  if (wp_pool_timeline(p, 0, &tl) != 0 || tl.pid <= 0) return WP_EINTERNAL;
  respawn_t r = {p, tl.generation};
  uint64_t t0 = wp_now_ns();
  if (kill(tl.pid, SIGKILL) != 0) return WP_EIO;
  if (!wb_run_until(c->loop, &(wb_until_t){.done = respawned, .arg = &r, .wake_ms = 1,
                                           .deadline_ns = t0 + 10000000000ull}))
    return WP_ESTART_TIMEOUT;
  wp_pool_timeline(p, 0, &tl);
  *ms = (double)(tl.ready - t0) / 1e6;
  return 0;
}

static int start_once(wb_ctx_t *c, const point_t *pt, wp_mode_t m, start_t *s) {
  int n = pt->n;
  wp_options_t o;
  bl_pool_options(c, pt->t, n, &o);
  o.mode = m;
  o.spawn = pt->sp;
  bool restart = pt->restarts && m == WP_MODE_CONCURRENT;
  if (restart) { /* at once: the figure is the respawn, not the backoff */
    o.restart = 1;
    o.restart_base_ns = 0;
  }
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
  wp_timeline_t zt;
  s->tmpl_ms = wp_pool_template(p, &zt) == 0 ? (double)(zt.ready - t0) / 1e6 : 0;
  if (!err && restart) err = restart_time(c, p, &s->restart_ms);
  wb_pool_down(c->loop, p);
  return err;
}

static void point_failed(wb_ctx_t *c, point_t *pt, int err) {
  pt->ok = false;
  bl_fail_point(c, err, "startup %s n=%d", tname(pt), pt->n);
}

static void warm_up(wb_ctx_t *c, point_t *pt) {
  start_t r;
  for (int k = 0; k < 2 && pt->ok; k++) {
    bl_status(c, "%s n=%d warm-up (%s)", tname(pt), pt->n, wp_mode_name(modes[k]));
    int err = start_once(c, pt, modes[k], &r);
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
    bl_status(c, "round %d/%d: %s %s n=%d", i + 1, reps, tname(pt),
              wp_mode_name(modes[k]), pt->n);
    int err = start_once(c, pt, modes[k], &s);
    if (err) {
      point_failed(c, pt, err);
      return;
    }
    pt->all[k][i] = s.r.all_ready_ms;
    pt->first[k][i] = s.r.first_ready_ms;
    pt->mean[k][i] = s.r.mean_ready_ms;
    pt->sup_cpu[k][i] = s.sup_cpu_us;
    pt->wrk_cpu[k][i] = s.wrk_cpu_us;
    pt->tmpl[k][i] = s.tmpl_ms;
    if (k == 0) pt->restart[i] = s.restart_ms;
  }
}

static json_t *params(const point_t *pt, const char *mode, int n) {
  json_t *p = json_pack("{s:s, s:i}", "transport", wp_transport_name(pt->t), "n", n);
  if (p && mode) json_object_set_new(p, "mode", json_string(mode));
  if (p && pt->sp == WP_SPAWN_ZYGOTE) json_object_set_new(p, "spawn", json_string("zygote"));
  return p;
}

static void emit(wb_ctx_t *c, const point_t *pt, int reps) {
  const point_t *t = pt;
  int n = pt->n;
  const char *tn = tname(pt);
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
    if (pt->sp == WP_SPAWN_ZYGOTE)
      bl_metric(c, "ms", "lower", params(t, mn, n), pt->tmpl[k], r,
                "startup.template_ready/%s/%s/n=%d", tn, mn, n);
  }
  if (pt->restarts)
    bl_metric(c, "ms", "lower", params(t, NULL, n), pt->restart, r,
              "startup.restart/%s/n=%d", tn, n);
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
/* The points of this run, each with its arrays carved from buf: every
 * transport and size, and with --spawn zygote the pipe ones again forked
 * from a template (restart times then measured for both). */
static int plan(const bl_opts_t *o, point_t *pts, double *buf) {
  int np = 0;
  size_t reps = (size_t)o->startup_reps;
  bool zyg = o->nspawns == 2 || o->spawns[0] == WP_SPAWN_ZYGOTE;
  for (int si = 0; si < o->nspawns; si++)
    for (int ti = 0; ti < o->ntransports; ti++)
      for (int i = 0; i < o->startup_sizes.n; i++) {
        int n = o->startup_sizes.v[i];
        wp_transport_t t = o->transports[ti];
        if (t == WP_TRANSPORT_GRPC &&
            (n > o->startup_grpc_max || o->spawns[si] == WP_SPAWN_ZYGOTE))
          continue;
        point_t *pt = &pts[np++];
        *pt = (point_t){.t = t, .sp = o->spawns[si], .n = n, .ok = true,
                        .restarts = zyg && t == WP_TRANSPORT_PIPE};
        double **arrays[ARRAYS_PER_POINT] = {
            &pt->all[0], &pt->first[0], &pt->mean[0], &pt->sup_cpu[0], &pt->wrk_cpu[0],
            &pt->all[1], &pt->first[1], &pt->mean[1], &pt->sup_cpu[1], &pt->wrk_cpu[1],
            &pt->tmpl[0], &pt->tmpl[1], &pt->restart};
        for (int k = 0; k < ARRAYS_PER_POINT; k++) *arrays[k] = buf, buf += reps;
      }
  return np;
}

static void run(wb_ctx_t *c) {
  const bl_opts_t *o = c->opt;
  size_t maxp = (size_t)o->nspawns * (size_t)o->ntransports * (size_t)o->startup_sizes.n;
  point_t *pts = calloc(maxp, sizeof *pts);
  double *buf = calloc(maxp * ARRAYS_PER_POINT * (size_t)o->startup_reps, sizeof *buf);
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
