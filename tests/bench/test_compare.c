/*
 * test_compare.c — the results document (results.h) and the wpool-compare
 * program end to end: result files are crafted in a temporary directory
 * with wb_results_new / wb_metric_add, then $WPOOL_BUILD/wpool-compare
 * (default build/) runs on them via posix_spawn, its stdout and stderr
 * captured to files. Data are fixed, so verdicts are deterministic.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#include "build.h"
#include "results.h"

extern char **environ;

static char tmpdir[64];
static char compare_bin[512];

/* ---- fixtures ----------------------------------------------------------- */

static const double base8[8] = {100, 101, 99, 102, 98, 100.5, 99.5, 101.5};

static void scaled(const double *in, size_t n, double k, double *out) {
  for (size_t i = 0; i < n; i++)
    out[i] = in[i] * k;
}

/* A path in the temp dir. Rotating static buffers keep the tests free of
 * frees; a test holds at most a handful of paths at once. */
static char *tmp_path(const char *name) {
  static char buf[32][256];
  static int next;
  char *p = buf[next++ % 32];
  snprintf(p, sizeof buf[0], "%s/%s", tmpdir, name);
  return p;
}

static json_t *new_doc(const char *created_at) {
  json_t *doc = wb_results_new("test_compare", json_pack("{s:i}", "size", 16), wb_build_facts());
  assert_non_null(doc);
  if (created_at)
    json_object_set_new(doc, "created_at", json_string(created_at));
  return doc;
}

static void add(json_t *doc, const char *id, const char *better,
                const double *runs, size_t n) {
  assert_non_null(wb_metric_add(doc, id, "ms", better, NULL, runs, n));
}

static const char *save(json_t *doc, const char *name) {
  const char *path = tmp_path(name);
  assert_int_equal(wb_results_write(doc, path), 0);
  json_decref(doc);
  return path;
}

static void write_text(const char *name, const char *text) {
  FILE *f = fopen(tmp_path(name), "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  char *buf = calloc(1, 1 << 16);
  size_t n = fread(buf, 1, (1 << 16) - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static int count_lines(const char *s) {
  int n = 0;
  for (; *s; s++)
    n += *s == '\n';
  return n;
}

/* ---- running the program ------------------------------------------------ */

typedef struct {
  int status;
  char *out;
  char *err;
} run_t;

/* Runs wpool-compare with args (NULL-terminated), capturing both streams. */
static run_t run_compare(const char *const *args) {
  const char *argv[32] = {compare_bin};
  size_t n = 1;
  for (; args[n - 1] && n < 31; n++)
    argv[n] = args[n - 1];
  argv[n] = NULL;
  char out[256], err[256];
  snprintf(out, sizeof out, "%s/stdout", tmpdir);
  snprintf(err, sizeof err, "%s/stderr", tmpdir);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid;
  int st = -1;
  assert_int_equal(posix_spawn(&pid, compare_bin, &fa, NULL,
                               (char *const *)argv, environ), 0);
  posix_spawn_file_actions_destroy(&fa);
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st));
  return (run_t){WEXITSTATUS(st), slurp(out), slurp(err)};
}

static void run_free(run_t *r) {
  free(r->out);
  free(r->err);
}

#define RUN(...) run_compare((const char *const[]){__VA_ARGS__, NULL})

/* Exit code 2 with exactly one line on stderr that mentions `needle`. */
static void expect_bad_input(run_t r, const char *needle) {
  if (r.status != 2 || count_lines(r.err) != 1 || !strstr(r.err, needle))
    fail_msg("want exit 2, one line with '%s'; got %d, stderr:\n%s", needle,
             r.status, r.err);
  assert_non_null(strstr(r.err, "compare: "));
  run_free(&r);
}

/* Two files with one metric each: before = base8, after = base8 · k. */
static void pair(double k, const char *better, const char **b, const char **a) {
  double after[8];
  scaled(base8, 8, k, after);
  json_t *db = new_doc(NULL), *da = new_doc(NULL);
  add(db, "startup.all_ready/pipe/concurrent/n=16", better, base8, 8);
  add(da, "startup.all_ready/pipe/concurrent/n=16", better, after, 8);
  *b = save(db, "before.json");
  *a = save(da, "after.json");
}

/* ---- results.h ---------------------------------------------------------- */

static void results_document_fields(void **state) {
  (void)state;
  json_t *doc = new_doc(NULL);
  assert_string_equal(json_string_value(json_object_get(doc, "schema")), WB_SCHEMA);
  json_t *host = json_object_get(doc, "host"), *build = json_object_get(doc, "build");
  assert_true(json_integer_value(json_object_get(host, "cpus")) >= 1);
  assert_true(json_array_size(json_object_get(host, "cpu_affinity")) >= 1);
  assert_int_equal(json_array_size(json_object_get(host, "loadavg")), 3);
  assert_true(json_is_string(json_object_get(build, "libuv")));
  assert_true(json_is_string(json_object_get(build, "grpc")));
  assert_true(json_is_string(json_object_get(build, "protobuf_c")));
  assert_true(json_is_string(json_object_get(build, "cflags"))); /* WP_CFLAGS */
  assert_true(json_is_object(json_object_get(doc, "git")));
  const char *at = json_string_value(json_object_get(doc, "created_at"));
  assert_non_null(at);
  assert_int_equal(strlen(at), strlen("2024-01-01T00:00:00.000000Z"));
  assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "config"), "size")), 16);
  json_decref(doc);
}

