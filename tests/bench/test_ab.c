/*
 * test_ab.c — wpool-ab, bench/ab's judge, end to end on synthetic rounds:
 * round directories (r0001/before-n1-c1.json, after-..., optional .rc and
 * .err) are written in a temporary directory with wb_results_new /
 * wb_metric_add, then $WPOOL_BUILD/wpool-ab (default build/) judges them.
 * Values are fixed per round (a deterministic wobble stands for the
 * machine's drift, shared by both sides of a round as interleaving makes
 * it), so verdicts are deterministic.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#include "build.h"
#include "results.h"

static char tmpdir[64];
static char ab_bin[512];
static int case_no;

#define P50 "ping.p50/pipe/checkout/n=1/c=1"
#define RPS "ping.rps/pipe/checkout/n=1/c=1"
#define PMAX "ping.max/pipe/checkout/n=1/c=1"

/* ---- fixtures ----------------------------------------------------------- */

/* A fresh rounds directory for this test: <tmp>/caseN. */
static const char *new_case(void) {
  static char dir[128];
  snprintf(dir, sizeof dir, "%s/case%d", tmpdir, ++case_no);
  assert_int_equal(mkdir(dir, 0700), 0);
  return dir;
}

static const char *round_dir(const char *dir, int r) {
  static char p[256];
  snprintf(p, sizeof p, "%s/r%04d", dir, r);
  mkdir(p, 0700);
  return p;
}

/* One side's results file at point n1-c1 of round r: a p50 (lower is
 * better) and a req/s (higher) that took latency_us per request. */
static void side_file(const char *dir, int r, const char *side, double latency_us,
                      int with_rps) {
  char path[512];
  json_t *doc = wb_results_new("test_ab", NULL, wb_build_facts());
  double rps = 1e6 / latency_us;
  assert_non_null(doc);
  assert_non_null(wb_metric_add(doc, P50, "us", "lower", NULL, &latency_us, 1));
  if (with_rps)
    assert_non_null(wb_metric_add(doc, RPS, "req/s", "higher", NULL, &rps, 1));
  snprintf(path, sizeof path, "%s/%s-n1-c1.json", round_dir(dir, r), side);
  assert_int_equal(wb_results_write(doc, path), 0);
  json_decref(doc);
}

static void text_file(const char *dir, int r, const char *name, const char *text) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", round_dir(dir, r), name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

/* The machine's drift in round r: a few percent, the same for both sides. */
static double drift(int r) {
  return 1.0 + 0.03 * sin(r * 1.7) + 0.02 * cos(r * 0.3);
}

/* Rounds 1..n where after = before · k(r); each side's own jitter ±1 %
 * (deterministic, differing between the sides). */
static const char *rounds(int n, double (*k)(int r)) {
  const char *dir = new_case();
  for (int r = 1; r <= n; r++) {
    double before = 4.0 * drift(r) * (1.0 + 0.01 * sin(r * 2.3));
    side_file(dir, r, "before", before, 1);
    side_file(dir, r, "after", before * k(r), 1);
  }
  return dir;
}

static double same(int r) { (void)r; return 1.0; }
static double slower10(int r) { return 1.10 * (1.0 + 0.01 * cos(r * 1.1)); }
/* Up to ±10 % a round around a median ratio of ~1: below the threshold,
 * but ten rounds cannot bound it there. */
static double wild(int r) { return exp(0.10 * sin(r * 2.1)); }

/* ---- running the judge -------------------------------------------------- */

typedef struct {
  int status;
  char out[1 << 15], err[4096];
} run_t;

static void slurp(const char *path, char *buf, size_t n) {
  FILE *f = fopen(path, "r");
  size_t got = f ? fread(buf, 1, n - 1, f) : 0;
  buf[got] = '\0';
  if (f)
    fclose(f);
}

/* wpool-ab ARGS (shell words, no quoting needed here), both streams kept. */
static run_t *judge(const char *args) {
  static run_t r;
  char cmd[2048], out[128], err[128];
  snprintf(out, sizeof out, "%s/stdout", tmpdir);
  snprintf(err, sizeof err, "%s/stderr", tmpdir);
  snprintf(cmd, sizeof cmd, "'%s' %s >'%s' 2>'%s'", ab_bin, args, out, err);
  int st = system(cmd);
  assert_true(st != -1 && WIFEXITED(st));
  r.status = WEXITSTATUS(st);
  slurp(out, r.out, sizeof r.out);
  slurp(err, r.err, sizeof r.err);
  return &r;
}

