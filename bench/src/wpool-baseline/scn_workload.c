/*
 * scn_workload.c — the user's own call (--call METHOD with --payload-file
 * or --payloads) through the pool: start-up, throughput and latency, with
 * each request's latency split into the pool's queue wait and the worker's
 * service time (wp_reply_t's times).
 *
 * For every transport and pool size n, rounds of: a fresh pool (its
 * start-up timed, new → all ready), then two closed loops of --requests
 * answered calls (after --warmup): C = n (one call per worker, checkout:
 * the pool's capacity, no queue) and C = 2n (twice that: half the calls
 * wait in the pool's queue, which is what the queue-wait figures show).
 * Payloads cycle through the set in order. Runs only when --call is given.
 *
 * Metrics (params: transport, n, c, method):
 *   workload.startup_ms/<t>/n=N           ms, lower: new → every slot ready
 *   workload.rps/<t>/n=N/c=C              req/s, higher
 *   workload.latency.<p>/<t>/n=N/c=C      us, lower: call → answer
 *   workload.queue_wait.<p>/<t>/n=N/c=C   us, lower: call → sent to a worker
 *   workload.service.<p>/<t>/n=N/c=C      us, lower: sent → answered
 * with <p> p50, p90, p99 (p99 only from 1000 samples a run).
 */
#include <stdbool.h>
#include <stdlib.h>

#include "baseline.h"
#include "load.h"
#include "ping.h"
#include "stats.h"

#define WL_MAX_REPS 64
/* Indexes into bl_pct: p50, p90, p99. */
static const int PCTS[] = {0, 1, 3};
#define NPCTS (sizeof PCTS / sizeof PCTS[0])
enum { LAT, WAIT, SERVICE, NSPLIT };
static const char *const SPLIT[NSPLIT] = {"latency", "queue_wait", "service"};

typedef struct wl_load {
  double rps[WL_MAX_REPS];
  double pct[NSPLIT][NPCTS][WL_MAX_REPS];
} wl_load_t;

typedef struct wl_point {
  wp_transport_t t;
  int n;
  bool ok;
  double startup[WL_MAX_REPS];
  wl_load_t load[2];        /* C = n, C = 2n */
} wl_point_t;

static int conc_of(const wl_point_t *pt, int k) { return pt->n * (k + 1); }

static int run_load(wb_ctx_t *c, wp_pool_t *p, int conc, wl_load_t *out, int rep) {
  const bl_opts_t *o = c->opt;
  wb_load_t l = {.concurrency = conc, .requests = o->requests, .warmup = o->warmup,
                 .req = {.kind = WP_REQ_CALL, .method = o->call.method},
                 .set = o->call.payloads.items, .nset = o->call.payloads.n, .split = true};
  wb_load_result_t r;
  int err = wb_run_closed(c->loop, p, &l, &r);
  if (!err && r.failed) err = r.first_err;
  if (err && r.first_text[0]) bl_fail(c, "workload: the worker said: %s", r.first_text);
  if (!err) {
    const wb_hist_t *h[NSPLIT] = {r.lat, r.wait, r.service};
    out->rps[rep] = r.rps;
    for (int s = 0; s < NSPLIT; s++) {
      double us[BL_NPCT];
      bl_hist_pcts(h[s], us);
      for (size_t k = 0; k < NPCTS; k++) out->pct[s][k][rep] = us[PCTS[k]];
    }
  }
  wb_hist_free(r.lat);
  wb_hist_free(r.wait);
  wb_hist_free(r.service);
  return err;
}

