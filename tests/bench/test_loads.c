/*
 * test_loads.c — the load shapes (bench/lib/drive/profile.h) and the
 * per-interval series (series.h) on real pools of the reference worker:
 *   - the series adds up: per-interval offered, ok and failed (by error
 *     name) sum to the run's totals, refusals (a full queue) included;
 *   - a 200 ms stall (every worker SIGSTOPped) inside a spike shows as a
 *     P99 jump in the intervals that cover it, and not before it;
 *   - stress on a worker with a known service time (sleep-based, so the
 *     other engineers' CPU load barely moves it) finds a breaking point
 *     within 15 % of N / service time;
 *   - a soak on a worker that leaks on purpose fails its RSS bound, and the
 *     same soak on the healthy method passes it.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "profile.h"
#include "testutil.h"

#define MS 1000000ull
#define SEC 1000000000ull

typedef struct fx {
  uv_loop_t loop;
  wp_pool_t *pool;
  char path[4096];
  char *argv[2];
  wp_options_t o;
} fx_t;

static void fx_options(fx_t *f, int n) {
  memset(f, 0, sizeof *f);
  assert_int_equal(uv_loop_init(&f->loop), 0);
  snprintf(f->path, sizeof f->path, "%s", tu_path("wpool-worker"));
  f->argv[0] = f->path;
  wp_options_init(&f->o);
  f->o.argv = f->argv;
  f->o.size = n;
  f->o.stop_grace_ns = 500 * MS;
}

static void fx_up(fx_t *f) { assert_int_equal(wb_pool_up(&f->loop, &f->o, &f->pool), 0); }

static void fx_down(fx_t *f) {
  wb_pool_down(&f->loop, f->pool);
  assert_int_equal(uv_loop_close(&f->loop), 0);
}

/* Sums of the series against the run's own totals. */
static void assert_adds_up(const wb_series_t *s, const wb_open_result_t *r) {
  wb_interval_t t;
  wb_series_sum(s, 0, s->n, &t);
  uint64_t by_name = 0;
  for (int e = 0; e < WB_SERIES_NERR; e++) by_name += t.err[e];
  print_message("series: %zu intervals, offered %llu ok %llu failed %llu; run: sent %llu "
                "unsent %llu ok %llu failed %llu\n", s->n, (unsigned long long)t.offered,
                (unsigned long long)t.ok, (unsigned long long)t.failed,
                (unsigned long long)r->sent, (unsigned long long)r->unsent,
                (unsigned long long)r->ok, (unsigned long long)r->failed);
  assert_int_equal(t.offered, r->sent + r->unsent);
  assert_int_equal(t.ok, r->ok);
  assert_int_equal(t.failed, r->failed);
  assert_int_equal(by_name, r->failed);
}

static void free_open(wb_open_result_t *r) {
  wb_hist_free(r->lat);
  wb_hist_free(r->lat_sent);
}

/* 1500 requests at 3000/s, a third of them a failing method: every one is
 * in exactly one interval, and the failures are named. */
static void series_adds_up(void **state) {
  (void)state;
  fx_t f;
  fx_options(&f, 2);
  fx_up(&f);
  wb_series_t s;
  assert_int_equal(wb_series_init(&s, wp_now_ns(), 0), 0);
  static uint8_t abc[] = "abc";
  wb_payload_t set[3] = {{abc, 1}, {abc + 1, 1}, {abc + 2, 1}};
  wb_open_t o = {.rate = 3000, .requests = 1500, .warmup = 100,
                 .req = {.kind = WP_REQ_PING}, .set = set, .nset = 3, .series = &s};
  wb_open_result_t r;
  assert_int_equal(wb_run_open(&f.loop, f.pool, &o, &r), 0);
  o.req = (wp_request_t){.kind = WP_REQ_CALL, .method = "fail"};
  o.requests = 500;
  wb_open_result_t r2;
  assert_int_equal(wb_run_open(&f.loop, f.pool, &o, &r2), 0);
  wb_series_finish(&s);
  r.sent += r2.sent, r.unsent += r2.unsent, r.ok += r2.ok, r.failed += r2.failed;
  assert_int_equal(r.ok, 1500);
  assert_int_equal(r.failed, 500);
  assert_adds_up(&s, &r);
  wb_interval_t t;
  wb_series_sum(&s, 0, s.n, &t);
  assert_int_equal(t.err[-WP_EREMOTE], 500);
  /* 0.67 s of schedule: about 7 intervals of 100 ms, not one. */
  assert_true(s.n >= 6);
  json_t *j = wb_series_json(&s);
  assert_non_null(j);
  assert_int_equal(json_array_size(json_object_get(j, "intervals")), s.n);
  json_decref(j);
  free_open(&r);
  free_open(&r2);
  wb_series_free(&s);
  fx_down(&f);
}

