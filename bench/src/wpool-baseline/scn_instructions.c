/*
 * scn_instructions.c — user-space instructions per request and per worker
 * start, counted by valgrind: figures that move when the code does and
 * barely when the host is busy (wall-clock medians here drift 1.5-2x over
 * hours; these repeat within a fraction of a percent, results/README.md).
 *
 * Each count is one run of `build/wpool` under callgrind (cache simulation
 * off: instructions only) with --trace-children=yes, so the exec'd workers
 * are counted too, one output file per pid. Everything is pinned to one CPU
 * (the first this process may use) so the supervisor and its worker take
 * turns the same way in every run. A process's total includes its fixed
 * costs (the dynamic loader, the pool's start and stop); differencing two
 * runs cancels them:
 *
 *   instr.sup/pipe/<mode>/n=1/c=C    supervisor, per request: (I(2R) - I(R)) / R
 *   instr.wrk/pipe/<mode>/n=1/c=C    the worker, the same way
 *       over `wpool ping -n 1 -c C --requests R|2R` (R: --requests), for
 *       checkout c=1 and pipelined c=100
 *   instr.start_sup/pipe/n=16        supervisor, per worker started and
 *       stopped: (I(n=16) - I(n=1)) / 15 over `wpool start --no-ping`,
 *       with the workers NOT under valgrind (see below), each I the
 *       least of three starts
 *   instr.start_wrk/pipe/n=16        a worker from exec to the return of
 *       wk_write_hello (callgrind --dump-after splits its count there),
 *       the median of the 16 of a third start, workers under valgrind
 *
 * Why the start's supervisor count runs beside native workers: valgrind
 * 3.19 has no pidfd_open, so the pool falls back to polling waitpid every
 * 10 ms per worker, and those ticks cost instructions in proportion to wall
 * time. With 16 workers under valgrind on one CPU a start lasts seconds,
 * and the ticks made up 90 % of the per-worker figure (spread 22 % over
 * three runs); with native workers it lasts a fraction of that, and
 * taking the least of three starts (the ticks only add) keeps the rest of
 * them out: one start each still moved the figure 5 % under load. The
 * ping runs tick too: a few instructions a request, under 0.5 %.
 *
 * Repetitions: memory's (3 in --quick, 5 by default), in rounds. About
 * 12 s of CPU a round here (valgrind slows each process ~50x). The worker
 * is always build/wpool-worker (--worker is not used): the Hello split needs
 * its symbols. Without valgrind on PATH the scenario is skipped with one
 * line, and config.skipped.instructions says why.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "baseline.h"
#include "stats.h"

extern char **environ;

#define IN_TIMEOUT_S 180   /* one valgrind run; a round takes ~8 s */
#define IN_START_N 16
#define IN_START_TRIES 3   /* native-worker starts a count is the least of */
#define IN_MAX_WORKERS 64

/* SIGINT, SIGTERM or SIGHUP while the scenario runs (0: none). No pool is
 * held here, so interrupt.h's watchers are not on: without this a signal
 * killed the program with its valgrind files left in /tmp/wpool-instr-*. */
static volatile sig_atomic_t in_signal;
static const int in_signals[] = {SIGINT, SIGTERM, SIGHUP};
#define IN_NSIG (sizeof in_signals / sizeof in_signals[0])

static void on_signal(int sig) {
  if (!in_signal) in_signal = sig;
}

/* What every valgrind run of a round shares. */
typedef struct in_env {
  char valgrind[PATH_MAX];
  char wpool[PATH_MAX];
  char worker[PATH_MAX];
  char dir[64];            /* output files of the current run */
  char cpu[16];            /* --cpus for wpool */
} in_env_t;

/* One run's counts: the supervisor's total; per worker its pid, its total
 * and its count up to its Hello (-1 when the split is missing). */
typedef struct in_counts {
  double sup;
  int nwrk;
  int pid[IN_MAX_WORKERS];
  double wrk[IN_MAX_WORKERS], hello[IN_MAX_WORKERS];
} in_counts_t;