static void expect(const run_t *r, int status, const char *needle) {
  if (r->status != status || (needle && !strstr(r->out, needle)))
    fail_msg("want exit %d with '%s'; got %d, stdout:\n%s\nstderr:\n%s", status,
             needle ? needle : "", r->status, r->out, r->err);
}

/* A line of the table: the metric's row, for checking its verdict. */
static const char *row_of(const run_t *r, const char *id) {
  static char line[512];
  const char *p = strstr(r->out, id);
  assert_non_null(p);
  size_t n = strcspn(p, "\n");
  snprintf(line, sizeof line, "%.*s", (int)n, p);
  return line;
}

static void expect_bad_input(const run_t *r, const char *needle) {
  int lines = 0;
  for (const char *s = r->err; *s; s++)
    lines += *s == '\n';
  if (r->status != 2 || lines != 1 || !strstr(r->err, needle))
    fail_msg("want exit 2, one line with '%s'; got %d, stderr:\n%s", needle,
             r->status, r->err);
}

/* ---- verdicts ----------------------------------------------------------- */

static void identical_rounds_no_regression(void **state) {
  (void)state;
  char args[256];
  snprintf(args, sizeof args, "%s", rounds(30, same));
  const run_t *r = judge(args);
  expect(r, 0, "verdict: no regression");
  assert_non_null(strstr(row_of(r, P50), "1.000"));
}

static void consistent_slowdown_is_regression(void **state) {
  (void)state;
  char args[256];
  snprintf(args, sizeof args, "%s", rounds(30, slower10));
  const run_t *r = judge(args);
  expect(r, 1, "verdict: regression");
  assert_non_null(strstr(row_of(r, P50), "regression"));
  /* req/s got 10 % lower: worse too, the ratio oriented to say so. */
  assert_non_null(strstr(row_of(r, RPS), "1.1"));
  assert_non_null(strstr(row_of(r, RPS), "regression"));
  /* At the default 5 % it is caught; a 20 % threshold bounds it below. */
  snprintf(args, sizeof args, "--threshold 20 %s/case%d", tmpdir, case_no);
  expect(judge(args), 0, "verdict: no regression");
}

static void few_noisy_rounds_inconclusive(void **state) {
  (void)state;
  char args[256];
  snprintf(args, sizeof args, "%s", rounds(10, wild));
  const run_t *r = judge(args);
  expect(r, 3, "verdict: inconclusive");
  assert_non_null(strstr(r->out, "--rounds"));
}

/* A run's maximum 50 % worse in every round, the p50 the same: the
 * maximum is shown with its ratio but not judged, so no regression. */
static void maximum_reported_not_judged(void **state) {
  (void)state;
  const char *dir = new_case();
  for (int r = 1; r <= 30; r++) {
    for (int after = 0; after < 2; after++) {
      char path[512];
      double p50 = 4.0 * drift(r), max = 150.0 * drift(r) * (after ? 1.5 : 1.0);
      json_t *doc = wb_results_new("test_ab", NULL, wb_build_facts());
      assert_non_null(wb_metric_add(doc, P50, "us", "lower", NULL, &p50, 1));
      assert_non_null(wb_metric_add(doc, PMAX, "us", "lower", NULL, &max, 1));
      snprintf(path, sizeof path, "%s/%s-n1-c1.json", round_dir(dir, r),
               after ? "after" : "before");
      assert_int_equal(wb_results_write(doc, path), 0);
      json_decref(doc);
    }
  }
  const run_t *r = judge(dir);
  expect(r, 0, "verdict: no regression: 0 of 1 metrics regressed");
  assert_non_null(strstr(r->out, "1 maximum reported, not judged"));
  assert_non_null(strstr(row_of(r, PMAX), "1.500"));
  assert_non_null(strstr(row_of(r, PMAX), "reported, not judged"));
  assert_non_null(strstr(r->out, "Holm over 1 metrics"));
}

