/*
 * test_orphans.c — no worker outlives its supervisor, and a pool leaves
 * nothing behind:
 *
 *   - `wpool start -n 16 --hold 30s` SIGKILLed: 1 s later none of its 16
 *     workers is alive (pipe, gRPC, and the Python SDK worker on both);
 *   - 100 start/stop cycles in one process: open descriptors and zombie
 *     children unchanged (pipe, gRPC, pipe with spawn = zygote);
 *   - 1000 pipe workers start and stop (soft RLIMIT_NOFILE raised to the
 *     hard limit), and a limit too small fails the start with WP_ENOFILES
 *     before anything is spawned;
 *   - a supervisor SIGKILLed while its workers are busy in a long Work (not
 *     reading stdin, so only PR_SET_PDEATHSIG can end them): 1 s later none
 *     is alive (pipe, gRPC, Python SDK);
 *   - the same with spawn = zygote: the workers and their template, idle
 *     (`wpool start --spawn zygote`) and busy (pipe and gRPC);
 *   - `wpool chaos` for a second on each transport exits 0 (nothing lost,
 *     hung or answered twice while workers are SIGKILLed).
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>

#include "poolfx.h"

extern char **environ;

/* ---- a supervisor in a child process ---------------------------------------- */

typedef struct child {
  pid_t pid;
  FILE *out;             /* its stdout */
  int wpids[64];         /* its workers, from the timeline table */
  int nw;
  int tpid;              /* its zygote template, or 0 */
} child_t;

/* Runs argv (argv[0] the program's path) with stdout on a pipe. */
static void child_spawn_argv(child_t *c, char *const argv[]) {
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  assert_int_equal(posix_spawn(&c->pid, argv[0], &fa, NULL, argv, environ), 0);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  c->out = fdopen(fds[0], "r");
  c->nw = 0;
  c->tpid = 0;
}

/* Runs `<build>/wpool CMD ARGS...` with stdout on a pipe. */
static void child_spawn_cmd(child_t *c, const char *cmd, char *const args[]) {
  char *argv[32];
  static char prog[4096];
  snprintf(prog, sizeof prog, "%s", tu_path("wpool"));
  int n = 0;
  argv[n++] = prog;
  argv[n++] = (char *)cmd;
  for (int i = 0; args[i] && n < 31; i++) argv[n++] = args[i];
  argv[n] = NULL;
  child_spawn_argv(c, argv);
}

static void child_spawn(child_t *c, char *const args[]) { child_spawn_cmd(c, "start", args); }

/* Reads the timeline table ("slot pid ...") until the "pinged all" line. */
static void child_read_pids(child_t *c, int want) {
  char line[512];
  while (fgets(line, sizeof line, c->out)) {
    int slot, pid;
    if (sscanf(line, "%d %d", &slot, &pid) == 2 && c->nw < 64) c->wpids[c->nw++] = pid;
    if (sscanf(line, "zygote template (pid %d)", &pid) == 1) c->tpid = pid;
    if (strncmp(line, "pinged all", 10) == 0) break;
  }
  assert_int_equal(c->nw, want);
}

static int count_alive(const int *pids, int n) {
  int alive = 0;
  for (int i = 0; i < n; i++) alive += tu_alive(pids[i]);
  return alive;
}

/* SIGKILL the supervisor; 1 s later no worker may be alive (zombies
 * re-parented to init do not count: they are dead, waiting to be reaped). */
static void supervisor_killed(char *const args[], int n) {
  child_t c;
  child_spawn(&c, args);
  child_read_pids(&c, n);
  if (c.tpid > 0) c.wpids[n++] = c.tpid; /* a zygote template goes too */
  assert_int_equal(count_alive(c.wpids, n), n);
  assert_int_equal(kill(c.pid, SIGKILL), 0);
  assert_int_equal(waitpid(c.pid, NULL, 0), c.pid);
  sleep(1);
  int alive = count_alive(c.wpids, n);
  for (int i = 0; i < n; i++) /* never leave them behind, even on failure */
    if (tu_alive(c.wpids[i])) kill(c.wpids[i], SIGKILL);
  fclose(c.out);
  assert_int_equal(alive, 0);
}

static void orphans_pipe(void **state) {
  (void)state;
  char *args[] = {"-n", "16", "--hold", "30s", NULL};
  supervisor_killed(args, 16);
}

static void orphans_grpc(void **state) {
  (void)state;
  char *args[] = {"-n", "16", "--hold", "30s", "--transport", "grpc", NULL};
  supervisor_killed(args, 16);
}

/* The Python SDK: stdin EOF plus PR_SET_PDEATHSIG through ctypes. Its
 * start (~100 ms each, 16 on 2 CPUs) is why it has fewer workers. */