/* Stops every worker of a pool at one time and lets them go on at
 * another, from timers on the pool's loop (the run in progress runs it). */
typedef struct stall {
  uv_timer_t stop, cont;
  wp_pool_t *pool;
  int pids[8], n, closed;
  uint64_t stopped_at, resumed_at;
} stall_t;

static void on_stop(uv_timer_t *t) {
  stall_t *st = t->data;
  st->n = wp_pool_pids(st->pool, st->pids, 8);
  for (int i = 0; i < st->n; i++) kill(st->pids[i], SIGSTOP);
  st->stopped_at = wp_now_ns();
}

static void on_cont(uv_timer_t *t) {
  stall_t *st = t->data;
  for (int i = 0; i < st->n; i++) kill(st->pids[i], SIGCONT);
  st->resumed_at = wp_now_ns();
}

static void stall_at(stall_t *st, uv_loop_t *loop, wp_pool_t *p, uint64_t at_ms, uint64_t for_ms) {
  memset(st, 0, sizeof *st);
  st->pool = p;
  uv_update_time(loop); /* timers count from the loop's cached time */
  uv_timer_init(loop, &st->stop);
  uv_timer_init(loop, &st->cont);
  st->stop.data = st->cont.data = st;
  uv_timer_start(&st->stop, on_stop, at_ms, 0);
  uv_timer_start(&st->cont, on_cont, at_ms + for_ms, 0);
}

static void on_closed(uv_handle_t *h) { ((stall_t *)h->data)->closed++; }

static void stall_close(stall_t *st, uv_loop_t *loop) {
  uv_close((uv_handle_t *)&st->stop, on_closed);
  uv_close((uv_handle_t *)&st->cont, on_closed);
  while (st->closed < 2) uv_run(loop, UV_RUN_ONCE);
}

/* The one worker stopped for 150 ms and a queue limit of 20: requests
 * past it are refused (WP_EQUEUE_FULL), counted as failures, by name, and
 * the run goes on. */
static void refusals_are_counted(void **state) {
  (void)state;
  fx_t f;
  fx_options(&f, 1);
  f.o.queue_limit = 20;
  fx_up(&f);
  wb_series_t s;
  assert_int_equal(wb_series_init(&s, wp_now_ns(), 0), 0);
  wb_open_t o = {.rate = 1000, .requests = 300, .req = {.kind = WP_REQ_PING}, .series = &s,
                 .stall_ns = 5 * SEC};
  stall_t st;
  stall_at(&st, &f.loop, f.pool, 20, 150);
  wb_open_result_t r;
  assert_int_equal(wb_run_open(&f.loop, f.pool, &o, &r), 0);
  stall_close(&st, &f.loop);
  wb_series_finish(&s);
  print_message("refused %llu of %llu\n", (unsigned long long)r.failed, (unsigned long long)r.sent);
  assert_true(r.failed > 50);
  assert_int_equal(r.first_err, WP_EQUEUE_FULL);
  assert_adds_up(&s, &r);
  wb_interval_t sum;
  wb_series_sum(&s, 0, s.n, &sum);
  assert_int_equal(sum.err[-WP_EQUEUE_FULL], r.failed);
  assert_true(sum.queued_max >= 19);
  free_open(&r);
  wb_series_free(&s);
  fx_down(&f);
}

