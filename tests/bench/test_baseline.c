/*
 * test_baseline.c — build/wpool-baseline end to end, on tiny runs: the
 * file it writes validates as "wpool.bench/1" and holds the expected
 * metric ids with one run per repetition and their floor links; --out is
 * respected (nothing lands in the results directory); without --out both
 * <time>-<sha>.json and latest.json are written; a bad option exits 2 with
 * one line. Floors: each pool point links to the floor at the requests it
 * has on the wire, in the suite's placement, and the pipe floor does one
 * write per request on both sides; the bare C pool runs beside each pipe
 * point and its ratio pairs the rounds. Instructions: callgrind counts per
 * request and per start (skipped under the sanitizers, which valgrind
 * cannot run), and a clear skip without valgrind. Kept to a few seconds
 * (instructions: ~10 s) so it also runs under make check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <dirent.h>
#include <sched.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "results.h"
#include "testutil.h"

extern char **environ;

static char tmpdir[64];

static const char *tmp(const char *name) {
  static char buf[8][512];
  static int next;
  char *p = buf[next++ % 8];
  snprintf(p, sizeof buf[0], "%s/%s", tmpdir, name);
  return p;
}

/* Runs wpool-baseline with args (NULL-terminated), stdout and stderr to
 * files in the temp dir, results directory pointed into it; exit status. */