static void orphans_zygote(void **state) {
  (void)state;
  char *args[] = {"-n", "16", "--hold", "30s", "--spawn", "zygote", NULL};
  supervisor_killed(args, 16);
}

static void orphans_python(const char *transport) {
  if (getenv("WPOOL_SANITIZED")) skip(); /* the interpreter is not under test */
  char *args[] = {"-n", "8", "--hold", "30s", "--transport", (char *)transport,
                  "--worker", "/usr/bin/python3 worker/python/example_worker.py", NULL};
  supervisor_killed(args, 8);
}

static void orphans_python_pipe(void **state) { (void)state; orphans_python("pipe"); }
static void orphans_python_grpc(void **state) { (void)state; orphans_python("grpc"); }

/* ---- busy workers: PR_SET_PDEATHSIG ------------------------------------------ */

/* Runs `<build>/tests/busy_pool TRANSPORT N [WORKER...]`, reads its
 * workers' pids, SIGKILLs it; within a second none may be alive. Idle
 * workers would leave anyway at stdin EOF; these sleep in a 30 s Work. */
static void busy_supervisor_killed(const char *transport, int n, char *const worker[]) {
  static char prog[4096];
  char count[16];
  snprintf(prog, sizeof prog, "%s", tu_path("tests/busy_pool"));
  snprintf(count, sizeof count, "%d", n);
  char *argv[16] = {prog, (char *)transport, count};
  for (int i = 0; worker && worker[i] && i < 12; i++) argv[3 + i] = worker[i];
  child_t c;
  child_spawn_argv(&c, argv);
  char line[256];
  while (fgets(line, sizeof line, c.out) && strcmp(line, "busy\n") != 0) {
    int pid;
    if (sscanf(line, "pid %d", &pid) == 1 && c.nw < 64) c.wpids[c.nw++] = pid;
  }
  fclose(c.out);
  if (strncmp(transport, "zygote", 6) == 0) n++; /* the template's pid too */
  assert_int_equal(c.nw, n);
  assert_int_equal(count_alive(c.wpids, n), n);
  assert_int_equal(kill(c.pid, SIGKILL), 0);
  assert_int_equal(waitpid(c.pid, NULL, 0), c.pid);
  uint64_t end = wp_now_ns() + 1 * S;
  while (count_alive(c.wpids, n) > 0 && wp_now_ns() < end) usleep(10000);
  int alive = count_alive(c.wpids, n);
  for (int i = 0; i < n; i++) /* never leave them behind, even on failure */
    if (tu_alive(c.wpids[i])) kill(c.wpids[i], SIGKILL);
  assert_int_equal(alive, 0);
}

static void orphans_busy_pipe(void **state) { (void)state; busy_supervisor_killed("pipe", 4, NULL); }
static void orphans_busy_grpc(void **state) { (void)state; busy_supervisor_killed("grpc", 4, NULL); }
static void orphans_busy_zygote(void **state) { (void)state; busy_supervisor_killed("zygote", 4, NULL); }
static void orphans_busy_zygote_grpc(void **state) {
  (void)state;
  busy_supervisor_killed("zygote-grpc", 4, NULL);
}

static void orphans_busy_python(void **state) {
  (void)state;
  if (getenv("WPOOL_SANITIZED")) skip(); /* the interpreter is not under test */
  char *worker[] = {"/usr/bin/python3", "worker/python/example_worker.py", NULL};
  busy_supervisor_killed("pipe", 4, worker);
}

/* ---- nothing left behind by start/stop --------------------------------------- */

static int count_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  int n = 0;
  while (readdir(d)) n++;
  closedir(d);
  return n;
}

static bool zombie_child_of(char state, int ppid, int pgrp, int parent) {
  (void)pgrp;
  return ppid == parent && state == 'Z';
}

/* Zombie children of this process (waitpid would find them). */
static int count_zombies(void) { return tu_proc_count(zombie_child_of, getpid()); }

static void one_cycle(wp_transport_t t, wp_spawn_t sp, int size) {
  fx_t f;
  fx_init(&f, size);
  f.o.transport = t;
  f.o.spawn = sp;
  assert_int_equal(fx_start(&f), 0);
  outcome_t o = {0};
  assert_int_equal(call_ping(&f, "c", &o, 0, 0), 0);
  wait_outcome(&f, &o);
  assert_int_equal(o.err, 0);
  fx_finish(&f);
}

static void cycles(wp_transport_t t, wp_spawn_t sp, int n) {
  one_cycle(t, sp, 4); /* gRPC's first init opens descriptors it keeps */
  int fds = count_fds(), zombies = count_zombies();
  for (int i = 0; i < n; i++) one_cycle(t, sp, 4);
  assert_int_equal(count_fds(), fds);
  assert_int_equal(count_zombies(), zombies);
  assert_int_equal(zombies, 0);
}