static void results_metrics(void **state) {
  (void)state;
  json_t *doc = new_doc(NULL);
  double runs[] = {3, 1, 2, 10};
  json_t *m = wb_metric_add(doc, "a.b/x/k=1", "us", "lower",
                            json_pack("{s:i}", "k", 1), runs, 4);
  assert_non_null(m);
  assert_true(json_real_value(json_object_get(m, "median")) == 2.5);
  assert_true(json_real_value(json_object_get(m, "min")) == 1);
  assert_true(json_real_value(json_object_get(m, "max")) == 10);
  assert_int_equal(json_integer_value(json_object_get(m, "n")), 4);
  assert_true(json_real_value(json_array_get(json_object_get(m, "runs"), 0)) == 3);
  json_object_set_new(m, "floor", json_string("floor.spawn"));
  assert_ptr_equal(wb_metric_find(doc, "a.b/x/k=1"), m);
  assert_null(wb_metric_find(doc, "nope"));
  /* Refused: duplicate id, unknown better, no runs, non-finite run. */
  assert_null(wb_metric_add(doc, "a.b/x/k=1", "us", "lower", NULL, runs, 4));
  assert_null(wb_metric_add(doc, "c", "us", "faster", json_object(), runs, 4));
  assert_null(wb_metric_add(doc, "c", "us", "lower", NULL, runs, 0));
  double bad[] = {1, NAN};
  assert_null(wb_metric_add(doc, "c", "us", "lower", NULL, bad, 2));
  json_decref(doc);
}

static void results_write_load_roundtrip(void **state) {
  (void)state;
  json_t *doc = new_doc(NULL), *back = NULL;
  add(doc, "x", "higher", base8, 8);
  json_t *keep = json_deep_copy(json_object_get(doc, "metrics"));
  const char *path = save(doc, "rt.json");
  char why[256];
  assert_int_equal(wb_results_load(path, &back, why, sizeof why), 0);
  assert_true(json_equal(json_object_get(back, "metrics"), keep));
  json_decref(back);
  json_decref(keep);
  /* Atomic write leaves no temporary beside the file. */
  DIR *d = opendir(tmpdir);
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    assert_null(strstr(e->d_name, ".tmp."));
  closedir(d);
  /* Writing into a missing directory fails with errno. */
  errno = 0;
  doc = new_doc(NULL);
  assert_int_equal(wb_results_write(doc, "/nonexistent-dir/x.json"), -1);
  assert_int_equal(errno, ENOENT);
  json_decref(doc);
}

