/*
 * test_calls.c — application calls (WP_REQ_CALL) end to end, on both
 * transports, through the C reference worker (build/wpool-worker, on the
 * SDK wpw.h) and its Python twin (tests/helpers/py_knobs_worker.py, on
 * worker/python's Worker): a method's answer with its queue-wait and
 * service times; an unknown method named with the worker's text; a method
 * that fails (error reply, the worker lives on); a method that crashes the
 * process (WP_EWORKER_EXITED, the worker replaced); a protocol-1 worker
 * answering a Call; bad calls refused at wp_pool_call; the C and Python
 * sha256 examples giving the same answers; an init hook that raises.
 * Python workers are skipped under the sanitized build, as elsewhere.
 */
#include <signal.h>

#include "poolfx.h"

typedef enum { W_C, W_PY } lang_t;

/* A fixture over transport t with one worker written in lang. */
static void fx_calls(fx_t *f, wp_transport_t t, lang_t lang) {
  fx_init(f, 1);
  f->o.transport = t;
  f->o.stop_grace_ns = 2 * S;
  f->o.start_timeout_ns = 20 * S;
  static char cpath[4096];
  snprintf(cpath, sizeof cpath, "%s", tu_path("wpool-worker"));
  f->argv[0] = lang == W_C ? cpath : "/usr/bin/python3";
  f->argv[1] = lang == W_C ? NULL : "tests/helpers/py_knobs_worker.py";
  f->argv[2] = NULL;
  f->o.argv = f->argv;
}

static bool skip_python(lang_t lang) { return lang == W_PY && getenv("WPOOL_SANITIZED"); }

/* What a Call's callback saw. */
typedef struct answer {
  int calls, err, status;
  bool has_reply;
  char payload[256], error[512];
  uint64_t queued, sent, answered;
} answer_t;

static void on_answer(wp_pool_t *p, int err, const wp_reply_t *r, void *arg) {
  (void)p;
  answer_t *a = arg;
  a->calls++;
  a->err = err;
  a->has_reply = r != NULL;
  if (!r) return;
  a->status = r->status;
  size_t n = r->payload_len < sizeof a->payload - 1 ? r->payload_len : sizeof a->payload - 1;
  memcpy(a->payload, r->payload, n);
  a->payload[n] = '\0';
  snprintf(a->error, sizeof a->error, "%s", r->error);
  a->queued = r->queued;
  a->sent = r->sent;
  a->answered = r->answered;
}

static void wait_answer(fx_t *f, answer_t *a) {
  uint64_t end = wp_now_ns() + 20 * S;
  while (a->calls == 0 && wp_now_ns() < end) tu_run_for(&f->loop, 0.005);
  assert_int_equal(a->calls, 1);
}

static void call(fx_t *f, const char *method, const char *payload, answer_t *a) {
  memset(a, 0, sizeof *a);
  wp_request_t req = {.kind = WP_REQ_CALL, .method = method, .payload = payload,
                      .payload_len = strlen(payload)};
  assert_int_equal(wp_pool_call(f->pool, &req, on_answer, a), 0);
  wait_answer(f, a);
}

/* Starts a one-worker pool of lang on t (a Python one skipped under the
 * sanitized build). */
static void up(fx_t *f, wp_transport_t t, lang_t lang) {
  if (skip_python(lang)) skip();
  fx_calls(f, t, lang);
  assert_int_equal(fx_start(f), 0);
}

static void expect_ok(const answer_t *a, const char *payload) {
  assert_int_equal(a->err, 0);
  assert_true(a->has_reply);
  assert_int_equal(a->status, WP_STATUS_OK);
  assert_string_equal(a->payload, payload);
  assert_string_equal(a->error, "");
}

/* The worker answered with an error: err, its status and (part of) its text. */
static void expect_remote(const answer_t *a, int err, int status, const char *text) {
  assert_int_equal(a->err, err);
  assert_true(a->has_reply);
  assert_int_equal(a->status, status);
  assert_non_null(strstr(a->error, text));
}

static int worker_pid(fx_t *f) {
  wp_timeline_t tl;
  wp_pool_timeline(f->pool, 0, &tl);
  return tl.pid;
}

