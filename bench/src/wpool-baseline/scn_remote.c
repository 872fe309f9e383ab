/*
 * scn_remote.c — what the network costs: a pool of attached workers
 * (--connect, e.g. scripts/netlab.sh's namespaced workers) next to a local
 * gRPC pool of the same size, in the same run. At every --concurrency C,
 * closed-loop pings with all C on the wire (max_inflight ceil(C / n)),
 * repetitions interleaved — attached, local, attached, local — so the
 * host's drift hits both alike.
 *
 * Metrics: remote.rps/<where>/n=N/c=C (req/s, higher is better) and
 * remote.<p>/<where>/n=N/c=C (µs, lower), where is attached or local; and
 * remote.rps_ratio/n=N/c=C, per repetition the attached pool's req/s over
 * the local one's measured next to it (the network's price as a ratio).
 * Opt-in (--only remote) and only with --connect.
 */
#include <stdlib.h>

#include "ping.h"
#include "stats.h"

typedef struct pair {
  bl_ping_point_t at, lo;   /* attached, local */
} pair_t;

static json_t *params(const bl_ping_point_t *pt, const char *where, int k) {
  json_t *j = json_pack("{s:s, s:i, s:i, s:i}", "where", where, "n", pt->n, "c", pt->c,
                        "max_inflight", pt->max_inflight);
  if (k >= 0) json_object_set_new(j, "percentile", json_real(bl_pct[k]));
  return j;
}

static void emit(wb_ctx_t *c, const bl_ping_point_t *pt, const char *where, int reps) {
  bl_metric(c, "req/s", "higher", params(pt, where, -1), pt->rps, (size_t)reps,
            "remote.rps/%s/n=%d/c=%d", where, pt->n, pt->c);
  for (int k = 0; k < BL_NPCT; k++)
    if (bl_pct_reportable(k, c->opt->requests))
      bl_metric(c, "us", "lower", params(pt, where, k), pt->pct[k], (size_t)reps,
                "remote.%s/%s/n=%d/c=%d", bl_pct_name[k], where, pt->n, pt->c);
  bl_done(c, "remote %-8s n=%d c=%-3d %8.0f req/s  p50 %7.1f us  p99 %7.1f us", where,
          pt->n, pt->c, wb_stats_median(pt->rps, (size_t)reps),
          wb_stats_median(pt->pct[0], (size_t)reps), wb_stats_median(pt->pct[3], (size_t)reps));
}

static void emit_ratio(wb_ctx_t *c, const pair_t *pr, int reps) {
  double *r = malloc(sizeof *r * (size_t)reps);
  if (!r) return bl_fail(c, "out of memory");
  for (int i = 0; i < reps; i++) r[i] = pr->at.rps[i] / pr->lo.rps[i];
  bl_metric(c, "ratio", "higher", params(&pr->at, "attached/local", -1), r, (size_t)reps,
            "remote.rps_ratio/n=%d/c=%d", pr->at.n, pr->at.c);
  free(r);
}

/* One repetition of one side; a failure ends that side's point. */
static void side_rep(wb_ctx_t *c, bl_ping_point_t *pt, const char *where, int rep) {
  if (!pt->ok) return;
  wp_options_t po;
  bl_pool_options(c, WP_TRANSPORT_GRPC, pt->n, &po);
  po.max_inflight = pt->max_inflight;
  if (where[0] == 'a') { /* attached: addresses, no command */
    po.argv = NULL;
    po.connect = (const char *const *)c->opt->connect;
    po.nconnect = c->opt->nconnect;
  }
  bl_status(c, "round %d: remote %s n=%d c=%d", rep + 1, where, pt->n, pt->c);
  int err = bl_ping_rep(c, pt, &po, rep);
  if (err) {
    pt->ok = false;
    bl_fail_point(c, err, "remote %s n=%d c=%d", where, pt->n, pt->c);
  }
}

static void run(wb_ctx_t *c) {
  const bl_opts_t *o = c->opt;
  if (!o->nconnect) return bl_note(c, "remote: skipped (no --connect)");
  int n = o->nconnect, reps = o->ping_reps;
  pair_t *pr = calloc((size_t)o->conc.n, sizeof *pr);
  if (!pr) return bl_fail(c, "out of memory");
  int npr = 0;
  for (; npr < o->conc.n; npr++)
    if (!bl_ping_point_init(&pr[npr].at, reps, WP_TRANSPORT_GRPC, n, o->conc.v[npr], true) ||
        !bl_ping_point_init(&pr[npr].lo, reps, WP_TRANSPORT_GRPC, n, o->conc.v[npr], true))
      break;
  for (int r = 0; r < reps; r++)
    for (int i = 0; i < npr; i++) {
      side_rep(c, &pr[i].at, "attached", r);
      side_rep(c, &pr[i].lo, "local", r);
    }
  for (int i = 0; i < npr; i++) {
    if (pr[i].at.ok) emit(c, &pr[i].at, "attached", reps);
    if (pr[i].lo.ok) emit(c, &pr[i].lo, "local", reps);
    if (pr[i].at.ok && pr[i].lo.ok) emit_ratio(c, &pr[i], reps);
  }
  for (int i = 0; i < o->conc.n; i++) {
    free(pr[i].at.rps);
    free(pr[i].lo.rps);
  }
  free(pr);
}

const wb_scenario_t scn_remote = {
    "remote",
    "attached workers (--connect) next to a local gRPC pool of as many: "
    "req/s, latency percentiles, their ratio (opt-in)",
    run};