static void results_load_reasons(void **state) {
  (void)state;
  json_t *doc;
  char why[256];
  struct { const char *text, *reason; } cases[] = {
      {"{\"schema\": ", "not JSON (line 1"},
      {"[1,2]", "not an object"},
      {"{\"metrics\": []}", "schema missing"},
      {"{\"schema\": \"other/2\", \"metrics\": []}", "unknown schema \"other/2\""},
      {"{\"schema\": \"wpool.bench/1\"}", "metrics missing"},
      {"{\"schema\": \"wpool.bench/1\", \"metrics\": [{\"id\": \"m\", \"unit\": "
       "\"ms\", \"better\": \"lower\", \"median\": 1, \"runs\": []}]}", "runs"},
      {"{\"schema\": \"wpool.bench/1\", \"metrics\": [{\"id\": \"m\", \"unit\": "
       "\"ms\", \"better\": \"up\", \"median\": 1, \"runs\": [1]}]}", "better"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    write_text("case.json", cases[i].text);
    assert_int_equal(wb_results_load(tmp_path("case.json"), &doc, why, sizeof why), -1);
    if (!strstr(why, cases[i].reason))
      fail_msg("case %zu: '%s' lacks '%s'", i, why, cases[i].reason);
    assert_null(strchr(why, '\n'));
  }
  assert_int_equal(wb_results_load(tmp_path("missing.json"), &doc, why, sizeof why), -1);
  assert_non_null(strstr(why, "unreadable"));
  assert_int_equal(wb_results_load(tmpdir, &doc, why, sizeof why), -1);
  assert_non_null(strstr(why, "unreadable"));
}

/* ---- verdicts ----------------------------------------------------------- */

static void identical_is_same(void **state) {
  (void)state;
  const char *b, *a;
  pair(1.0, "lower", &b, &a);
  run_t r = RUN(b, a);
  assert_int_equal(r.status, 0);
  assert_non_null(strstr(r.out, "same"));
  assert_string_equal(r.err, "");
  run_free(&r);
}

static void clear_regression(void **state) {
  (void)state;
  const char *b, *a;
  pair(1.5, "lower", &b, &a);
  run_t r = RUN(b, a);
  assert_int_equal(r.status, 1);
  assert_non_null(strstr(r.out, "startup.all_ready/pipe/concurrent/n=16"));
  assert_non_null(strstr(r.out, "regression"));
  assert_non_null(strstr(r.out, "+50.0%"));
  assert_null(strstr(r.out, "\033[")); /* not a tty: no colour */
  run_free(&r);
  /* --color=always forces it; the row turns red. */
  r = RUN(b, a, "--color=always");
  assert_non_null(strstr(r.out, "\033[31m"));
  run_free(&r);
  /* A per-metric threshold above the change makes it "same". */
  r = RUN(b, a, "--metric-threshold", "startup.*/n=16=60");
  assert_int_equal(r.status, 0);
  assert_non_null(strstr(r.out, "same"));
  run_free(&r);
}

/* A metric's own threshold_pct (set by the tool that measured it, e.g. for
 * tail percentiles) widens the default; --metric-threshold still wins. */
static void metric_own_threshold(void **state) {
  (void)state;
  double after[8];
  scaled(base8, 8, 1.3, after);
  json_t *db = new_doc(NULL), *da = new_doc(NULL);
  add(db, "ping.p99_9/pipe/n=1", "lower", base8, 8);
  json_t *m = wb_metric_add(da, "ping.p99_9/pipe/n=1", "ms", "lower", NULL, after, 8);
  assert_non_null(m);
  json_object_set_new(m, "threshold_pct", json_real(50));
  const char *b = save(db, "before.json"), *a = save(da, "after.json");
  run_t r = RUN(b, a);
  assert_int_equal(r.status, 0); /* +30 % < its own 50 % */
  assert_non_null(strstr(r.out, "same"));
  run_free(&r);
  r = RUN(b, a, "--metric-threshold", "ping.*=20");
  assert_int_equal(r.status, 1);
  run_free(&r);
}

static void improvement_both_directions(void **state) {
  (void)state;
  const char *b, *a;
  pair(0.6, "lower", &b, &a); /* 40 % less time */
  run_t r = RUN(b, a);
  assert_int_equal(r.status, 0);
  assert_non_null(strstr(r.out, "improvement"));
  run_free(&r);
  pair(1.5, "higher", &b, &a); /* 50 % more throughput */
  r = RUN(b, a);
  assert_int_equal(r.status, 0);
  assert_non_null(strstr(r.out, "improvement"));
  run_free(&r);
  pair(0.6, "higher", &b, &a); /* 40 % less throughput */
  r = RUN(b, a);
  assert_int_equal(r.status, 1);
  assert_non_null(strstr(r.out, "regression"));
  run_free(&r);
}

/* +25 % on the medians, but the runs overlap widely: p ≈ 0.16. */
static void overlapping_is_noise(void **state) {
  (void)state;
  double before[8] = {100, 60, 140, 80, 120, 70, 130, 110}, after[8];
  scaled(before, 8, 1.25, after);
  json_t *db = new_doc(NULL), *da = new_doc(NULL);
  add(db, "ping.latency/p99", "lower", before, 8);
  add(da, "ping.latency/p99", "lower", after, 8);
  const char *b = save(db, "nb.json"), *a = save(da, "na.json");
  run_t r = RUN(b, a);
  assert_int_equal(r.status, 0);
  assert_non_null(strstr(r.out, "noise"));
  assert_non_null(strstr(r.out, "+25.0%"));
  run_free(&r);
}

static void few_runs_threshold_decides(void **state) {
  (void)state;
  double before[3] = {10, 10.2, 9.9}, after[3] = {15, 15.1, 14.8};
  json_t *db = new_doc(NULL), *da = new_doc(NULL);
  add(db, "mem.rss/n=4", "lower", before, 3);
  add(da, "mem.rss/n=4", "lower", after, 3);
  const char *b = save(db, "fb.json"), *a = save(da, "fa.json");
  run_t r = RUN(b, a);
  assert_int_equal(r.status, 1);
  assert_non_null(strstr(r.out, "regression (few runs)"));
  assert_non_null(strstr(r.out, "—")); /* no p-value */
  run_free(&r);
}

/* A metric BEFORE had and AFTER lacks is a point that stopped working:
 * a regression, named; one only AFTER has is news, not a failure. */
static void missing_in_after_is_a_regression(void **state) {
  (void)state;
  json_t *db = new_doc(NULL), *da = new_doc(NULL);
  add(db, "common", "lower", base8, 8);
  add(da, "common", "lower", base8, 8);
  add(db, "gone.metric", "lower", base8, 8);
  add(da, "new.metric/grpc", "higher", base8, 8);
  const char *b = save(db, "ob.json"), *a = save(da, "oa.json");
  run_t r = RUN(b, a);
  assert_int_equal(r.status, 1);
  assert_non_null(strstr(r.out, "only in before: missing in after, a regression (1): gone.metric"));
  assert_non_null(strstr(r.out, "only in after (1): new.metric/grpc"));
  assert_non_null(strstr(r.out, "1 missing in after"));
  run_free(&r);
  r = RUN(b, a, "--json");
  assert_int_equal(r.status, 1);
  json_t *doc = json_loads(r.out, 0, NULL);
  assert_non_null(doc);
  assert_true(json_is_true(json_object_get(doc, "regression")));
  assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "summary"), "missing")), 1);
  json_decref(doc);
  run_free(&r);
  json_t *dn = new_doc(NULL);
  add(dn, "common", "lower", base8, 8);
  add(dn, "gone.metric", "lower", base8, 8);
  add(dn, "new.metric/grpc", "higher", base8, 8);
  const char *n = save(dn, "on.json");
  r = RUN(b, n); /* nothing lost, one metric gained */
  assert_int_equal(r.status, 0);
  run_free(&r);
}

