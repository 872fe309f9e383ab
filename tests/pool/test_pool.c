/*
 * test_pool.c — the supervisor end to end with real worker processes:
 * lifecycle in both start modes, dispatch under concurrency,
 * kill_on_timeout and a late supervisor, killed workers and retries, stop
 * during start, queue limits. Workers that fail at start or after it:
 * test_faults.c. Each test owns its loop, and ends with uv_loop_close() == 0:
 * no handle left behind.
 */
#include <signal.h>
#include <spawn.h>

#include "poolfx.h"

extern char **environ;
#include "load.h"

/* ---- lifecycle --------------------------------------------------------------- */

static void check_timelines(fx_t *f, bool sequential) {
  uint64_t prev_ready = 0;
  for (int i = 0; i < f->o.size; i++) {
    wp_timeline_t tl;
    assert_int_equal(wp_pool_timeline(f->pool, i, &tl), 0);
    assert_true(tl.pid > 0);
    assert_true(tl.spawn_asked > 0);
    assert_true(tl.spawn_asked <= tl.started);
    assert_true(tl.started <= tl.hello);
    assert_true(tl.hello <= tl.ready);
    if (sequential) assert_true(tl.spawn_asked >= prev_ready);
    prev_ready = tl.ready;
  }
}

static void ping_every_worker(fx_t *f) {
  outcome_t o[8] = {0};
  for (int i = 0; i < f->o.size; i++) assert_int_equal(call_ping(f, "hi", &o[i], 0, 0), 0);
  uint64_t end = wp_now_ns() + 10 * S;
  int seen = 0;
  while (wp_now_ns() < end) {
    seen = 0;
    for (int i = 0; i < f->o.size; i++) seen += o[i].calls;
    if (seen == f->o.size) break;
    tu_run_for(&f->loop, 0.01);
  }
  int slots_hit = 0;
  for (int i = 0; i < f->o.size; i++) {
    assert_int_equal(o[i].calls, 1);
    assert_int_equal(o[i].err, 0);
    assert_string_equal(o[i].payload, "hi");
    slots_hit |= 1 << o[i].slot;
  }
  /* One in flight per worker: every worker answered one. */
  assert_int_equal(slots_hit, (1 << f->o.size) - 1);
}

static void lifecycle(bool sequential) {
  fx_t f;
  fx_init(&f, 4);
  f.o.mode = sequential ? WP_MODE_SEQUENTIAL : WP_MODE_CONCURRENT;
  assert_int_equal(fx_start(&f), 0);
  assert_int_equal(wp_pool_ready_count(f.pool), 4);
  check_timelines(&f, sequential);
  ping_every_worker(&f);
  int pids[4];
  assert_int_equal(wp_pool_pids(f.pool, pids, 4), 4);
  fx_finish(&f);
  for (int i = 0; i < 4; i++) assert_false(tu_alive(pids[i]));
}

static void lifecycle_concurrent(void **state) { (void)state; lifecycle(false); }
static void lifecycle_sequential(void **state) { (void)state; lifecycle(true); }

/* ---- dispatch under concurrency ---------------------------------------------- */

typedef struct many {
  int *calls;     /* per request index */
  int errors, bad_payload, done;
} many_t;

typedef struct many_tok {
  many_t *m;
  int idx;
  char payload[16];
} many_tok_t;

static void on_many(wp_pool_t *p, int err, const wp_reply_t *r, void *arg) {
  (void)p;
  many_tok_t *t = arg;
  t->m->calls[t->idx]++;
  t->m->done++;
  if (err) t->m->errors++;
  else if (r->payload_len != strlen(t->payload) ||
           memcmp(r->payload, t->payload, r->payload_len) != 0)
    t->m->bad_payload++;
}

