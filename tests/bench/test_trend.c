/*
 * test_trend.c — bench/trend's program (build/wpool-trend) on synthetic
 * histories written as real results files (libwpresults: wb_results_new,
 * wb_metric_add, wb_results_write) in a temp git repository of 30 commits
 * an hour apart. Runs are made in the reverse order of their commits, so
 * only ordering by commit time puts them right:
 *   - a 25 % step at run 20 of 30 is one change point, at the commit of
 *     run 20, worse for a time, better for a rate that rose;
 *   - 30 A/A runs with this VM's noise (4 % spread, one run in ten hit by
 *     +10..25 %) give none;
 *   - runs from another placement are their own group, never mixed;
 *   - the text table prints 3 significant digits with units; --charts
 *     draws a non-empty SVG per metric; bad input exits 2, one line.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "noise.h"
#include "results.h"
#include "testutil.h"

#define RUNS 30
static char g_bin[PATH_MAX], g_dir[256], g_commit[RUNS][48];
static void runs_of(double level, double *r) {
  for (int i = 0; i < 3; i++) r[i] = noise_run(level);
}

/* A repository of RUNS empty commits an hour apart; their ids. */
static int setup(void **state) {
  (void)state;
  char rel[512];
  if (tu_prog_setup("wpool-trend", rel, sizeof rel, g_dir, sizeof g_dir) != 0) return -1;
  if (!realpath(rel, g_bin)) return -1; /* the program runs from the repository */
  if (tu_sh("cd '%s' && git init -q repo && cd repo && git config user.email t@t && "
         "git config user.name t && for i in $(seq 1 %d); do "
         "GIT_COMMITTER_DATE=\"$((1700000000 + i * 3600)) +0000\" "
         "git commit -q --allow-empty -m \"c$i\" || exit 1; done && "
         "git rev-list --reverse HEAD > ../commits && mkdir results",
         g_dir, RUNS) != 0)
    return -1;
  char path[512];
  snprintf(path, sizeof path, "%s/commits", g_dir);
  FILE *f = fopen(path, "r");
  for (int i = 0; f && i < RUNS; i++)
    if (fscanf(f, "%47s", g_commit[i]) != 1) return -1;
  return f ? fclose(f) : -1;
}

static int teardown(void **state) {
  (void)state;
  return getenv("KEEP") ? 0 : tu_rm_rf(g_dir);
}

/* Run i of the history: commit i, made at 10:00 minus i minutes (the
 * reverse order), pinned to cpus, with the two metrics' levels. */
static void write_run(const char *sub, int i, const char *cpus, double t_level, double r_level) {
  json_t *cfg = json_pack("{s:o}", "cpus", json_loads(cpus, 0, NULL));
  json_t *doc = wb_results_new("wpool-baseline", cfg, NULL);
  char at[64], path[512];
  double r[3];
  snprintf(at, sizeof at, "2026-12-05T10:%02d:00.000000Z", 59 - i);
  json_object_set_new(doc, "created_at", json_string(at));
  json_object_set_new(doc, "git", json_pack("{s:s, s:b}", "commit", g_commit[i], "dirty", 0));
  runs_of(t_level, r);
  assert_non_null(wb_metric_add(doc, "startup.all_ready/pipe/concurrent/n=16", "ms", "lower",
                                NULL, r, 3));
  runs_of(r_level, r);
  assert_non_null(wb_metric_add(doc, "ping.rps/pipe/checkout/n=1/c=1", "req/s", "higher", NULL,
                                r, 3));
  snprintf(path, sizeof path, "%s/%s/%s-%02d-%s.json", g_dir, sub, at, i, cpus);
  assert_int_equal(wb_results_write(doc, path), 0);
  json_decref(doc);
}

/* Runs the program in the repository on results dir sub; its output
 * parsed, or NULL. */
static json_t *trend_json(const char *sub, const char *more) {
  char out[512];
  snprintf(out, sizeof out, "%s/out.json", g_dir);
  assert_int_equal(tu_sh("cd '%s/repo' && '%s' --results-dir ../%s --json %s > '%s' 2>'%s/err'",
                      g_dir, g_bin, sub, more, out, g_dir), 0);
  return json_load_file(out, 0, NULL);
}

static const json_t *series(const json_t *group, const char *id) {
  size_t i;
  const json_t *s;
  json_array_foreach(json_object_get(group, "series"), i, s)
    if (!strcmp(json_string_value(json_object_get(s, "id")), id)) return s;
  fail_msg("no series %s", id);
  return NULL;
}