/* valgrind on PATH into buf; 0, or -1 when there is none. */
static int find_valgrind(char *buf, size_t cap) {
  const char *path = getenv("PATH");
  char *copy = strdup(path ? path : ""), *save = NULL;
  int rc = -1;
  for (char *d = copy ? strtok_r(copy, ":", &save) : NULL; d && rc; d = strtok_r(NULL, ":", &save)) {
    int w = snprintf(buf, cap, "%s/valgrind", d);
    if (w > 0 && (size_t)w < cap && access(buf, X_OK) == 0) rc = 0;
  }
  free(copy);
  return rc;
}

/* Removes the previous run's files. */
static void clear_dir(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  char path[PATH_MAX];
  while (d && (e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    unlink(path);
  }
  if (d) closedir(d);
}

/* Waits for pid up to IN_TIMEOUT_S, killing it then; its wait status, or -1. */
static int wait_limited(pid_t pid) {
  struct timespec tick = {0, 20 * 1000 * 1000};
  for (int i = 0; i < IN_TIMEOUT_S * 50 && !in_signal; i++) {
    int st;
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid) return st;
    if (r < 0 && errno != EINTR) return -1;
    nanosleep(&tick, NULL);
  }
  /* Timed out or interrupted. The workers see stdin EOF and exit. */
  kill(pid, SIGKILL);
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
  }
  return -1;
}

/* The last line a run wrote on stderr (its files go with the scenario). */
static void last_line(const char *path, char *buf, size_t cap) {
  FILE *f = fopen(path, "r");
  char line[200];
  snprintf(buf, cap, "(nothing on stderr)");
  while (f && fgets(line, sizeof line, f))
    if (line[0] != '\n') snprintf(buf, cap, "%.*s", (int)strcspn(line, "\n"), line);
  if (f) fclose(f);
}

/* Runs `valgrind ... wpool ARGS` (NULL-terminated) with its output files in
 * e->dir, the workers under valgrind too when traced; the supervisor's
 * pid, or -1 with why filled. */
static pid_t run_wpool(const in_env_t *e, bool traced, char *const args[], char *why,
                       size_t whylen) {
  char out[PATH_MAX], log[PATH_MAX], err[PATH_MAX];
  snprintf(out, sizeof out, "--callgrind-out-file=%s/cg.%%p", e->dir);
  snprintf(log, sizeof log, "--log-file=%s/vg.%%p", e->dir);
  snprintf(err, sizeof err, "%s/stderr", e->dir);
  char *argv[32] = {(char *)e->valgrind, "--tool=callgrind", "--cache-sim=no",
                    traced ? "--trace-children=yes" : "--trace-children=no",
                    "--dump-after=wk_write_hello",
                    out, log, (char *)e->wpool};
  int n = 8;
  const char *cmd = args[0];
  if (in_signal) return snprintf(why, whylen, "wpool %s: interrupted", cmd), -1;
  while (*args && n < 31) argv[n++] = *args++;
  argv[n] = NULL;
  clear_dir(e->dir);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid;
  int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    snprintf(why, whylen, "cannot run %s: %s", e->valgrind, strerror(rc));
    return -1;
  }
  int st = wait_limited(pid);
  if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0) return pid;
  char said[200];
  last_line(err, said, sizeof said);
  if (in_signal) snprintf(why, whylen, "wpool %s: interrupted", cmd);
  else if (st == -1) snprintf(why, whylen, "wpool %s: no exit within %d s (killed)", cmd, IN_TIMEOUT_S);
  else snprintf(why, whylen, "wpool %s under valgrind exited with status %d: %s", cmd,
                WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), said);
  return -1;
}

/* The "totals:" line of a callgrind output file; -1 when absent. */
static double file_total(const char *path) {
  FILE *f = fopen(path, "r");
  char line[256];
  double v = -1;
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "totals:", 7) == 0) v = strtod(line + 7, NULL);
  if (f) fclose(f);
  return v;
}

/* One file: cg.PID (the count after the last dump: a process's whole
 * count when it never dumped) or cg.PID.1 (a worker's, up to its Hello). */
