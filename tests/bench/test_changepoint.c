/*
 * test_changepoint.c — E-divisive change points (bench/lib/stat/
 * changepoint.h) on synthetic histories with this VM's kind of noise
 * (tests/noise.h: 4 % spread, one run in ten +10..25 %), so runs of one
 * build spread by about 10-15 % end to end. A 25 % step at run 20 of 30 is found at run 20 in
 * every history; 30 A/A runs give no change point in any.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "changepoint.h"
#include "noise.h"

#define HISTORIES 20
#define RUNS 30

/* x[i] = noisy(level before step_at, level·factor from it on). */
static void history(double *x, size_t n, size_t step_at, double factor, uint64_t seed) {
  noise_seed(seed);
  for (size_t i = 0; i < n; i++) x[i] = noise_run(i < step_at ? 100 : 100 * factor);
}

static size_t cps(const double *x, size_t n, wb_cp_t *out, size_t cap) {
  wb_cp_opts_t o;
  size_t count;
  wb_cp_opts_init(&o);
  assert_int_equal(wb_changepoints(x, n, &o, out, cap, &count), 0);
  return count;
}

static void step_found_at_its_run(void **state) {
  (void)state;
  double x[RUNS];
  wb_cp_t cp[8];
  for (uint64_t h = 1; h <= HISTORIES; h++) {
    history(x, RUNS, 20, 1.25, h);
    assert_int_equal(cps(x, RUNS, cp, 8), 1);
    assert_int_equal(cp[0].at, 20);
    assert_true(cp[0].change_pct > 15 && cp[0].change_pct < 35);
    assert_true(cp[0].p < 0.01);
    /* A rate that fell by 20 %: found, at run 20 unless bursts lifted
     * the first runs after the step back to the old level (3 of the 20
     * histories: at 21 or 22, where the new level shows). */
    history(x, RUNS, 20, 0.8, h + 1000);
    assert_int_equal(cps(x, RUNS, cp, 8), 1);
    assert_true(cp[0].at >= 20 && cp[0].at <= 22);
    assert_true(cp[0].change_pct < -10);
  }
}

static void aa_history_is_quiet(void **state) {
  (void)state;
  double x[RUNS];
  wb_cp_t cp[8];
  for (uint64_t h = 1; h <= HISTORIES; h++) {
    history(x, RUNS, RUNS, 1, h + 5000);
    assert_int_equal(cps(x, RUNS, cp, 8), 0);
  }
  /* a long A/A history too: more splits to try, still none */
  double y[200];
  history(y, 200, 200, 1, 77);
  assert_int_equal(cps(y, 200, cp, 8), 0);
}

static void two_steps_both_found(void **state) {
  (void)state;
  double x[45];
  wb_cp_t cp[8];
  history(x, 45, 45, 1, 9);
  for (size_t i = 15; i < 45; i++) x[i] *= i < 30 ? 1.3 : 1.3 * 0.7;
  assert_int_equal(cps(x, 45, cp, 8), 2);
  assert_int_equal(cp[0].at, 15);
  assert_int_equal(cp[1].at, 30);
  assert_true(cp[0].change_pct > 0 && cp[1].change_pct < 0);
}

static void small_moves_are_not_reported(void **state) {
  (void)state;
  double x[RUNS];
  wb_cp_t cp[8];
  /* a 3 % step without noise: significant, but under min_change_pct */
  for (size_t i = 0; i < RUNS; i++) x[i] = (i < 20 ? 100 : 103) + 0.01 * (double)(i % 3);
  assert_int_equal(cps(x, RUNS, cp, 8), 0);
  wb_cp_opts_t o;
  size_t count;
  wb_cp_opts_init(&o);
  o.min_change_pct = 1;
  assert_int_equal(wb_changepoints(x, RUNS, &o, cp, 8, &count), 0);
  assert_int_equal(count, 1);
  assert_int_equal(cp[0].at, 20);
}

static void same_series_same_answer(void **state) {
  (void)state;
  double x[RUNS];
  wb_cp_t a[8], b[8];
  history(x, RUNS, 12, 1.15, 3);
  size_t na = cps(x, RUNS, a, 8), nb = cps(x, RUNS, b, 8);
  assert_int_equal(na, nb);
  for (size_t i = 0; i < na; i++) {
    assert_int_equal(a[i].at, b[i].at);
    assert_true(a[i].p == b[i].p);
  }
}

static void edges(void **state) {
  (void)state;
  double x[RUNS];
  wb_cp_t cp[8];
  size_t count = 99;
  wb_cp_opts_t o;
  wb_cp_opts_init(&o);
  for (size_t i = 0; i < RUNS; i++) x[i] = 7; /* constant: nothing to split */
  assert_int_equal(cps(x, RUNS, cp, 8), 0);
  assert_int_equal(cps(x, 9, cp, 8), 0); /* shorter than two segments */
  assert_int_equal(wb_changepoints(x, 0, &o, cp, 8, &count), 0);
  assert_int_equal(count, 0);
  x[3] = NAN;
  assert_int_equal(wb_changepoints(x, RUNS, &o, cp, 8, &count), -1);
  x[3] = 7;
  o.min_seg = 1;
  assert_int_equal(wb_changepoints(x, RUNS, &o, cp, 8, &count), -1);
  wb_cp_opts_init(&o);
  o.alpha = 1;
  assert_int_equal(wb_changepoints(x, RUNS, &o, cp, 8, &count), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(step_found_at_its_run),
      cmocka_unit_test(aa_history_is_quiet),
      cmocka_unit_test(two_steps_both_found),
      cmocka_unit_test(small_moves_are_not_reported),
      cmocka_unit_test(same_series_same_answer),
      cmocka_unit_test(edges),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
