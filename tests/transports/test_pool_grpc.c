/*
 * test_pool_grpc.c — the supervisor over gRPC, end to end: the C gRPC
 * worker in both start modes and over TCP, 10,000 pings with 50 in flight,
 * a worker SIGKILLed mid-call, stop answering in-flight calls, a Work
 * whose deadline passed stopping in the worker, and the
 * Python SDK worker on both transports (skipped under the sanitized build,
 * where the interpreter is not what is under test).
 */
#include <signal.h>

#include "poolfx.h"

/* The shared fixture, over gRPC with a stop grace long enough for
 * in-flight calls to finish. */
static void fx_grpc(fx_t *f, int size) {
  fx_init(f, size);
  f->o.transport = WP_TRANSPORT_GRPC;
  f->o.stop_grace_ns = 2 * S;
  f->o.start_timeout_ns = 20 * S;
}

static void wait_all(fx_t *f, outcome_t *o, int n, double seconds) {
  uint64_t end = wp_now_ns() + (uint64_t)(seconds * 1e9);
  for (;;) {
    int done = 0;
    for (int i = 0; i < n; i++) done += o[i].calls > 0;
    if (done == n || wp_now_ns() > end) break;
    tu_run_for(&f->loop, 0.01);
  }
  for (int i = 0; i < n; i++) assert_int_equal(o[i].calls, 1);
}

static void ping_all(fx_t *f) {
  outcome_t o[8] = {{0}};
  wp_request_t req = {.kind = WP_REQ_PING, .payload = "grpc", .payload_len = 4};
  for (int i = 0; i < f->o.size; i++)
    assert_int_equal(wp_pool_call(f->pool, &req, on_reply, &o[i]), 0);
  wait_all(f, o, f->o.size, 10);
  for (int i = 0; i < f->o.size; i++) {
    assert_int_equal(o[i].err, 0);
    assert_string_equal(o[i].payload, "grpc");
  }
}

static void lifecycle(wp_mode_t mode, int tcp) {
  fx_t f;
  fx_grpc(&f, 4);
  f.o.mode = mode;
  f.o.grpc_tcp = tcp;
  assert_int_equal(fx_start(&f), 0);
  for (int i = 0; i < 4; i++) {
    wp_timeline_t tl;
    wp_pool_timeline(f.pool, i, &tl);
    /* gRPC: ready is the channel READY after the Hello. */
    assert_true(tl.started <= tl.hello && tl.hello <= tl.ready);
  }
  ping_all(&f);
  fx_finish(&f);
}

static void concurrent_unix(void **state) { (void)state; lifecycle(WP_MODE_CONCURRENT, 0); }
static void sequential_unix(void **state) { (void)state; lifecycle(WP_MODE_SEQUENTIAL, 0); }
static void concurrent_tcp(void **state) { (void)state; lifecycle(WP_MODE_CONCURRENT, 1); }

/* 10,000 pings, 50 in flight: every callback exactly once. */
static void pings_10k(void **state) {
  (void)state;
  fx_t f;
  fx_grpc(&f, 2);
  f.o.max_inflight = 25;
  assert_int_equal(fx_start(&f), 0);
  fx_load_t l;
  wp_request_t req = {.kind = WP_REQ_PING, .payload = "g", .payload_len = 1};
  fx_run_load(&f, &l, 10000, 50, &req, 60);
  assert_int_equal(l.ok, 10000);
  assert_int_equal(l.failed, 0);
  fx_finish(&f);
}

/* A worker SIGKILLed mid-call: the caller gets a named error, no hang. */
static void sigkill_mid_call(void **state) {
  (void)state;
  fx_t f;
  fx_grpc(&f, 1);
  f.o.restart = 0;
  assert_int_equal(fx_start(&f), 0);
  outcome_t o = {0};
  wp_request_t req = {.kind = WP_REQ_WORK, .sleep_us = 2000000};
  assert_int_equal(wp_pool_call(f.pool, &req, on_reply, &o), 0);
  tu_run_for(&f.loop, 0.05); /* the call is on the worker */
  int pid;
  assert_int_equal(wp_pool_pids(f.pool, &pid, 1), 1);
  kill(pid, SIGKILL);
  wait_all(&f, &o, 1, 5);
  assert_true(o.err == WP_EWORKER_EXITED || o.err == WP_ETRANSPORT);
  fx_finish(&f);
}

