/*
 * scn_latency.c — the latency distribution of the ping grid's points.
 *
 * Metrics: ping.<p>/<t>/<mode>/n=N/c=C for p in p50 p90 p95 p99 p99_9 max
 * (us, lower is better). Each run is one repetition's percentile over its
 * --requests samples (log-linear histogram, < 0.4 % value error), kept
 * only with 10 samples beyond it (P99.9 from 10,000 up); read
 * against floor.<p>/<t>/c=C only where all C are on the wire: a checkout
 * point with C above n queues the rest in the pool by design, and its
 * latency is mostly that wait, which no bare transport does (no ratio
 * there). Closed loop: latency under a fixed number in flight, not under
 * a fixed arrival rate (that is open-loop's job).
 *
 * Pipe points: the bare C pool's percentiles at the same n, C and
 * max_inflight (floor.<p>/pool/<mode>/n=N/c=C, queue wait included as the
 * pool's are), and ping.p50_per_bare/pipe/<mode>/n=N/c=C, per round the
 * pool's P50 over the bare pool's.
 */
#include "ping.h"

static json_t *params(const bl_ping_point_t *pt, int k) {
  return json_pack("{s:s, s:s, s:i, s:i, s:i, s:f}", "transport",
                   wp_transport_name(pt->t), "mode", bl_ping_mode(pt), "n",
                   pt->n, "c", pt->c, "max_inflight", pt->max_inflight,
                   "percentile", bl_pct[k]);
}

static void emit_bare(wb_ctx_t *c, const bl_ping_point_t *pt, int reps) {
  if (pt->t != WP_TRANSPORT_PIPE || !pt->bare_ok) return;
  for (int k = 0; k < BL_NPCT; k++)
    if (bl_pct_reportable(k, c->opt->requests))
      bl_metric(c, "us", "lower", params(pt, k), pt->bare_pct[k], (size_t)reps,
                "floor.%s/pool/%s/n=%d/c=%d", bl_pct_name[k], bl_ping_mode(pt),
                pt->n, pt->c);
  double ratio[reps];
  for (int r = 0; r < reps; r++) ratio[r] = pt->pct[0][r] / pt->bare_pct[0][r];
  bl_metric(c, "ratio", "lower", params(pt, 0), ratio, (size_t)reps,
            "ping.p50_per_bare/pipe/%s/n=%d/c=%d", bl_ping_mode(pt), pt->n, pt->c);
}

static void run(wb_ctx_t *c) {
  const bl_ping_grid_t *g = bl_ping_grid(c);
  for (size_t i = 0; g && i < g->npts; i++) {
    const bl_ping_point_t *pt = &g->pts[i];
    if (!pt->ok) continue;
    const char *tn = wp_transport_name(pt->t);
    for (int k = 0; k < BL_NPCT; k++) {
      if (!bl_pct_reportable(k, c->opt->requests)) continue;
      json_t *m = bl_metric(c, "us", "lower", params(pt, k), pt->pct[k],
                            (size_t)g->reps, "ping.%s/%s/%s/n=%d/c=%d",
                            bl_pct_name[k], tn, bl_ping_mode(pt), pt->n, pt->c);
      if (bl_ping_wire(pt) == pt->c)
        bl_link_floor(m, "floor.%s/%s/c=%d", bl_pct_name[k], tn, pt->c);
    }
    emit_bare(c, pt, g->reps);
  }
}

const wb_scenario_t scn_latency = {
    "latency",
    "ping latency P50/P90/P95/P99/P99.9/max per point of the ping grid",
    run};
