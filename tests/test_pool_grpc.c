/*
 * test_pool_grpc.c — the supervisor over gRPC, end to end: the C gRPC
 * worker in both start modes and over TCP, 10,000 pings with 50 in flight,
 * a worker SIGKILLed mid-call, stop answering in-flight calls, and the
 * Python SDK worker on both transports (skipped under the sanitized build,
 * where the interpreter is not what is under test).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "testutil.h"

#define S (1000000000ull)
#define MS (1000000ull)

typedef struct fx {
  uv_loop_t loop;
  wp_pool_t *pool;
  wp_options_t o;
  bool started, stopped;
  int start_err;
} fx_t;

static void fx_init(fx_t *f, int size) {
  memset(f, 0, sizeof *f);
  assert_int_equal(uv_loop_init(&f->loop), 0);
  wp_options_init(&f->o);
  f->o.size = size;
  f->o.transport = WP_TRANSPORT_GRPC;
  f->o.stop_grace_ns = 2 * S;
}

static void on_started(wp_pool_t *p, int err, void *arg) {
  (void)p;
  fx_t *f = arg;
  f->started = true;
  f->start_err = err;
}

static void on_stopped(wp_pool_t *p, void *arg) {
  (void)p;
  ((fx_t *)arg)->stopped = true;
}

static int fx_start(fx_t *f) {
  assert_int_equal(wp_pool_new(&f->loop, &f->o, &f->pool), 0);
  assert_int_equal(wp_pool_start(f->pool, on_started, f), 0);
  assert_true(tu_run_until(&f->loop, &f->started, 20));
  return f->start_err;
}

static void fx_finish(fx_t *f) {
  wp_pool_stop(f->pool, on_stopped, f);
  assert_true(tu_run_until(&f->loop, &f->stopped, 15));
  wp_pool_free(f->pool);
  assert_int_equal(uv_loop_close(&f->loop), 0);
  assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
}

typedef struct outcome {
  int calls, err;
  size_t len;
  char payload[64];
} outcome_t;

static void on_reply(wp_pool_t *p, int err, const wp_reply_t *r, void *arg) {
  (void)p;
  outcome_t *o = arg;
  o->calls++;
  o->err = err;
  if (!err) {
    o->len = r->payload_len;
    size_t n = r->payload_len < sizeof o->payload - 1 ? r->payload_len : sizeof o->payload - 1;
    memcpy(o->payload, r->payload, n);
    o->payload[n] = '\0';
  }
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
  fx_init(&f, 4);
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

/* 10,000 pings, 50 in flight: every callback exactly once, payload back. */
typedef struct many {
  int done, errors, bad;
  unsigned char *calls;
} many_t;

typedef struct tok {
  many_t *m;
  int idx;
  char payload[16];
} tok_t;

static void on_many(wp_pool_t *p, int err, const wp_reply_t *r, void *arg) {
  (void)p;
  tok_t *t = arg;
  t->m->calls[t->idx]++;
  t->m->done++;
  if (err) t->m->errors++;
  else if (r->payload_len != strlen(t->payload) || memcmp(r->payload, t->payload, r->payload_len))
    t->m->bad++;
}

static void pings_10k(void **state) {
  (void)state;
  enum { N = 10000, INFLIGHT = 50 };
  fx_t f;
  fx_init(&f, 2);
  f.o.max_inflight = INFLIGHT / 2;
  assert_int_equal(fx_start(&f), 0);
  many_t m = {.calls = calloc(N, 1)};
  tok_t *toks = calloc(N, sizeof *toks);
  int sent = 0;
  uint64_t end = wp_now_ns() + 60 * S;
  while (m.done < N && wp_now_ns() < end) {
    while (sent < N && sent - m.done < INFLIGHT) {
      tok_t *t = &toks[sent];
      t->m = &m;
      t->idx = sent;
      snprintf(t->payload, sizeof t->payload, "g-%d", sent);
      wp_request_t req = {.kind = WP_REQ_PING, .payload = t->payload,
                          .payload_len = strlen(t->payload)};
      assert_int_equal(wp_pool_call(f.pool, &req, on_many, t), 0);
      sent++;
    }
    uv_run(&f.loop, UV_RUN_ONCE);
  }
  assert_int_equal(m.done, N);
  assert_int_equal(m.errors, 0);
  assert_int_equal(m.bad, 0);
  for (int i = 0; i < N; i++) assert_int_equal(m.calls[i], 1);
  fx_finish(&f);
  free(m.calls);
  free(toks);
}

/* A worker SIGKILLed mid-call: the caller gets a named error, no hang. */
static void sigkill_mid_call(void **state) {
  (void)state;
  fx_t f;
  fx_init(&f, 1);
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
  fx_init(&f, 2);
  assert_int_equal(fx_start(&f), 0);
  outcome_t o[2] = {{0}};
  wp_request_t req = {.kind = WP_REQ_WORK, .sleep_us = 100000, .reply_bytes = 5};
  for (int i = 0; i < 2; i++) assert_int_equal(wp_pool_call(f.pool, &req, on_reply, &o[i]), 0);
  tu_run_for(&f.loop, 0.03);
  fx_finish(&f);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(o[i].calls, 1);
    assert_int_equal(o[i].err, 0);
    assert_int_equal(o[i].len, 5);
  }
}

/* The Python SDK's example worker through the pool, on both transports. */
static void python_worker(wp_transport_t t) {
  if (getenv("WPOOL_SANITIZED")) {
    skip();
  }
  fx_t f;
  fx_init(&f, 2);
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
      cmocka_unit_test(python_pipe),
      cmocka_unit_test(python_grpc),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