/* echo answers, with times in order that the stats add up. */
static void echo_and_times(wp_transport_t t, lang_t lang) {
  fx_t f;
  up(&f, t, lang);
  answer_t a;
  call(&f, "echo", "hello call", &a);
  expect_ok(&a, "hello call");
  assert_true(a.queued > 0 && a.queued <= a.sent && a.sent < a.answered);
  wp_stats_t st;
  wp_pool_stats(f.pool, &st);
  assert_int_equal(st.answered, 1);
  assert_int_equal(st.queue_wait_ns_sum, a.sent - a.queued);
  assert_int_equal(st.service_ns_sum, a.answered - a.sent);
  assert_int_equal(st.service_ns_max, a.answered - a.sent);
  fx_finish(&f);
}

/* An unknown method: a named error carrying the worker's own text. */
static void unknown_method(wp_transport_t t, lang_t lang) {
  fx_t f;
  up(&f, t, lang);
  answer_t a;
  call(&f, "embed", "x", &a);
  expect_remote(&a, WP_EUNKNOWN_METHOD, WP_STATUS_UNKNOWN_METHOD, "unknown method 'embed'");
  assert_non_null(strstr(a.error, "echo")); /* it lists what it has */
  fx_finish(&f);
}

/* A method that fails: its text comes back, the same worker serves on. */
static void method_fails(wp_transport_t t, lang_t lang) {
  fx_t f;
  up(&f, t, lang);
  int pid = worker_pid(&f);
  answer_t a;
  call(&f, "fail", "disk full", &a);
  expect_remote(&a, WP_EREMOTE, WP_STATUS_WORKER_ERROR, "disk full");
  call(&f, "echo", "still here", &a);
  expect_ok(&a, "still here");
  assert_int_equal(worker_pid(&f), pid);
  wp_stats_t st;
  wp_pool_stats(f.pool, &st);
  assert_int_equal(st.worker_exits, 0);
  assert_int_equal(st.answered, 2);
  fx_finish(&f);
}

/* A method that kills its process: WP_EWORKER_EXITED, and a replacement
 * answers the next call. */
static void method_crashes(wp_transport_t t, lang_t lang) {
  fx_t f;
  up(&f, t, lang);
  int pid = worker_pid(&f);
  answer_t a;
  call(&f, "crash", "", &a);
  assert_int_equal(a.err, WP_EWORKER_EXITED);
  assert_false(a.has_reply);
  assert_true(fx_wait_gen(&f, 0, 2, 20));
  call(&f, "echo", "replaced", &a);
  expect_ok(&a, "replaced");
  assert_int_not_equal(worker_pid(&f), pid);
  fx_finish(&f);
}

/* The protocol a worker of lang speaks on transport t under this pool:
 * the compact envelope (3) where both ends know it, the pipe (both SDKs
 * take the offer); else 2. */
static int protocol_of(wp_transport_t t, lang_t lang) {
  (void)lang;
  return t == WP_TRANSPORT_PIPE ? 3 : 2;
}

/* The pool keeps the methods the worker's Hello listed, and the protocol
 * it said (so which framing it is spoken to), for each generation: the
 * replacement of a crashed worker lists them again. */
static void hello_methods(wp_transport_t t, lang_t lang) {
  fx_t f;
  up(&f, t, lang);
  assert_int_equal(wp_pool_protocol(f.pool, 0), protocol_of(t, lang));
  assert_int_equal(wp_pool_protocol(f.pool, 1), WP_EINVAL);
  const char *names[8], *want[] = {"echo", "fail", "crash"};
  int n = wp_pool_methods(f.pool, 0, names, 8);
  assert_int_equal(n, 4); /* C adds "leak", Python "nothing" */
  for (size_t w = 0; w < 3; w++) {
    bool seen = false;
    for (int i = 0; i < n; i++) seen |= strcmp(names[i], want[w]) == 0;
    assert_true(seen);
  }
  assert_int_equal(wp_pool_methods(f.pool, 0, names, 1), n); /* counts past max */
  assert_int_equal(wp_pool_methods(f.pool, 1, names, 8), WP_EINVAL);
  assert_int_equal(wp_pool_methods(f.pool, 0, NULL, 1), WP_EINVAL);
  answer_t a;
  call(&f, "crash", "", &a);
  assert_true(fx_wait_gen(&f, 0, 2, 20));
  assert_int_equal(wp_pool_methods(f.pool, 0, names, 8), n);
  assert_string_equal(names[0], "echo");
  assert_int_equal(wp_pool_protocol(f.pool, 0), protocol_of(t, lang));
  fx_finish(&f);
}