static void cycles_pipe(void **state) { (void)state; cycles(WP_TRANSPORT_PIPE, WP_SPAWN_EXEC, 100); }
static void cycles_grpc(void **state) { (void)state; cycles(WP_TRANSPORT_GRPC, WP_SPAWN_EXEC, 100); }
static void cycles_zygote(void **state) { (void)state; cycles(WP_TRANSPORT_PIPE, WP_SPAWN_ZYGOTE, 100); }

/* ---- a thousand workers ------------------------------------------------------- */

static void set_soft_nofile(rlim_t soft, struct rlimit *old) {
  struct rlimit rl;
  assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
  if (old) *old = rl;
  rl.rlim_cur = soft < rl.rlim_max ? soft : rl.rlim_max;
  assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
}

/* One concurrent start of 1000 pipe workers, a ping on each, a stop. If
 * even the hard limit is too small, the start must say so (WP_ENOFILES). */
static void thousand_workers(void **state) {
  (void)state;
  struct rlimit old;
  set_soft_nofile(RLIM_INFINITY, &old);
  fx_t f;
  fx_init(&f, 1000);
  f.o.start_timeout_ns = 60 * S;
  /* 1000 sanitized workers each run LeakSanitizer at exit: their stop took
   * over 10 s under make check on a loaded host. */
  f.stop_limit_s = 60;
  assert_int_equal(wp_pool_new(&f.loop, &f.o, &f.pool), 0);
  uint64_t t0 = wp_now_ns();
  int rc = wp_pool_start(f.pool, on_started, &f);
  if (rc == WP_ENOFILES) {
    print_message("hard RLIMIT_NOFILE too small for 1000 workers: WP_ENOFILES\n");
  } else {
    assert_int_equal(rc, 0);
    assert_true(tu_run_until(&f.loop, &f.started, 60));
    assert_int_equal(f.start_err, 0);
    print_message("1000 pipe workers ready in %.0f ms\n", (double)(wp_now_ns() - t0) / 1e6);
    wp_request_t req = {.kind = WP_REQ_PING, .payload = "k", .payload_len = 1};
    fx_load_t l;
    fx_run_load(&f, &l, 1000, 1000, &req, 30);
    assert_int_equal(l.failed, 0);
  }
  fx_finish(&f);
  assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
}

/* A soft limit that cannot hold the pool: WP_ENOFILES at once, nothing
 * spawned, and the pool can still be stopped and freed. */
static void too_few_fds(void **state) {
  (void)state;
  struct rlimit old;
  set_soft_nofile(64, &old);
  fx_t f;
  fx_init(&f, 100);
  assert_int_equal(wp_pool_new(&f.loop, &f.o, &f.pool), 0);
  int rc = wp_pool_start(f.pool, on_started, &f);
  assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
  assert_int_equal(rc, WP_ENOFILES);
  assert_string_equal(wp_errname(rc), "WP_ENOFILES");
  assert_int_equal(wp_pool_pids(f.pool, (int[1]){0}, 1), 0);
  fx_finish(&f);
  assert_false(f.started);
}

/* ---- wpool chaos ---------------------------------------------------------------- */

static void chaos_cli(const char *transport) {
  char *args[] = {"-n", "4", "-c", "20", "--duration", "1s", "--kill-every", "100ms",
                  "--transport", (char *)transport, NULL};
  child_t c;
  child_spawn_cmd(&c, "chaos", args);
  char line[512];
  bool lost0 = false;
  while (fgets(line, sizeof line, c.out)) {
    fputs(line, stderr);
    if (strcmp(line, "lost        0\n") == 0) lost0 = true;
  }
  fclose(c.out);
  int st;
  assert_int_equal(waitpid(c.pid, &st, 0), c.pid);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  assert_true(lost0);
}

static void chaos_pipe(void **state) { (void)state; chaos_cli("pipe"); }
static void chaos_grpc(void **state) { (void)state; chaos_cli("grpc"); }

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(orphans_pipe),
      cmocka_unit_test(orphans_grpc),
      cmocka_unit_test(orphans_zygote),
      cmocka_unit_test(orphans_busy_zygote),
      cmocka_unit_test(orphans_busy_zygote_grpc),
      cmocka_unit_test(orphans_python_pipe),
      cmocka_unit_test(orphans_python_grpc),
      cmocka_unit_test(orphans_busy_pipe),
      cmocka_unit_test(orphans_busy_grpc),
      cmocka_unit_test(orphans_busy_python),
      cmocka_unit_test(cycles_pipe),
      cmocka_unit_test(cycles_grpc),
      cmocka_unit_test(cycles_zygote),
      cmocka_unit_test(thousand_workers),
      cmocka_unit_test(too_few_fds),
      cmocka_unit_test(chaos_pipe),
      cmocka_unit_test(chaos_grpc),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