/* A big echo: its payload is the pattern of request idx. */
static void on_big(wp_pool_t *p, int err, const wp_reply_t *r, void *arg) {
  (void)p;
  many_tok_t *t = arg;
  t->m->calls[t->idx]++;
  t->m->done++;
  if (err) {
    t->m->errors++;
    return;
  }
  bool same = r->payload_len == 300 * 1024;
  for (size_t j = 0; same && j < r->payload_len; j++)
    same = r->payload[j] == (uint8_t)('a' + (t->idx * 7 + (int)j) % 26);
  if (!same) t->m->bad_payload++;
}

/* 10,000 requests, at most 100 in flight, 4 workers: every callback runs
 * exactly once with its own payload back (ids matched). */
static void dispatch_10k(void **state) {
  (void)state;
  enum { N = 10000, INFLIGHT = 100 };
  fx_t f;
  fx_init(&f, 4);
  f.o.max_inflight = INFLIGHT / 4;
  assert_int_equal(fx_start(&f), 0);
  many_t m = {.calls = calloc(N, sizeof(int))};
  many_tok_t *toks = calloc(N, sizeof *toks);
  int sent = 0;
  uint64_t end = wp_now_ns() + 60 * S;
  while (m.done < N && wp_now_ns() < end) {
    while (sent < N && sent - m.done < INFLIGHT) {
      many_tok_t *t = &toks[sent];
      t->m = &m;
      t->idx = sent;
      snprintf(t->payload, sizeof t->payload, "req-%d", sent);
      wp_request_t req = {.kind = WP_REQ_PING, .payload = t->payload,
                          .payload_len = strlen(t->payload)};
      assert_int_equal(wp_pool_call(f.pool, &req, on_many, t), 0);
      sent++;
    }
    uv_run(&f.loop, UV_RUN_ONCE);
  }
  assert_int_equal(m.done, N);
  assert_int_equal(m.errors, 0);
  assert_int_equal(m.bad_payload, 0);
  for (int i = 0; i < N; i++) assert_int_equal(m.calls[i], 1);
  wp_stats_t st;
  wp_pool_stats(f.pool, &st);
  assert_int_equal(st.replies, N + 0);
  fx_finish(&f);
  free(m.calls);
  free(toks);
}

typedef struct slot_seen {
  int slot, done, err;
} slot_seen_t;

static void on_slot(wp_pool_t *p, int err, const wp_reply_t *r, void *arg) {
  (void)p;
  slot_seen_t *s = arg;
  s->done++;
  s->err |= err;
  if (!err) s->slot = r->slot;
}

/* Checkout is LIFO: one request at a time keeps going to the worker that
 * answered last (the warm one); as many at once as workers spreads over
 * all of them. */
static void checkout_prefers_last_answered(void **state) {
  (void)state;
  enum { W = 4 };
  fx_t f;
  fx_init(&f, W);
  assert_int_equal(fx_start(&f), 0);
  wp_request_t req = {.kind = WP_REQ_PING, .payload = "x", .payload_len = 1};
  int first = -1;
  for (int i = 0; i < 50; i++) {
    slot_seen_t s = {.slot = -1};
    assert_int_equal(wp_pool_call(f.pool, &req, on_slot, &s), 0);
    while (!s.done) uv_run(&f.loop, UV_RUN_ONCE);
    assert_int_equal(s.err, 0);
    if (first < 0) first = s.slot;
    assert_int_equal(s.slot, first);
  }
  slot_seen_t all[W] = {0};
  for (int i = 0; i < W; i++) assert_int_equal(wp_pool_call(f.pool, &req, on_slot, &all[i]), 0);
  for (int i = 0; i < W; i++)
    while (!all[i].done) uv_run(&f.loop, UV_RUN_ONCE);
  int used = 0;
  for (int i = 0; i < W; i++) {
    assert_int_equal(all[i].err, 0);
    used |= 1 << all[i].slot;
  }
  assert_int_equal(used, (1 << W) - 1);
  fx_finish(&f);
}

