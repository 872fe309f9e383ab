/*
 * scn_payload.c — what moving bytes costs: Ping echoes of 64 B, 1 KiB,
 * 16 KiB, 256 KiB and 1 MiB on every transport.
 *
 * One worker, one request at a time (closed loop, C = 1): each latency is
 * the cost of carrying the payload there and back, without queueing, and
 * MB/s is the payload echoed per second over that one link (10^6 bytes,
 * counted once although it travels both ways). Requests per repetition
 * shrink with the size (2000 of 64 B, 64 of 1 MiB: ~64 MiB at most), 5
 * repetitions in rounds, each round on a fresh pool and each size after a
 * discarded warm-up; ~15 s in all.
 *
 * Metrics (see results/README.md):
 *   payload.mbps/<t>/bytes=B        MB/s, higher
 *   payload.<p>/<t>/bytes=B         us, lower (p: p50 p90 p99)
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "load.h"
#include "ping.h"
#include "stats.h"

#define PL_MAX_REPS 5
static const uint32_t SIZES[] = {64, 1024, 16384, 262144, 1048576};
#define NSIZES (sizeof SIZES / sizeof SIZES[0])
/* Indexes into bl_pct: p50, p90, p99. */
static const int PCTS[] = {0, 1, 3};
#define NPCTS (sizeof PCTS / sizeof PCTS[0])

typedef struct pl_point {
  double mbps[PL_MAX_REPS];
  double pct[NPCTS][PL_MAX_REPS];
} pl_point_t;

static uint64_t requests_for(uint32_t bytes) {
  uint64_t n = (64u << 20) / bytes;
  return n > 2000 ? 2000 : n < 20 ? 20 : n;
}

/* One closed-loop run; figures into slot rep (rep >= 0). */
static int run_once(wb_ctx_t *c, wp_pool_t *p, const wb_load_t *l, pl_point_t *pt, int rep) {
  wb_load_result_t r;
  int err = wb_run_closed(c->loop, p, l, &r);
  if (!err && r.failed) err = r.first_err;
  if (!err && rep >= 0) {
    double us[BL_NPCT];
    bl_hist_pcts(r.lat, us);
    pt->mbps[rep] = r.rps * (double)l->req.payload_len / 1e6;
    for (size_t k = 0; k < NPCTS; k++) pt->pct[k][rep] = us[PCTS[k]];
  }
  wb_hist_free(r.lat);
  return err;
}

/* One repetition of one size on pool p: a warm-up run, then the measured
 * one. */
static int measure(wb_ctx_t *c, wp_pool_t *p, uint32_t bytes, const char *buf,
                   pl_point_t *pt, int rep) {
  wb_load_t l = {.concurrency = 1, .requests = requests_for(bytes) / 5,
                 .req = {.kind = WP_REQ_PING, .payload = buf, .payload_len = bytes}};
  int err = run_once(c, p, &l, pt, -1);
  l.requests = requests_for(bytes);
  return err ? err : run_once(c, p, &l, pt, rep);
}

static void add_point(wb_ctx_t *c, const char *tn, uint32_t bytes, const pl_point_t *pt, int reps) {
  bl_metric(c, "MB/s", "higher", json_pack("{s:s, s:i}", "transport", tn, "bytes", (int)bytes),
            pt->mbps, (size_t)reps, "payload.mbps/%s/bytes=%u", tn, bytes);
  for (size_t k = 0; k < NPCTS; k++)
    bl_metric(c, "us", "lower",
              json_pack("{s:s, s:i, s:f}", "transport", tn, "bytes", (int)bytes, "percentile",
                        bl_pct[PCTS[k]]),
              pt->pct[k], (size_t)reps, "payload.%s/%s/bytes=%u", bl_pct_name[PCTS[k]], tn, bytes);
  bl_done(c, "payload %s %7u B: %8.1f MB/s  p50 %8.1f us  p99 %8.1f us", tn, bytes,
          wb_stats_median(pt->mbps, (size_t)reps), wb_stats_median(pt->pct[0], (size_t)reps),
          wb_stats_median(pt->pct[2], (size_t)reps));
}

/* Round r on a fresh pool: repetition r of every size still standing. */
static void one_round(wb_ctx_t *c, wp_transport_t t, const char *buf, pl_point_t *pts,
                      bool *ok, int r) {
  const char *tn = wp_transport_name(t);
  wp_options_t po;
  bl_pool_options(c, t, 1, &po);
  wp_pool_t *p = NULL;
  int err = wb_pool_up(c->loop, &po, &p);
  if (err) bl_fail_point(c, err, "payload %s (pool start)", tn);
  /* After a failure this round's pool is not trusted for the sizes left
   * (its worker may be gone); they are skipped for good, as failed. */
  for (size_t i = 0; i < NSIZES; i++) {
    if (!ok[i]) continue;
    bl_status(c, "payload %s round %d/%d: %u B", tn, r + 1, PL_MAX_REPS, SIZES[i]);
    int e = err ? err : measure(c, p, SIZES[i], buf, &pts[i], r);
    if (!e) continue;
    ok[i] = false;
    if (err) bl_fail(c, "payload %s %u B skipped: this round's pool failed", tn, SIZES[i]);
    else bl_fail_point(c, e, "payload %s bytes=%u", tn, SIZES[i]);
    err = err ? err : e;
  }
  if (p) wb_pool_down(c->loop, p);
}

/* Rounds, each on a fresh pool, as in ping.c: on two vCPUs the worker
 * lands on the supervisor's CPU (a 4 us echo) or on the other one (75 us)
 * for the life of a pool, so one pool for every repetition measured one
 * draw of that placement and two runs of one build differed by 20x. */
static void run_transport(wb_ctx_t *c, wp_transport_t t, const char *buf) {
  pl_point_t pts[NSIZES];
  bool ok[NSIZES];
  for (size_t i = 0; i < NSIZES; i++) ok[i] = true;
  for (int r = 0; r < PL_MAX_REPS; r++) one_round(c, t, buf, pts, ok, r);
  for (size_t i = 0; i < NSIZES; i++)
    if (ok[i]) add_point(c, wp_transport_name(t), SIZES[i], &pts[i], PL_MAX_REPS);
}

static void run(wb_ctx_t *c) {
  char *buf = malloc(SIZES[NSIZES - 1]);
  if (!buf) {
    bl_fail(c, "payload: out of memory");
    return;
  }
  memset(buf, 'b', SIZES[NSIZES - 1]);
  for (int i = 0; i < c->opt->ntransports; i++) run_transport(c, c->opt->transports[i], buf);
  free(buf);
}

const wb_scenario_t scn_payload = {
    "payload",
    "echo 64 B .. 1 MiB per transport, one at a time: MB/s and latency",
    run};