static void step_found_at_its_commit(void **state) {
  (void)state;
  assert_int_equal(tu_sh("mkdir -p '%s/step'", g_dir), 0);
  noise_seed(42);
  for (int i = 0; i < RUNS; i++) write_run("step", i, "[0]", i < 19 ? 40 : 50, i < 19 ? 1e5 : 1.25e5);
  json_t *doc = trend_json("step", "");
  assert_non_null(doc);
  assert_string_equal(json_string_value(json_object_get(doc, "schema")), "wpool.trend/1");
  const json_t *g = json_array_get(json_object_get(doc, "groups"), 0);
  assert_int_equal(json_array_size(json_object_get(doc, "groups")), 1);
  assert_string_equal(json_string_value(json_object_get(g, "order")), "commit time");
  /* run 20 (index 19) is commit 20: ordered by commit, not by run time */
  const json_t *runs = json_object_get(g, "runs");
  for (int i = 0; i < RUNS; i++)
    assert_string_equal(json_string_value(json_object_get(json_array_get(runs, i), "commit")),
                        g_commit[i]);
  const char *ids[] = {"startup.all_ready/pipe/concurrent/n=16", "ping.rps/pipe/checkout/n=1/c=1"};
  const char *dirs[] = {"worse", "better"};
  for (int k = 0; k < 2; k++) {
    const json_t *cps = json_object_get(series(g, ids[k]), "change_points");
    assert_int_equal(json_array_size(cps), 1);
    const json_t *cp = json_array_get(cps, 0);
    assert_string_equal(json_string_value(json_object_get(cp, "commit")), g_commit[19]);
    double pct = json_number_value(json_object_get(cp, "change_pct"));
    assert_true(pct > 15 && pct < 35);
    assert_string_equal(json_string_value(json_object_get(cp, "direction")), dirs[k]);
    assert_false(json_is_true(json_object_get(cp, "same_commit"))); /* commits 19 → 20 */
  }
  json_decref(doc);
}

static void aa_history_is_quiet(void **state) {
  (void)state;
  assert_int_equal(tu_sh("mkdir -p '%s/aa'", g_dir), 0);
  noise_seed(7);
  for (int i = 0; i < RUNS; i++) write_run("aa", i, "[0]", 40, 1e5);
  json_t *doc = trend_json("aa", "");
  assert_non_null(doc);
  const json_t *g = json_array_get(json_object_get(doc, "groups"), 0), *s;
  size_t i;
  assert_int_equal(json_array_size(json_object_get(g, "series")), 2);
  json_array_foreach(json_object_get(g, "series"), i, s) {
    assert_int_equal(json_array_size(json_object_get(s, "points")), RUNS);
    assert_int_equal(json_array_size(json_object_get(s, "change_points")), 0);
  }
  json_decref(doc);
}

static void placements_never_mixed(void **state) {
  (void)state;
  assert_int_equal(tu_sh("mkdir -p '%s/mixed'", g_dir), 0);
  noise_seed(9);
  for (int i = 0; i < 12; i++) write_run("mixed", i, i % 3 ? "[0]" : "[0,1]", 40, 1e5);
  json_t *doc = trend_json("mixed", "--metric 'startup.*'");
  assert_non_null(doc);
  const json_t *gs = json_object_get(doc, "groups");
  assert_int_equal(json_array_size(gs), 2);
  size_t total = 0;
  for (size_t k = 0; k < 2; k++) {
    const json_t *g = json_array_get(gs, k);
    total += json_array_size(json_object_get(g, "runs"));
    assert_int_equal(json_array_size(json_object_get(g, "series")), 1); /* --metric */
  }
  assert_int_equal(total, 12);
  json_decref(doc);
  assert_int_equal(tu_sh("grep -q 'runs from 2 host classes or placements' '%s/err'", g_dir), 0);
}

static void table_and_charts(void **state) {
  (void)state;
  /* the step history of the first test, as a table and as charts */
  assert_int_equal(tu_sh("cd '%s/repo' && '%s' --results-dir ../step --charts ../charts > ../table 2>/dev/null",
                      g_dir, g_bin), 0);
  assert_int_equal(tu_sh("grep -q 'run 20 %.7s +2[0-9].[0-9] %% worse' '%s/table'", g_commit[19], g_dir), 0);
  assert_int_equal(tu_sh("grep -E -q 'startup.all_ready/pipe/concurrent/n=16 +30 +[0-9.]+ ms' '%s/table'", g_dir), 0);
  assert_int_not_equal(tu_sh("grep -q 'e+0' '%s/table'", g_dir), 0);
  char path[512];
  struct stat st;
  /* series in id order: ping.rps is trend_1_1, startup trend_1_2 */
  snprintf(path, sizeof path, "%s/charts/trend_1_2.svg", g_dir);
  assert_int_equal(stat(path, &st), 0);
  assert_true(st.st_size > 2000);
  assert_int_equal(tu_sh("grep -q '<svg' '%s' && grep -q '%.7s' '%s' && grep -q '+2[0-9].[0-9] %%' '%s'",
                      path, g_commit[0], path, path), 0);
  assert_int_equal(tu_sh("grep -q 'trend_1_2.png' '%s/charts/report.md' && "
                      "grep -q '<svg' '%s/charts/report.html'", g_dir, g_dir), 0);
}

static void bad_input_exits_2(void **state) {
  (void)state;
  assert_int_equal(tu_sh("'%s' --results-dir '%s/none' 2>/dev/null", g_bin, g_dir), 2);
  assert_int_equal(tu_sh("'%s' --results-dir '%s/aa' --since yesterday 2>/dev/null", g_bin, g_dir), 2);
  assert_int_equal(tu_sh("'%s' --results-dir '%s/aa' --since 2030-01-01 2>/dev/null", g_bin, g_dir), 2);
  assert_int_equal(tu_sh("'%s' --bogus 2>/dev/null", g_bin), 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(step_found_at_its_commit),
      cmocka_unit_test(aa_history_is_quiet),
      cmocka_unit_test(placements_never_mixed),
      cmocka_unit_test(table_and_charts),
      cmocka_unit_test(bad_input_exits_2),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