/* Frames larger than the pipe holds (64 KiB), several at once on one
 * worker: the first write is partial and the rest queue behind it, so
 * every echo must come back whole, in order, byte for byte. */
static void large_frames_queue_in_order(void **state) {
  (void)state;
  enum { K = 6, BYTES = 300 * 1024 };
  fx_t f;
  fx_init(&f, 1);
  f.o.max_inflight = K;
  assert_int_equal(fx_start(&f), 0);
  many_t m = {.calls = calloc(K, sizeof(int))};
  many_tok_t toks[K];
  char *bufs[K];
  for (int i = 0; i < K; i++) {
    bufs[i] = malloc(BYTES);
    for (int j = 0; j < BYTES; j++) bufs[i][j] = (char)('a' + (i * 7 + j) % 26);
  }
  for (int i = 0; i < K; i++) {
    toks[i] = (many_tok_t){.m = &m, .idx = i};
    wp_request_t req = {.kind = WP_REQ_PING, .payload = bufs[i], .payload_len = BYTES};
    assert_int_equal(wp_pool_call(f.pool, &req, on_big, &toks[i]), 0);
  }
  uint64_t end = wp_now_ns() + 30 * S;
  while (m.done < K && wp_now_ns() < end) uv_run(&f.loop, UV_RUN_ONCE);
  assert_int_equal(m.done, K);
  assert_int_equal(m.errors, 0);
  assert_int_equal(m.bad_payload, 0);
  for (int i = 0; i < K; i++) assert_int_equal(m.calls[i], 1);
  fx_finish(&f);
  for (int i = 0; i < K; i++) free(bufs[i]);
  free(m.calls);
}

/* A payload the frame cannot carry is refused at the call, by name; the
 * worker is not blamed and serves the next request. */
static void oversized_request_refused(void **state) {
  (void)state;
  fx_t f;
  fx_init(&f, 1);
  f.o.max_frame = 1024;
  assert_int_equal(fx_start(&f), 0);
  char big[1024 - 64 + 1];
  memset(big, 'b', sizeof big);
  wp_request_t req = {.kind = WP_REQ_PING, .payload = big, .payload_len = sizeof big};
  slot_seen_t s = {.slot = -1};
  assert_int_equal(wp_pool_call(f.pool, &req, on_slot, &s), WP_EINVAL);
  req.payload_len = sizeof big - 1; /* the largest that fits */
  assert_int_equal(wp_pool_call(f.pool, &req, on_slot, &s), 0);
  while (!s.done) uv_run(&f.loop, UV_RUN_ONCE);
  assert_int_equal(s.err, 0);
  wp_stats_t st;
  wp_pool_stats(f.pool, &st);
  assert_int_equal(st.restarts, 0);
  fx_finish(&f);
}

/* The closed-loop driver used by `wpool ping` and the benchmark. */
static void closed_loop_driver(void **state) {
  (void)state;
  fx_t f;
  fx_init(&f, 2);
  f.o.max_inflight = 5;
  assert_int_equal(fx_start(&f), 0);
  wb_load_t l = {.concurrency = 10, .requests = 2000, .warmup = 100,
                 .req = {.kind = WP_REQ_PING, .payload = "x", .payload_len = 1}};
  wb_load_result_t r;
  assert_int_equal(wb_run_closed(&f.loop, f.pool, &l, &r), 0);
  assert_int_equal(r.ok, 2000);
  assert_int_equal(r.failed, 0);
  assert_int_equal(wb_hist_count(r.lat), 2000);
  assert_true(r.rps > 0);
  wb_hist_free(r.lat);
  fx_finish(&f);
}

/* ---- kill_on_timeout ----------------------------------------------------------- */

static int slot_pid(fx_t *f, int slot) {
  wp_timeline_t tl;
  wp_pool_timeline(f->pool, slot, &tl);
  return tl.pid;
}

