/*
 * test_cli_faults.c — what `wpool` says and does when workers or the
 * supervisor misbehave (issue 12), through the real command:
 *
 *   - a worker that exits right after its Hello while the others start:
 *     `wpool start` ends with exit 1 and names the exit, never WP_EIO;
 *   - text on a worker's stdout before its Hello: the line names the
 *     worker and shows the text, with the hint that logs go to stderr;
 *   - a worker that dies before its Hello after saying why on stderr: its
 *     lines still reach wpool's stderr, and the error quotes the last;
 *   - `wpool ping --timeout 1s` whose supervisor is SIGSTOPped for 2 s:
 *     the workers answered meanwhile, so nothing fails and nobody is
 *     killed.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>

#include "poolfx.h"

extern char **environ;

typedef struct run {
  pid_t pid;
  int err_fd;          /* its stderr */
  char err[8192];
  size_t err_len;
  int status;
} run_t;

/* Starts `<build>/wpool ARGS...` with stdout to /dev/null, stderr on a pipe. */
static void cli_spawn(run_t *r, char *const args[]) {
  memset(r, 0, sizeof *r);
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  static char prog[4096];
  snprintf(prog, sizeof prog, "%s", tu_path("wpool"));
  char *argv[32] = {prog};
  for (int i = 0; args[i] && i < 30; i++) argv[i + 1] = args[i];
  assert_int_equal(posix_spawn(&r->pid, prog, &fa, NULL, argv, environ), 0);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  r->err_fd = fds[0];
}

/* Reads its stderr to EOF (at most seconds, then SIGKILL) and reaps it. */
static void cli_wait(run_t *r, double seconds) {
  uint64_t end = wp_now_ns() + (uint64_t)(seconds * 1e9);
  for (;;) {
    struct pollfd pfd = {.fd = r->err_fd, .events = POLLIN};
    int left = (int)(((int64_t)end - (int64_t)wp_now_ns()) / 1000000);
    if (left <= 0 || poll(&pfd, 1, left) <= 0) {
      kill(r->pid, SIGKILL);
      break;
    }
    ssize_t n = read(r->err_fd, r->err + r->err_len, sizeof r->err - 1 - r->err_len);
    if (n <= 0) break;
    r->err_len += (size_t)n;
  }
  r->err[r->err_len] = '\0';
  close(r->err_fd);
  assert_int_equal(waitpid(r->pid, &r->status, 0), r->pid);
  fprintf(stderr, "%s", r->err);
}

static void assert_exit(const run_t *r, int code) {
  assert_true(WIFEXITED(r->status));
  assert_int_equal(WEXITSTATUS(r->status), code);
}

/* ---- the start's failures, told ------------------------------------------------- */

static void cli_exit_after_hello(const char *mode) {
  char path[128], worker[4096 + 160];
  snprintf(path, sizeof path, "/tmp/wpool-cli-first-exits-%d", (int)getpid());
  unlink(path);
  snprintf(worker, sizeof worker, "%s first-exits %s", tu_path("tests/bad_worker"), path);
  char *args[] = {"start", "-n", "3", "--mode", (char *)mode, "--worker", worker, NULL};
  run_t r;
  cli_spawn(&r, args);
  cli_wait(&r, 10);
  unlink(path);
  assert_exit(&r, 1);
  assert_non_null(strstr(r.err, "exited with status 3 after its Hello"));
  assert_non_null(strstr(r.err, "(WP_EWORKER_EXITED)"));
  assert_null(strstr(r.err, "WP_EIO"));
}

static void exit_after_hello_concurrent(void **state) { (void)state; cli_exit_after_hello("concurrent"); }
static void exit_after_hello_sequential(void **state) { (void)state; cli_exit_after_hello("sequential"); }

static void text_before_hello(const char *cmd) {
  char worker[4096 + 32];
  snprintf(worker, sizeof worker, "%s print-before-hello", tu_path("tests/bad_worker"));
  char *ping[] = {"ping", "-n", "2", "--requests", "10", "--worker", worker, NULL};
  char *start[] = {"start", "-n", "2", "--worker", worker, NULL};
  run_t r;
  cli_spawn(&r, strcmp(cmd, "ping") == 0 ? ping : start);
  cli_wait(&r, 10);
  assert_exit(&r, 1);
  assert_non_null(strstr(r.err, "slot "));
  assert_non_null(strstr(r.err, "bad_worker print-before-hello): wrote non-protocol "
                                "bytes to stdout before its Hello: \"Loading model...\\n\" "
                                "(logs belong on stderr) (WP_EPROTO)"));
}

static void text_before_hello_start(void **state) { (void)state; text_before_hello("start"); }
static void text_before_hello_ping(void **state) { (void)state; text_before_hello("ping"); }

static void stderr_before_exit(void **state) {
  (void)state;
  char worker[4096 + 32];
  snprintf(worker, sizeof worker, "%s stderr-exit", tu_path("tests/bad_worker"));
  char *args[] = {"start", "-n", "2", "--worker", worker, NULL};
  run_t r;
  cli_spawn(&r, args);
  cli_wait(&r, 10);
  assert_exit(&r, 1);
  /* Forwarded as written, then quoted in the one line that says why. */
  assert_non_null(strstr(r.err, "bad_worker: loading weights\nbad_worker: no such file: model.bin\n"));
  assert_non_null(strstr(r.err, "exited with status 2 before its Hello; its last stderr line: "
                                "\"bad_worker: no such file: model.bin\" (WP_EHELLO)"));
}

/* The Python SDK started where google.protobuf cannot be imported (-S: no
 * site packages): the start's error quotes the SDK's one line. */
static void python_missing_module(void **state) {
  (void)state;
  char *args[] = {"start", "-n", "1", "--worker",
                  "/usr/bin/python3 -S worker/python/example_worker.py", NULL};
  run_t r;
  cli_spawn(&r, args);
  cli_wait(&r, 20);
  assert_exit(&r, 1);
  assert_non_null(strstr(r.err, "exited with status 2 before its Hello; its last stderr line: "
                                "\"wpool-pyworker["));
  assert_non_null(strstr(r.err, "cannot import google.protobuf"));
  assert_non_null(strstr(r.err, "\" (WP_EHELLO)"));
}

/* ---- a paused supervisor ---------------------------------------------------------- */

/* SIGSTOP for 2 s with --timeout 1s: the workers' replies wait in the
 * pipes, and are read before any deadline is judged. Workers that take
 * 50 ms per reply keep the supervisor idle in epoll_wait, which a stop
 * interrupts (EINTR): its timers then run before it reads anything. */
static void paused_supervisor(void **state) {
  (void)state;
  char worker[4096 + 16];
  snprintf(worker, sizeof worker, "%s slow 50", tu_path("tests/bad_worker"));
  char *args[] = {"ping", "-n", "4", "-c", "4", "--duration", "3s", "--timeout", "1s",
                  "--warmup", "10", "--worker", worker, NULL};
  run_t r;
  cli_spawn(&r, args);
  usleep(700000);
  assert_int_equal(kill(r.pid, SIGSTOP), 0);
  sleep(2);
  assert_int_equal(kill(r.pid, SIGCONT), 0);
  cli_wait(&r, 30);
  assert_exit(&r, 0);
  assert_null(strstr(r.err, "failed"));
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(exit_after_hello_concurrent),
      cmocka_unit_test(exit_after_hello_sequential),
      cmocka_unit_test(text_before_hello_start),
      cmocka_unit_test(text_before_hello_ping),
      cmocka_unit_test(stderr_before_exit),
      cmocka_unit_test(python_missing_module),
      cmocka_unit_test(paused_supervisor),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
