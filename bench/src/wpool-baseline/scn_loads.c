/*
 * scn_loads.c — the load shapes (profile.h) as scenarios of the suite:
 * stress, spike and soak, each run only when --only names it (they are
 * long, and a soak is minutes by design).
 *
 * Per transport, one pool of as many workers as usable CPUs, the 200 µs
 * CPU job of the openloop scenario, rates as shares of the capacity
 * measured on that pool first. --quick runs each shape's short variant.
 *
 * Metrics (see results/README.md), each with the whole run — figures,
 * the stress curve or the soak samples, and the per-interval series —
 * under its "profile" key:
 *   stress.breaking_point/<t>/n=N     req/s, higher (last step that held
 *                                     p99<5ms,errors<1%)
 *   spike.recovery/<t>/n=N            ms, lower
 *   spike.p99/<t>/n=N                 ms, lower (highest windowed P99)
 *   spike.peak_queue/<t>/n=N          requests, lower
 *   soak.<x>_slope/<t>/n=N            per minute, lower (x: supervisor_rss,
 *                                     worker_rss, fds, p99)
 */
#include <math.h>

#include "baseline.h"
#include "load.h"
#include "profile.h"

#define STRESS_SLO "p99<5ms,errors<1%"

static json_t *params(wp_transport_t t, int n) {
  return json_pack("{s:s, s:i, s:i}", "transport", wp_transport_name(t), "n", n, "cpu_us", 200);
}

/* One figure as a metric, the run attached to the first one only. */
static void figure(wb_ctx_t *c, const char *unit, const char *better, double v, wp_transport_t t,
                   int n, json_t **run, const char *name) {
  if (isnan(v)) return;
  json_t *m = bl_metric(c, unit, better, params(t, n), &v, 1, "%s/%s/n=%d", name,
                        wp_transport_name(t), n);
  if (m && *run) {
    json_object_set_new(m, "profile", *run);
    *run = NULL;
  }
}

static void report(wb_ctx_t *c, const wb_profile_t *p, const wb_profile_result_t *r,
                   wp_transport_t t, int n) {
  json_t *run = wb_profile_json(p, r);
  const char *tn = wp_transport_name(t);
  switch (p->shape) {
  case WB_STRESS:
    figure(c, "req/s", "higher", r->breaking_point, t, n, &run, "stress.breaking_point");
    bl_done(c, "stress %s n=%d: breaking point %.0f/s of capacity %.0f/s", tn, n,
            r->breaking_point, r->capacity);
    break;
  case WB_SPIKE:
    figure(c, "ms", "lower", r->recovery_s * 1e3, t, n, &run, "spike.recovery");
    figure(c, "ms", "lower", r->spike_p99_ms, t, n, &run, "spike.p99");
    figure(c, "requests", "lower", (double)r->peak_queue, t, n, &run, "spike.peak_queue");
    bl_done(c, "spike %s n=%d: peak queue %llu, p99 %.1f ms, recovery %.1f s", tn, n,
            (unsigned long long)r->peak_queue, r->spike_p99_ms, r->recovery_s);
    if (isnan(r->recovery_s)) bl_fail(c, "spike %s n=%d: not recovered by the end of the run", tn, n);
    break;
  case WB_SOAK:
    figure(c, "MiB/min", "lower", r->sup_rss_slope, t, n, &run, "soak.supervisor_rss_slope");
    figure(c, "MiB/min", "lower", r->worker_rss_slope, t, n, &run, "soak.worker_rss_slope");
    figure(c, "fds/min", "lower", r->fds_slope, t, n, &run, "soak.fds_slope");
    figure(c, "ms/min", "lower", r->p99_slope, t, n, &run, "soak.p99_slope");
    bl_done(c, "soak %s n=%d: per minute supervisor RSS %.3f MiB, worker RSS %.3f MiB, "
            "fds %.2f, p99 %.3f ms", tn, n, r->sup_rss_slope, r->worker_rss_slope, r->fds_slope,
            r->p99_slope);
    break;
  }
  json_decref(run);
}

static void run_shape(wb_ctx_t *c, wb_shape_t shape, wp_transport_t t) {
  int n = wb_cpus_usable();
  wb_profile_t p;
  wb_profile_defaults(&p, shape, c->opt->quick);
  p.slots = n;
  wb_slo_t slo = {0};
  char why[256];
  size_t nm;
  const wb_slo_metric_t *m = wb_shape_metrics(shape, &nm);
  if (wb_slo_parse(STRESS_SLO, m, nm, &slo, why, sizeof why) == 0) p.slo = &slo;
  wp_options_t po;
  bl_pool_options(c, t, n, &po);
  if (shape == WB_SOAK) { /* recycling on, as a long-lived pool runs */
    po.max_requests = 10000;
    po.max_requests_jitter = 1000;
  }
  wp_pool_t *pool;
  bl_status(c, "%s %s n=%d", wb_shape_name(shape), wp_transport_name(t), n);
  int err = wb_pool_up(c->loop, &po, &pool);
  if (!err) {
    wb_profile_result_t r;
    err = wb_profile_run(c->loop, pool, &p, &r);
    if (!err) report(c, &p, &r, t, n);
    wb_profile_result_free(&r);
    wb_pool_down(c->loop, pool);
  }
  if (err)
    bl_fail(c, "%s %s n=%d failed: %s (%s)", wb_shape_name(shape), wp_transport_name(t), n,
            wp_strerror(err), wp_errname(err));
}

static void run_all(wb_ctx_t *c, wb_shape_t shape) {
  for (int i = 0; i < c->opt->ntransports; i++) run_shape(c, shape, c->opt->transports[i]);
}

static void run_stress(wb_ctx_t *c) { run_all(c, WB_STRESS); }
static void run_spike(wb_ctx_t *c) { run_all(c, WB_SPIKE); }
static void run_soak(wb_ctx_t *c) { run_all(c, WB_SOAK); }

const wb_scenario_t scn_stress = {
    "stress", "rate steps of 10 % of capacity until p99<5ms,errors<1% breaks (only with --only)",
    run_stress};
const wb_scenario_t scn_spike = {
    "spike", "40 % of capacity, 4x for 5 s, back: peak queue, P99, recovery (only with --only)",
    run_spike};
const wb_scenario_t scn_soak = {
    "soak", "50 % of capacity for 10 min, recycling on: RSS, fd, P99 slopes (only with --only)",
    run_soak};