static void add_file(const char *dir, const char *name, pid_t sup, in_counts_t *k) {
  char path[PATH_MAX], *end;
  long pid = strtol(name + 3, &end, 10);
  bool hello = strcmp(end, ".1") == 0;
  if (!hello && *end != '\0') return;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  double v = file_total(path);
  if (pid == sup) {
    if (!hello) k->sup = v;
    return;
  }
  int i = 0;
  while (i < k->nwrk && k->pid[i] != pid) i++;
  if (i == IN_MAX_WORKERS) return;
  if (i == k->nwrk) k->pid[k->nwrk++] = (int)pid, k->wrk[i] = 0, k->hello[i] = -1;
  if (hello) k->hello[i] = v;
  k->wrk[i] += v; /* the two parts of a worker add up to its life */
}

/* Reads every output file of the run whose supervisor was sup; 0, or -1
 * when the supervisor's count is missing, or every worker's when traced. */
static int read_counts(const char *dir, pid_t sup, bool traced, in_counts_t *k) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  *k = (in_counts_t){.sup = -1};
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (strncmp(e->d_name, "cg.", 3) == 0) add_file(dir, e->d_name, sup, k);
  closedir(d);
  return k->sup > 0 && (k->nwrk > 0 || !traced) ? 0 : -1;
}

/* ---- the points ----------------------------------------------------------- */

enum { IN_SUP1, IN_WRK1, IN_SUP100, IN_WRK100, IN_START_SUP, IN_START_WRK, IN_NFIG };

/* Runs wpool ARGS under valgrind and reads its counts; 0 or -1 (why). */
static int counts_of(in_env_t *e, bool traced, char *const args[], in_counts_t *k,
                     char *why, size_t wl) {
  pid_t pid = run_wpool(e, traced, args, why, wl);
  if (pid < 0) return -1;
  if (read_counts(e->dir, pid, traced, k) == 0) return 0;
  snprintf(why, wl, "wpool %s left no callgrind counts in %s", args[0], e->dir);
  return -1;
}

static double sum(const double *v, int n) {
  double s = 0;
  for (int i = 0; i < n; i++) s += v[i];
  return s;
}

/* `wpool ping -n 1 -c conc` with `requests` answered. */
static int ping_counts(wb_ctx_t *c, in_env_t *e, int conc, uint64_t requests,
                       in_counts_t *k, char *why, size_t wl) {
  char nc[16], nr[32], nw[32];
  snprintf(nc, sizeof nc, "%d", conc);
  snprintf(nr, sizeof nr, "%llu", (unsigned long long)requests);
  snprintf(nw, sizeof nw, "%llu", (unsigned long long)c->opt->warmup);
  char *args[] = {"ping", "-n", "1", "-c", nc, "--requests", nr, "--warmup", nw,
                  "--cpus", e->cpu, "--worker", e->worker, NULL};
  return counts_of(e, true, args, k, why, wl);
}

/* Per request, supervisor and worker: R and 2R requests, differenced. */
static int ping_rep(wb_ctx_t *c, in_env_t *e, int conc, double *sup, double *wrk,
                    char *why, size_t wl) {
  uint64_t r = c->opt->requests;
  in_counts_t a, b;
  if (ping_counts(c, e, conc, r, &a, why, wl) != 0 ||
      ping_counts(c, e, conc, 2 * r, &b, why, wl) != 0)
    return -1;
  *sup = (b.sup - a.sup) / (double)r;
  *wrk = (sum(b.wrk, b.nwrk) - sum(a.wrk, a.nwrk)) / (double)r;
  return 0;
}

/* `wpool start --no-ping -n n`: a start and a stop, nothing else. */
static int start_counts(in_env_t *e, int n, bool traced, in_counts_t *k, char *why,
                        size_t wl) {
  char nn[16];
  snprintf(nn, sizeof nn, "%d", n);
  char *args[] = {"start", "-q", "--no-ping", "-n", nn, "--cpus", e->cpu,
                  "--start-timeout", "120s", "--worker", e->worker, NULL};
  return counts_of(e, traced, args, k, why, wl);
}

/* The supervisor's count of a start of n native workers: the least of
 * IN_START_TRIES. Why the least: the waitpid poll's ticks only ever add
 * instructions (more of them the longer a busy CPU makes the run), and
 * one such start or the other ran 5 % high in 14 runs taking one each. */
static int least_sup(in_env_t *e, int n, double *sup, char *why, size_t wl) {
  in_counts_t k;
  *sup = -1;
  for (int i = 0; i < IN_START_TRIES; i++) {
    if (start_counts(e, n, false, &k, why, wl) != 0) return -1;
    if (*sup < 0 || k.sup < *sup) *sup = k.sup;
  }
  return 0;
}