/* A worker that holds a request past its timeout is killed and replaced
 * (the default); the caller got WP_ETIMEDOUT exactly once. */
static void overrun_kills_worker(void **state) {
  (void)state;
  fx_t f;
  fx_init(&f, 1);
  fx_bad(&f, "hang", NULL);
  assert_int_equal(fx_start(&f), 0);
  int pid = slot_pid(&f, 0);
  outcome_t o = {0};
  assert_int_equal(call_ping(&f, "x", &o, 100 * MS, 0), 0);
  wait_outcome(&f, &o);
  assert_int_equal(o.err, WP_ETIMEDOUT);
  assert_true(fx_wait_gen(&f, 0, 2, 5));
  assert_false(tu_alive(pid));
  wp_stats_t st;
  wp_pool_stats(f.pool, &st);
  assert_int_equal(st.timeout_kills, 1);
  assert_int_equal(st.inflight_now, 0);
  assert_int_equal(o.calls, 1);
  fx_finish(&f);
}

/* kill_on_timeout = 0: the worker keeps the request (and its capacity). */
static void overrun_kept_when_disabled(void **state) {
  (void)state;
  fx_t f;
  fx_init(&f, 1);
  fx_bad(&f, "hang", NULL);
  f.o.kill_on_timeout = 0;
  f.o.stop_grace_ns = 100 * MS;
  assert_int_equal(fx_start(&f), 0);
  int pid = slot_pid(&f, 0);
  outcome_t o = {0};
  assert_int_equal(call_ping(&f, "x", &o, 50 * MS, 0), 0);
  wait_outcome(&f, &o);
  assert_int_equal(o.err, WP_ETIMEDOUT);
  tu_run_for(&f.loop, 0.3);
  wp_timeline_t tl;
  wp_pool_timeline(f.pool, 0, &tl);
  assert_int_equal(tl.generation, 1);
  assert_true(tu_alive(pid));
  wp_stats_t st;
  wp_pool_stats(f.pool, &st);
  assert_int_equal(st.timeout_kills, 0);
  assert_int_equal(st.inflight_now, 1);
  fx_finish(&f);
  assert_int_equal(o.calls, 1);
}

/* The worker is judged from dispatch: a request that spent its deadline
 * queued behind another gets WP_ETIMEDOUT, but the healthy worker that
 * then serves it within its own budget is not killed. */
static void queue_delay_does_not_kill(void **state) {
  (void)state;
  fx_t f;
  fx_init(&f, 1);
  assert_int_equal(fx_start(&f), 0);
  outcome_t a = {0}, b = {0};
  wp_request_t ra = {.kind = WP_REQ_WORK, .sleep_us = 200000, .timeout_ns = 2 * S};
  wp_request_t rb = {.kind = WP_REQ_WORK, .sleep_us = 200000, .timeout_ns = 300 * MS};
  assert_int_equal(wp_pool_call(f.pool, &ra, on_reply, &a), 0);
  assert_int_equal(wp_pool_call(f.pool, &rb, on_reply, &b), 0);
  wait_outcome(&f, &b);
  assert_int_equal(b.err, WP_ETIMEDOUT);
  wait_outcome(&f, &a);
  assert_int_equal(a.err, 0);
  tu_run_for(&f.loop, 0.3); /* b's reply comes back; nobody is killed */
  wp_stats_t st;
  wp_pool_stats(f.pool, &st);
  assert_int_equal(st.timeout_kills, 0);
  assert_int_equal(st.inflight_now, 0);
  wp_timeline_t tl;
  wp_pool_timeline(f.pool, 0, &tl);
  assert_int_equal(tl.generation, 1);
  fx_finish(&f);
}

/* A supervisor that was late to read — its loop thread blocked (or the
 * process SIGSTOPped) past the requests' timeout while the workers
 * answered: the replies waiting in the pipes (or, gRPC, handed over by
 * the client's thread) are taken before any deadline is judged, so the
 * callers get them and no healthy worker is killed. */