/* Round `rep` of one point: a fresh pool, its start-up, both loads. */
static void one_round(wb_ctx_t *c, wl_point_t *pt, int rep, int reps) {
  const char *tn = wp_transport_name(pt->t);
  wp_options_t po;
  bl_pool_options(c, pt->t, pt->n, &po);
  po.max_inflight = 1; /* checkout: what waits, waits in the pool's queue */
  bl_status(c, "workload %s n=%d round %d/%d", tn, pt->n, rep + 1, reps);
  wp_pool_t *p;
  uint64_t t0 = wp_now_ns();
  int err = wb_pool_up(c->loop, &po, &p);
  if (!err) {
    pt->startup[rep] = (double)(wp_now_ns() - t0) / 1e6;
    for (int k = 0; k < 2 && !err; k++) err = run_load(c, p, conc_of(pt, k), &pt->load[k], rep);
    wb_pool_down(c->loop, p);
  }
  if (err) {
    pt->ok = false;
    bl_fail(c, "workload %s n=%d: %s (%s)", tn, pt->n, wp_strerror(err), wp_errname(err));
  }
}

static void add_load(wb_ctx_t *c, const wl_point_t *pt, int k, int reps) {
  const char *tn = wp_transport_name(pt->t), *m = c->opt->call.method;
  const wl_load_t *l = &pt->load[k];
  int n = pt->n, conc = conc_of(pt, k);
  bl_metric(c, "req/s", "higher",
            json_pack("{s:s, s:i, s:i, s:s}", "transport", tn, "n", n, "c", conc, "method", m),
            l->rps, (size_t)reps, "workload.rps/%s/n=%d/c=%d", tn, n, conc);
  for (int s = 0; s < NSPLIT; s++)
    for (size_t j = 0; j < NPCTS; j++) {
      if (!bl_pct_reportable(PCTS[j], c->opt->requests)) continue;
      bl_metric(c, "us", "lower",
                json_pack("{s:s, s:i, s:i, s:s, s:f}", "transport", tn, "n", n, "c", conc,
                          "method", m, "percentile", bl_pct[PCTS[j]]),
                l->pct[s][j], (size_t)reps, "workload.%s.%s/%s/n=%d/c=%d", SPLIT[s],
                bl_pct_name[PCTS[j]], tn, n, conc);
    }
  bl_done(c, "workload %s n=%d c=%d: %8.0f req/s  p50 %.0f us = queue %.0f + service %.0f",
          tn, n, conc, wb_stats_median(l->rps, (size_t)reps),
          wb_stats_median(l->pct[LAT][0], (size_t)reps),
          wb_stats_median(l->pct[WAIT][0], (size_t)reps),
          wb_stats_median(l->pct[SERVICE][0], (size_t)reps));
}

static void add_point(wb_ctx_t *c, const wl_point_t *pt, int reps) {
  const char *tn = wp_transport_name(pt->t);
  bl_metric(c, "ms", "lower",
            json_pack("{s:s, s:i, s:s}", "transport", tn, "n", pt->n, "method", c->opt->call.method),
            pt->startup, (size_t)reps, "workload.startup_ms/%s/n=%d", tn, pt->n);
  for (int k = 0; k < 2; k++) add_load(c, pt, k, reps);
}

static void run(wb_ctx_t *c) {
  const bl_opts_t *o = c->opt;
  if (!o->call.method) return; /* not asked for: nothing of the user's to run */
  int reps = o->ping_reps < WL_MAX_REPS ? o->ping_reps : WL_MAX_REPS;
  size_t npts = (size_t)o->ntransports * (size_t)o->sizes.n;
  wl_point_t *pts = calloc(npts, sizeof *pts);
  if (!pts) {
    bl_fail(c, "workload: out of memory");
    return;
  }
  for (size_t i = 0; i < npts; i++)
    pts[i] = (wl_point_t){.t = o->transports[i / (size_t)o->sizes.n],
                          .n = o->sizes.v[i % (size_t)o->sizes.n], .ok = true};
  /* Rounds across points, as everywhere in the suite: each point's
   * repetitions sample the whole scenario's time, not one moment. */
  for (int r = 0; r < reps; r++)
    for (size_t i = 0; i < npts; i++)
      if (pts[i].ok) one_round(c, &pts[i], r, reps);
  for (size_t i = 0; i < npts; i++)
    if (pts[i].ok) add_point(c, &pts[i], reps);
  free(pts);
}

const wb_scenario_t scn_workload = {
    "workload",
    "the user's --call through the pool: start-up, req/s, queue wait and service",
    run};
