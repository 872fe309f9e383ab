/*
 * test_remote.c — attached workers (options.connect) over unix sockets on
 * this host: standalone C gRPC workers the test starts itself (as systemd
 * would), a pool that connects to them, health-checks them, serves calls,
 * loses one (SIGKILL) and takes it back when it serves again, and a
 * SIGTERM that drains. The same over real network namespaces is
 * test_netlab.c.
 */
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <unistd.h>

#include "poolfx.h"

extern char **environ;

#define NW 3

typedef struct lab {
  char dir[64];
  char addr[NW][128];
  const char *targets[NW];
  int pid[NW];
} lab_t;

/* Starts standalone worker i on its socket (stderr to /dev/null). */
static void worker_up(lab_t *l, int i) {
  char listen[160];
  snprintf(listen, sizeof listen, "%s", l->addr[i]);
  char *argv[] = {(char *)tu_path("wpool-worker-grpc"), "--transport", "grpc", "--listen",
                  listen, "--standalone", NULL};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid;
  assert_int_equal(posix_spawn(&pid, argv[0], &fa, NULL, argv, environ), 0);
  posix_spawn_file_actions_destroy(&fa);
  l->pid[i] = pid;
}

/* Ends worker i with sig and returns its wait status. */
static int worker_down(lab_t *l, int i, int sig) {
  int st = 0;
  if (l->pid[i] <= 0) return 0;
  kill(l->pid[i], sig);
  assert_int_equal(waitpid(l->pid[i], &st, 0), l->pid[i]);
  l->pid[i] = 0;
  return st;
}

static void lab_up(lab_t *l) {
  memset(l, 0, sizeof *l);
  char dir[sizeof l->dir] = "/tmp/wpool-remote-XXXXXX"; /* a copy: no overlap */
  assert_non_null(mkdtemp(dir));
  memcpy(l->dir, dir, sizeof dir);
  for (int i = 0; i < NW; i++) {
    snprintf(l->addr[i], sizeof l->addr[i], "unix:%s/w%d.sock", dir, i);
    l->targets[i] = l->addr[i];
    worker_up(l, i);
  }
}

static void lab_down(lab_t *l) {
  for (int i = 0; i < NW; i++) worker_down(l, i, SIGKILL);
  tu_rm_rf(l->dir);
}

/* fx_finish, but the lab's workers (our children too) go between the
 * pool's stop and the check that no child is left. */
static void finish(fx_t *f, lab_t *l) {
  wp_pool_stop(f->pool, on_stopped, f);
  assert_true(tu_run_until(&f->loop, &f->stopped, 10));
  wp_pool_free(f->pool);
  f->pool = NULL;
  lab_down(l);
  fx_finish(f);
}

static void fx_attach(fx_t *f, lab_t *l) {
  fx_init(f, 1);
  f->o.connect = l->targets;
  f->o.nconnect = NW;
  f->o.restart_base_ns = 10 * MS;
  f->o.restart_cap_ns = 200 * MS;
}

/* One slot per target, ready once healthy; the timeline reads connect →
 * connected → healthy, with no process; calls reach every worker. */
static void attaches_and_serves(void **state) {
  (void)state;
  lab_t l;
  lab_up(&l);
  fx_t f;
  fx_attach(&f, &l);
  assert_int_equal(fx_start(&f), 0);
  assert_int_equal(wp_pool_size(f.pool), NW);
  assert_int_equal(wp_pool_ready_count(f.pool), NW);
  int pids[4];
  assert_int_equal(wp_pool_pids(f.pool, pids, 4), 0);
  assert_int_equal(wp_pool_signal(f.pool, 0, SIGTERM), WP_ESTATE);
  for (int i = 0; i < NW; i++) {
    wp_timeline_t tl;
    wp_pool_timeline(f.pool, i, &tl);
    assert_int_equal(tl.pid, 0);
    assert_true(tl.spawn_asked > 0 && tl.spawn_asked <= tl.started);
    assert_true(tl.started <= tl.hello && tl.hello <= tl.ready);
  }
  outcome_t o[30] = {{0}};
  for (int i = 0; i < 30; i++) assert_int_equal(call_ping(&f, "far", &o[i], 0, 0), 0);
  int seen[NW] = {0};
  for (int i = 0; i < 30; i++) {
    wait_outcome(&f, &o[i]);
    assert_int_equal(o[i].err, 0);
    assert_string_equal(o[i].payload, "far");
    seen[o[i].slot]++;
  }
  for (int i = 0; i < NW; i++) assert_true(seen[i] > 0);
  finish(&f, &l);
}

/* What needs a process of ours is refused with connect set (no mixed
 * pools), and so is an empty target. */
static void refuses_process_options(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  const char *t[] = {"unix:/nonexistent.sock", ""};
  char *argv[] = {"w", NULL};
  wp_options_t o;
  wp_pool_t *p = NULL;
  for (int k = 0; k < 5; k++) {
    wp_options_init(&o);
    o.connect = t;
    o.nconnect = 1;
    if (k == 0) o.argv = argv;
    if (k == 1) o.max_requests = 10;
    if (k == 2) o.capture_stderr = 1;
    if (k == 3) o.max_rss_bytes = 1 << 20;
    if (k == 4) o.nconnect = 2; /* "" */
    assert_int_equal(wp_pool_new(&loop, &o, &p), WP_EINVAL);
  }
  assert_int_equal(uv_loop_close(&loop), 0);
}

