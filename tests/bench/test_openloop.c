/*
 * test_openloop.c — the open loop (wb_run_open) against the closed loop
 * (wb_run_closed) on a worker that stalls 100 ms once
 * (tests/helpers/stall_worker.c): the closed loop's P99.9 hides the stall
 * (coordinated omission: while the worker stalls nothing else is sent, so
 * it is one slow sample among thousands), the open loop's shows it (every
 * request due during the stall waits, and is timed from when it was due).
 * Also: the outstanding cap delays and counts requests without hiding the
 * stall, and the achieved rate matches the target.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "load.h"
#include "testutil.h"

#define MS (1000000ull)
#define STALL_MS 100
#define STALL_AT "500"
#define STALL_MS_ARG "100"

typedef struct fx {
  uv_loop_t loop;
  wp_pool_t *pool;
  char path[4096];
  char *argv[4];
} fx_t;

/* A pool of one helper worker: PROG A1 A2. */
static void fx_up_with(fx_t *f, const char *prog, const char *a1, const char *a2) {
  memset(f, 0, sizeof *f);
  assert_int_equal(uv_loop_init(&f->loop), 0);
  snprintf(f->path, sizeof f->path, "%s", tu_path(prog));
  f->argv[0] = f->path;
  f->argv[1] = (char *)a1;
  f->argv[2] = (char *)a2;
  wp_options_t o;
  wp_options_init(&o);
  o.argv = f->argv;
  o.stop_grace_ns = 500 * MS;
  assert_int_equal(wb_pool_up(&f->loop, &o, &f->pool), 0);
}

/* A pool of one stall_worker that stalls STALL_MS on request STALL_AT. */
static void fx_up(fx_t *f) { fx_up_with(f, "tests/stall_worker", STALL_AT, STALL_MS_ARG); }

static void fx_down(fx_t *f) {
  wb_pool_down(&f->loop, f->pool);
  assert_int_equal(uv_loop_close(&f->loop), 0);
}

static double p999_ms(const wb_hist_t *h) { return wb_hist_percentile(h, 99.9) / 1e6; }

static void closed_loop_hides_stall(void **state) {
  (void)state;
  fx_t f;
  fx_up(&f);
  wb_load_t l = {.concurrency = 1, .requests = 3000,
                 .req = {.kind = WP_REQ_PING, .payload = "x", .payload_len = 1}};
  wb_load_result_t r;
  assert_int_equal(wb_run_closed(&f.loop, f.pool, &l, &r), 0);
  print_message("closed loop: p99.9 %.2f ms, max %.2f ms over %llu requests\n",
                p999_ms(r.lat), wb_hist_max(r.lat) / 1e6, (unsigned long long)r.ok);
  assert_int_equal(r.ok, 3000);
  assert_true(wb_hist_max(r.lat) >= STALL_MS * MS);  /* the stall happened */
  assert_true(p999_ms(r.lat) < STALL_MS / 2.0);       /* ...and P99.9 hides it */
  wb_hist_free(r.lat);
  fx_down(&f);
}

/* 2000 requests at 1000/s: ~100 of them are due during the stall. */
static void run_open(uint64_t cap, wb_open_result_t *r) {
  fx_t f;
  fx_up(&f);
  wb_open_t o = {.rate = 1000, .requests = 2000, .max_outstanding = cap,
                 .req = {.kind = WP_REQ_PING, .payload = "x", .payload_len = 1}};
  assert_int_equal(wb_run_open(&f.loop, f.pool, &o, r), 0);
  print_message("open loop (cap %llu): p99.9 %.2f ms, max %.2f ms, achieved %.0f/s, "
                "overflow %llu, unsent %llu, failed %llu\n", (unsigned long long)cap,
                p999_ms(r->lat), wb_hist_max(r->lat) / 1e6, r->achieved_rps,
                (unsigned long long)r->overflow, (unsigned long long)r->unsent,
                (unsigned long long)r->failed);
  fx_down(&f);
}

