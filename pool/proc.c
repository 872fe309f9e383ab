/*
 * proc.c — a worker's process: creating it, watching it exit, signalling
 * it, and counting the open handles of its generation.
 *
 * Why posix_spawn and not uv_spawn: libuv 1.44 forks on Linux, and fork
 * copies the supervisor's page tables, so a pool embedded in a large
 * application pays tens of ms per worker (20–27 ms from a 1 GiB parent,
 * measured on this machine kind); glibc's posix_spawn uses CLONE_VM|VFORK
 * and costs the same whatever the parent's size. The pipe ends are handed
 * to libuv with uv_pipe_open, and the exit is watched through a pidfd, so
 * the pool needs no SIGCHLD handler that could steal the embedding
 * application's children. Where pidfd_open does not exist (ENOSYS: Linux
 * before 5.3, or under valgrind 3.19) pidfd is -1 and the exit is seen by
 * polling waitpid every EXIT_POLL_MS. A zygote child (zygote.c) is our
 * child too (its template clones it with CLONE_PARENT): once its pid is
 * known it is watched, signalled and reaped exactly as a spawned worker.
 *
 * Owns: a slot's pid, pidfd, exit watcher, reaped/exit_status and handle
 * count. May call: nothing else in pool/ (errors.c aside); it reports
 * upward through p->on_exit (reaped) and p->on_gone (reaped and closed).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pool_internal.h"
#include "proto.h"

extern char **environ;

static int pidfd_open_(pid_t pid) {
  return (int)syscall(SYS_pidfd_open, pid, 0);
}

static void close_pair(int fds[2]) {
  if (fds[0] >= 0) close(fds[0]);
  if (fds[1] >= 0) close(fds[1]);
  fds[0] = fds[1] = -1;
}

/* Pins the new process to cpus; posix_spawn has no attribute for it, and
 * setting it right after spawn is good enough: the child spends its first
 * microseconds in the dynamic loader. */
static void pin(pid_t pid, const int *cpus, int ncpus) {
  if (!cpus || ncpus <= 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int i = 0; i < ncpus; i++)
    if (cpus[i] >= 0 && cpus[i] < CPU_SETSIZE) CPU_SET(cpus[i], &set);
  (void)sched_setaffinity(pid, sizeof set, &set);
}

/* A variable of ours, set anew for each worker (never inherited). */
static bool ours(const char *var) {
  return strncmp(var, "WPOOL_PPID=", 11) == 0 || strncmp(var, "WPOOL_ZYGOTE=", 13) == 0 ||
         strncmp(var, WPI_PROTOCOL_ENV "=", sizeof WPI_PROTOCOL_ENV) == 0;
}

/* environ plus WPOOL_PPID=<our pid>: lets a worker tell "my supervisor
 * died before I could arm PR_SET_PDEATHSIG" from "my supervisor is PID 1"
 * (a container entrypoint); plus WPOOL_PROTOCOL, the highest protocol we
 * speak (a pipe worker that knows protocol 3 then uses its compact
 * frames); extra (a zygote template's WPOOL_ZYGOTE=FD) is added when not
 * NULL. NULL on allocation failure. */
static char **worker_env(char *buf, size_t buflen, const char *extra) {
  size_t n = 0;
  while (environ[n]) n++;
  char **env = malloc((n + 4) * sizeof *env);
  if (!env) return NULL;
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (!ours(environ[i])) env[k++] = environ[i];
  snprintf(buf, buflen, "WPOOL_PPID=%d", (int)getpid());
  env[k++] = buf;
  env[k++] = WPI_PROTOCOL_ENV "=" WPI_STR(WPI_PROTOCOL_VERSION);
  if (extra) env[k++] = (char *)extra;
  env[k] = NULL;
  return env;
}

/* One posix_spawn for workers and templates: map[i][0] becomes descriptor
 * map[i][1] in the child (map[i][0] < 0: skipped); extra_env, if not NULL,
 * is added to the environment. */
static int spawn_fds(char *const argv[], const int map[][2], int n,
                     const char *extra_env, pid_t *pid) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  int rc = posix_spawn_file_actions_init(&fa);
  if (rc) return rc;
  rc = posix_spawnattr_init(&attr);
  if (rc) {
    posix_spawn_file_actions_destroy(&fa);
    return rc;
  }
  /* dup2 clears FD_CLOEXEC on the targets; every other pool fd is CLOEXEC. */
  for (int i = 0; i < n; i++)
    if (map[i][0] >= 0) posix_spawn_file_actions_adddup2(&fa, map[i][0], map[i][1]);
  /* Own process group: stop can signal the worker and anything it forked.
   * Default signal dispositions: the supervisor may ignore SIGPIPE. */
  sigset_t def;
  sigemptyset(&def);
  sigaddset(&def, SIGPIPE);
  sigaddset(&def, SIGTERM);
  sigaddset(&def, SIGINT);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &def);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF |
                                      POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_USEVFORK);
  char ppid[32];
  char **env = worker_env(ppid, sizeof ppid, extra_env);
  rc = env ? posix_spawnp(pid, argv[0], &fa, &attr, argv, env) : ENOMEM;
  free(env);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  return rc;
}

