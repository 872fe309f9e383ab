/*
 * test_retry.c — edges of the call and stop paths:
 * - an idempotent call whose worker dies is retried once on another worker
 *   at once, on both transports: it must not wait for an unrelated event
 *   (restarts are off here, so nothing else would come);
 * - a stop issued during start whose start callback stops again: the
 *   first stop callback runs, once.
 */
#include <signal.h>

#include "poolfx.h"

static void retry_on_other_worker(wp_transport_t t) {
  fx_t f;
  fx_init(&f, 2);
  f.o.transport = t;
  f.o.restart = 0;
  f.o.start_timeout_ns = 20 * S;
  assert_int_equal(fx_start(&f), 0);
  outcome_t c = {0};
  wp_request_t req = {.kind = WP_REQ_WORK, .sleep_us = 300000, .idempotent = 1};
  assert_int_equal(wp_pool_call(f.pool, &req, on_reply, &c), 0);
  tu_run_for(&f.loop, 0.05); /* on a worker now */
  wp_timeline_t tl0;
  wp_pool_timeline(f.pool, 0, &tl0);
  kill(tl0.pid, SIGKILL); /* slot 0 got it: the first free slot */
  uint64_t end = wp_now_ns() + 5 * S;
  while (c.calls == 0 && wp_now_ns() < end) tu_run_for(&f.loop, 0.01);
  assert_int_equal(c.calls, 1);
  assert_int_equal(c.err, 0);
  assert_int_equal(c.slot, 1);
  fx_finish(&f);
}

static void pipe_retry(void **state) { (void)state; retry_on_other_worker(WP_TRANSPORT_PIPE); }
static void grpc_retry(void **state) { (void)state; retry_on_other_worker(WP_TRANSPORT_GRPC); }

typedef struct nested {
  int start_calls, outer_stops, inner_stops;
  int start_err;
} nested_t;

static void outer_stopped(wp_pool_t *p, void *arg) {
  (void)p;
  ((nested_t *)arg)->outer_stops++;
}
static void inner_stopped(wp_pool_t *p, void *arg) {
  (void)p;
  ((nested_t *)arg)->inner_stops++;
}
static void start_then_stop(wp_pool_t *p, int err, void *arg) {
  nested_t *n = arg;
  n->start_calls++;
  n->start_err = err;
  wp_pool_stop(p, inner_stopped, n); /* "stop on failure" */
}

static void nested_stop_during_start(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  wp_options_t o;
  wp_options_init(&o);
  o.size = 2;
  o.mode = WP_MODE_SEQUENTIAL;
  wp_pool_t *p;
  nested_t n = {0};
  assert_int_equal(wp_pool_new(&loop, &o, &p), 0);
  assert_int_equal(wp_pool_start(p, start_then_stop, &n), 0);
  wp_pool_stop(p, outer_stopped, &n); /* before any Hello arrived */
  uint64_t end = wp_now_ns() + 10000000000ull;
  while (n.outer_stops == 0 && wp_now_ns() < end) tu_run_for(&loop, 0.01);
  assert_int_equal(n.start_calls, 1);
  assert_int_equal(n.start_err, WP_ESTOPPED);
  assert_int_equal(n.outer_stops, 1);
  assert_int_equal(n.inner_stops, 0);
  wp_pool_free(p);
  assert_int_equal(uv_loop_close(&loop), 0);
  assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(pipe_retry),
      cmocka_unit_test(grpc_retry),
      cmocka_unit_test(nested_stop_during_start),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