/* Supervisor per worker (16 against 1 started, native workers), a worker
 * to its Hello (a third start, the workers counted). */
static int start_rep(in_env_t *e, double *sup, double *wrk, char *why, size_t wl) {
  double one, many;
  in_counts_t all;
  if (least_sup(e, 1, &one, why, wl) != 0 || least_sup(e, IN_START_N, &many, why, wl) != 0 ||
      start_counts(e, IN_START_N, true, &all, why, wl) != 0)
    return -1;
  if (all.nwrk != IN_START_N) {
    snprintf(why, wl, "counted %d workers of %d started", all.nwrk, IN_START_N);
    return -1;
  }
  for (int i = 0; i < all.nwrk; i++)
    if (all.hello[i] < 0) {
      snprintf(why, wl, "worker %d has no count to its Hello (no wk_write_hello?)", all.pid[i]);
      return -1;
    }
  *sup = (many - one) / (IN_START_N - 1);
  *wrk = wb_stats_median(all.hello, (size_t)all.nwrk);
  return 0;
}

/* ---- the scenario ----------------------------------------------------------- */

/* The figures of every round: fig[k][rep]; ok[p] per point (ping c=1, ping
 * c=100, start). */
typedef struct in_runs {
  double *fig[IN_NFIG];
  bool ok[3];
} in_runs_t;

static void one_round(wb_ctx_t *c, in_env_t *e, in_runs_t *s, int r) {
  static const int conc[2] = {1, 100};
  char why[PATH_MAX + 128];
  int reps = c->opt->mem_reps;
  for (int p = 0; p < 2; p++) {
    if (!s->ok[p]) continue;
    bl_status(c, "round %d/%d: ping c=%d under valgrind", r + 1, reps, conc[p]);
    if (ping_rep(c, e, conc[p], &s->fig[2 * p][r], &s->fig[2 * p + 1][r], why, sizeof why)) {
      s->ok[p] = false;
      bl_fail(c, "ping c=%d: %s", conc[p], why);
    }
  }
  if (!s->ok[2]) return;
  bl_status(c, "round %d/%d: start n=%d under valgrind", r + 1, reps, IN_START_N);
  if (start_rep(e, &s->fig[IN_START_SUP][r], &s->fig[IN_START_WRK][r], why, sizeof why)) {
    s->ok[2] = false;
    bl_fail(c, "start n=%d: %s", IN_START_N, why);
  }
}

static void emit_ping(wb_ctx_t *c, const in_runs_t *s, int p) {
  static const char *const mode[2] = {"checkout", "pipelined"};
  static const int conc[2] = {1, 100};
  static const char *const who[2] = {"sup", "wrk"};
  size_t reps = (size_t)c->opt->mem_reps;
  for (int w = 0; w < 2; w++)
    bl_metric(c, "instr", "lower",
              json_pack("{s:s, s:s, s:i, s:i, s:s, s:I}", "transport", "pipe", "mode",
                        mode[p], "n", 1, "c", conc[p], "process", who[w],
                        "requests", (json_int_t)c->opt->requests),
              s->fig[2 * p + w], reps, "instr.%s/pipe/%s/n=1/c=%d", who[w], mode[p], conc[p]);
  bl_done(c, "pipe %s c=%-3d per request: supervisor %.0f, worker %.0f instructions",
          mode[p], conc[p], wb_stats_median(s->fig[2 * p], reps),
          wb_stats_median(s->fig[2 * p + 1], reps));
}

static void emit_start(wb_ctx_t *c, const in_runs_t *s) {
  size_t reps = (size_t)c->opt->mem_reps;
  bl_metric(c, "instr", "lower", json_pack("{s:s, s:i, s:s}", "transport", "pipe", "n",
                                           IN_START_N, "process", "sup"),
            s->fig[IN_START_SUP], reps, "instr.start_sup/pipe/n=%d", IN_START_N);
  bl_metric(c, "instr", "lower", json_pack("{s:s, s:i, s:s}", "transport", "pipe", "n",
                                           IN_START_N, "process", "wrk"),
            s->fig[IN_START_WRK], reps, "instr.start_wrk/pipe/n=%d", IN_START_N);
  bl_done(c, "pipe start n=%d: supervisor %.0f per worker, worker %.0f to its Hello",
          IN_START_N, wb_stats_median(s->fig[IN_START_SUP], reps),
          wb_stats_median(s->fig[IN_START_WRK], reps));
}