static void open_loop_shows_stall(void **state) {
  (void)state;
  wb_open_result_t r;
  run_open(0, &r);
  assert_int_equal(r.ok, 2000);
  assert_int_equal(r.unsent, 0);
  assert_int_equal(r.overflow, 0);
  assert_true(p999_ms(r.lat) >= STALL_MS * 0.8);
  /* Achieved matches the target: the schedule was kept, not stretched. */
  assert_true(r.achieved_rps > 900 && r.achieved_rps < 1050);
  wb_hist_free(r.lat);
  wb_hist_free(r.lat_sent);
}

/* With one request outstanding at most, the requests due during the stall
 * wait for the cap (overflow), yet their latency still counts from when
 * they were due: the cap never hides the stall. */
static void cap_counts_overflow_without_hiding(void **state) {
  (void)state;
  wb_open_result_t r;
  run_open(1, &r);
  assert_int_equal(r.ok, 2000);
  assert_true(r.overflow >= 50);
  assert_true(p999_ms(r.lat) >= STALL_MS * 0.8);
  /* Measured from the actual send, it would look like one slow request. */
  assert_true(p999_ms(r.lat_sent) < STALL_MS / 2.0);
  wb_hist_free(r.lat);
  wb_hist_free(r.lat_sent);
}

/* A worker slower than the rate (2 ms a reply, 1000/s asked) behind a cap
 * of 1: the backlog only grows, so at the schedule's end ~half the
 * requests are still held back. A run of a count sends them all, late, and
 * times them from when they were due (they were given up before: what a
 * loaded machine did to cap_counts_overflow_without_hiding); a run of a
 * duration gives them up and says how many. */
static void held_back_at_the_end(void **state) {
  (void)state;
  for (int by_count = 1; by_count >= 0; by_count--) {
    fx_t f;
    fx_up_with(&f, "tests/bad_worker", "slow", "2");
    wb_open_t o = {.rate = 1000, .max_outstanding = 1,
                   .req = {.kind = WP_REQ_PING, .payload = "x", .payload_len = 1}};
    if (by_count) o.requests = 200;
    else o.duration_ns = 200 * MS;
    wb_open_result_t r;
    assert_int_equal(wb_run_open(&f.loop, f.pool, &o, &r), 0);
    print_message("%s: ok %llu, overflow %llu, unsent %llu, max %.1f ms\n",
                  by_count ? "count" : "duration", (unsigned long long)r.ok,
                  (unsigned long long)r.overflow, (unsigned long long)r.unsent,
                  wb_hist_max(r.lat) / 1e6);
    assert_true(r.overflow >= 50);
    if (by_count) {
      assert_int_equal(r.ok, 200);
      assert_int_equal(r.unsent, 0);
      /* the last was due at 199 ms and answered after ~200 x 2 ms */
      assert_true(wb_hist_max(r.lat) >= 150 * MS);
    } else {
      assert_true(r.unsent >= 50);
      assert_int_equal(r.ok + r.unsent, 200);
    }
    wb_hist_free(r.lat);
    wb_hist_free(r.lat_sent);
    fx_down(&f);
  }
}

static void rejects_bad_rate(void **state) {
  (void)state;
  wb_open_t o = {.rate = 0, .requests = 10};
  wb_open_result_t r;
  assert_int_equal(wb_run_open(NULL, NULL, &o, &r), WP_EINVAL);
  o.rate = 100;
  o.requests = 0;
  assert_int_equal(wb_run_open(NULL, NULL, &o, &r), WP_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(closed_loop_hides_stall),
      cmocka_unit_test(open_loop_shows_stall),
      cmocka_unit_test(cap_counts_overflow_without_hiding),
      cmocka_unit_test(held_back_at_the_end),
      cmocka_unit_test(rejects_bad_rate),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