/* Nobody listening: the start fails within its timeout, naming the
 * target and what was missing. */
static void unreachable_fails_start(void **state) {
  (void)state;
  fx_t f;
  fx_init(&f, 1);
  const char *t[] = {"unix:/tmp/wpool-remote-nobody.sock"};
  f.o.connect = t;
  f.o.nconnect = 1;
  f.o.start_timeout_ns = 300 * MS;
  uint64_t t0 = wp_now_ns();
  assert_int_equal(fx_start(&f), WP_ESTART_TIMEOUT);
  assert_true(wp_now_ns() - t0 < 5 * S);
  char why[512];
  assert_int_equal(wp_pool_last_error(f.pool, -1, why, sizeof why), WP_ESTART_TIMEOUT);
  assert_non_null(strstr(why, "wpool-remote-nobody.sock"));
  assert_non_null(strstr(why, "Health/Check"));
  fx_finish(&f);
}

static void kill_worker1(void *arg) { worker_down(arg, 1, SIGKILL); }

/* A worker lost mid-run: its idempotent calls are retried on the others
 * (none fails), non-idempotent ones fail WP_ETRANSPORT exactly once; the
 * slot reconnects, with backoff, and serves again once its worker is back. */
static void lost_worker_comes_back(void **state) {
  (void)state;
  lab_t l;
  lab_up(&l);
  fx_t f;
  fx_attach(&f, &l);
  f.o.max_inflight = 4;
  assert_int_equal(fx_start(&f), 0);
  fx_load_t ld;
  wp_request_t req = {.kind = WP_REQ_WORK, .sleep_us = 200, .idempotent = 1};
  fx_run_load_at(&f, &ld, 3000, 12, &req, 60, 1000, kill_worker1, &l);
  assert_int_equal(ld.ok, 3000);
  tu_run_for(&f.loop, 0.3);
  assert_false(wp_pool_slot_ready(f.pool, 1));
  assert_int_equal(wp_pool_ready_count(f.pool), NW - 1);
  char why[512];
  wp_pool_last_error(f.pool, 1, why, sizeof why);
  assert_non_null(strstr(why, "attached unix:"));
  /* The slot tries again meanwhile (a later generation), and serves once
   * its worker is back. */
  wp_timeline_t before;
  wp_pool_timeline(f.pool, 1, &before);
  assert_true(before.generation >= 2);
  worker_up(&l, 1);
  assert_true(fx_wait_gen(&f, 1, before.generation, 10));
  /* Not idempotent: what the lost worker held fails, named. */
  req.idempotent = 0;
  fx_run_load_at(&f, &ld, 2000, 12, &req, 60, 500, kill_worker1, &l);
  assert_int_equal(ld.ok + ld.failed, 2000);
  assert_true(ld.failed == 0 || ld.first_err == WP_ETRANSPORT);
  assert_int_equal(ld.other_err, 0);
  finish(&f, &l);
}

static void on_work(wp_pool_t *p, int err, const wp_reply_t *r, void *arg) {
  on_reply(p, err, r, arg);
}

/* SIGTERM to a standalone worker: the calls it holds are answered, then it
 * exits 0 (as systemd and Kubernetes stop it). */
static void sigterm_drains(void **state) {
  (void)state;
  lab_t l;
  lab_up(&l);
  fx_t f;
  fx_attach(&f, &l);
  f.o.restart = 0;
  assert_int_equal(fx_start(&f), 0);
  outcome_t o[NW] = {{0}};
  wp_request_t req = {.kind = WP_REQ_WORK, .sleep_us = 300000, .reply_bytes = 3};
  for (int i = 0; i < NW; i++) assert_int_equal(wp_pool_call(f.pool, &req, on_work, &o[i]), 0);
  tu_run_for(&f.loop, 0.1); /* every worker holds one */
  kill(l.pid[0], SIGTERM);
  for (int i = 0; i < NW; i++) {
    wait_outcome(&f, &o[i]);
    assert_int_equal(o[i].err, 0);
    assert_string_equal(o[i].payload, "www");
  }
  int st = 0;
  assert_int_equal(waitpid(l.pid[0], &st, 0), l.pid[0]);
  l.pid[0] = 0;
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  finish(&f, &l);
}

/* Stop with a call in flight on an attached worker: answered in the grace. */
static void stop_answers_inflight(void **state) {
  (void)state;
  lab_t l;
  lab_up(&l);
  fx_t f;
  fx_attach(&f, &l);
  f.o.stop_grace_ns = 2 * S;
  assert_int_equal(fx_start(&f), 0);
  outcome_t o = {0};
  wp_request_t req = {.kind = WP_REQ_WORK, .sleep_us = 100000, .reply_bytes = 2};
  assert_int_equal(wp_pool_call(f.pool, &req, on_work, &o), 0);
  tu_run_for(&f.loop, 0.03);
  finish(&f, &l);
  assert_int_equal(o.calls, 1);
  assert_int_equal(o.err, 0);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(attaches_and_serves),
      cmocka_unit_test(refuses_process_options),
      cmocka_unit_test(unreachable_fails_start),
      cmocka_unit_test(lost_worker_comes_back),
      cmocka_unit_test(sigterm_drains),
      cmocka_unit_test(stop_answers_inflight),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