/* Says why the scenario did not run: one line, and config.skipped. */
static void skip(wb_ctx_t *c, const char *why) {
  json_t *cfg = json_object_get(c->doc, "config"), *sk = json_object_get(cfg, "skipped");
  if (cfg && !sk) json_object_set_new(cfg, "skipped", sk = json_object());
  if (sk) json_object_set_new(sk, "instructions", json_string(why));
  bl_note(c, "skipped: %s", why);
}

static bool pipe_selected(const bl_opts_t *o) {
  for (int i = 0; i < o->ntransports; i++)
    if (o->transports[i] == WP_TRANSPORT_PIPE) return true;
  return false;
}

/* The programs and the placement; 0, or -1 after saying why. */
static int env_init(wb_ctx_t *c, in_env_t *e) {
  if (!pipe_selected(c->opt)) return skip(c, "the pipe transport is not selected"), -1;
  if (find_valgrind(e->valgrind, sizeof e->valgrind) != 0)
    return skip(c, "valgrind is not installed (scripts/deps.sh installs it)"), -1;
  if (wb_sibling_path("wpool", e->wpool, sizeof e->wpool) != 0 ||
      wb_sibling_path("wpool-worker", e->worker, sizeof e->worker) != 0 ||
      access(e->wpool, X_OK) != 0 || access(e->worker, X_OK) != 0)
    return bl_fail(c, "no build/wpool or build/wpool-worker: build them with make"), -1;
  int cpu = wb_cpus_first();
  snprintf(e->cpu, sizeof e->cpu, "%d", cpu < 0 ? 0 : cpu);
  snprintf(e->dir, sizeof e->dir, "/tmp/wpool-instr-XXXXXX");
  if (!mkdtemp(e->dir)) return bl_fail(c, "mkdtemp: %s", strerror(errno)), -1;
  return 0;
}

/* The signals' handlers while the scenario runs; old gets the previous. */
static void catch_signals(struct sigaction old[IN_NSIG]) {
  struct sigaction sa = {.sa_handler = on_signal};
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < IN_NSIG; i++) sigaction(in_signals[i], &sa, &old[i]);
}

/* The files are gone; a signal that came now ends the program as it
 * would have (interrupt.h: one line, exit 128 + the signal). */
static void release_signals(const struct sigaction old[IN_NSIG]) {
  for (size_t i = 0; i < IN_NSIG; i++) sigaction(in_signals[i], &old[i], NULL);
  if (!in_signal) return;
  fprintf(stderr, "baseline: %s: interrupted the instructions scenario (no results saved)\n",
          in_signal == SIGINT ? "SIGINT" : in_signal == SIGTERM ? "SIGTERM" : "SIGHUP");
  exit(128 + in_signal);
}

static void run(wb_ctx_t *c) {
  in_env_t e;
  struct sigaction old[IN_NSIG];
  if (env_init(c, &e) != 0) return;
  catch_signals(old);
  int reps = c->opt->mem_reps;
  double *buf = calloc((size_t)reps * IN_NFIG, sizeof *buf);
  in_runs_t s = {.ok = {buf != NULL, buf != NULL, buf != NULL}};
  for (int k = 0; buf && k < IN_NFIG; k++) s.fig[k] = buf + (size_t)reps * (size_t)k;
  if (!buf) bl_fail(c, "out of memory");
  for (int r = 0; buf && r < reps && !in_signal; r++) one_round(c, &e, &s, r);
  for (int p = 0; p < 2; p++)
    if (s.ok[p] && !in_signal) emit_ping(c, &s, p);
  if (s.ok[2] && !in_signal) emit_start(c, &s);
  free(buf);
  clear_dir(e.dir);
  rmdir(e.dir);
  release_signals(old);
}

const wb_scenario_t scn_instructions = {
    "instructions",
    "user-space instructions per pipe request and per worker start, under "
    "valgrind (callgrind), supervisor and worker",
    run};