/* ---- failures are regressions ------------------------------------------- */

static void failed_run_names_side(void **state) {
  (void)state;
  const char *dir = rounds(20, same);
  char path[512];
  snprintf(path, sizeof path, "%s/r0007/after-n1-c1.json", dir);
  unlink(path);
  text_file(dir, 7, "after-n1-c1.rc", "1\n");
  text_file(dir, 7, "after-n1-c1.err", "progress\nbaseline: 1 point(s) failed\n");
  const run_t *r = judge(dir);
  expect(r, 1, "after failed at n1-c1 in round 7 (exit 1): baseline: 1 point(s) failed");
}

static void recorded_failure_and_lost_metric(void **state) {
  (void)state;
  const char *dir = rounds(20, same);
  char path[512];
  json_t *doc = wb_results_new("test_ab", NULL, wb_build_facts());
  double v = 4.0;
  wb_metric_add(doc, P50, "us", "lower", NULL, &v, 1); /* req/s lost */
  assert_int_equal(wb_failure_add(doc, "throughput", "ping/pipe/checkout/n=1/c=1",
                                  "WP_EWORKER_EXITED", "worker crashed"), 0);
  snprintf(path, sizeof path, "%s/r0003/after-n1-c1.json", dir);
  assert_int_equal(wb_results_write(doc, path), 0);
  json_decref(doc);
  const run_t *r = judge(dir);
  expect(r, 1, "after recorded 1 failure(s) at n1-c1 in round 3: "
               "ping/pipe/checkout/n=1/c=1: worker crashed (WP_EWORKER_EXITED)");
  assert_non_null(strstr(r->out, "after lacks " RPS));
}

/* ---- output forms and bad input ----------------------------------------- */

static void json_and_markdown(void **state) {
  (void)state;
  char args[256];
  const char *dir = rounds(30, slower10);
  snprintf(args, sizeof args, "--json %s", dir);
  const run_t *r = judge(args);
  assert_int_equal(r->status, 1);
  json_error_t e;
  json_t *doc = json_loads(r->out, 0, &e);
  assert_non_null(doc);
  assert_string_equal(json_string_value(json_object_get(doc, "schema")), "wpool.ab/1");
  assert_string_equal(json_string_value(json_object_get(doc, "verdict")), "regression");
  json_t *m = json_array_get(json_object_get(doc, "metrics"), 0);
  assert_true(json_real_value(json_object_get(m, "ratio")) > 1.08);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "method"),
                                                      "rounds")), 30);
  json_decref(doc);
  snprintf(args, sizeof args, "--markdown %s", dir);
  r = judge(args);
  expect(r, 1, "### wpool A/B: regression");
  assert_non_null(strstr(r->out, "| `" P50 "` |"));
}

static void bad_inputs(void **state) {
  (void)state;
  char args[256];
  expect_bad_input(judge("/nonexistent/rounds"), "/nonexistent/rounds");
  expect_bad_input(judge(new_case()), "no rounds");
  expect_bad_input(judge(""), "expected one rounds directory");
  expect_bad_input(judge("--threshold x /tmp"), "--threshold");
  const char *dir = new_case();
  text_file(dir, 1, "before-n1-c1.json", "{not json");
  side_file(dir, 1, "after", 4.0, 1);
  expect_bad_input(judge(dir), "before-n1-c1.json");
  snprintf(args, sizeof args, "--help");
  expect(judge(args), 0, "usage: wpool-ab");
}

/* ---- harness ------------------------------------------------------------ */

static int setup(void **state) {
  (void)state;
  return tu_prog_setup("wpool-ab", ab_bin, sizeof ab_bin, tmpdir, sizeof tmpdir);
}

static int teardown(void **state) {
  (void)state;
  return tu_rm_rf(tmpdir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(identical_rounds_no_regression),
      cmocka_unit_test(consistent_slowdown_is_regression),
      cmocka_unit_test(few_noisy_rounds_inconclusive),
      cmocka_unit_test(maximum_reported_not_judged),
      cmocka_unit_test(failed_run_names_side),
      cmocka_unit_test(recorded_failure_and_lost_metric),
      cmocka_unit_test(json_and_markdown),
      cmocka_unit_test(bad_inputs),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