static int spawn_with(char *const argv[], int in[2], int out[2], int err[2],
                      pid_t *pid) {
  const int map[3][2] = {{in[0], STDIN_FILENO}, {out[1], STDOUT_FILENO},
                         {err[1], STDERR_FILENO}};
  return spawn_fds(argv, map, 3, NULL, pid);
}

int wpi_stdio_pipes(bool err_pipe, wpi_stdio_t *io) {
  *io = (wpi_stdio_t){{-1, -1}, {-1, -1}, {-1, -1}};
  if (pipe2(io->in, O_CLOEXEC) != 0 || pipe2(io->out, O_CLOEXEC) != 0 ||
      (err_pipe && pipe2(io->err, O_CLOEXEC) != 0)) {
    int e = errno;
    close_pair(io->in);
    close_pair(io->out);
    close_pair(io->err);
    return e == EMFILE || e == ENFILE ? WP_ENOFILES : WP_EIO;
  }
  return 0;
}

void wpi_stdio_theirs_close(wpi_stdio_t *io) {
  close(io->in[0]);
  close(io->out[1]);
  if (io->err[1] >= 0) close(io->err[1]);
}

void wpi_stdio_ours_close(wpi_stdio_t *io) {
  close(io->in[1]);
  close(io->out[0]);
  if (io->err[0] >= 0) close(io->err[0]);
}

int wpi_spawn(char *const argv[], const int *cpus, int ncpus, bool err_pipe,
             wp_proc_t *out) {
  wpi_stdio_t io;
  int rc = wpi_stdio_pipes(err_pipe, &io);
  if (rc) return rc;
  pid_t pid;
  rc = spawn_with(argv, io.in, io.out, io.err, &pid);
  wpi_stdio_theirs_close(&io);
  if (rc != 0) {
    wpi_stdio_ours_close(&io);
    return WP_ESPAWN;
  }
  pin(pid, cpus, ncpus);
  int pidfd = pidfd_open_(pid);
  if (pidfd < 0 && errno != ENOSYS) { /* cannot watch it: do not leave it running */
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    wpi_stdio_ours_close(&io);
    return WP_ESPAWN;
  }
  if (pidfd >= 0) fcntl(pidfd, F_SETFD, FD_CLOEXEC);
  *out = (wp_proc_t){.pid = pid, .pidfd = pidfd, .fd_in = io.in[1], .fd_out = io.out[0],
                     .fd_err = io.err[0]};
  return 0;
}

/* A zygote template (zygote.c): the worker command with WPOOL_ZYGOTE=3,
 * its end of the socketpair as descriptor 3, /dev/null as stdin and
 * stdout (it never speaks the pipe protocol itself; its children get
 * their own pipes), the supervisor's stderr. Pinned like a worker: the
 * children it forks inherit the affinity. */
int wpi_spawn_template(char *const argv[], const int *cpus, int ncpus, int sock,
                      int *pid_out, int *pidfd_out) {
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0) return errno == EMFILE || errno == ENFILE ? WP_ENOFILES : WP_EIO;
  const int map[3][2] = {{null, STDIN_FILENO}, {null, STDOUT_FILENO}, {sock, 3}};
  pid_t pid;
  int rc = spawn_fds(argv, map, 3, "WPOOL_ZYGOTE=3", &pid);
  close(null);
  if (rc != 0) return WP_ESPAWN;
  pin(pid, cpus, ncpus);
  int pidfd = pidfd_open_(pid);
  if (pidfd < 0) { /* a template we cannot watch is not worth keeping */
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return WP_ESPAWN;
  }
  *pid_out = pid;
  *pidfd_out = pidfd;
  return 0;
}

int wpi_pidfd_open(int pid) { return pidfd_open_(pid); }

/* ---- exit watching --------------------------------------------------------- */

#define EXIT_POLL_MS 10

/* Looks at s's exit without reaping it: 0 and si_pid 0 while it runs. */
static int peek_exit(const wp_slot_t *s, siginfo_t *si) {
  memset(si, 0, sizeof *si);
  return waitid(P_PID, (id_t)s->tl.pid, si, WEXITED | WNOHANG | WNOWAIT);
}

