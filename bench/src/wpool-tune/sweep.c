/*
 * sweep.c — measuring every pool size (see tune.h for the load and why).
 *
 * Each size gets a fresh pool (no restarts: a worker that dies fails the
 * size instead of being papered over), a warm-up run that is discarded,
 * then the repetitions on the same pool. A repetition's first C answers
 * are its ramp-up and are not measured.
 */
#include <stdio.h>
#include <string.h>

#include "load.h"
#include "stats.h"
#include "tune.h"

static void pool_options(const tune_opts_t *o, int n, wp_options_t *po) {
  wp_options_init(po);
  po->argv = o->worker_argv;
  po->size = n;
  po->transport = o->transport;
  po->max_inflight = 1;
  po->restart = 0;
}

/* One closed-loop run; its figures into slot rep of pt (rep >= 0). */
static int run_once(uv_loop_t *loop, wp_pool_t *p, const wb_load_t *l,
                    tune_point_t *pt, int rep) {
  wb_load_result_t r;
  int err = wb_run_closed(loop, p, l, &r);
  if (!err && r.failed) err = r.first_err;
  if (!err && rep >= 0) {
    pt->rps[rep] = r.rps;
    pt->p50_ms[rep] = (double)wb_hist_percentile(r.lat, 50) / 1e6;
    pt->p99_ms[rep] = (double)wb_hist_percentile(r.lat, 99) / 1e6;
  }
  wb_hist_free(r.lat);
  return err;
}

static int measure(const tune_opts_t *o, uv_loop_t *loop, tune_point_t *pt) {
  wp_options_t po;
  pool_options(o, pt->n, &po);
  wp_pool_t *p;
  /* libuv timers count from the loop's cached time; refresh it so the
   * pool's start timeout is not shortened by the previous size's run. */
  uv_update_time(loop);
  int err = wb_pool_up(loop, &po, &p);
  if (err) return err;
  wb_load_t l = {.concurrency = pt->c, .duration_ns = o->warmup_ns,
                 .req = {.kind = WP_REQ_WORK, .cpu_us = o->cpu_us,
                         .sleep_us = o->sleep_us, .reply_bytes = o->reply_bytes}};
  if (o->warmup_ns) err = run_once(loop, p, &l, pt, -1);
  l.duration_ns = o->duration_ns;
  l.warmup = (uint64_t)pt->c;
  for (int i = 0; i < o->reps && !err; i++) {
    fprintf(stderr, "\rtune: n=%d rep %d/%d ", pt->n, i + 1, o->reps);
    err = run_once(loop, p, &l, pt, i);
  }
  wb_pool_down(loop, p);
  return err;
}

int tune_sweep(const tune_opts_t *o, tune_point_t *pts) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  int failed = 0;
  for (int i = 0; i < o->max_size; i++) {
    tune_point_t *pt = &pts[i];
    memset(pt, 0, sizeof *pt);
    pt->n = i + 1;
    pt->c = pt->n * o->per_worker;
    pt->err = measure(o, &loop, pt);
    pt->ok = pt->err == 0;
    if (!pt->ok) {
      fprintf(stderr, "\rtune: n=%d failed: %s (%s)\n", pt->n, wp_strerror(pt->err),
              wp_errname(pt->err));
      failed++;
      continue;
    }
    size_t r = (size_t)o->reps;
    pt->rps_med = wb_stats_median(pt->rps, r);
    pt->p50_med = wb_stats_median(pt->p50_ms, r);
    pt->p99_med = wb_stats_median(pt->p99_ms, r);
    fprintf(stderr, "\rtune: n=%-3d c=%-4d %9.0f req/s  p50 %7.2f ms  p99 %7.2f ms\n",
            pt->n, pt->c, pt->rps_med, pt->p50_med, pt->p99_med);
  }
  if (uv_loop_close(&loop) != 0) {
    fprintf(stderr, "tune: internal: handles left open on the loop\n");
    failed++;
  }
  return failed;
}
