/*
 * test_stall.c — the stall guard of the measuring loops (bench/lib/drive/
 * stall.h): with no request timeout, a worker that takes requests and never
 * answers ends a closed or an open loop with WP_ETIMEDOUT, naming its slot
 * and pid, instead of hanging bench/baseline, bench/tune or wpool ping; a
 * worker that is slow but answers never trips it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "load.h"
#include "stall.h"
#include "testutil.h"

#define MS (1000000ull)

typedef struct fx {
  uv_loop_t loop;
  wp_pool_t *pool;
  char path[4096];
  char *argv[3];
  int pid;
} fx_t;

/* A pool of one worker: bad_worker MODE, or the C worker (mode NULL). */
static void fx_up(fx_t *f, const char *mode) {
  memset(f, 0, sizeof *f);
  assert_int_equal(uv_loop_init(&f->loop), 0);
  snprintf(f->path, sizeof f->path, "%s", tu_path(mode ? "tests/bad_worker" : "wpool-worker"));
  f->argv[0] = f->path;
  f->argv[1] = (char *)mode;
  wp_options_t o;
  wp_options_init(&o);
  o.argv = f->argv;
  o.stop_grace_ns = 300 * MS;
  assert_int_equal(wb_pool_up(&f->loop, &o, &f->pool), 0);
  wp_timeline_t tl;
  wp_pool_timeline(f->pool, 0, &tl);
  f->pid = tl.pid;
}

static void fx_down(fx_t *f) {
  wb_pool_down(&f->loop, f->pool);
  assert_int_equal(uv_loop_close(&f->loop), 0);
}

/* The stall names the worker; the requests left behind are the pool's
 * stop's to end (their callbacks free the loop's state: ASan checks). */
static void assert_named(fx_t *f, const wb_stall_t *s, uint64_t bound, uint64_t unanswered) {
  char line[256];
  wb_stall_describe(s, line, sizeof line);
  print_message("%s\n", line);
  assert_int_equal(s->workers, 1);
  assert_int_equal(s->slot, 0);
  assert_int_equal(s->pid, f->pid);
  assert_int_equal(s->held, 1);
  assert_int_equal(s->bound_ns, bound);
  assert_int_equal(s->unanswered, unanswered);
  fx_down(f);
  assert_false(tu_alive(f->pid));
}

/* The default bound: 2 s when nothing has been answered yet. */
static void closed_loop_ends_on_a_silent_worker(void **state) {
  (void)state;
  fx_t f;
  fx_up(&f, "hang");
  wb_load_t l = {.concurrency = 1, .requests = 10,
                 .req = {.kind = WP_REQ_PING, .payload = "x", .payload_len = 1}};
  wb_load_result_t r;
  uint64_t t0 = wp_now_ns();
  assert_int_equal(wb_run_closed(&f.loop, f.pool, &l, &r), WP_ETIMEDOUT);
  assert_true(wp_now_ns() - t0 >= 2000 * MS);
  assert_int_equal(r.ok + r.failed, 0);
  wb_hist_free(r.lat);
  /* The stall is kept for a caller that reports the code only, once. */
  char line[256], want[256];
  wb_stall_describe(&r.stall, want, sizeof want);
  assert_true(wb_stall_take(line, sizeof line));
  assert_string_equal(line, want);
  assert_false(wb_stall_take(line, sizeof line));
  assert_string_equal(line, "");
  assert_named(&f, &r.stall, 2000 * MS, 1);
}

static void open_loop_ends_on_a_silent_worker(void **state) {
  (void)state;
  fx_t f;
  fx_up(&f, "hang");
  wb_open_t o = {.rate = 100, .requests = 1000, .stall_ns = 300 * MS,
                 .req = {.kind = WP_REQ_PING, .payload = "x", .payload_len = 1}};
  wb_open_result_t r;
  assert_int_equal(wb_run_open(&f.loop, f.pool, &o, &r), WP_ETIMEDOUT);
  /* At 100/s, ~30-40 were sent in the 0.3-0.4 s before the guard saw it:
   * one on the worker, the rest queued behind it; none answered. */
  assert_true(r.sent > 1 && r.sent < 1000);
  assert_int_equal(r.ok + r.failed, 0);
  wb_hist_free(r.lat);
  wb_hist_free(r.lat_sent);
  assert_named(&f, &r.stall, 300 * MS, r.sent);
}

/* 2.5 s of work per request is slow, not stalled: the bound scales with
 * the request's own work (50 x 2.5 s, not the 2 s floor). */
static void slow_worker_is_not_a_stall(void **state) {
  (void)state;
  fx_t f;
  fx_up(&f, NULL);
  wb_load_t l = {.concurrency = 1, .requests = 1,
                 .req = {.kind = WP_REQ_WORK, .sleep_us = 2500000}};
  wb_load_result_t r;
  assert_int_equal(wb_run_closed(&f.loop, f.pool, &l, &r), 0);
  assert_int_equal(r.ok, 1);
  assert_int_equal(r.stall.workers, 0);
  char line[64];
  assert_false(wb_stall_take(line, sizeof line));
  wb_hist_free(r.lat);
  fx_down(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(closed_loop_ends_on_a_silent_worker),
      cmocka_unit_test(open_loop_ends_on_a_silent_worker),
      cmocka_unit_test(slow_worker_is_not_a_stall),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
