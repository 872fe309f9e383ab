/*
 * sweep.c — measuring every pool size (see tune.h for the load and why).
 *
 * The repetitions run in rounds (every size once per round). Each
 * repetition gets a fresh pool (no restarts: a worker that dies fails the
 * size instead of being papered over) and a warm-up run that is discarded;
 * its first C answers are the ramp-up and are not measured either.
 */
#include <stdio.h>
#include <string.h>

#include "interrupt.h"
#include "load.h"
#include "stall.h"
#include "stats.h"
#include "tune.h"

static void pool_options(const tune_opts_t *o, int n, wp_options_t *po) {
  wp_options_init(po);
  po->argv = o->worker_argv;
  po->size = n;
  po->transport = o->transport;
  po->max_inflight = o->checkout ? 1 : o->per_worker;
  po->restart = 0;
  if (o->nconnect) { /* size n: the first n targets (round robin past them) */
    po->argv = NULL;
    po->connect = (const char *const *)o->connect;
    po->nconnect = n < o->nconnect ? n : o->nconnect;
  }
}

/* One closed-loop run; its figures into slot rep of pt (rep >= 0). */
static int run_once(uv_loop_t *loop, wp_pool_t *p, const wb_load_t *l,
                    tune_point_t *pt, int rep) {
  wb_load_result_t r;
  int err = wb_run_closed(loop, p, l, &r);
  if (!err && r.failed) err = r.first_err;
  if (err && r.first_text[0]) fprintf(stderr, "\ntune: the worker said: %s\n", r.first_text);
  if (!err && rep >= 0) {
    pt->rps[rep] = r.rps;
    pt->p50_ms[rep] = (double)wb_hist_percentile(r.lat, 50) / 1e6;
    pt->p99_ms[rep] = (double)wb_hist_percentile(r.lat, 99) / 1e6;
  }
  wb_hist_free(r.lat);
  return err;
}

/* One repetition of one size: a fresh pool, its warm-up, one measured run. */
static int measure(const tune_opts_t *o, uv_loop_t *loop, tune_point_t *pt, int rep) {
  wp_options_t po;
  pool_options(o, pt->n, &po);
  wp_pool_t *p;
  wb_interrupt_doing("the sweep at size %d (no recommendation)", pt->n);
  int err = wb_pool_up(loop, &po, &p);
  if (err) return err;
  wb_load_t l = {.concurrency = pt->c, .duration_ns = o->warmup_ns,
                 .req = {.kind = WP_REQ_WORK, .cpu_us = o->cpu_us,
                         .sleep_us = o->sleep_us, .reply_bytes = o->reply_bytes}};
  if (o->call.method) {
    l.req = (wp_request_t){.kind = WP_REQ_CALL, .method = o->call.method};
    l.set = o->call.payloads.items;
    l.nset = o->call.payloads.n;
  }
  if (o->warmup_ns) err = run_once(loop, p, &l, pt, -1);
  l.duration_ns = o->duration_ns;
  l.warmup = (uint64_t)pt->c;
  if (!err) err = run_once(loop, p, &l, pt, rep);
  wb_pool_down(loop, p);
  return err;
}

static void summarise(const tune_opts_t *o, tune_point_t *pt) {
  size_t r = (size_t)o->reps;
  pt->rps_med = wb_stats_median(pt->rps, r);
  pt->p50_med = wb_stats_median(pt->p50_ms, r);
  pt->p99_med = wb_stats_median(pt->p99_ms, r);
  fprintf(stderr, "tune: n=%-3d c=%-4d %9.0f req/s  p50 %7.2f ms  p99 %7.2f ms\n",
          pt->n, pt->c, pt->rps_med, pt->p50_med, pt->p99_med);
}

/* One round: every size once, in order. Why rounds and not all the
 * repetitions of one size in a row: on a shared machine a burst of
 * someone else's work then costs one repetition of several sizes, which
 * the medians discard, instead of every repetition of one size, which
 * would bend the curve and move the recommendation. */
static int round_of(const tune_opts_t *o, uv_loop_t *loop, tune_point_t *pts, int rep) {
  int failed = 0;
  for (int i = 0; i < o->max_size; i++) {
    tune_point_t *pt = &pts[i];
    if (pt->err) continue;
    fprintf(stderr, "\rtune: round %d/%d, n=%d   ", rep + 1, o->reps, pt->n);
    pt->err = measure(o, loop, pt, rep);
    if (pt->err) {
      char stall[512]; /* a worker that stopped answering: which one */
      bool st = wb_stall_take(stall, sizeof stall);
      fprintf(stderr, "\rtune: n=%d failed: %s (%s)%s%s\n", pt->n, wp_strerror(pt->err),
              wp_errname(pt->err), st ? "; " : "", stall);
      failed++;
    }
  }
  return failed;
}

int tune_sweep(const tune_opts_t *o, tune_point_t *pts) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  int failed = 0;
  for (int i = 0; i < o->max_size; i++) {
    memset(&pts[i], 0, sizeof pts[i]);
    pts[i].n = i + 1;
    pts[i].c = pts[i].n * o->per_worker;
  }
  for (int rep = 0; rep < o->reps; rep++) failed += round_of(o, &loop, pts, rep);
  fprintf(stderr, "\r%40s\r", "");
  for (int i = 0; i < o->max_size; i++) {
    pts[i].ok = pts[i].err == 0;
    if (pts[i].ok) summarise(o, &pts[i]);
  }
  if (uv_loop_close(&loop) != 0) {
    fprintf(stderr, "tune: internal: handles left open on the loop\n");
    failed++;
  }
  return failed;
}