static int cmp_u64(const void *x, const void *y) {
  uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
  return a < b ? -1 : a > b;
}

/* A pool of 2 reference workers up, and a shape's quick defaults for a
 * request that sleeps sleep_us. */
static void shape_on(fx_t *f, wb_profile_t *p, wb_shape_t shape, uint32_t sleep_us) {
  fx_options(f, 2);
  fx_up(f);
  wb_profile_defaults(p, shape, true);
  p->req = (wp_request_t){.kind = WP_REQ_WORK, .sleep_us = sleep_us};
}

/* Thresholds of a shape from spec (which must parse). */
static void thresholds(wb_shape_t shape, const char *spec, wb_slo_t *out) {
  char why[256];
  size_t n;
  const wb_slo_metric_t *m = wb_shape_metrics(shape, &n);
  memset(out, 0, sizeof *out);
  assert_int_equal(wb_slo_parse(spec, m, n, out, why, sizeof why), 0);
}

/* A spike of 2 x 400/s on 2 workers of 1 ms (sleep) — no overload — with
 * every worker stopped for 200 ms, 0.5 s into the spike: the intervals
 * that cover the stall show a P99 near 200 ms, the typical window before
 * it does not. */
static void stall_in_spike_shows(void **state) {
  (void)state;
  fx_t f;
  wb_profile_t p;
  shape_on(&f, &p, WB_SPIKE, 1000);
  p.capacity = 2000;
  p.base_pct = 20;
  p.factor = 2;
  p.before_ns = SEC;
  p.spike_ns = 1500 * MS;
  p.after_ns = SEC;
  stall_t st;
  /* The spike starts ~0.2 s (warm-up) + 1 s into the run. */
  stall_at(&st, &f.loop, f.pool, 1700, 200);
  wb_profile_result_t r;
  assert_int_equal(wb_profile_run(&f.loop, f.pool, &p, &r), 0);
  stall_close(&st, &f.loop);
  const wb_series_t *s = &r.series;
  size_t a = wb_series_index(s, st.stopped_at), b = wb_series_index(s, st.resumed_at);
  wb_interval_t during;
  wb_series_sum(s, a, b + 2, &during);
  /* Before it, the typical window (the median: one hiccup of this shared
   * VM, 115 ms under make test beside a soak, is not the pool's). */
  uint64_t before[64];
  size_t nb = 0;
  for (size_t i = 0; i < a && nb < 64; i++)
    if (s->iv[i].ok) before[nb++] = s->iv[i].p99_ns;
  qsort(before, nb, sizeof before[0], cmp_u64);
  print_message("stall in intervals %zu..%zu of %zu: median p99 before %.1f ms, during %.1f ms; "
                "recovery %.1f s\n", a, b, s->n, nb ? before[nb / 2] / 1e6 : -1,
                during.p99_ns / 1e6, r.recovery_s);
  assert_true(st.resumed_at - st.stopped_at >= 190 * MS);
  assert_true(during.p99_ns >= 150 * MS);
  assert_true(nb >= 10);
  assert_true(before[nb / 2] < 30 * MS);
  assert_true(r.spike_p99_ms >= 150);
  wb_profile_result_free(&r);
  fx_down(&f);
}

/* 2 workers whose request sleeps 20 ms: capacity 100/s. Sleep, not
 * CPU, and 20 ms, not less: on this VM under the other engineers' load a
 * request's overhead (wake-ups, the pipe) reaches a millisecond or two,
 * 5-10 % of it. The objective is loose on purpose, P99 < 120 ms: hiccups
 * reach tens of ms at any rate (40 ms broke a 30 % step twice under make
 * check), while a step only 10 % over capacity queues 0.1 x 100/s x 1.5 s
 * = 15 requests, 150 ms, by its end. */