static void late_supervisor(wp_transport_t tr) {
  enum { W = 4 };
  fx_t f;
  fx_init(&f, W);
  f.o.transport = tr;
  assert_int_equal(fx_start(&f), 0);
  outcome_t o[W] = {{0}};
  wp_request_t req = {.kind = WP_REQ_WORK, .sleep_us = 10000, .reply_bytes = 2,
                      .timeout_ns = 150 * MS};
  for (int i = 0; i < W; i++) assert_int_equal(wp_pool_call(f.pool, &req, on_reply, &o[i]), 0);
  usleep(500000); /* the supervisor is paused; the workers answer */
  for (int i = 0; i < W; i++) {
    wait_outcome(&f, &o[i]);
    assert_int_equal(o[i].err, 0);
    assert_string_equal(o[i].payload, "ww");
  }
  tu_run_for(&f.loop, 0.05);
  wp_stats_t st;
  wp_pool_stats(f.pool, &st);
  assert_int_equal(st.timeout_kills, 0);
  assert_int_equal(st.worker_exits, 0);
  for (int i = 0; i < W; i++) {
    wp_timeline_t tl;
    wp_pool_timeline(f.pool, i, &tl);
    assert_int_equal(tl.generation, 1);
  }
  fx_finish(&f);
}

static void late_supervisor_pipe(void **state) { (void)state; late_supervisor(WP_TRANSPORT_PIPE); }
static void late_supervisor_grpc(void **state) { (void)state; late_supervisor(WP_TRANSPORT_GRPC); }

/* This whole process SIGSTOPped (every thread, gRPC's too) for 1.5 s
 * while its workers answer a 300 ms Work with a 500 ms timeout: nobody is
 * killed. A pipe reply is read, so the caller gets it; over gRPC, gRPC's
 * own deadline may win the race with the reply on resume (WP_ETIMEDOUT),
 * but it then saw the deadline late, so the worker is not blamed. */
static void stopped_supervisor(wp_transport_t tr) {
  enum { W = 2 };
  fx_t f;
  fx_init(&f, W);
  f.o.transport = tr;
  assert_int_equal(fx_start(&f), 0);
  outcome_t o[W] = {{0}};
  wp_request_t req = {.kind = WP_REQ_WORK, .sleep_us = 300000, .reply_bytes = 2,
                      .timeout_ns = 500 * MS};
  for (int i = 0; i < W; i++) assert_int_equal(wp_pool_call(f.pool, &req, on_reply, &o[i]), 0);
  char *sh[] = {"/bin/sh", "-c", "sleep 0.1; kill -STOP $PPID; sleep 1.5; kill -CONT $PPID", NULL};
  pid_t stopper;
  assert_int_equal(posix_spawn(&stopper, sh[0], NULL, NULL, sh, environ), 0);
  for (int i = 0; i < W; i++) wait_outcome(&f, &o[i]);
  assert_int_equal(waitpid(stopper, NULL, 0), stopper);
  tu_run_for(&f.loop, 0.2);
  for (int i = 0; i < W; i++) {
    print_message("request %d: %s\n", i, wp_errname(o[i].err));
    assert_true(o[i].err == 0 || (tr == WP_TRANSPORT_GRPC && o[i].err == WP_ETIMEDOUT));
  }
  wp_stats_t st;
  wp_pool_stats(f.pool, &st);
  assert_int_equal(st.timeout_kills, 0);
  assert_int_equal(st.worker_exits, 0);
  fx_finish(&f);
}

static void stopped_supervisor_pipe(void **state) { (void)state; stopped_supervisor(WP_TRANSPORT_PIPE); }
static void stopped_supervisor_grpc(void **state) { (void)state; stopped_supervisor(WP_TRANSPORT_GRPC); }

