/*
 * test_zygote.c — spawn = zygote: workers forked from one template.
 *
 *   - start, ping each, stop, on pipe and gRPC: every worker is cloned by
 *     the template but is the pool's child (CLONE_PARENT), not the
 *     template's; its timeline ask → forked → Hello is
 *     ordered, the template's own timeline is there, nothing is left after
 *     the stop;
 *   - a worker SIGKILLed is replaced through the same template (pipe, gRPC);
 *   - fd hygiene: a worker's /proc/PID/fd holds 0, 1, 2 only (with and
 *     without capture_stderr): not the template's socket, not another
 *     worker's pipes;
 *   - the template SIGKILLed under load: every request is answered, exactly
 *     once, none fails; the workers keep their pids (nothing restarts);
 *     a worker killed afterwards is replaced through a new template; with
 *     the C worker and with the Python SDK's template;
 *   - a stop while the asks are still in the template's socket ends
 *     cleanly; a command that is no template fails the start (WP_ESPAWN),
 *     promptly; an unknown spawn mode is WP_EINVAL.
 * The supervisor-SIGKILL cases (idle and busy workers, and the template)
 * are in test_orphans.c with the other orphan tests.
 */
#include <dirent.h>
#include <signal.h>

#include "poolfx.h"

static void fx_zygote(fx_t *f, int size) {
  fx_init(f, size);
  f->o.spawn = WP_SPAWN_ZYGOTE;
}

/* The parent pid of pid, from /proc; -1 if gone. */
static int ppid_of(int pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *fp = fopen(path, "r");
  if (!fp) return -1;
  int ppid = -1;
  if (fscanf(fp, "%*d %*s %*c %d", &ppid) != 1) ppid = -1;
  fclose(fp);
  return ppid;
}

static void ping_ok(fx_t *f) {
  outcome_t o = {0};
  assert_int_equal(call_ping(f, "z", &o, 5 * S, 0), 0);
  wait_outcome(f, &o);
  assert_int_equal(o.err, 0);
  assert_string_equal(o.payload, "z");
}

/* Every slot: ready, cloned as our child (not the template's), timeline
 * in order. */
static void check_children(fx_t *f, const wp_timeline_t *zt) {
  for (int i = 0; i < f->o.size; i++) {
    wp_timeline_t tl;
    assert_int_equal(wp_pool_timeline(f->pool, i, &tl), 0);
    if (!(tl.hello >= tl.started && tl.ready >= tl.hello))
      fprintf(stderr, "slot %d gen %d pid %d asked %llu started %llu hello %llu ready %llu\n", i,
              tl.generation, tl.pid, (unsigned long long)tl.spawn_asked,
              (unsigned long long)tl.started, (unsigned long long)tl.hello,
              (unsigned long long)tl.ready);
    assert_true(tl.pid > 0 && tl.pid != zt->pid);
    assert_int_equal(ppid_of(tl.pid), getpid());
    assert_true(tl.spawn_asked > 0 && tl.started >= tl.spawn_asked);
    assert_true(tl.hello >= tl.started && tl.ready >= tl.hello);
  }
}

static void start_stop(wp_transport_t t) {
  fx_t f;
  fx_zygote(&f, 4);
  f.o.transport = t;
  assert_int_equal(fx_start(&f), 0);
  wp_timeline_t zt;
  assert_int_equal(wp_pool_template(f.pool, &zt), 0);
  assert_true(zt.pid > 0 && zt.generation == 1);
  assert_true(zt.started >= zt.spawn_asked && zt.ready >= zt.started);
  assert_int_equal(ppid_of(zt.pid), getpid());
  check_children(&f, &zt);
  for (int i = 0; i < 8; i++) ping_ok(&f);
  fx_finish(&f); /* the template too is reaped: waitpid finds nothing */
  assert_false(tu_alive(zt.pid));
}

static void start_stop_pipe(void **state) { (void)state; start_stop(WP_TRANSPORT_PIPE); }
/* The gRPC worker's template never started gRPC: each child does, after
 * the fork, on the --listen address its SPAWN carried. */
static void start_stop_grpc(void **state) { (void)state; start_stop(WP_TRANSPORT_GRPC); }

static void exec_has_no_template(void **state) {
  (void)state;
  fx_t f;
  fx_init(&f, 1);
  assert_int_equal(fx_start(&f), 0);
  wp_timeline_t zt;
  assert_int_equal(wp_pool_template(f.pool, &zt), WP_EINVAL);
  fx_finish(&f);
}

/* Runs until slot i runs generation gen, ready (bounded). */
static void wait_generation(fx_t *f, int i, int gen) {
  uint64_t end = wp_now_ns() + 10 * S;
  wp_timeline_t tl = {0};
  while (wp_now_ns() < end) {
    tu_run_for(&f->loop, 0.01);
    wp_pool_timeline(f->pool, i, &tl);
    if (tl.generation >= gen && tl.ready) break;
  }
  assert_true(tl.generation >= gen && tl.ready);
}

