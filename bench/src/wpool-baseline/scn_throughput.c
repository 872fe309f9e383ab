/*
 * scn_throughput.c — closed-loop ping throughput and its scaling with the
 * pool size and the number of requests in flight.
 *
 * Metric: ping.rps/<t>/<mode>/n=N/c=C (req/s, higher is better) for every
 * point of the ping grid (ping.h), read against floor.rps/<t>/c=W: as
 * many in flight over one bare pipe or one bare gRPC channel as the point
 * has on the wire, W = min(C, n x max_inflight) (a checkout point queues
 * the rest in the pool), in the same placement (scn_floors.c).
 *
 * With it, the point's cost counters per request, over the same measured
 * runs (class "cost", better lower): cost.<what>/<t>/<mode>/n=N/c=C for
 * <what> in sup_cpu_us, wrk_cpu_us (µs on CPU of the supervisor, of all
 * workers), sup_csw, wrk_csw (context switches), sup_syscalls,
 * wrk_syscalls (only where the kernel lets us count them: config
 * cost_counters says); and cost.sup_cpu_per_wrk, per repetition the
 * supervisor's CPU per request over the workers' (a ratio). Why the ratio:
 * a busy host stretches every CPU figure of a run alike (pinned, both
 * share one CPU and its caches that minute), and the worker's work per
 * ping does not change with the supervisor's code, so it is the same run's
 * yardstick: over 20 runs of one build here sup_cpu_us moved 21 %, the
 * ratio 7.6 % (results/README.md, "Noise").
 *
 * Pipe points also carry the bare C pool (floor_pool.c) run beside them in
 * each round at the same n, C and max_inflight: floor.rps/pool/<mode>/n=N/c=C
 * (params: requests_per_write, the pool's corking rule: 1 at C=1), and
 * ping.rps_per_bare/pipe/<mode>/n=N/c=C, per round the pool's req/s over the
 * bare pool's in that round (issue 19's "within 10 % of a bare pool").
 */
#include <stdlib.h>

#include "ping.h"

static json_t *params(const bl_ping_point_t *pt) {
  return json_pack("{s:s, s:s, s:i, s:i, s:i}", "transport",
                   wp_transport_name(pt->t), "mode", bl_ping_mode(pt), "n",
                   pt->n, "c", pt->c, "max_inflight", pt->max_inflight);
}

static void emit_costs(wb_ctx_t *c, const bl_ping_point_t *pt, int reps) {
  if (!pt->costs_ok) {
    bl_fail(c, "ping %s %s n=%d c=%d: cost counters unreadable (a worker went away)",
            wp_transport_name(pt->t), bl_ping_mode(pt), pt->n, pt->c);
    return;
  }
  for (int k = 0; k < BL_NCOST; k++) {
    bool sys = k == BL_COST_SUP_SYS || k == BL_COST_WRK_SYS;
    if (sys && !pt->syscalls_ok) continue;
    bl_metric(c, bl_cost_unit[k], "lower", params(pt), pt->cost[k], (size_t)reps,
              "cost.%s/%s/%s/n=%d/c=%d", bl_cost_name[k], wp_transport_name(pt->t),
              bl_ping_mode(pt), pt->n, pt->c);
  }
  double *ratio = malloc(sizeof *ratio * (size_t)reps);
  if (!ratio) return bl_fail(c, "out of memory");
  for (int r = 0; r < reps; r++)
    ratio[r] = pt->cost[BL_COST_SUP_CPU][r] / pt->cost[BL_COST_WRK_CPU][r];
  bl_metric(c, "ratio", "lower", params(pt), ratio, (size_t)reps,
            "cost.sup_cpu_per_wrk/%s/%s/n=%d/c=%d", wp_transport_name(pt->t),
            bl_ping_mode(pt), pt->n, pt->c);
  free(ratio);
}

/* The bare pool's req/s and the paired ratio, per round. */
static void emit_bare(wb_ctx_t *c, const bl_ping_point_t *pt, int reps) {
  if (pt->t != WP_TRANSPORT_PIPE || !pt->bare_ok) return;
  char place[1024];
  bl_placement(c->opt, place, sizeof place);
  json_t *p = params(pt);
  json_object_set_new(p, "placement", json_string(place));
  json_object_set_new(p, "requests_per_write", json_real(pt->bare_per_write));
  bl_metric(c, "req/s", "higher", p, pt->bare_rps, (size_t)reps,
            "floor.rps/pool/%s/n=%d/c=%d", bl_ping_mode(pt), pt->n, pt->c);
  double *ratio = malloc(sizeof *ratio * (size_t)reps);
  if (!ratio) return bl_fail(c, "out of memory");
  for (int r = 0; r < reps; r++) ratio[r] = pt->rps[r] / pt->bare_rps[r];
  bl_metric(c, "ratio", "higher", params(pt), ratio, (size_t)reps,
            "ping.rps_per_bare/pipe/%s/n=%d/c=%d", bl_ping_mode(pt), pt->n, pt->c);
  free(ratio);
}

static void run(wb_ctx_t *c) {
  const bl_ping_grid_t *g = bl_ping_grid(c);
  for (size_t i = 0; g && i < g->npts; i++) {
    const bl_ping_point_t *pt = &g->pts[i];
    if (!pt->ok) continue;
    const char *tn = wp_transport_name(pt->t);
    json_t *m = bl_metric(c, "req/s", "higher", params(pt), pt->rps,
                          (size_t)g->reps, "ping.rps/%s/%s/n=%d/c=%d", tn,
                          bl_ping_mode(pt), pt->n, pt->c);
    bl_link_floor(m, "floor.rps/%s/c=%d", tn, bl_ping_wire(pt));
    emit_costs(c, pt, g->reps);
    emit_bare(c, pt, g->reps);
  }
}

const wb_scenario_t scn_throughput = {
    "throughput",
    "closed-loop ping req/s per transport, pool size, concurrency, "
    "checkout/pipelined",
    run};