/* A reply that arrives after its call timed out (kill_on_timeout off, so
 * the worker keeps the request): the callback has run once, with
 * WP_ETIMEDOUT, and the late reply neither runs it again nor breaks the
 * worker, which serves the next request. */
static void late_reply_runs_callback_once(void **state) {
  (void)state;
  fx_t f;
  fx_init(&f, 1);
  f.o.kill_on_timeout = 0;
  assert_int_equal(fx_start(&f), 0);
  outcome_t o = {0};
  wp_request_t req = {.kind = WP_REQ_WORK, .sleep_us = 150000, .reply_bytes = 2,
                      .timeout_ns = 30 * MS};
  assert_int_equal(wp_pool_call(f.pool, &req, on_reply, &o), 0);
  wait_outcome(&f, &o);
  assert_int_equal(o.err, WP_ETIMEDOUT);
  wp_stats_t st;
  uint64_t end = wp_now_ns() + 5 * S;
  do { /* until the late reply took the request off the worker */
    tu_run_for(&f.loop, 0.01);
    wp_pool_stats(f.pool, &st);
  } while (st.inflight_now > 0 && wp_now_ns() < end);
  assert_int_equal(st.inflight_now, 0);
  tu_run_for(&f.loop, 0.02);
  assert_int_equal(o.calls, 1);
  assert_int_equal(o.err, WP_ETIMEDOUT);
  wp_pool_stats(f.pool, &st);
  assert_int_equal(st.replies, 0);
  assert_int_equal(st.errors, 1);
  outcome_t next = {0};
  assert_int_equal(call_ping(&f, "on", &next, 0, 0), 0);
  wait_outcome(&f, &next);
  assert_int_equal(next.err, 0);
  assert_string_equal(next.payload, "on");
  wp_timeline_t tl;
  wp_pool_timeline(f.pool, 0, &tl);
  assert_int_equal(tl.generation, 1);
  assert_int_equal(o.calls, 1);
  fx_finish(&f);
}

/* ---- killed workers: named errors, retries, no queued request lost ------------- */

/* SIGKILL a worker that holds a long request: the request fails with
 * WP_EWORKER_EXITED, or (idempotent) is served by the replacement. */
static void killed_worker(wp_transport_t tr, int idempotent) {
  fx_t f;
  fx_init(&f, 1);
  f.o.transport = tr;
  assert_int_equal(fx_start(&f), 0);
  outcome_t o = {0};
  wp_request_t req = {.kind = WP_REQ_WORK, .sleep_us = 300000, .reply_bytes = 2,
                      .idempotent = idempotent};
  assert_int_equal(wp_pool_call(f.pool, &req, on_reply, &o), 0);
  tu_run_for(&f.loop, 0.05);
  assert_int_equal(wp_pool_signal(f.pool, 0, SIGKILL), 0);
  wait_outcome(&f, &o);
  if (idempotent) {
    assert_int_equal(o.err, 0);
    assert_string_equal(o.payload, "ww");
  } else {
    assert_int_equal(o.err, WP_EWORKER_EXITED);
  }
  assert_true(fx_wait_gen(&f, 0, 2, 5));
  fx_finish(&f);
}

static void killed_pipe(void **state) { (void)state; killed_worker(WP_TRANSPORT_PIPE, 0); }
static void killed_pipe_idem(void **state) { (void)state; killed_worker(WP_TRANSPORT_PIPE, 1); }
static void killed_grpc(void **state) { (void)state; killed_worker(WP_TRANSPORT_GRPC, 0); }
static void killed_grpc_idem(void **state) { (void)state; killed_worker(WP_TRANSPORT_GRPC, 1); }

/* Kills under load with a deep queue: every callback runs exactly once,
 * only requests in flight on a killed worker fail, none queued is lost. */