/* A failure AFTER recorded (a point that failed outright) fails the
 * comparison even when every metric both have is the same. */
static void recorded_failure_is_a_regression(void **state) {
  (void)state;
  json_t *db = new_doc(NULL), *da = new_doc(NULL);
  add(db, "common", "lower", base8, 8);
  add(da, "common", "lower", base8, 8);
  assert_int_equal(wb_failure_add(da, "throughput", "ping pipe checkout n=4 c=10",
                                  "WP_EWORKER", "worker exited"), 0);
  const char *b = save(db, "fb.json"), *a = save(da, "fa.json");
  run_t r = RUN(b, a);
  assert_int_equal(r.status, 1);
  assert_non_null(strstr(r.out, "failed in after (1, a regression)"));
  assert_non_null(strstr(r.out, "throughput ping pipe checkout n=4 c=10: WP_EWORKER - worker exited"));
  run_free(&r);
  r = RUN(a, b); /* a failure BEFORE that AFTER fixed is no regression */
  assert_int_equal(r.status, 0);
  run_free(&r);
  r = RUN("--noise", b, a);
  assert_int_equal(r.status, 1);
  assert_non_null(strstr(r.out, "recorded 1 failure"));
  run_free(&r);
}

/* The summary says per class the smallest change it could flag; a rate's
 * threshold of t flags a slowdown of 1/(1-t). Old files without "class"
 * fall back on the id's prefix. */
