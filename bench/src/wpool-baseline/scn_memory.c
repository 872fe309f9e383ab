/*
 * scn_memory.c — what a pool costs in memory, from /proc/<pid>/status VmRSS.
 *
 * For every transport and pool size, each repetition starts a fresh pool,
 * sends every worker a few hundred pings (so the request paths and buffers
 * are touched, as in use), reads the RSS of this process and of every
 * worker, and stops the pool.
 *
 * Metrics (MiB, lower is better):
 *   mem.supervisor_rss/<t>/n=N  this process with the pool up, after
 *       malloc_trim. It is the whole benchmark process (gRPC's arenas,
 *       what earlier scenarios left), so compare it between runs of the
 *       same scenario selection.
 *   mem.worker_rss/<t>/n=N      mean RSS of one worker (shared pages
 *       counted in each: RSS, not PSS).
 */
#include <malloc.h>
#include <stdlib.h>

#include "baseline.h"
#include "load.h"
#include "stats.h"

#define MIB (1024.0 * 1024.0)

/* Pings every worker, then reads the RSS figures. 0 or a WP_E* code. */
static int sample(wb_ctx_t *c, wp_pool_t *p, int n, double *sup, double *wrk) {
  wb_load_t l = {.concurrency = n, .requests = 200 * (uint64_t)n,
                 .req = {.kind = WP_REQ_PING, .payload = "memory", .payload_len = 6}};
  int err = wb_run_rate(c->loop, p, &l, NULL);
  if (err) return err;
  int *pids = calloc((size_t)n, sizeof *pids);
  if (!pids) return WP_ENOMEM;
  int k = wp_pool_pids(p, pids, n);
  double sum = 0;
  for (int i = 0; i < k; i++) {
    long long b = wb_rss_bytes(pids[i]);
    if (b < 0) err = WP_EIO;
    sum += (double)b;
  }
  free(pids);
  /* Heap that earlier scenarios freed but malloc kept would count as this
   * pool's (payload's 1 MiB buffers moved it 24 -> 36 MiB). */
  malloc_trim(0);
  long long s = wb_rss_bytes(0);
  if (k != n || s < 0) err = WP_EIO;
  *sup = (double)s / MIB;
  *wrk = k ? sum / k / MIB : 0;
  return err;
}

static int measure(wb_ctx_t *c, wp_transport_t t, int n, double *sup, double *wrk) {
  for (int i = 0; i < c->opt->mem_reps; i++) {
    bl_status(c, "%s n=%d rep %d/%d", wp_transport_name(t), n, i + 1, c->opt->mem_reps);
    wp_options_t o;
    bl_pool_options(c, t, n, &o);
    wp_pool_t *p;
    int err = wb_pool_up(c->loop, &o, &p);
    if (!err) {
      err = sample(c, p, n, &sup[i], &wrk[i]);
      wb_pool_down(c->loop, p);
    }
    if (err) return err;
  }
  return 0;
}

static void point(wb_ctx_t *c, wp_transport_t t, int n, double *sup, double *wrk) {
  const char *tn = wp_transport_name(t);
  int err = measure(c, t, n, sup, wrk);
  if (err) {
    bl_fail_point(c, err, "memory %s n=%d", tn, n);
    return;
  }
  size_t reps = (size_t)c->opt->mem_reps;
  bl_metric(c, "MiB", "lower", json_pack("{s:s, s:i}", "transport", tn, "n", n),
            sup, reps, "mem.supervisor_rss/%s/n=%d", tn, n);
  bl_metric(c, "MiB", "lower", json_pack("{s:s, s:i}", "transport", tn, "n", n),
            wrk, reps, "mem.worker_rss/%s/n=%d", tn, n);
  bl_done(c, "%s n=%-3d supervisor %.1f MiB, worker %.2f MiB each", tn, n,
          wb_stats_median(sup, reps), wb_stats_median(wrk, reps));
}

static void run(wb_ctx_t *c) {
  size_t reps = (size_t)c->opt->mem_reps;
  double *buf = calloc(reps * 2, sizeof *buf);
  if (!buf) return bl_fail(c, "out of memory");
  for (int ti = 0; ti < c->opt->ntransports; ti++)
    for (int i = 0; i < c->opt->sizes.n; i++)
      point(c, c->opt->transports[ti], c->opt->sizes.v[i], buf, buf + reps);
  free(buf);
}

const wb_scenario_t scn_memory = {
    "memory", "supervisor RSS and mean worker RSS per transport and pool size",
    run};