/* Stop lets calls already on a worker finish within the grace period. */
static void stop_answers_inflight(void **state) {
  (void)state;
  fx_t f;
  fx_grpc(&f, 2);
  assert_int_equal(fx_start(&f), 0);
  outcome_t o[2] = {{0}};
  wp_request_t req = {.kind = WP_REQ_WORK, .sleep_us = 100000, .reply_bytes = 5};
  for (int i = 0; i < 2; i++) assert_int_equal(wp_pool_call(f.pool, &req, on_reply, &o[i]), 0);
  tu_run_for(&f.loop, 0.03);
  fx_finish(&f);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(o[i].calls, 1);
    assert_int_equal(o[i].err, 0);
    assert_string_equal(o[i].payload, "wwwww");
  }
}

/* A Work whose deadline passed stops in the worker (kill_on_timeout off,
 * so the same worker stays): the next call is answered long before the
 * abandoned Work would have ended, instead of waiting behind it. The
 * bound is a ratio of the Work's own length, not an absolute time. */
static void abandoned_work(uint32_t cpu_us, uint32_t sleep_us) {
  fx_t f;
  fx_grpc(&f, 1);
  f.o.kill_on_timeout = 0;
  assert_int_equal(fx_start(&f), 0);
  outcome_t work = {0}, ping = {0};
  wp_request_t req = {.kind = WP_REQ_WORK, .cpu_us = cpu_us, .sleep_us = sleep_us,
                      .timeout_ns = 100 * MS};
  uint64_t t0 = wp_now_ns();
  assert_int_equal(wp_pool_call(f.pool, &req, on_reply, &work), 0);
  wait_all(&f, &work, 1, 10);
  assert_int_equal(work.err, WP_ETIMEDOUT);
  assert_int_equal(call_ping(&f, "next", &ping, 0, 0), 0);
  wait_all(&f, &ping, 1, 10);
  double took = (double)(wp_now_ns() - t0) / 1e9, work_s = (cpu_us + sleep_us) / 1e6;
  print_message("Work %.1f s, deadline 0.1 s: the next ping answered after %.3f s "
                "(%.2f of the Work)\n", work_s, took, took / work_s);
  assert_int_equal(ping.err, 0);
  assert_string_equal(ping.payload, "next");
  assert_true(took < 0.5 * work_s);
  wp_timeline_t tl;
  wp_pool_timeline(f.pool, 0, &tl);
  assert_int_equal(tl.generation, 1); /* the same worker answered */
  fx_finish(&f);
}

static void abandoned_sleep_stops(void **state) { (void)state; abandoned_work(0, 1000000); }
static void abandoned_burn_stops(void **state) { (void)state; abandoned_work(600000, 0); }

/* The Python SDK's example worker through the pool, on both transports. */
static void python_worker(wp_transport_t t) {
  if (getenv("WPOOL_SANITIZED")) {
    skip();
  }
  fx_t f;
  fx_grpc(&f, 2);
  f.o.transport = t;
  char *argv[] = {"/usr/bin/python3", "worker/python/example_worker.py", NULL};
  f.o.argv = argv;
  assert_int_equal(fx_start(&f), 0);
  outcome_t o[2] = {{0}};
  wp_request_t req = {.kind = WP_REQ_PING, .payload = "upper:py", .payload_len = 8};
  for (int i = 0; i < 2; i++) assert_int_equal(wp_pool_call(f.pool, &req, on_reply, &o[i]), 0);
  wait_all(&f, o, 2, 10);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(o[i].err, 0);
    assert_string_equal(o[i].payload, "PY"); /* prefix dropped, rest upper-cased */
  }
  fx_finish(&f);
}

static void python_pipe(void **state) { (void)state; python_worker(WP_TRANSPORT_PIPE); }
static void python_grpc(void **state) { (void)state; python_worker(WP_TRANSPORT_GRPC); }

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(concurrent_unix),
      cmocka_unit_test(sequential_unix),
      cmocka_unit_test(concurrent_tcp),
      cmocka_unit_test(pings_10k),
      cmocka_unit_test(sigkill_mid_call),
      cmocka_unit_test(stop_answers_inflight),
      cmocka_unit_test(abandoned_sleep_stops),
      cmocka_unit_test(abandoned_burn_stops),
      cmocka_unit_test(python_pipe),
      cmocka_unit_test(python_grpc),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