static void summary_states_class_sensitivity(void **state) {
  (void)state;
  json_t *db = new_doc(NULL), *da = new_doc(NULL);
  json_t *docs[2] = {db, da};
  for (int i = 0; i < 2; i++) {
    json_t *m = wb_metric_add(docs[i], "cost.sup_cpu_us/pipe/checkout/n=1/c=1", "us",
                              "lower", NULL, base8, 8);
    json_object_set_new(m, "threshold_pct", json_real(8));
    m = wb_metric_add(docs[i], "ping.rps/pipe/checkout/n=1/c=1", "req/s", "higher",
                      NULL, base8, 8);
    json_object_set_new(m, "threshold_pct", json_real(55));
    json_object_set_new(m, "class", json_string("wall"));
  }
  assert_string_equal(wb_metric_class(wb_metric_find(db, "cost.sup_cpu_us/pipe/checkout/n=1/c=1")),
                      "cost");
  const char *b = save(db, "cb.json"), *a = save(da, "ca.json");
  run_t r = RUN(b, a);
  assert_int_equal(r.status, 0);
  assert_non_null(strstr(r.out, "sensitivity: cost +8 %; wall rates 2.22× slower"));
  run_free(&r);
}

/* A cost counter's own threshold (8 %) applies below the default 20 %: a
 * +12 % rise in CPU per request is a regression; --threshold, given,
 * raises every metric to at least itself. */
static void own_threshold_below_default(void **state) {
  (void)state;
  double after[8];
  scaled(base8, 8, 1.12, after);
  json_t *db = new_doc(NULL), *da = new_doc(NULL);
  json_t *m = wb_metric_add(db, "cost.sup_cpu_us/x", "us", "lower", NULL, base8, 8);
  json_object_set_new(m, "threshold_pct", json_real(8));
  m = wb_metric_add(da, "cost.sup_cpu_us/x", "us", "lower", NULL, after, 8);
  json_object_set_new(m, "threshold_pct", json_real(8));
  const char *b = save(db, "tb.json"), *a = save(da, "ta.json");
  run_t r = RUN(b, a);
  assert_int_equal(r.status, 1);
  run_free(&r);
  r = RUN(b, a, "--threshold", "20");
  assert_int_equal(r.status, 0);
  run_free(&r);
}

/* A unit or direction that changed makes medians incomparable, not a
 * regression. */
static void changed_unit_is_incomparable(void **state) {
  (void)state;
  double after[8];
  scaled(base8, 8, 1000, after);
  json_t *db = new_doc(NULL), *da = new_doc(NULL);
  add(db, "startup.first_ready", "lower", base8, 8);
  assert_non_null(wb_metric_add(da, "startup.first_ready", "us", "lower", NULL,
                                after, 8));
  const char *b = save(db, "ub.json"), *a = save(da, "ua.json");
  run_t r = RUN(b, a);
  assert_int_equal(r.status, 0);
  assert_non_null(strstr(r.out, "incomparable"));
  run_free(&r);
}

static void help_exits_zero(void **state) {
  (void)state;
  run_t r = RUN("--help");
  assert_int_equal(r.status, 0);
  assert_non_null(strstr(r.out, "usage: bench/compare"));
  assert_string_equal(r.err, "");
  run_free(&r);
}

/* ---- bad input: exit 2, one line ---------------------------------------- */