static void kills_under_load(wp_transport_t tr) {
  fx_t f;
  fx_init(&f, 3);
  f.o.transport = tr;
  assert_int_equal(fx_start(&f), 0);
  enum { N = 3000 };
  wp_request_t req = {.kind = WP_REQ_PING, .payload = "k", .payload_len = 1};
  fx_load_t l;
  memset(&l, 0, sizeof l);
  l.f = &f;
  l.total = N;
  l.conc = 30; /* 3 in flight, 27 queued */
  l.req = req;
  l.seen = calloc(N, 1);
  fx_tok_t *toks = calloc(N, sizeof *toks);
  int kills = 0;
  uint64_t end = wp_now_ns() + 30 * S, next_kill = wp_now_ns() + 20 * MS;
  while (l.done < N && wp_now_ns() < end) {
    fx_load_send(&l, toks);
    if (wp_now_ns() >= next_kill && kills < 5) {
      if (wp_pool_signal(f.pool, kills % 3, SIGKILL) == 0) kills++;
      next_kill = wp_now_ns() + 30 * MS;
    }
    tu_run_for(&f.loop, 0.001);
  }
  tu_run_for(&f.loop, 0.05);
  assert_int_equal(l.done, N);
  assert_int_equal(l.dup, 0);
  assert_true(kills >= 3);
  assert_true(l.failed <= kills); /* max_inflight 1: one request each */
  if (l.failed) assert_int_equal(l.first_err, WP_EWORKER_EXITED);
  fx_finish(&f);
  free(toks);
  free(l.seen);
}

static void kills_under_load_pipe(void **state) { (void)state; kills_under_load(WP_TRANSPORT_PIPE); }
static void kills_under_load_grpc(void **state) { (void)state; kills_under_load(WP_TRANSPORT_GRPC); }

/* gRPC: the worker's whole budget is the gRPC deadline; overrun kills. */
static void grpc_overrun_kills_worker(void **state) {
  (void)state;
  fx_t f;
  fx_init(&f, 1);
  f.o.transport = WP_TRANSPORT_GRPC;
  assert_int_equal(fx_start(&f), 0);
  int pid = slot_pid(&f, 0);
  outcome_t o = {0};
  wp_request_t req = {.kind = WP_REQ_WORK, .sleep_us = 3000000, .timeout_ns = 100 * MS};
  assert_int_equal(wp_pool_call(f.pool, &req, on_reply, &o), 0);
  wait_outcome(&f, &o);
  assert_int_equal(o.err, WP_ETIMEDOUT);
  assert_true(fx_wait_gen(&f, 0, 2, 5));
  assert_false(tu_alive(pid));
  wp_stats_t st;
  wp_pool_stats(f.pool, &st);
  assert_int_equal(st.timeout_kills, 1);
  fx_finish(&f);
}

static void grpc_lifecycle(void **state) {
  (void)state;
  fx_t f;
  fx_init(&f, 3);
  f.o.transport = WP_TRANSPORT_GRPC;
  assert_int_equal(fx_start(&f), 0);
  check_timelines(&f, false);
  ping_every_worker(&f);
  fx_finish(&f);
}

/* Stop right after start, while workers are still coming up: the start
 * callback gets WP_ESTOPPED once, a Hello arriving late changes nothing,
 * every child is reaped. */
static void stop_during_start(wp_transport_t tr) {
  fx_t f;
  fx_init(&f, 4);
  f.o.transport = tr;
  assert_int_equal(wp_pool_new(&f.loop, &f.o, &f.pool), 0);
  assert_int_equal(wp_pool_start(f.pool, on_started, &f), 0);
  fx_finish(&f); /* no loop turn yet: every Hello comes after the stop */
  assert_true(f.started);
  assert_int_equal(f.start_err, WP_ESTOPPED);
}

static void stop_during_start_pipe(void **state) { (void)state; stop_during_start(WP_TRANSPORT_PIPE); }
static void stop_during_start_grpc(void **state) { (void)state; stop_during_start(WP_TRANSPORT_GRPC); }

