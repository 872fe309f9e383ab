/*
 * test_recycle.c — replacing healthy workers: max_requests (+ jitter) and
 * max_rss_bytes, on both transports. What must hold: no request fails or
 * is lost because of a recycle, capacity does not dip (the replacement is
 * ready before the old worker stops taking work), and old workers are
 * gone (reaped) once retired.
 */
#include <signal.h>

#include "poolfx.h"

static const wp_request_t PING = {.kind = WP_REQ_PING, .payload = "r", .payload_len = 1};

/* Every worker pid the pool ever ran, sampled as we go. */
typedef struct pidset {
  int pids[4096];
  int n;
} pidset_t;

static void pidset_sample(pidset_t *ps, wp_pool_t *p) {
  int now[64];
  int k = wp_pool_pids(p, now, 64);
  for (int i = 0; i < k; i++) {
    int j = 0;
    while (j < ps->n && ps->pids[j] != now[i]) j++;
    if (j == ps->n && ps->n < 4096) ps->pids[ps->n++] = now[i];
  }
}

/* The old worker serves until its successor is ready, so it overshoots
 * its limit by what it is sent meanwhile: requests slower than a worker's
 * start (C pipe worker ≈ 1 ms, gRPC ≈ 5-15 ms) keep that to about one. */
static const wp_request_t SLOW = {.kind = WP_REQ_WORK, .sleep_us = 20000};

/* max_requests 5, no jitter, one worker, one request at a time: 60
 * requests need ~10 generations, all answered, none failed. */
static void max_requests_recycles(wp_transport_t tr) {
  fx_t f;
  fx_init(&f, 1);
  f.o.transport = tr;
  f.o.max_requests = 5;
  assert_int_equal(fx_start(&f), 0);
  fx_load_t l;
  fx_run_load(&f, &l, 60, 1, &SLOW, 30);
  assert_int_equal(l.failed, 0);
  wp_stats_t st;
  wp_pool_stats(f.pool, &st);
  /* At most one recycle per 5 requests; at least 4 (recycling goes on),
   * not ~10: a sanitized worker's start on a loaded host (~180 ms seen
   * under make check) spans several 20 ms requests, each of which the old
   * worker serves past its limit. */
  assert_true(st.recycles >= 4 && st.recycles <= 12);
  assert_int_equal(st.restarts, 0);
  assert_int_equal(st.errors, 0);
  wp_timeline_t tl;
  wp_pool_timeline(f.pool, 0, &tl);
  assert_int_equal((uint64_t)tl.generation, st.recycles + 1);
  fx_finish(&f);
}

static void max_requests_pipe(void **state) { (void)state; max_requests_recycles(WP_TRANSPORT_PIPE); }
static void max_requests_grpc(void **state) { (void)state; max_requests_recycles(WP_TRANSPORT_GRPC); }

/* Under pipelined load with a deep queue and jitter: nothing fails, every
 * callback runs once, and the retired workers are all gone. */
static void recycle_under_load(wp_transport_t tr) {
  fx_t f;
  fx_init(&f, 3);
  f.o.transport = tr;
  f.o.max_inflight = 4;
  f.o.max_requests = 50;
  f.o.max_requests_jitter = 20;
  assert_int_equal(fx_start(&f), 0);
  pidset_t *ps = calloc(1, sizeof *ps);
  enum { N = 3000 };
  fx_load_t l;
  memset(&l, 0, sizeof l);
  l.f = &f;
  l.total = N;
  l.conc = 40; /* 12 in flight, the rest queued */
  l.req = PING;
  l.seen = calloc(N, 1);
  fx_tok_t *toks = calloc(N, sizeof *toks);
  int min_ready = 3;
  uint64_t end = wp_now_ns() + 60 * S;
  while (l.done < N && wp_now_ns() < end) {
    fx_load_send(&l, toks);
    tu_run_for(&f.loop, 0.001);
    pidset_sample(ps, f.pool);
    int r = wp_pool_ready_count(f.pool);
    if (r < min_ready) min_ready = r;
  }
  tu_run_for(&f.loop, 0.05);
  assert_int_equal(l.done, N);
  assert_int_equal(l.dup, 0);
  assert_int_equal(l.failed, 0);
  assert_int_equal(min_ready, 3); /* capacity never dipped */
  wp_stats_t st;
  wp_pool_stats(f.pool, &st);
  assert_true(st.recycles >= 3); /* fast pings overshoot, see SLOW */
  assert_int_equal(st.restarts, 0);
  fx_finish(&f);
  for (int i = 0; i < ps->n; i++) assert_false(tu_alive(ps->pids[i]));
  free(ps);
  free(toks);
  free(l.seen);
}

static void recycle_load_pipe(void **state) { (void)state; recycle_under_load(WP_TRANSPORT_PIPE); }
static void recycle_load_grpc(void **state) { (void)state; recycle_under_load(WP_TRANSPORT_GRPC); }