static void stress_finds_capacity(void **state) {
  (void)state;
  fx_t f;
  wb_profile_t p;
  shape_on(&f, &p, WB_STRESS, 20000);
  p.slots = 2;
  p.step_ns = 1500 * MS;
  wb_slo_t slo;
  thresholds(WB_STRESS, "p99<120ms,errors<1%", &slo);
  p.slo = &slo;
  wb_profile_result_t r;
  assert_int_equal(wb_profile_run(&f.loop, f.pool, &p, &r), 0);
  double analytic = 2 / 0.020;
  print_message("capacity %.0f/s, breaking point %.0f/s (analytic %.0f/s), %d steps\n",
                r.capacity, r.breaking_point, analytic, r.nsteps);
  assert_true(r.breaking_point >= 0.85 * analytic && r.breaking_point <= 1.15 * analytic);
  assert_false(r.steps[r.nsteps - 1].held);
  assert_true(wb_profile_value("breaking_point", &r) == r.breaking_point);
  wb_profile_result_free(&r);
  fx_down(&f);
}

/* A soak of 3 s at 200/s: the leak method keeps 64 KiB a call (~12 MiB/s
 * per pool), echo keeps nothing. Bound: 50 MiB/min of mean worker RSS. */
static int soak(const char *method, double *slope) {
  fx_t f;
  fx_options(&f, 2);
  f.o.max_requests = 100000; /* recycling on, as a soak runs, beyond reach */
  fx_up(&f);
  wb_profile_t p;
  wb_profile_defaults(&p, WB_SOAK, true);
  p.req = (wp_request_t){.kind = WP_REQ_CALL, .method = method};
  p.capacity = 400; /* given: a capacity loop would leak GiBs */
  p.duration_ns = 3 * SEC;
  p.sample_ns = 500 * MS;
  wb_profile_result_t r;
  assert_int_equal(wb_profile_run(&f.loop, f.pool, &p, &r), 0);
  wb_slo_t bound;
  thresholds(WB_SOAK, "worker_rss_slope<50MiB/min", &bound);
  int failed = wb_slo_eval(&bound, wb_profile_value, &r, NULL, NULL);
  *slope = r.worker_rss_slope;
  print_message("soak %s: %d samples, worker RSS slope %.1f MiB/min\n", method, r.nsamples, *slope);
  assert_true(r.nsamples >= 5);
  wb_profile_result_free(&r);
  fx_down(&f);
  return failed;
}

static void soak_catches_leak(void **state) {
  (void)state;
  double leak, echo;
  assert_int_equal(soak("leak", &leak), 1);
  assert_int_equal(soak("echo", &echo), 0);
  assert_true(leak > 200);
}

static void thresholds_parse(void **state) {
  (void)state;
  size_t n;
  const wb_slo_metric_t *m = wb_shape_metrics(WB_SOAK, &n);
  wb_slo_t s = {0};
  char why[512];
  assert_int_equal(wb_slo_parse("p99<5ms, errors<=1%,worker_rss_slope<1MiB/min,p50<300us", m, n, &s, why, sizeof why), 0);
  assert_int_equal(s.n, 4);
  assert_true(s.r[0].bound == 5 && s.r[0].op == '<');
  assert_true(s.r[1].bound == 1 && s.r[1].op == 'l');
  assert_true(s.r[3].bound > 0.299 && s.r[3].bound < 0.301);
  assert_true(wb_slo_pass(&s.r[0], 4.9) && !wb_slo_pass(&s.r[0], 5));
  assert_false(wb_slo_pass(&s.r[0], NAN));
  wb_slo_t bad = {0};
  assert_int_equal(wb_slo_parse("p99<5MiB", m, n, &bad, why, sizeof why), -1);
  assert_int_equal(wb_slo_parse("breaking_point>1", m, n, &bad, why, sizeof why), -1);
  assert_non_null(strstr(why, "unknown metric"));
  assert_int_equal(wb_slo_parse("worker_rss_slope<1MiB", m, n, &bad, why, sizeof why), -1);
  assert_int_equal(wb_slo_parse("p99=5", m, n, &bad, why, sizeof why), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(thresholds_parse),
      cmocka_unit_test(series_adds_up),
      cmocka_unit_test(refusals_are_counted),
      cmocka_unit_test(stall_in_spike_shows),
      cmocka_unit_test(stress_finds_capacity),
      cmocka_unit_test(soak_catches_leak),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