#define BOTH(name)                                                                    \
  static void name##_c_pipe(void **s) { (void)s; name(WP_TRANSPORT_PIPE, W_C); }      \
  static void name##_c_grpc(void **s) { (void)s; name(WP_TRANSPORT_GRPC, W_C); }      \
  static void name##_py_pipe(void **s) { (void)s; name(WP_TRANSPORT_PIPE, W_PY); }    \
  static void name##_py_grpc(void **s) { (void)s; name(WP_TRANSPORT_GRPC, W_PY); }
BOTH(echo_and_times)
BOTH(unknown_method)
BOTH(method_fails)
BOTH(method_crashes)
BOTH(hello_methods)

/* A protocol-1 worker sees a Call as a request without a kind: the caller
 * gets WP_EUNKNOWN_METHOD saying so; its Ping still works. */
static void old_worker(void **state) {
  (void)state;
  fx_t f;
  fx_init(&f, 1);
  fx_bad(&f, "v1", NULL);
  assert_int_equal(fx_start(&f), 0);
  assert_int_equal(wp_pool_methods(f.pool, 0, NULL, 0), 0); /* none listed */
  assert_int_equal(wp_pool_protocol(f.pool, 0), 1);       /* spoken to in protobuf */
  answer_t a;
  call(&f, "echo", "x", &a);
  expect_remote(&a, WP_EUNKNOWN_METHOD, WP_STATUS_BAD_REQUEST, "protocol 1");
  assert_non_null(strstr(a.error, "request has no kind"));
  outcome_t o = {0};
  assert_int_equal(call_ping(&f, "old", &o, 0, 0), 0);
  wait_outcome(&f, &o);
  assert_int_equal(o.err, 0);
  assert_string_equal(o.payload, "old");
  fx_finish(&f);
}

/* A C SDK worker misused as a user might: a method that replies twice,
 * the second time from the SDK's own buffer (they overlap: memcpy was
 * undefined there), and a method whose reply is over the worker's
 * --max-frame (it reached the pool as an oversized frame, a protocol
 * error that killed the worker): an error reply, the worker lives on. */
static void sdk_misuse(void **state) {
  (void)state;
  fx_t f;
  fx_init(&f, 1);
  static char path[4096];
  snprintf(path, sizeof path, "%s", tu_path("tests/wpw_knobs"));
  f.argv[0] = path;
  f.argv[1] = "--max-frame";
  f.argv[2] = "4096";
  f.argv[3] = NULL;
  f.o.argv = f.argv;
  f.o.max_frame = 4096;
  assert_int_equal(fx_start(&f), 0);
  int pid = worker_pid(&f);
  answer_t a;
  call(&f, "twice", "abcdef", &a);
  expect_ok(&a, "bcdef");
  char big[3001];
  memset(big, 'x', 3000);
  big[3000] = '\0';
  call(&f, "grow", big, &a);
  expect_remote(&a, WP_EREMOTE, WP_STATUS_WORKER_ERROR, "over --max-frame 4096");
  /* At the edge the framing decides: 4,090 bytes are a 4,095-byte
   * protobuf Reply but a 4,099-byte compact one (protocol 3, which this
   * worker speaks): the method's error, not an oversized frame. */
  memset(big, 'y', 2045);
  big[2045] = '\0';
  call(&f, "grow", big, &a);
  expect_remote(&a, WP_EREMOTE, WP_STATUS_WORKER_ERROR, "over --max-frame 4096");
  call(&f, "grow", "ab", &a);
  expect_ok(&a, "abab");
  assert_int_equal(worker_pid(&f), pid);
  fx_finish(&f);
}

static void never(wp_pool_t *p, int err, const wp_reply_t *r, void *arg) {
  (void)p, (void)err, (void)r, (void)arg;
  fail_msg("a refused call's callback ran");
}

/* Refused at the call: no method, an empty or too long one, a method and
 * payload over the frame limit. The largest that fits is answered. */
static void bad_calls(void **state) {
  (void)state;
  fx_t f;
  fx_calls(&f, WP_TRANSPORT_PIPE, W_C);
  f.o.max_frame = 4096;
  assert_int_equal(fx_start(&f), 0);
  static char big[4096], longname[WP_METHOD_MAX + 2];
  memset(big, 'b', sizeof big);
  memset(longname, 'm', sizeof longname - 1);
  wp_request_t req = {.kind = WP_REQ_CALL, .payload = "x", .payload_len = 1};
  assert_int_equal(wp_pool_call(f.pool, &req, never, NULL), WP_EINVAL);
  req.method = "";
  assert_int_equal(wp_pool_call(f.pool, &req, never, NULL), WP_EINVAL);
  req.method = longname;
  assert_int_equal(wp_pool_call(f.pool, &req, never, NULL), WP_EINVAL);
  req.method = "echo";
  req.payload = big;
  req.payload_len = 4096 - 64 - 4 + 1;
  assert_int_equal(wp_pool_call(f.pool, &req, never, NULL), WP_EINVAL);
  req.payload_len--;
  answer_t a = {0};
  assert_int_equal(wp_pool_call(f.pool, &req, on_answer, &a), 0);
  wait_answer(&f, &a);
  assert_int_equal(a.err, 0);
  fx_finish(&f);
}