/* ---- queue limits and stop ---------------------------------------------------- */

static void queue_full(void **state) {
  (void)state;
  fx_t f;
  fx_init(&f, 1);
  fx_bad(&f, "hang", NULL);
  f.o.queue_limit = 2;
  assert_int_equal(fx_start(&f), 0);
  outcome_t o[4] = {{0}};
  assert_int_equal(call_ping(&f, "a", &o[0], 0, 0), 0); /* in flight */
  assert_int_equal(call_ping(&f, "b", &o[1], 0, 0), 0); /* queued */
  assert_int_equal(call_ping(&f, "c", &o[2], 0, 0), 0); /* queued */
  assert_int_equal(call_ping(&f, "d", &o[3], 0, 0), WP_EQUEUE_FULL);
  fx_finish(&f);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(o[i].calls, 1);
    assert_int_equal(o[i].err, WP_ESTOPPED);
  }
  assert_int_equal(o[3].calls, 0);
}

/* In-flight requests get their replies during the stop's grace period. */
static void stop_drains_inflight(void **state) {
  (void)state;
  fx_t f;
  fx_init(&f, 2);
  assert_int_equal(fx_start(&f), 0);
  outcome_t o[2] = {{0}};
  for (int i = 0; i < 2; i++) {
    wp_request_t req = {.kind = WP_REQ_WORK, .sleep_us = 50000, .reply_bytes = 3};
    assert_int_equal(wp_pool_call(f.pool, &req, on_reply, &o[i]), 0);
  }
  tu_run_for(&f.loop, 0.01); /* let the requests reach the workers */
  fx_finish(&f);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(o[i].calls, 1);
    assert_int_equal(o[i].err, 0);
    assert_string_equal(o[i].payload, "www");
  }
}

static void bad_options(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  wp_options_t o;
  wp_options_init(&o);
  wp_pool_t *p;
  o.size = 0;
  assert_int_equal(wp_pool_new(&loop, &o, &p), WP_EINVAL);
  o.size = 1;
  o.max_inflight = 0;
  assert_int_equal(wp_pool_new(&loop, &o, &p), WP_EINVAL);
  assert_string_equal(wp_errname(WP_ETIMEDOUT), "WP_ETIMEDOUT");
  assert_string_equal(wp_strerror(WP_EQUEUE_FULL), "request queue is full");
  assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(bad_options),
      cmocka_unit_test(lifecycle_concurrent),
      cmocka_unit_test(lifecycle_sequential),
      cmocka_unit_test(dispatch_10k),
      cmocka_unit_test(checkout_prefers_last_answered),
      cmocka_unit_test(large_frames_queue_in_order),
      cmocka_unit_test(oversized_request_refused),
      cmocka_unit_test(closed_loop_driver),
      cmocka_unit_test(overrun_kills_worker),
      cmocka_unit_test(overrun_kept_when_disabled),
      cmocka_unit_test(queue_delay_does_not_kill),
      cmocka_unit_test(late_reply_runs_callback_once),
      cmocka_unit_test(late_supervisor_pipe),
      cmocka_unit_test(late_supervisor_grpc),
      cmocka_unit_test(stopped_supervisor_pipe),
      cmocka_unit_test(stopped_supervisor_grpc),
      cmocka_unit_test(killed_pipe),
      cmocka_unit_test(killed_pipe_idem),
      cmocka_unit_test(killed_grpc),
      cmocka_unit_test(killed_grpc_idem),
      cmocka_unit_test(kills_under_load_pipe),
      cmocka_unit_test(kills_under_load_grpc),
      cmocka_unit_test(grpc_lifecycle),
      cmocka_unit_test(grpc_overrun_kills_worker),
      cmocka_unit_test(stop_during_start_pipe),
      cmocka_unit_test(stop_during_start_grpc),
      cmocka_unit_test(queue_full),
      cmocka_unit_test(stop_drains_inflight),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