/* Jitter: each generation's limit is max_requests + U(0, jitter); with
 * one request at a time the generation count shows the limits used. */
static void jitter_spreads_limits(void **state) {
  (void)state;
  fx_t f;
  fx_init(&f, 1);
  f.o.max_requests = 2;
  f.o.max_requests_jitter = 8;
  assert_int_equal(fx_start(&f), 0);
  fx_load_t l;
  fx_run_load(&f, &l, 120, 1, &SLOW, 30);
  assert_int_equal(l.failed, 0);
  wp_stats_t st;
  wp_pool_stats(f.pool, &st);
  /* Mean limit 6 (+~1 overshoot) → ~17 recycles; 40 without jitter. */
  assert_true(st.recycles >= 11 && st.recycles <= 28);
  fx_finish(&f);
}

/* max_rss_bytes: every worker is "too big" at 1 byte, so each check
 * recycles it; load keeps going without a failure. */
static void rss_limit_recycles(wp_transport_t tr) {
  fx_t f;
  fx_init(&f, 2);
  f.o.transport = tr;
  f.o.max_rss_bytes = 1;
  f.o.rss_check_interval_ns = 50 * MS;
  assert_int_equal(fx_start(&f), 0);
  wp_request_t req = {.kind = WP_REQ_WORK, .sleep_us = 1000};
  fx_load_t l;
  fx_run_load(&f, &l, 400, 4, &req, 30);
  assert_int_equal(l.failed, 0);
  wp_stats_t st;
  wp_pool_stats(f.pool, &st);
  assert_true(st.rss_recycles >= 2);
  /* A recycle asked while the slot's previous worker still drains starts
   * later: at the end some may still be waiting. */
  assert_true(st.recycles >= 2 && st.recycles <= st.rss_recycles);
  assert_int_equal(st.restarts, 0);
  fx_finish(&f);
}

static void rss_pipe(void **state) { (void)state; rss_limit_recycles(WP_TRANSPORT_PIPE); }
static void rss_grpc(void **state) { (void)state; rss_limit_recycles(WP_TRANSPORT_GRPC); }

/* A large limit is never reached: no recycling. */
static void rss_under_limit(void **state) {
  (void)state;
  fx_t f;
  fx_init(&f, 1);
  f.o.max_rss_bytes = 1ull << 40;
  f.o.rss_check_interval_ns = 20 * MS;
  assert_int_equal(fx_start(&f), 0);
  tu_run_for(&f.loop, 0.2);
  wp_stats_t st;
  wp_pool_stats(f.pool, &st);
  assert_int_equal(st.recycles, 0);
  fx_finish(&f);
}

/* The current worker is killed while its successor starts: the successor
 * takes over, nothing is restarted twice, load goes on. */
static void killed_during_recycle(void **state) {
  (void)state;
  fx_t f;
  fx_init(&f, 1);
  f.o.max_requests = 3;
  assert_int_equal(fx_start(&f), 0);
  fx_load_t l;
  fx_run_load(&f, &l, 3, 1, &PING, 10); /* limit reached: successor starting */
  wp_pool_signal(f.pool, 0, SIGKILL);
  tu_run_for(&f.loop, 0.05); /* its death is seen before the next request */
  fx_run_load(&f, &l, 100, 1, &PING, 10);
  assert_int_equal(l.failed, 0);
  assert_true(fx_wait_gen(&f, 0, 2, 5));
  assert_int_equal(wp_pool_ready_count(f.pool), 1);
  fx_finish(&f);
}

/* Stopping while a retiring worker still drains: stop completes, every
 * request is answered. */
static void stop_while_retiring(void **state) {
  (void)state;
  fx_t f;
  fx_init(&f, 1);
  f.o.max_requests = 2;
  f.o.max_inflight = 4;
  assert_int_equal(fx_start(&f), 0);
  outcome_t o[4] = {{0}};
  for (int i = 0; i < 4; i++) {
    wp_request_t req = {.kind = WP_REQ_WORK, .sleep_us = 100000, .reply_bytes = 1};
    assert_int_equal(wp_pool_call(f.pool, &req, on_reply, &o[i]), 0);
  }
  tu_run_for(&f.loop, 0.05);
  fx_finish(&f);
  for (int i = 0; i < 4; i++) {
    assert_int_equal(o[i].calls, 1);
    assert_int_equal(o[i].err, 0);
  }
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(max_requests_pipe),
      cmocka_unit_test(max_requests_grpc),
      cmocka_unit_test(recycle_load_pipe),
      cmocka_unit_test(recycle_load_grpc),
      cmocka_unit_test(jitter_spreads_limits),
      cmocka_unit_test(rss_pipe),
      cmocka_unit_test(rss_grpc),
      cmocka_unit_test(rss_under_limit),
      cmocka_unit_test(killed_during_recycle),
      cmocka_unit_test(stop_while_retiring),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