static void restart_through_template(wp_transport_t t) {
  fx_t f;
  fx_zygote(&f, 2);
  f.o.transport = t;
  assert_int_equal(fx_start(&f), 0);
  wp_timeline_t zt, tl;
  assert_int_equal(wp_pool_template(f.pool, &zt), 0);
  assert_int_equal(wp_pool_timeline(f.pool, 0, &tl), 0);
  int old = tl.pid;
  assert_int_equal(kill(old, SIGKILL), 0);
  wait_generation(&f, 0, 2);
  assert_int_equal(wp_pool_timeline(f.pool, 0, &tl), 0);
  assert_true(tl.pid != old);
  assert_int_equal(ppid_of(tl.pid), getpid());
  assert_true(tl.spawn_asked > zt.ready); /* asked of template 1, still the one: */
  wp_timeline_t zt2;
  assert_int_equal(wp_pool_template(f.pool, &zt2), 0);
  assert_int_equal(zt2.generation, 1);
  wp_stats_t st;
  wp_pool_stats(f.pool, &st);
  assert_int_equal(st.restarts, 1);
  for (int i = 0; i < 4; i++) ping_ok(&f);
  fx_finish(&f);
}

static void restart_pipe(void **state) { (void)state; restart_through_template(WP_TRANSPORT_PIPE); }
static void restart_grpc(void **state) { (void)state; restart_through_template(WP_TRANSPORT_GRPC); }

/* ---- fd hygiene ------------------------------------------------------------- */

/* The descriptors pid holds, as a bit set of the first 64 (and a count). */
static int fds_of(int pid, uint64_t *set) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/fd", pid);
  DIR *d = opendir(path);
  assert_non_null(d);
  struct dirent *e;
  int n = 0;
  *set = 0;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    int fd = atoi(e->d_name);
    if (fd < 64) *set |= 1ull << fd;
    n++;
  }
  closedir(d);
  return n;
}

static void hygiene(int capture) {
  fx_t f;
  fx_zygote(&f, 4);
  f.o.capture_stderr = capture;
  assert_int_equal(fx_start(&f), 0);
  /* A restart too: a later child must not inherit its elders' pipes. */
  wp_timeline_t tl;
  assert_int_equal(wp_pool_timeline(f.pool, 1, &tl), 0);
  kill(tl.pid, SIGKILL);
  wait_generation(&f, 1, 2);
  for (int i = 0; i < 4; i++) {
    assert_int_equal(wp_pool_timeline(f.pool, i, &tl), 0);
    uint64_t set;
    int n = fds_of(tl.pid, &set);
    if (n != 3 || set != 7) fprintf(stderr, "worker %d holds %d fds (set %#llx)\n", tl.pid, n,
                                    (unsigned long long)set);
    assert_int_equal(n, 3);
    assert_int_equal(set, 7);
  }
  fx_finish(&f);
}

static void fd_hygiene(void **state) { (void)state; hygiene(0); }
static void fd_hygiene_captured(void **state) { (void)state; hygiene(1); }

/* ---- the template dies -------------------------------------------------------- */

#define NREQ 200

/* python: the Python SDK's template (its raw clone between PyOS_BeforeFork
 * and PyOS_AfterFork_*) instead of the C worker's. */