static void bad_inputs(void **state) {
  (void)state;
  const char *b, *a;
  pair(1.0, "lower", &b, &a);
  write_text("broken.json", "{\"schema\": \"wpool.bench/1\", \"metrics\": [");
  expect_bad_input(RUN(b, tmp_path("broken.json")), "not JSON");
  if (access("/etc/hostname", R_OK) == 0)
    expect_bad_input(RUN("/etc/hostname", a), "/etc/hostname: not JSON");
  write_text("other.json", "{\"schema\": \"someone.else/3\", \"metrics\": []}");
  expect_bad_input(RUN(b, tmp_path("other.json")), "unknown schema");
  expect_bad_input(RUN(b, tmp_path("does-not-exist.json")), "unreadable");
  json_t *dx = new_doc(NULL);
  add(dx, "unrelated", "lower", base8, 8);
  expect_bad_input(RUN(b, save(dx, "x.json")), "no metric in common");
  expect_bad_input(RUN(b, a, "--frobnicate"), "unknown option");
  expect_bad_input(RUN(b, a, "--threshold", "lots"), "--threshold");
  expect_bad_input(RUN(b, a, b), "too many arguments");
  expect_bad_input(RUN(b, a, "--markdown", "--json"), "exclude");
}

/* ---- output forms ------------------------------------------------------- */

static void markdown_table(void **state) {
  (void)state;
  const char *b, *a;
  pair(1.5, "lower", &b, &a);
  run_t r = RUN(b, a, "--markdown");
  assert_int_equal(r.status, 1);
  assert_non_null(strstr(r.out, "| metric | before | after | delta | p | threshold | verdict |"));
  assert_non_null(strstr(r.out, "|:--|"));
  assert_non_null(strstr(r.out, "| 20% | **regression** |")); /* the threshold that applied */
  assert_non_null(strstr(r.out, "**regression**"));
  run_free(&r);
}

static void json_verdicts(void **state) {
  (void)state;
  const char *b, *a;
  pair(1.5, "lower", &b, &a);
  run_t r = RUN(b, a, "--json");
  assert_int_equal(r.status, 1);
  json_error_t err;
  json_t *doc = json_loads(r.out, 0, &err);
  if (!doc)
    fail_msg("--json output is not JSON: %s\n%s", err.text, r.out);
  json_t *m = json_array_get(json_object_get(doc, "metrics"), 0);
  assert_string_equal(json_string_value(json_object_get(m, "verdict")), "regression");
  assert_true(fabs(json_number_value(json_object_get(m, "delta_pct")) - 50) < 1e-9);
  assert_true(json_number_value(json_object_get(m, "p_value")) < 0.001);
  assert_true(json_is_true(json_object_get(doc, "regression")));
  assert_int_equal(json_integer_value(json_object_get(
                       json_object_get(doc, "summary"), "regression")), 1);
  json_decref(doc);
  run_free(&r);
}

/* ---- picking files ------------------------------------------------------ */

static void picks_newest_two(void **state) {
  (void)state;
  char dir[128];
  snprintf(dir, sizeof dir, "%s/runs", tmpdir);
  assert_int_equal(mkdir(dir, 0700), 0);
  const double k[3] = {1.0, 1.5, 1.0};
  const char *at[3] = {"2024-01-01T00:00:00.000000Z", "2024-01-02T00:00:00.000000Z",
                       "2024-01-03T00:00:00.000000Z"};
  /* Oldest: base; middle: +50 %; newest: back to base. */
  for (int i = 0; i < 3; i++) {
    double runs[8];
    char name[160];
    scaled(base8, 8, k[i], runs);
    json_t *d = new_doc(at[i]);
    add(d, "m", "lower", runs, 8);
    snprintf(name, sizeof name, "runs/run-%c.json", "cab"[i]); /* names ≠ time order */
    save(d, name);
  }
  /* latest.json is a copy and must not count (it claims to be newest). */
  json_t *copy = new_doc("2099-01-01T00:00:00.000000Z");
  add(copy, "m", "lower", base8, 8);
  save(copy, "runs/latest.json");
  run_t r = RUN("--results-dir", dir); /* previous (+50 %) → latest: better */
  assert_int_equal(r.status, 0);
  assert_non_null(strstr(r.out, "improvement"));
  assert_non_null(strstr(r.out, "run-a.json"));
  assert_non_null(strstr(r.out, "run-b.json"));
  run_free(&r);
  char oldest[200];
  snprintf(oldest, sizeof oldest, "%s/run-c.json", dir);
  r = RUN(oldest, "previous", "--results-dir", dir); /* base → +50 % */
  assert_int_equal(r.status, 1);
  run_free(&r);
  r = RUN("latest", "previous", "--results-dir", dir);
  assert_int_equal(r.status, 1);
  run_free(&r);
  snprintf(oldest, sizeof oldest, "%s/none", tmpdir);
  expect_bad_input(RUN("--results-dir", oldest), "unreadable");
}

