/*
 * test_grpc_client.c — pool/grpc_client against the real C worker
 * ($WPOOL_BUILD/wpool-worker --transport grpc, which execs
 * wpool-worker-grpc): Ping and Work payloads, 10,000 pings with 50 in
 * flight, deadlines, a worker SIGKILLed mid-call, conn and client close with
 * calls pending, a failed connect, unix sockets and 127.0.0.1:0, the
 * worker's Shutdown request, its UNIMPLEMENTED answer to an unknown method
 * and its exit 0 on stdin EOF. Every test ends with uv_loop_close() == 0.
 *
 * Callbacks never assert (a longjmp out of uv_run would leave the loop
 * half-run): they record, and the test body asserts afterwards.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#include "frame.h"
#include "grpc_client.h"
#include "wpool.pb-c.h"

#define MS 1000000ull
#define SEC (1000 * MS)

extern char **environ;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec;
}

/* ---- the worker process ------------------------------------------------ */

typedef struct worker {
  pid_t pid;
  int in_fd;        /* its stdin (we write / close) */
  int out_fd;       /* its stdout (the Hello) */
  char addr[300];
} worker_t;

static void read_hello(worker_t *w) {
  wpi_frame_decoder_t d;
  wpi_frame_decoder_init(&d, 4096);
  const uint8_t *f = NULL;
  uint32_t flen = 0;
  while (wpi_frame_next(&d, &f, &flen) != WPI_FRAME_OK) {
    uint8_t buf[512];
    ssize_t n = read(w->out_fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail_msg("worker %d wrote no Hello", (int)w->pid);
    assert_int_equal(wpi_frame_feed(&d, buf, (size_t)n), 0);
  }
  Wpool__V1__Hello *h = wpool__v1__hello__unpack(NULL, flen, f);
  assert_non_null(h);
  assert_int_equal(h->transport, WPOOL__V1__TRANSPORT__TRANSPORT_GRPC);
  assert_int_equal(h->protocol_version, WPI_PROTOCOL_PROTOBUF);
  assert_int_equal(h->pid, (uint32_t)w->pid); /* the exec kept the pid */
  snprintf(w->addr, sizeof w->addr, "%s", h->address);
  wpool__v1__hello__free_unpacked(h, NULL);
  wpi_frame_decoder_free(&d);
}

/* Spawns the worker (posix_spawn: never fork after grpc_init) with
 * close-on-exec pipes, so no worker inherits another's stdin. */
static void worker_start(worker_t *w, const char *listen) {
  const char *build = getenv("WPOOL_BUILD");
  char path[512];
  snprintf(path, sizeof path, "%s/wpool-worker", build ? build : "build");
  char *argv[] = {path, "--transport", "grpc", listen ? "--listen" : NULL,
                  (char *)listen, NULL};
  int in[2], out[2];
  assert_int_equal(pipe2(in, O_CLOEXEC), 0);
  assert_int_equal(pipe2(out, O_CLOEXEC), 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  assert_int_equal(posix_spawn(&w->pid, path, &fa, NULL, argv, environ), 0);
  posix_spawn_file_actions_destroy(&fa);
  close(in[0]);
  close(out[1]);
  w->in_fd = in[1];
  w->out_fd = out[0];
  read_hello(w);
}

/* Closes its stdin and reaps it; returns the raw wait status. */
static int worker_stop(worker_t *w) {
  if (w->in_fd >= 0) close(w->in_fd);
  w->in_fd = -1;
  int st;
  while (waitpid(w->pid, &st, 0) < 0 && errno == EINTR) {
  }
  close(w->out_fd);
  return st;
}

static void assert_exit0(int st) {
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    fail_msg("worker did not exit 0 (wait status 0x%x)", st);
}

/* ---- loop fixture ------------------------------------------------------ */

typedef struct fx {
  uv_loop_t loop;
  uv_timer_t tick; /* keeps uv_run(ONCE) from blocking forever */
  wp_grpc_client_t *client;
  int closed;
  worker_t w;
} fx_t;

static void on_tick(uv_timer_t *t) { (void)t; }

static void run_until(fx_t *fx, const int *flag, uint64_t timeout_ns) {
  uint64_t end = now_ns() + timeout_ns;
  uv_timer_start(&fx->tick, on_tick, 5, 5);
  while (!*flag && now_ns() < end) uv_run(&fx->loop, UV_RUN_ONCE);
  uv_timer_stop(&fx->tick);
  if (!*flag) fail_msg("timed out waiting on the loop");
}

static void fx_init(fx_t *fx, const char *listen) {
  memset(fx, 0, sizeof *fx);
  fx->w.in_fd = -1;
  if (listen) worker_start(&fx->w, listen);
  assert_int_equal(uv_loop_init(&fx->loop), 0);
  assert_int_equal(uv_timer_init(&fx->loop, &fx->tick), 0);
  assert_int_equal(wpi_grpc_client_new(&fx->loop, &fx->client), 0);
}

static void on_closed(void *arg) { *(int *)arg = 1; }
static void on_handle_closed(uv_handle_t *h) { (void)h; }

/* Closes the client and the loop (uv_loop_close must return 0). */
static void fx_close_loop(fx_t *fx) {
  wpi_grpc_client_close(fx->client, on_closed, &fx->closed); /* 2nd: ignored */
  run_until(fx, &fx->closed, 10 * SEC);
  uv_close((uv_handle_t *)&fx->tick, on_handle_closed);
  uv_run(&fx->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&fx->loop), 0);
}

typedef struct ready_ctx {
  int fired, err;
} ready_ctx_t;

static void on_ready(void *arg, int err) {
  ready_ctx_t *r = arg;
  r->fired++;
  r->err = err;
}

static wp_grpc_conn_t *fx_connect(fx_t *fx) {
  ready_ctx_t r = {0};
  wp_grpc_conn_t *k = NULL;
  assert_int_equal(wpi_grpc_conn_open(fx->client, fx->w.addr, 5 * SEC, on_ready, &r, &k), 0);
  run_until(fx, &r.fired, 6 * SEC);
  assert_int_equal(r.err, 0);
  assert_int_equal(r.fired, 1);
  return k;
}

/* ---- requests and replies ---------------------------------------------- */

static size_t pack(const Wpool__V1__Request *r, uint8_t *buf, size_t cap) {
  size_t n = wpool__v1__request__get_packed_size(r);
  assert_true(n <= cap);
  return wpool__v1__request__pack(r, buf);
}

static size_t pack_ping(uint64_t id, const void *p, size_t n, uint8_t *buf, size_t cap) {
  Wpool__V1__Request r = WPOOL__V1__REQUEST__INIT;
  Wpool__V1__Ping ping = WPOOL__V1__PING__INIT;
  r.id = id;
  r.kind_case = WPOOL__V1__REQUEST__KIND_PING;
  r.ping = &ping;
  ping.payload.data = (uint8_t *)p;
  ping.payload.len = n;
  return pack(&r, buf, cap);
}

static size_t pack_work(uint64_t id, uint32_t cpu_us, uint32_t sleep_us,
                        uint32_t reply_bytes, uint8_t *buf, size_t cap) {
  Wpool__V1__Request r = WPOOL__V1__REQUEST__INIT;
  Wpool__V1__Work work = WPOOL__V1__WORK__INIT;
  r.id = id;
  r.kind_case = WPOOL__V1__REQUEST__KIND_WORK;
  r.work = &work;
  work.cpu_us = cpu_us;
  work.sleep_us = sleep_us;
  work.reply_bytes = reply_bytes;
  work.payload.data = (uint8_t *)"echo-me";
  work.payload.len = 7;
  return pack(&r, buf, cap);
}

/* What one done callback saw. */
typedef struct call_ctx {
  int done, err;
  uint64_t id;
  int status;
  size_t payload_len;
  uint8_t payload[64];
  int all_w;            /* every payload byte was 'w' (Work reply_bytes) */
  uint64_t t_done;
} call_ctx_t;

static void record_reply(call_ctx_t *c, const uint8_t *reply, size_t len) {
  Wpool__V1__Reply *r = wpool__v1__reply__unpack(NULL, len, reply);
  if (!r) {
    c->status = -1;
    return;
  }
  c->id = r->id;
  c->status = r->status;
  c->payload_len = r->payload.len;
  if (r->payload.len) memcpy(c->payload, r->payload.data, r->payload.len < 64 ? r->payload.len : 64);
  c->all_w = 1;
  for (size_t i = 0; i < r->payload.len; i++)
    if (r->payload.data[i] != 'w') c->all_w = 0;
  wpool__v1__reply__free_unpacked(r, NULL);
}

static void on_done(void *arg, int err, const uint8_t *reply, size_t len) {
  call_ctx_t *c = arg;
  c->done++;
  c->err = err;
  c->t_done = now_ns();
  if (err == 0) record_reply(c, reply, len);
  else if (reply || len) c->status = -2; /* must be NULL/0 on error */
}

static void call(wp_grpc_conn_t *k, const uint8_t *req, size_t n,
                 uint64_t timeout_ns, call_ctx_t *c) {
  assert_int_equal(wpi_grpc_conn_call(k, req, n, timeout_ns, on_done, c), 0);
}

/* ---- tests ------------------------------------------------------------- */

static void ping_and_work(fx_t *fx) {
  wp_grpc_conn_t *k = fx_connect(fx);
  uint8_t buf[256];
  call_ctx_t p = {0}, w1 = {0}, w2 = {0};
  call(k, buf, pack_ping(41, "hello", 5, buf, sizeof buf), 5 * SEC, &p);
  call(k, buf, pack_work(42, 100, 0, 1000, buf, sizeof buf), 5 * SEC, &w1);
  call(k, buf, pack_work(43, 0, 1000, 0, buf, sizeof buf), 5 * SEC, &w2);
  assert_int_equal(wpi_grpc_conn_pending(k), 3);
  run_until(fx, &w2.done, 5 * SEC);
  run_until(fx, &w1.done, 5 * SEC);
  run_until(fx, &p.done, 5 * SEC);
  assert_int_equal(p.err, 0);
  assert_int_equal(p.id, 41);
  assert_int_equal(p.status, 0);
  assert_int_equal(p.payload_len, 5);
  assert_memory_equal(p.payload, "hello", 5);
  assert_int_equal(w1.err, 0);
  assert_int_equal(w1.id, 42);
  assert_int_equal(w1.payload_len, 1000);
  assert_true(w1.all_w);
  assert_int_equal(w2.err, 0);
  assert_int_equal(w2.id, 43);
  assert_int_equal(w2.payload_len, 7);
  assert_memory_equal(w2.payload, "echo-me", 7);
  assert_int_equal(p.done + w1.done + w2.done, 3);
  assert_int_equal(wpi_grpc_conn_pending(k), 0);
  wpi_grpc_conn_close(k);
}

static void unix_default_socket(void **state) {
  (void)state;
  fx_t fx;
  fx_init(&fx, NULL);
  worker_start(&fx.w, NULL); /* no --listen: unix:/tmp/wpool-worker-<pid>.sock */
  char want[64];
  snprintf(want, sizeof want, "unix:/tmp/wpool-worker-%d.sock", (int)fx.w.pid);
  assert_string_equal(fx.w.addr, want);
  ping_and_work(&fx);
  fx_close_loop(&fx);
  assert_exit0(worker_stop(&fx.w));
  struct stat st;
  assert_int_not_equal(stat(fx.w.addr + 5, &st), 0); /* unlinked on exit */
}

static void tcp_any_port(void **state) {
  (void)state;
  fx_t fx;
  fx_init(&fx, "127.0.0.1:0");
  assert_int_equal(strncmp(fx.w.addr, "127.0.0.1:", 10), 0);
  assert_true(atoi(fx.w.addr + 10) > 0); /* the bound port, not 0 */
  ping_and_work(&fx);
  fx_close_loop(&fx);
  assert_exit0(worker_stop(&fx.w));
}

/* Closed loop: `inflight` calls outstanding, each reply starts the next. */
typedef struct flood {
  wp_grpc_conn_t *k;
  size_t total, started, completed, bad, inflight;
  uint8_t *seen;           /* done count per id */
  uint64_t *t_start;
  uint64_t *lat;
  int finished;
} flood_t;

static void flood_next(flood_t *f);

/* Per-call argument: the flood and the id it sent. */
typedef struct flood_arg {
  flood_t *f;
  uint64_t id;
} flood_arg_t;

static flood_arg_t *g_args;

static void on_ping_done(void *arg, int err, const uint8_t *reply, size_t len) {
  flood_arg_t *a = arg;
  flood_t *f = a->f;
  f->seen[a->id]++;
  f->lat[a->id] = now_ns() - f->t_start[a->id];
  f->completed++;
  Wpool__V1__Reply *r = err ? NULL : wpool__v1__reply__unpack(NULL, len, reply);
  uint64_t echoed = UINT64_MAX;
  if (r && r->payload.len == sizeof echoed) memcpy(&echoed, r->payload.data, sizeof echoed);
  if (!r || r->id != a->id || echoed != a->id) f->bad++;
  if (r) wpool__v1__reply__free_unpacked(r, NULL);
  if (f->completed == f->total) f->finished = 1;
  else flood_next(f);
}

static void flood_next(flood_t *f) {
  if (f->started == f->total) return;
  uint64_t id = f->started++;
  uint8_t buf[64];
  size_t n = pack_ping(id, &id, sizeof id, buf, sizeof buf);
  g_args[id] = (flood_arg_t){f, id};
  f->t_start[id] = now_ns();
  if (wpi_grpc_conn_call(f->k, buf, n, 10 * SEC, on_ping_done, &g_args[id]) != 0) f->bad++;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Runs total pings with inflight outstanding; returns calls per second. */
static double flood(fx_t *fx, wp_grpc_conn_t *k, size_t total, size_t inflight,
                    double *p50_us) {
  flood_t f = {.k = k, .total = total, .inflight = inflight};
  f.seen = calloc(total, 1);
  f.t_start = calloc(total, sizeof *f.t_start);
  f.lat = calloc(total, sizeof *f.lat);
  g_args = calloc(total, sizeof *g_args);
  uint64_t t0 = now_ns();
  for (size_t i = 0; i < inflight; i++) flood_next(&f);
  run_until(fx, &f.finished, 60 * SEC);
  double secs = (double)(now_ns() - t0) / 1e9;
  assert_int_equal(f.bad, 0);
  for (size_t i = 0; i < total; i++)
    if (f.seen[i] != 1) fail_msg("id %zu: done ran %d times", i, f.seen[i]);
  qsort(f.lat, total, sizeof *f.lat, cmp_u64);
  *p50_us = (double)f.lat[total / 2] / 1e3;
  free(f.seen);
  free(f.t_start);
  free(f.lat);
  free(g_args);
  g_args = NULL;
  return (double)total / secs;
}

static void ten_thousand_pings(void **state) {
  (void)state;
  fx_t fx;
  fx_init(&fx, "unix:/tmp/wpool-test-grpc-flood.sock");
  wp_grpc_conn_t *k = fx_connect(&fx);
  double p50_1, p50_50;
  double rate1 = flood(&fx, k, 2000, 1, &p50_1);
  double rate50 = flood(&fx, k, 10000, 50, &p50_50);
  print_message("grpc unix: 1 in flight p50 %.0f us (%.0f/s); 50 in flight "
                "%.0f calls/s, p50 %.0f us\n", p50_1, rate1, rate50, p50_50);
  wpi_grpc_conn_close(k);
  fx_close_loop(&fx);
  assert_exit0(worker_stop(&fx.w));
}

static void deadline_is_etimedout(void **state) {
  (void)state;
  fx_t fx;
  fx_init(&fx, "127.0.0.1:0");
  wp_grpc_conn_t *k = fx_connect(&fx);
  uint8_t buf[128];
  call_ctx_t slow = {0}, after = {0};
  uint64_t t0 = now_ns();
  call(k, buf, pack_work(1, 0, 300000, 0, buf, sizeof buf), 50 * MS, &slow);
  run_until(&fx, &slow.done, 5 * SEC);
  assert_int_equal(slow.err, WP_ETIMEDOUT);
  assert_int_equal(slow.status, 0); /* reply NULL, len 0 */
  assert_true(slow.t_done - t0 < 250 * MS); /* the deadline, not the sleep */
  /* The conn survives a deadline: the next call answers once the worker
   * is done sleeping. */
  call(k, buf, pack_ping(2, "x", 1, buf, sizeof buf), 5 * SEC, &after);
  run_until(&fx, &after.done, 5 * SEC);
  assert_int_equal(after.err, 0);
  assert_int_equal(after.id, 2);
  assert_int_equal(slow.done, 1);
  wpi_grpc_conn_close(k);
  fx_close_loop(&fx);
  assert_exit0(worker_stop(&fx.w));
}

static void on_kill_timer(uv_timer_t *t) {
  worker_t *w = t->data;
  kill(w->pid, SIGKILL);
}

static void worker_killed_mid_call(void **state) {
  (void)state;
  fx_t fx;
  fx_init(&fx, "unix:/tmp/wpool-test-grpc-kill.sock");
  wp_grpc_conn_t *k = fx_connect(&fx);
  uint8_t buf[128];
  call_ctx_t c[5];
  memset(c, 0, sizeof c);
  for (int i = 0; i < 5; i++)
    call(k, buf, pack_work((uint64_t)i, 0, 5000000, 0, buf, sizeof buf), 0, &c[i]);
  uv_timer_t kt;
  uv_timer_init(&fx.loop, &kt);
  kt.data = &fx.w;
  uv_timer_start(&kt, on_kill_timer, 50, 0);
  uint64_t t0 = now_ns();
  for (int i = 0; i < 5; i++) run_until(&fx, &c[i].done, 5 * SEC);
  assert_true(now_ns() - t0 < 2 * SEC); /* no hang until the sleep ends */
  for (int i = 0; i < 5; i++) {
    assert_int_equal(c[i].done, 1);
    assert_int_equal(c[i].err, WP_ETRANSPORT);
  }
  /* A new call on the dead worker's conn fails too (no deadline: it must
   * not wait for a worker that will never come back). */
  call_ctx_t late = {0};
  if (wpi_grpc_conn_call(k, buf, pack_ping(9, "x", 1, buf, sizeof buf), 2 * SEC, on_done, &late) == 0) {
    run_until(&fx, &late.done, 5 * SEC);
    assert_int_not_equal(late.err, 0);
  }
  uv_close((uv_handle_t *)&kt, on_handle_closed);
  wpi_grpc_conn_close(k);
  fx_close_loop(&fx);
  int st = worker_stop(&fx.w);
  if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
    fail_msg("worker ended with wait status 0x%x, not SIGKILL", st);
  unlink("/tmp/wpool-test-grpc-kill.sock");
}

static void client_close_with_calls_pending(void **state) {
  (void)state;
  fx_t fx;
  fx_init(&fx, "unix:/tmp/wpool-test-grpc-cclose.sock");
  wp_grpc_conn_t *k = fx_connect(&fx);
  uint8_t buf[128];
  enum { N = 20 };
  call_ctx_t c[N];
  memset(c, 0, sizeof c);
  for (int i = 0; i < N; i++)
    call(k, buf, pack_work((uint64_t)i, 0, 100000, 0, buf, sizeof buf), 0, &c[i]);
  /* A conn still connecting is closed along with the client: its on_ready
   * must never run. */
  ready_ctx_t r = {0};
  wp_grpc_conn_t *k2;
  assert_int_equal(wpi_grpc_conn_open(fx.client, fx.w.addr, SEC, on_ready, &r, &k2), 0);
  wpi_grpc_client_close(fx.client, on_closed, &fx.closed);
  /* Until on_closed, conn pointers stay usable: close is a no-op, a new
   * call is refused. */
  wpi_grpc_conn_close(k);
  assert_int_equal(wpi_grpc_conn_call(k, buf, pack_ping(99, "x", 1, buf, sizeof buf), 0, on_done, &c[0]),
                   WP_ESTOPPED);
  for (int i = 0; i < N; i++) assert_int_equal(c[i].done, 0); /* never inline */
  fx_close_loop(&fx); /* every call is still pending: the first sleeps 100 ms */
  for (int i = 0; i < N; i++) {
    assert_int_equal(c[i].done, 1);
    assert_int_equal(c[i].err, WP_ESTOPPED);
  }
  assert_int_equal(r.fired, 0);
  assert_exit0(worker_stop(&fx.w));
}

/* Closes the conn from inside the first done callback. */
typedef struct closer {
  wp_grpc_conn_t *k;
  call_ctx_t c[8];
  int total;
} closer_t;

static closer_t g_closer;

static void on_done_close(void *arg, int err, const uint8_t *reply, size_t len) {
  call_ctx_t *c = arg;
  on_done(arg, err, reply, len);
  if (c == &g_closer.c[0]) wpi_grpc_conn_close(g_closer.k);
  g_closer.total++;
}

static void conn_close_pending_and_from_callback(void **state) {
  (void)state;
  fx_t fx;
  fx_init(&fx, "127.0.0.1:0");
  uint8_t buf[128];
  /* 1: close with calls pending → WP_ETRANSPORT each, exactly once. */
  wp_grpc_conn_t *k = fx_connect(&fx);
  call_ctx_t c[10];
  memset(c, 0, sizeof c);
  for (int i = 0; i < 10; i++)
    call(k, buf, pack_work((uint64_t)i, 0, 50000, 0, buf, sizeof buf), 0, &c[i]);
  wpi_grpc_conn_close(k);
  for (int i = 0; i < 10; i++) assert_int_equal(c[i].done, 0); /* never inline */
  for (int i = 0; i < 10; i++) run_until(&fx, &c[i].done, 5 * SEC);
  for (int i = 0; i < 10; i++) {
    assert_int_equal(c[i].done, 1);
    assert_int_equal(c[i].err, WP_ETRANSPORT);
  }
  /* 2: close from inside a done callback of the same conn. */
  memset(&g_closer, 0, sizeof g_closer);
  g_closer.k = fx_connect(&fx);
  call(g_closer.k, buf, pack_ping(0, "a", 1, buf, sizeof buf), 0, &g_closer.c[7]);
  run_until(&fx, &g_closer.c[7].done, 5 * SEC);
  assert_int_equal(wpi_grpc_conn_call(g_closer.k, buf, pack_ping(1, "b", 1, buf, sizeof buf), 0, on_done_close, &g_closer.c[0]), 0);
  for (int i = 1; i < 6; i++)
    assert_int_equal(wpi_grpc_conn_call(g_closer.k, buf, pack_work((uint64_t)i, 0, 20000, 0, buf, sizeof buf), 0, on_done_close, &g_closer.c[i]), 0);
  for (int i = 0; i < 6; i++) run_until(&fx, &g_closer.c[i].done, 5 * SEC);
  assert_int_equal(g_closer.c[0].err, 0);
  for (int i = 0; i < 6; i++) assert_int_equal(g_closer.c[i].done, 1);
  for (int i = 1; i < 6; i++) assert_int_equal(g_closer.c[i].err, WP_ETRANSPORT);
  fx_close_loop(&fx);
  assert_int_equal(g_closer.total, 6);
  assert_exit0(worker_stop(&fx.w));
}

static void connect_failure(void **state) {
  (void)state;
  fx_t fx;
  fx_init(&fx, NULL);
  ready_ctx_t r = {0};
  wp_grpc_conn_t *k;
  uint64_t t0 = now_ns();
  assert_int_equal(wpi_grpc_conn_open(fx.client, "unix:/tmp/wpool-test-nobody-here.sock",
                                     2 * SEC, on_ready, &r, &k), 0);
  run_until(&fx, &r.fired, 5 * SEC);
  assert_int_equal(r.err, WP_ETRANSPORT);
  assert_true(now_ns() - t0 < SEC); /* TRANSIENT_FAILURE, not the deadline */
  /* Closing before READY: on_ready never runs. */
  ready_ctx_t r2 = {0};
  wp_grpc_conn_t *k2;
  assert_int_equal(wpi_grpc_conn_open(fx.client, "127.0.0.1:1", SEC, on_ready, &r2, &k2), 0);
  wpi_grpc_conn_close(k2);
  wpi_grpc_conn_close(k);
  fx_close_loop(&fx);
  assert_int_equal(r.fired, 1);
  assert_int_equal(r2.fired, 0);
}

static void shutdown_request(void **state) {
  (void)state;
  fx_t fx;
  fx_init(&fx, "unix:/tmp/wpool-test-grpc-shutdown.sock");
  wp_grpc_conn_t *k = fx_connect(&fx);
  uint8_t buf[64];
  Wpool__V1__Request r = WPOOL__V1__REQUEST__INIT;
  Wpool__V1__Shutdown sd = WPOOL__V1__SHUTDOWN__INIT;
  r.id = 77;
  r.kind_case = WPOOL__V1__REQUEST__KIND_SHUTDOWN;
  r.shutdown = &sd;
  call_ctx_t c = {0};
  call(k, buf, pack(&r, buf, sizeof buf), 5 * SEC, &c);
  run_until(&fx, &c.done, 5 * SEC);
  assert_int_equal(c.err, 0); /* the reply comes before the exit */
  assert_int_equal(c.id, 77);
  int st;
  assert_int_equal(waitpid(fx.w.pid, &st, 0), fx.w.pid); /* stdin still open */
  assert_exit0(st);
  wpi_grpc_conn_close(k);
  fx_close_loop(&fx);
  close(fx.w.in_fd);
  close(fx.w.out_fd);
}

/* A raw gRPC core call to a method the worker does not serve. */
static grpc_status_code raw_call(const char *addr, const char *method) {
  grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
  grpc_channel_credentials *cr = grpc_insecure_credentials_create();
  grpc_channel *ch = grpc_channel_create(addr, cr, NULL);
  grpc_channel_credentials_release(cr);
  gpr_timespec dl = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_seconds(5, GPR_TIMESPAN));
  grpc_call *call = grpc_channel_create_call(ch, NULL, 0, cq, grpc_slice_from_static_string(method), NULL, dl, NULL);
  grpc_metadata_array md, trail;
  grpc_metadata_array_init(&md);
  grpc_metadata_array_init(&trail);
  grpc_status_code status = GRPC_STATUS_OK;
  grpc_slice details = grpc_empty_slice();
  grpc_byte_buffer *recv = NULL;
  grpc_op ops[5];
  memset(ops, 0, sizeof ops);
  ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
  ops[1].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
  ops[2].op = GRPC_OP_RECV_INITIAL_METADATA;
  ops[2].data.recv_initial_metadata.recv_initial_metadata = &md;
  ops[3].op = GRPC_OP_RECV_MESSAGE;
  ops[3].data.recv_message.recv_message = &recv;
  ops[4].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
  ops[4].data.recv_status_on_client.trailing_metadata = &trail;
  ops[4].data.recv_status_on_client.status = &status;
  ops[4].data.recv_status_on_client.status_details = &details;
  assert_int_equal(grpc_call_start_batch(call, ops, 5, &status, NULL), GRPC_CALL_OK);
  grpc_event ev = grpc_completion_queue_pluck(cq, &status, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
  assert_int_equal(ev.type, GRPC_OP_COMPLETE);
  grpc_byte_buffer_destroy(recv);
  grpc_slice_unref(details);
  grpc_metadata_array_destroy(&md);
  grpc_metadata_array_destroy(&trail);
  grpc_call_unref(call);
  grpc_channel_destroy(ch);
  grpc_completion_queue_shutdown(cq);
  while (grpc_completion_queue_pluck(cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type != GRPC_QUEUE_SHUTDOWN) {
  }
  grpc_completion_queue_destroy(cq);
  return status;
}

static void unknown_method_unimplemented(void **state) {
  (void)state;
  worker_t w;
  worker_start(&w, "127.0.0.1:0");
  grpc_init();
  assert_int_equal(raw_call(w.addr, "/wpool.v1.Worker/NoSuchMethod"), GRPC_STATUS_UNIMPLEMENTED);
  assert_int_equal(raw_call(w.addr, "/wpool.v1.Worker/Call"), GRPC_STATUS_INVALID_ARGUMENT);
  grpc_shutdown();
  assert_exit0(worker_stop(&w));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(unix_default_socket),
      cmocka_unit_test(tcp_any_port),
      cmocka_unit_test(ten_thousand_pings),
      cmocka_unit_test(deadline_is_etimedout),
      cmocka_unit_test(worker_killed_mid_call),
      cmocka_unit_test(client_close_with_calls_pending),
      cmocka_unit_test(conn_close_pending_and_from_callback),
      cmocka_unit_test(connect_failure),
      cmocka_unit_test(shutdown_request),
      cmocka_unit_test(unknown_method_unimplemented),
  };
  signal(SIGPIPE, SIG_IGN);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