static int baseline(const char *first, ...) {
  char *argv[32];
  int n = 0;
  argv[n++] = strdup(tu_path("wpool-baseline"));
  va_list ap;
  va_start(ap, first);
  for (const char *a = first; a && n < 31; a = va_arg(ap, const char *))
    argv[n++] = (char *)a;
  va_end(ap);
  argv[n] = NULL;
  setenv("WPOOL_RESULTS_DIR", tmp("results"), 1);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, tmp("stdout"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, tmp("stderr"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid;
  int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  free(argv[0]);
  assert_int_equal(rc, 0);
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int lines_in(const char *path) {
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  int c, n = 0;
  while ((c = fgetc(f)) != EOF) n += c == '\n';
  fclose(f);
  return n;
}

static int entries_in(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

static json_t *load_ok(const char *path) {
  json_t *doc = NULL;
  char why[512];
  if (wb_results_load(path, &doc, why, sizeof why) != 0) fail_msg("%s", why);
  assert_int_equal(wb_results_validate(doc, why, sizeof why), 0);
  return doc;
}

/* The metric exists with n runs; returns it. */
static json_t *has(json_t *doc, const char *id, int n) {
  json_t *m = wb_metric_find(doc, id);
  if (!m) fail_msg("missing metric %s", id);
  assert_int_equal(json_integer_value(json_object_get(m, "n")), n);
  assert_int_equal(json_array_size(json_object_get(m, "runs")), n);
  return m;
}

/* A number in the metric's params. */
static double param(json_t *doc, const char *id, const char *key) {
  json_t *m = wb_metric_find(doc, id);
  if (!m) fail_msg("missing metric %s", id);
  json_t *v = json_object_get(json_object_get(m, "params"), key);
  if (!json_is_number(v)) fail_msg("%s: no params.%s", id, key);
  return json_number_value(v);
}

static const char *param_str(json_t *doc, const char *id, const char *key) {
  json_t *m = wb_metric_find(doc, id);
  assert_non_null(m);
  const char *s = json_string_value(json_object_get(json_object_get(m, "params"), key));
  assert_non_null(s);
  return s;
}

static void floor_is(json_t *m, const char *floor) {
  assert_string_equal(json_string_value(json_object_get(m, "floor")), floor);
  assert_true(json_number_value(json_object_get(m, "ratio_to_floor")) > 0);
}

/* The metric's threshold_pct, 0 when it has none. */
static void threshold_is(json_t *doc, const char *id, double pct) {
  json_t *m = wb_metric_find(doc, id);
  assert_non_null(m);
  assert_float_equal(json_number_value(json_object_get(m, "threshold_pct")), pct, 1e-9);
}

static const char *class_of(json_t *doc, const char *id) {
  json_t *m = wb_metric_find(doc, id);
  if (!m) fail_msg("missing metric %s", id);
  return json_string_value(json_object_get(m, "class"));
}

/* Cost counters beside the wall-clock figures, over the same runs, with
 * class "cost" (and the wall figures class "wall"); syscalls where the
 * kernel lets them be counted, and config says which. */
static void costs_are_there(json_t *doc) {
  static const char *const what[] = {"sup_cpu_us", "wrk_cpu_us", "sup_csw", "wrk_csw"};
  char id[128];
  for (size_t i = 0; i < sizeof what / sizeof what[0]; i++) {
    snprintf(id, sizeof id, "cost.%s/pipe/checkout/n=1/c=1", what[i]);
    json_t *m = has(doc, id, 2);
    assert_string_equal(json_string_value(json_object_get(m, "better")), "lower");
    assert_string_equal(class_of(doc, id), "cost");
    assert_true(json_number_value(json_object_get(m, "median")) > 0);
  }
  /* One request costs the supervisor a switch at most per round trip, and
   * some CPU; an order of magnitude off means a wrong divisor. */
  double csw = json_number_value(json_object_get(
      wb_metric_find(doc, "cost.sup_csw/pipe/checkout/n=1/c=1"), "median"));
  assert_true(csw > 0.1 && csw < 10);
  has(doc, "cost.wrk_cpu_us/grpc/pipelined/n=2/c=10", 2);
  has(doc, "cost.start_sup_cpu_us/pipe/concurrent/n=1", 2);
  assert_string_equal(class_of(doc, "cost.start_wrk_cpu_us/grpc/sequential/n=2"), "cost");
  assert_string_equal(class_of(doc, "ping.rps/pipe/checkout/n=1/c=1"), "wall");
  json_t *cc = json_object_get(json_object_get(doc, "config"), "cost_counters");
  const char *sys = json_string_value(json_object_get(cc, "syscalls"));
  assert_non_null(sys);
  json_t *m = wb_metric_find(doc, "cost.sup_syscalls/pipe/checkout/n=1/c=1");
  if (strncmp(sys, "unavailable", 11) == 0) {
    assert_null(m);
  } else {
    /* Counted apart and differenced (ping.c count_syscalls): a pipe ping
     * at C=1 is an epoll_wait, a read and a write for the supervisor and a
     * read and a write for the worker; a wrong divisor or a ramp left in
     * would read 2x or 0.5x. */
    assert_non_null(m);
    double sup = json_number_value(json_object_get(m, "median"));
    double wrk = json_number_value(json_object_get(
        wb_metric_find(doc, "cost.wrk_syscalls/pipe/checkout/n=1/c=1"), "median"));
    assert_true(sup > 2.5 && sup < 3.5);
    assert_true(wrk > 1.5 && wrk < 2.5);
  }
}

/* The bare C pool runs beside every pipe point of the grid, at its n, C
 * and mode, one write per request, in the suite's placement; each run of
 * the ratio is that round's pool req/s over that round's bare pool. */
static void bare_pool_beside_each_pipe_point(json_t *doc, const char *place) {
  static const char *const pts[] = {"checkout/n=1/c=1", "checkout/n=2/c=10",
                                    "pipelined/n=1/c=10", "pipelined/n=2/c=10"};
  char fid[128], rid[128], pid[128];
  for (size_t i = 0; i < sizeof pts / sizeof pts[0]; i++) {
    snprintf(fid, sizeof fid, "floor.rps/pool/%s", pts[i]);
    snprintf(rid, sizeof rid, "ping.rps_per_bare/pipe/%s", pts[i]);
    snprintf(pid, sizeof pid, "ping.rps/pipe/%s", pts[i]);
    json_t *f = has(doc, fid, 2), *r = has(doc, rid, 2), *p = has(doc, pid, 2);
    /* One write per frame at C=1; a read's replies corked together above. */
    double rpw = param(doc, fid, "requests_per_write");
    if (i == 0) assert_float_equal(rpw, 1, 1e-9);
    else assert_true(rpw >= 1 && rpw <= 10);
    assert_string_equal(param_str(doc, fid, "placement"), place);
    assert_string_equal(class_of(doc, fid), "wall");
    for (size_t k = 0; k < 2; k++) {
      double fr = json_number_value(json_array_get(json_object_get(f, "runs"), k));
      double pr = json_number_value(json_array_get(json_object_get(p, "runs"), k));
      double rr = json_number_value(json_array_get(json_object_get(r, "runs"), k));
      assert_true(fr > 0);
      assert_float_equal(rr, pr / fr, 1e-9 * rr);
    }
  }
  assert_null(wb_metric_find(doc, "floor.rps/pool/pipelined/n=2/c=1"));
  assert_null(wb_metric_find(doc, "ping.rps_per_bare/grpc/checkout/n=1/c=1"));
}

static void quick_subset_has_the_ids(void **state) {
  (void)state;
  const char *out = tmp("quick.json");
  int rc = baseline("--quick", "--reps", "2", "--sizes", "1,2", "--requests", "300",
                    "--warmup", "30", "--only", "startup,throughput,floors",
                    "--out", out, NULL);
  assert_int_equal(rc, 0);
  json_t *doc = load_ok(out);
  assert_int_equal(entries_in(tmp("results")), 0); /* --out: nothing else */
  floor_is(has(doc, "startup.all_ready/pipe/concurrent/n=1", 2), "floor.spawn/concurrent/n=1");
  floor_is(has(doc, "startup.first_ready/grpc/sequential/n=2", 2), "floor.spawn_first/sequential/n=2");
  has(doc, "startup.mean_ready/pipe/sequential/n=2", 2);
  has(doc, "startup.speedup/grpc/n=2", 2);
  has(doc, "floor.spawn/sequential/n=2", 2);
  floor_is(has(doc, "ping.rps/pipe/checkout/n=1/c=1", 2), "floor.rps/pipe/c=1");
  floor_is(has(doc, "ping.rps/grpc/pipelined/n=2/c=10", 2), "floor.rps/grpc/c=10");
  /* Checkout n=2 at C=10 has 2 requests out (8 queue in the pool): its
   * floor is the bare pipe at 2 in flight, measured for that reason. */
  floor_is(has(doc, "ping.rps/pipe/checkout/n=2/c=10", 2), "floor.rps/pipe/c=2");
  floor_is(has(doc, "ping.rps/pipe/pipelined/n=2/c=10", 2), "floor.rps/pipe/c=10");
  has(doc, "floor.rps/grpc/c=2", 2);
  /* The pipe floor does a request's work: one write per request, each side. */
  static const char *const pipe_floors[] = {"floor.rps/pipe/c=1", "floor.rps/pipe/c=2",
                                            "floor.rps/pipe/c=10"};
  for (int i = 0; i < 3; i++) {
    assert_true(param(doc, pipe_floors[i], "requests") >= 2 * 300);
    assert_float_equal(param(doc, pipe_floors[i], "requests_per_write"), 1, 1e-9);
    assert_float_equal(param(doc, pipe_floors[i], "requests_per_echo_write"), 1, 1e-9);
  }
  /* 300 samples a run: P95 has 15 beyond it, P99 only 3 (not reported). */
  has(doc, "floor.p95/grpc/c=1", 2);
  assert_null(wb_metric_find(doc, "floor.p99/grpc/c=1"));
  has(doc, "floor.max/pipe/c=10", 2);
  /* C <= n would repeat checkout: no pipelined point there. */
  assert_null(wb_metric_find(doc, "ping.rps/pipe/pipelined/n=2/c=1"));
  /* Scenarios left out by --only left no metrics. */
  assert_null(wb_metric_find(doc, "ping.p50/pipe/checkout/n=1/c=1"));
  assert_null(wb_metric_find(doc, "mem.worker_rss/pipe/n=1"));
  json_t *cfg = json_object_get(doc, "config");
  assert_true(json_is_true(json_object_get(cfg, "quick")));
  assert_int_equal(json_integer_value(json_object_get(json_object_get(cfg, "reps"), "ping")), 2);
  /* --quick pins to one CPU, and its thresholds are that placement's. */
  assert_int_equal(json_array_size(json_object_get(cfg, "cpus")), 1);
  threshold_is(doc, "startup.all_ready/pipe/concurrent/n=1", 85);
  threshold_is(doc, "ping.rps/pipe/checkout/n=1/c=1", 55);
  threshold_is(doc, "ping.rps/grpc/pipelined/n=2/c=10", 65);
  threshold_is(doc, "floor.spawn/sequential/n=2", 0);
  /* Floors in the suite's placement: pinned to that CPU too. */
  char place[32];
  snprintf(place, sizeof place, "cpus %lld",
           json_integer_value(json_array_get(json_object_get(cfg, "cpus"), 0)));
  assert_string_equal(param_str(doc, "floor.rps/pipe/c=10", "placement"), place);
  assert_string_equal(param_str(doc, "floor.rps/grpc/c=1", "placement"), place);
  bare_pool_beside_each_pipe_point(doc, place);
  threshold_is(doc, "cost.sup_cpu_per_wrk/pipe/checkout/n=1/c=1", 10);
  threshold_is(doc, "cost.wrk_csw/grpc/checkout/n=2/c=10", 250);
  costs_are_there(doc);
  json_decref(doc);
}

/* Unpinned, the floors run unpinned too, so the ratio compares one
 * placement with itself. */
static void unpinned_floors_follow_the_suite(void **state) {
  (void)state;
  const char *out = tmp("quick.json");
  int rc = baseline("--quick", "--cpus", "all", "--only", "floors,throughput", "--transports",
                    "pipe", "--sizes", "1", "--concurrency", "1", "--reps", "1",
                    "--requests", "200", "--warmup", "20", "--out", out, NULL);
  assert_int_equal(rc, 0);
  json_t *doc = load_ok(out);
  assert_string_equal(param_str(doc, "floor.rps/pipe/c=1", "placement"), "unpinned");
  floor_is(has(doc, "ping.rps/pipe/checkout/n=1/c=1", 1), "floor.rps/pipe/c=1");
  json_decref(doc);
}

static bool have_valgrind(void) {
  return system("command -v valgrind >/dev/null 2>&1") == 0;
}

/* Instructions per request and per start, from callgrind. */
static void instructions_counts(void **state) {
  (void)state;
  if (getenv("WPOOL_SANITIZED") || !have_valgrind()) skip(); /* ASan binaries: no valgrind */
  const char *out = tmp("quick.json");
  int rc = baseline("--quick", "--only", "instructions", "--reps", "1", "--requests", "300",
                    "--warmup", "20", "--out", out, NULL);
  assert_int_equal(rc, 0);
  json_t *doc = load_ok(out);
  static const char *const ids[] = {
      "instr.sup/pipe/checkout/n=1/c=1", "instr.wrk/pipe/checkout/n=1/c=1",
      "instr.sup/pipe/pipelined/n=1/c=100", "instr.wrk/pipe/pipelined/n=1/c=100",
      "instr.start_sup/pipe/n=16", "instr.start_wrk/pipe/n=16"};
  for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
    json_t *m = has(doc, ids[i], 1);
    assert_string_equal(json_string_value(json_object_get(m, "unit")), "instr");
    assert_string_equal(json_string_value(json_object_get(m, "better")), "lower");
    threshold_is(doc, ids[i], 6);
  }
  /* A request costs the supervisor and the worker hundreds to thousands
   * of instructions (a protocol 3 worker's pipelined ping ~450), not the
   * millions of a process's start-up: the fixed costs cancelled out, and
   * not to nothing. A worker's start is the other way round. */
  for (int i = 0; i < 4; i++) {
    double v = json_number_value(json_object_get(wb_metric_find(doc, ids[i]), "median"));
    assert_true(v > 100 && v < 50000);
  }
  double hello = json_number_value(json_object_get(wb_metric_find(doc, ids[5]), "median"));
  assert_true(hello > 20000 && hello < 5000000);
  json_decref(doc);
}

/* Without valgrind: one line saying so, exit 0, and the reason on file. */
static void instructions_skipped_without_valgrind(void **state) {
  (void)state;
  const char *out = tmp("quick.json");
  char *path = strdup(getenv("PATH") ? getenv("PATH") : "");
  setenv("PATH", "/nonexistent", 1);
  int rc = baseline("--only", "instructions", "--out", out, NULL);
  setenv("PATH", path, 1);
  free(path);
  assert_int_equal(rc, 0);
  assert_int_equal(lines_in(tmp("stderr")), 1);
  json_t *doc = load_ok(out);
  json_t *why = json_object_get(json_object_get(json_object_get(doc, "config"), "skipped"),
                                "instructions");
  assert_non_null(strstr(json_string_value(why), "valgrind"));
  assert_null(wb_metric_find(doc, "instr.sup/pipe/checkout/n=1/c=1"));
  json_decref(doc);
}

/* A point whose worker crashes fails: exit 1, and failures[] in the file
 * names the scenario, the point and the error. */
static void failed_point_is_recorded(void **state) {
  (void)state;
  const char *out = tmp("quick.json");
  char worker[4200];
  snprintf(worker, sizeof worker, "%s crash-after 50", tu_path("tests/bad_worker"));
  int rc = baseline("--quick", "--only", "throughput", "--transports", "pipe", "--sizes", "1",
                    "--concurrency", "1", "--reps", "1", "--requests", "200", "--warmup", "10",
                    "--worker", worker, "--out", out, NULL);
  assert_int_equal(rc, 1);
  json_t *doc = load_ok(out);
  json_t *f = json_array_get(json_object_get(doc, "failures"), 0);
  assert_non_null(f);
  assert_string_equal(json_string_value(json_object_get(f, "scenario")), "throughput");
  assert_string_equal(json_string_value(json_object_get(f, "point")),
                      "ping pipe checkout n=1 c=1");
  assert_non_null(json_string_value(json_object_get(f, "error")));
  assert_non_null(json_string_value(json_object_get(f, "message")));
  assert_null(wb_metric_find(doc, "ping.rps/pipe/checkout/n=1/c=1"));
  json_decref(doc);
}

static int usable_cpus(void) {
  cpu_set_t set;
  return sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
}

static void cpus_all_runs_unpinned(void **state) {
  (void)state;
  const char *out = tmp("quick.json");
  int rc = baseline("--quick", "--cpus", "all", "--only", "startup", "--transports", "pipe",
                    "--startup-sizes", "1", "--reps", "1", "--out", out, NULL);
  assert_int_equal(rc, 0);
  json_t *doc = load_ok(out);
  assert_true(json_is_null(json_object_get(json_object_get(doc, "config"), "cpus")));
  /* Unpinned, start-up carries the wider threshold (on a one-CPU machine
   * it is still one CPU). */
  threshold_is(doc, "startup.all_ready/pipe/concurrent/n=1", usable_cpus() > 1 ? 90 : 85);
  json_decref(doc);
}

static void without_out_writes_both_files(void **state) {
  (void)state;
  int rc = baseline("--only", "floors,latency", "--transports", "pipe", "--sizes", "1",
                    "--concurrency", "2", "--reps", "1", "--requests", "100",
                    "--warmup", "10", NULL);
  assert_int_equal(rc, 0);
  assert_int_equal(entries_in(tmp("results")), 2);
  json_t *latest = load_ok(tmp("results/latest.json"));
  floor_is(has(latest, "ping.p50/pipe/pipelined/n=1/c=2", 1), "floor.p50/pipe/c=2");
  /* Checkout n=1 at C=2 queues one: its latency has no floor to read by. */
  assert_null(json_object_get(has(latest, "ping.p50/pipe/checkout/n=1/c=2", 1), "floor"));
  has(latest, "ping.max/pipe/checkout/n=1/c=2", 1);
  /* The bare C pool's latency beside it, and the paired P50 ratio. */
  has(latest, "floor.p50/pool/checkout/n=1/c=2", 1);
  has(latest, "floor.max/pool/pipelined/n=1/c=2", 1);
  assert_true(json_number_value(json_object_get(
                  has(latest, "ping.p50_per_bare/pipe/pipelined/n=1/c=2", 1), "median")) > 0);
  json_decref(latest);
  DIR *d = opendir(tmp("results"));
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.' || strcmp(e->d_name, "latest.json") == 0) continue;
    /* 20240501T123456Z-abc1234.json */
    assert_int_equal(strlen(e->d_name), strlen("20240501T123456Z-abc1234.json"));
    char path[600];
    snprintf(path, sizeof path, "%s/%s", tmp("results"), e->d_name);
    json_decref(load_ok(path));
    unlink(path);
  }
  closedir(d);
  unlink(tmp("results/latest.json"));
}

static void bad_options_exit_2_with_one_line(void **state) {
  (void)state;
  static const char *const bad[][3] = {
      {"--bogus", NULL, NULL},          {"--only", "nosuch", NULL},
      {"--reps", "0", NULL},            {"--sizes", "0", NULL},
      {"--transports", "pipe,pipe", NULL}, {"--concurrency", "x", NULL},
      {"--cpus", "a-b", NULL},          {"stray", NULL, NULL},
      {"--reps", NULL, NULL},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(baseline(bad[i][0], bad[i][1], bad[i][2], NULL), 2);
    assert_int_equal(lines_in(tmp("stderr")), 1);
  }
  assert_int_equal(baseline("--help", NULL), 0);
  assert_int_equal(baseline("--list", NULL), 0);
  assert_int_equal(entries_in(tmp("results")), 0);
}

static int setup(void **state) {
  (void)state;
  snprintf(tmpdir, sizeof tmpdir, "/tmp/wpool-test-baseline-XXXXXX");
  return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  static const char *const files[] = {"quick.json", "stdout", "stderr"};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) unlink(tmp(files[i]));
  rmdir(tmp("results"));
  return rmdir(tmpdir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(bad_options_exit_2_with_one_line),
      cmocka_unit_test(quick_subset_has_the_ids),
      cmocka_unit_test(cpus_all_runs_unpinned),
      cmocka_unit_test(unpinned_floors_follow_the_suite),
      cmocka_unit_test(instructions_counts),
      cmocka_unit_test(instructions_skipped_without_valgrind),
      cmocka_unit_test(failed_point_is_recorded),
      cmocka_unit_test(without_out_writes_both_files),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