/* The C example (OpenSSL EVP) and the Python one (hashlib) serve the same
 * methods through the pool, on both transports, with the same answers. */
static void sha256_hex_of(wp_transport_t t, lang_t lang, const char *payload, char *out) {
  fx_t f;
  fx_calls(&f, t, lang);
  static char cpath[4096];
  snprintf(cpath, sizeof cpath, "%s", tu_path("wpool-example-sha256"));
  f.argv[0] = lang == W_C ? cpath : "/usr/bin/python3";
  f.argv[1] = lang == W_C ? NULL : "worker/python/examples/sha256_worker.py";
  assert_int_equal(fx_start(&f), 0);
  answer_t a;
  call(&f, "sha256_hex", payload, &a);
  assert_int_equal(a.err, 0);
  strcpy(out, a.payload);
  call(&f, "sha256", payload, &a);
  assert_int_equal(a.err, 0);
  fx_finish(&f);
}

static void same_methods(void **state) {
  (void)state;
  static const char abc_hex[] =
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  static char payload[200];
  for (size_t i = 0; i < sizeof payload - 1; i++) payload[i] = (char)('a' + i % 26);
  for (int t = WP_TRANSPORT_PIPE; t <= WP_TRANSPORT_GRPC; t++) {
    char c_abc[256], c_long[256], py_abc[256], py_long[256];
    sha256_hex_of((wp_transport_t)t, W_C, "abc", c_abc);
    sha256_hex_of((wp_transport_t)t, W_C, payload, c_long);
    assert_string_equal(c_abc, abc_hex); /* FIPS 180-2's test vector */
    if (getenv("WPOOL_SANITIZED")) continue;
    sha256_hex_of((wp_transport_t)t, W_PY, "abc", py_abc);
    sha256_hex_of((wp_transport_t)t, W_PY, payload, py_long);
    assert_string_equal(py_abc, abc_hex);
    assert_string_equal(py_long, c_long);
  }
}

/* A Python init hook that raises: no Hello, the start fails by name. */
static void python_init_fails(void **state) {
  (void)state;
  if (getenv("WPOOL_SANITIZED")) skip();
  setenv("WPOOL_TEST_INIT_FAIL", "1", 1);
  fx_t f;
  fx_calls(&f, WP_TRANSPORT_PIPE, W_PY);
  f.o.restart = 0;
  int err = fx_start(&f);
  unsetenv("WPOOL_TEST_INIT_FAIL");
  assert_int_equal(err, WP_EHELLO);
  fx_finish(&f);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(echo_and_times_c_pipe),   cmocka_unit_test(echo_and_times_c_grpc),
      cmocka_unit_test(echo_and_times_py_pipe),  cmocka_unit_test(echo_and_times_py_grpc),
      cmocka_unit_test(unknown_method_c_pipe),   cmocka_unit_test(unknown_method_c_grpc),
      cmocka_unit_test(unknown_method_py_pipe),  cmocka_unit_test(unknown_method_py_grpc),
      cmocka_unit_test(method_fails_c_pipe),     cmocka_unit_test(method_fails_c_grpc),
      cmocka_unit_test(method_fails_py_pipe),    cmocka_unit_test(method_fails_py_grpc),
      cmocka_unit_test(method_crashes_c_pipe),   cmocka_unit_test(method_crashes_c_grpc),
      cmocka_unit_test(method_crashes_py_pipe),  cmocka_unit_test(method_crashes_py_grpc),
      cmocka_unit_test(hello_methods_c_pipe),    cmocka_unit_test(hello_methods_c_grpc),
      cmocka_unit_test(hello_methods_py_pipe),   cmocka_unit_test(hello_methods_py_grpc),
      cmocka_unit_test(old_worker),
      cmocka_unit_test(sdk_misuse),
      cmocka_unit_test(bad_calls),
      cmocka_unit_test(same_methods),
      cmocka_unit_test(python_init_fails),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