/* ---- harness ------------------------------------------------------------ */

static int setup(void **state) {
  (void)state;
  return tu_prog_setup("wpool-compare", compare_bin, sizeof compare_bin, tmpdir, sizeof tmpdir);
}

static int teardown(void **state) {
  (void)state;
  return tu_rm_rf(tmpdir);
}

/* ---- --noise ------------------------------------------------------------ */

/* Runs of one build: a quiet metric in each, and one that moved by factor
 * k in the third run only. */
static void noise_files(double k, const char **f) {
  static const char *const names[3] = {"n1.json", "n2.json", "n3.json"};
  for (int i = 0; i < 3; i++) {
    double quiet[8], loud[8];
    scaled(base8, 8, 1.0 + 0.01 * i, quiet);
    scaled(base8, 8, i == 2 ? k : 1.0, loud);
    json_t *d = new_doc(NULL);
    add(d, "ping.rps/pipe/checkout/n=1/c=1", "higher", quiet, 8);
    add(d, "startup.all_ready/pipe/concurrent/n=1", "lower", loud, 8);
    f[i] = save(d, names[i]);
  }
}

static void noise_lists_what_moved(void **state) {
  (void)state;
  const char *f[3];
  noise_files(1.42, f);
  run_t r = RUN("--noise", f[0], f[1], f[2]);
  /* 3 pairs, 6 orders; the third run is start-up's +42 % regression
   * after either of the others (and an improvement before them). */
  assert_int_equal(r.status, 1);
  assert_non_null(strstr(r.out, "3 runs, 3 pairs: 2 pairs would fail"));
  const char *row = strstr(r.out, "startup.all_ready/pipe/concurrent/n=1");
  assert_non_null(row);
  assert_non_null(strstr(row, "2/6"));
  assert_non_null(strstr(row, "45%")); /* quiet at: 42 % rounded up to 5 */
  assert_null(strstr(r.out, "ping.rps")); /* 1-2 %: never flagged */
  run_free(&r);
}

static void noise_quiet_runs_exit_0(void **state) {
  (void)state;
  const char *f[3];
  noise_files(1.05, f);
  run_t r = RUN(f[0], "--noise", f[1], f[2]); /* options go anywhere */
  assert_int_equal(r.status, 0);
  assert_non_null(strstr(r.out, "no metric was flagged"));
  run_free(&r);
}

static void noise_bad_usage(void **state) {
  (void)state;
  const char *f[3];
  noise_files(1.0, f);
  expect_bad_input(RUN("--noise", f[0]), "at least two");
  expect_bad_input(RUN("--noise", "--json", f[0], f[1]), "--noise");
  expect_bad_input(RUN("--noise", f[0], "/etc/hostname"), "/etc/hostname");
  expect_bad_input(RUN(f[0], f[1], f[2]), "too many arguments");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(results_document_fields),
      cmocka_unit_test(results_metrics),
      cmocka_unit_test(results_write_load_roundtrip),
      cmocka_unit_test(results_load_reasons),
      cmocka_unit_test(identical_is_same),
      cmocka_unit_test(clear_regression),
      cmocka_unit_test(metric_own_threshold),
      cmocka_unit_test(improvement_both_directions),
      cmocka_unit_test(overlapping_is_noise),
      cmocka_unit_test(few_runs_threshold_decides),
      cmocka_unit_test(missing_in_after_is_a_regression),
      cmocka_unit_test(recorded_failure_is_a_regression),
      cmocka_unit_test(summary_states_class_sensitivity),
      cmocka_unit_test(own_threshold_below_default),
      cmocka_unit_test(changed_unit_is_incomparable),
      cmocka_unit_test(help_exits_zero),
      cmocka_unit_test(bad_inputs),
      cmocka_unit_test(markdown_table),
      cmocka_unit_test(json_verdicts),
      cmocka_unit_test(picks_newest_two),
      cmocka_unit_test(noise_lists_what_moved),
      cmocka_unit_test(noise_quiet_runs_exit_0),
      cmocka_unit_test(noise_bad_usage),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