static void template_killed(bool python) {
  fx_t f;
  fx_zygote(&f, 4);
  f.o.max_inflight = 2;
  char *py[] = {"/usr/bin/python3", "worker/python/example_worker.py", NULL};
  if (python) f.o.argv = py;
  assert_int_equal(fx_start(&f), 0);
  wp_timeline_t zt, before[4], tl;
  assert_int_equal(wp_pool_template(f.pool, &zt), 0);
  for (int i = 0; i < 4; i++) assert_int_equal(wp_pool_timeline(f.pool, i, &before[i]), 0);
  static outcome_t o[NREQ];
  memset(o, 0, sizeof o);
  wp_request_t req = {.kind = WP_REQ_WORK, .sleep_us = 2000};
  for (int i = 0; i < NREQ; i++) assert_int_equal(wp_pool_call(f.pool, &req, on_reply, &o[i]), 0);
  tu_run_for(&f.loop, 0.02); /* some answered, some in flight, most queued */
  int early = 0;
  for (int i = 0; i < NREQ; i++) early += o[i].calls > 0;
  assert_int_equal(kill(zt.pid, SIGKILL), 0);
  uint64_t end = wp_now_ns() + 20 * S;
  int done = 0;
  while (wp_now_ns() < end) {
    done = 0;
    for (int i = 0; i < NREQ; i++) done += o[i].calls > 0;
    if (done == NREQ) break;
    tu_run_for(&f.loop, 0.01);
  }
  for (int i = 0; i < NREQ; i++) {
    assert_int_equal(o[i].calls, 1); /* exactly once */
    if (o[i].err) fail_msg("request %d: %s", i, wp_errname(o[i].err));
  }
  fprintf(stderr, "template killed after %d of %d answers: all %d answered\n", early, NREQ,
          NREQ);
  assert_true(early < NREQ); /* the kill did land mid-run */
  assert_false(tu_alive(zt.pid)); /* reaped by the pool */
  /* The workers lived through it: same pids, same generation, no restart. */
  for (int i = 0; i < 4; i++) {
    assert_int_equal(wp_pool_timeline(f.pool, i, &tl), 0);
    assert_int_equal(tl.pid, before[i].pid);
    assert_int_equal(tl.generation, before[i].generation);
    assert_true(tu_alive(tl.pid));
  }
  wp_stats_t st;
  wp_pool_stats(f.pool, &st);
  assert_int_equal(st.restarts, 0);
  /* A later restart goes through a new template. */
  assert_int_equal(kill(before[2].pid, SIGKILL), 0);
  wait_generation(&f, 2, before[2].generation + 1);
  wp_timeline_t zt2;
  assert_int_equal(wp_pool_template(f.pool, &zt2), 0);
  assert_int_equal(zt2.generation, 2);
  assert_true(zt2.pid != zt.pid && tu_alive(zt2.pid));
  assert_int_equal(ppid_of(zt2.pid), getpid());
  assert_int_equal(wp_pool_timeline(f.pool, 2, &tl), 0);
  /* That ask started template 2, which then cloned the worker. */
  assert_true(zt2.spawn_asked >= tl.spawn_asked && tl.started >= zt2.started);
  check_children(&f, &zt2);
  for (int i = 0; i < 8; i++) ping_ok(&f);
  fx_finish(&f);
}

static void template_killed_c(void **state) { (void)state; template_killed(false); }
static void template_killed_python(void **state) {
  (void)state;
  if (getenv("WPOOL_SANITIZED")) skip(); /* the interpreter is not under test */
  template_killed(true);
}

/* ---- edges ------------------------------------------------------------------------ */

static void stop_while_asking(void **state) {
  (void)state;
  fx_t f;
  fx_zygote(&f, 8);
  assert_int_equal(wp_pool_new(&f.loop, &f.o, &f.pool), 0);
  assert_int_equal(wp_pool_start(f.pool, on_started, &f), 0);
  fx_finish(&f); /* stops before the template has even said READY */
  assert_true(f.started);
  assert_int_equal(f.start_err, WP_ESTOPPED);
}

static void not_a_template(void **state) {
  (void)state;
  fx_t f;
  fx_zygote(&f, 2);
  static char *argv[] = {"/bin/true", NULL};
  f.o.argv = argv;
  uint64_t t0 = wp_now_ns();
  assert_int_equal(fx_start(&f), WP_ESPAWN);
  assert_true(wp_now_ns() - t0 < 2 * S); /* not the start timeout */
  fx_finish(&f);
}

/* A template that never answers (here: one that never reads its socket)
 * fails the start at the start timeout and is killed then, so the stop
 * that follows ends: before, nothing signalled a slot with no pid, and
 * this stop never finished. */
static void silent_template(void **state) {
  (void)state;
  fx_t f;
  fx_zygote(&f, 2);
  static char *argv[] = {"/bin/sleep", "1000", NULL};
  f.o.argv = argv;
  f.o.start_timeout_ns = 300 * MS;
  assert_int_equal(fx_start(&f), WP_ESTART_TIMEOUT);
  wp_timeline_t zt;
  assert_int_equal(wp_pool_template(f.pool, &zt), 0);
  f.stop_limit_s = 10;
  fx_finish(&f);
  assert_int_equal(kill(zt.pid, 0), -1); /* reaped, not just killed */
}

static void bad_spawn(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  wp_options_t o;
  wp_options_init(&o);
  wp_pool_t *p = NULL;
  o.spawn = (wp_spawn_t)7;
  assert_int_equal(wp_pool_new(&loop, &o, &p), WP_EINVAL);
  wp_spawn_t s;
  assert_int_equal(wp_spawn_parse("zygote", &s), 0);
  assert_int_equal(s, WP_SPAWN_ZYGOTE);
  assert_string_equal(wp_spawn_name(s), "zygote");
  assert_int_equal(wp_spawn_parse("fork", &s), WP_EINVAL);
  uv_loop_close(&loop);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(start_stop_pipe),
      cmocka_unit_test(start_stop_grpc),
      cmocka_unit_test(exec_has_no_template),
      cmocka_unit_test(restart_pipe),
      cmocka_unit_test(restart_grpc),
      cmocka_unit_test(fd_hygiene),
      cmocka_unit_test(fd_hygiene_captured),
      cmocka_unit_test(template_killed_c),
      cmocka_unit_test(template_killed_python),
      cmocka_unit_test(stop_while_asking),
      cmocka_unit_test(not_a_template),
      cmocka_unit_test(silent_template),
      cmocka_unit_test(bad_spawn),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