bool wpi_proc_gone(const wp_slot_t *s) {
  siginfo_t si;
  return s->reaped || (peek_exit(s, &si) == 0 && si.si_pid != 0);
}

static void on_exit_readable(uv_poll_t *w, int status, int events);

/* The slot's generation ends without a process to reap (a zygote ask
 * that failed): a slot whose handles are all closed already is gone at
 * once. */
void wpi_proc_exited(wp_slot_t *s, int status) {
  if (s->reaped) return;
  s->reaped = true;
  s->exit_status = status;
  if (s->tl.pid > 0) s->pool->on_exit(s);
  if (s->handles == 0) s->pool->on_gone(s);
}

/* Reaps the worker if it exited, and tells the slot. */
static void exit_check(wp_slot_t *s) {
  if (s->reaped) return;
  /* Look without reaping first: while the leader is an unreaped zombie its
   * pid (and so its process-group id) cannot be reused, so the group kill
   * below cannot hit a stranger. Whatever the leader left in its group
   * goes with it. */
  siginfo_t si;
  if (peek_exit(s, &si) == 0 && si.si_pid == 0) return; /* spurious: still running */
  kill(-s->tl.pid, SIGKILL);
  int st = 0;
  pid_t r = waitpid(s->tl.pid, &st, WNOHANG);
  if (r == 0) return;
  s->reaped = true;
  s->exit_status = st;
  s->pool->on_exit(s);
}

static void on_exit_readable(uv_poll_t *w, int status, int events) {
  (void)status;
  (void)events;
  exit_check(w->data);
}

static void on_exit_tick(uv_timer_t *t) { exit_check(t->data); }

int wpi_proc_watch(wp_slot_t *s) {
  uv_loop_t *loop = s->pool->loop;
  if (s->tl.pid <= 0) return 0; /* a zygote ask: watched once forked */
  int rc = s->pidfd >= 0 ? uv_poll_init(loop, &s->exitw.poll, s->pidfd)
                         : uv_timer_init(loop, &s->exitw.tick);
  if (rc) return WP_EIO;
  s->exitw.poll.data = s->exitw.tick.data = s; /* one of them is in use */
  s->handles++;
  s->exitw_open = true;
  rc = s->pidfd >= 0
           ? uv_poll_start(&s->exitw.poll, UV_READABLE, on_exit_readable)
           : uv_timer_start(&s->exitw.tick, on_exit_tick, EXIT_POLL_MS, EXIT_POLL_MS);
  return rc ? WP_EIO : 0;
}

void wpi_proc_unwatch(wp_slot_t *s) {
  wpi_proc_close((uv_handle_t *)&s->exitw, &s->exitw_open);
}

void wpi_proc_reap_now(wp_slot_t *s) {
  kill(-s->tl.pid, SIGKILL);
  waitpid(s->tl.pid, NULL, 0);
  s->reaped = true;
  if (s->exitw_open) { /* its close callback closes the pidfd */
    wpi_proc_unwatch(s);
  } else if (s->pidfd >= 0) {
    close(s->pidfd);
    s->pidfd = -1;
  }
}

/* ---- a generation's handles -------------------------------------------------- */

void wpi_proc_handle_closed(uv_handle_t *h) {
  wp_slot_t *s = h->data;
  if (h == (uv_handle_t *)&s->exitw && s->pidfd >= 0) {
    close(s->pidfd);
    s->pidfd = -1;
  }
  if (--s->handles == 0 && s->reaped) s->pool->on_gone(s);
}

void wpi_proc_close(uv_handle_t *h, bool *open) {
  if (!*open) return;
  *open = false;
  uv_close(h, wpi_proc_handle_closed);
}

/* ---- signals ------------------------------------------------------------------ */

void wpi_proc_signal_group(wp_slot_t *s, int sig) {
  if (s->tl.pid <= 0 || s->reaped) return;
  kill(-s->tl.pid, sig);
}

/* The caller checked the process is still our unreaped child, so neither
 * the pidfd nor, without one, its pid can name a stranger that reused it. */
int wpi_proc_signal(wp_slot_t *s, int sig) {
  if (s->pidfd >= 0 && syscall(SYS_pidfd_send_signal, s->pidfd, sig, NULL, 0) == 0)
    return 0;
  if (s->pidfd >= 0 && errno != ENOSYS) return WP_EIO;
  return kill(s->tl.pid, sig) == 0 ? 0 : WP_EIO;
}
