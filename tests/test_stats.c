/*
 * test_stats.c — summaries and the Mann–Whitney U test against published
 * values:
 *   - SciPy's mannwhitneyu documentation (diabetes ages, males vs females):
 *     U = 17, exact two-sided p = 1/9; asymptotic p = 0.11134688653314041.
 *   - R's wilcox.test documentation (Hollander & Wolfe, permeability
 *     constants): W = 35, one-sided exact p = 0.1272, so two-sided 0.2544.
 *   - Published critical values of U (two-sided, alpha = 0.05): n1 = n2 = 5
 *     → 2, 8 → 13, 10 → 23, 20 → 127: p(U_crit) < 0.05 <= p(U_crit + 1).
 *   - R output with ties (normal approximation, continuity correction):
 *     W = 51.5, p = 0.5966 and W = 0, p = 0.001364.
 * Every value was also re-derived by brute-force enumeration of all rank
 * arrangements (exact) and by the textbook formula (normal).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "stats.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static void assert_close(double got, double want, double tol) {
  if (fabs(got - want) > tol)
    fail_msg("got %.10g, want %.10g (tol %g)", got, want, tol);
}

static void median_odd_even_and_no_mutation(void **state) {
  (void)state;
  double odd[] = {5, 1, 4, 2, 3};
  double even[] = {10, 2, 8, 4};
  assert_close(wb_stats_median(odd, 5), 3.0, 0);
  assert_close(wb_stats_median(even, 4), 6.0, 0);
  /* The caller's order is untouched. */
  assert_close(odd[0], 5, 0);
  assert_close(even[0], 10, 0);
  assert_true(isnan(wb_stats_median(odd, 0)));
}

static void summary_fields(void **state) {
  (void)state;
  double x[] = {2, 4, 4, 4, 5, 5, 7, 9};
  double copy[ARRAY_LEN(x)];
  memcpy(copy, x, sizeof x);
  wb_stats_t s;
  assert_int_equal(wb_stats_summary(x, ARRAY_LEN(x), &s), 0);
  assert_int_equal(s.n, 8);
  assert_close(s.median, 4.5, 0);
  assert_close(s.min, 2, 0);
  assert_close(s.max, 9, 0);
  assert_close(s.mean, 5, 1e-12);
  assert_close(s.stddev, sqrt(32.0 / 7.0), 1e-12); /* sample (n - 1) */
  assert_memory_equal(x, copy, sizeof x);
  assert_int_equal(wb_stats_summary(x, 0, &s), -1);
  double one = 3;
  assert_int_equal(wb_stats_summary(&one, 1, &s), 0);
  assert_close(s.stddev, 0, 0);
}

static void mwu_scipy_example_exact(void **state) {
  (void)state;
  double males[] = {19, 22, 16, 29, 24}, females[] = {20, 11, 17, 12};
  wb_mwu_t r;
  assert_int_equal(wb_mwu_test(males, 5, females, 4, &r), 0);
  assert_true(r.exact);
  assert_close(r.u, 17, 0);
  assert_close(r.p, 1.0 / 9.0, 1e-12);
  /* Symmetric: swapping the samples gives U = 3 and the same p. */
  assert_int_equal(wb_mwu_test(females, 4, males, 5, &r), 0);
  assert_close(r.u, 3, 0);
  assert_close(r.p, 1.0 / 9.0, 1e-12);
}

static void mwu_r_example_exact(void **state) {
  (void)state;
  double x[] = {0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46};
  double y[] = {1.15, 0.88, 0.90, 0.74, 1.21};
  wb_mwu_t r;
  assert_int_equal(wb_mwu_test(x, 10, y, 5, &r), 0);
  assert_true(r.exact);
  assert_close(r.u, 35, 0);
  assert_close(r.p, 2 * 0.1272, 1e-4);        /* R prints 4 digits */
  assert_close(r.p, 0.2544122544122544, 1e-12); /* enumeration */
}

/* p at U = u for two samples of n distinct values each, built so that
 * exactly u of the (a, b) pairs have a > b: b_j = 10j + 5, and
 * a_i = 10k_i + 1 + i/100 beats exactly k_i of the b's. */
static double p_at_u(size_t n, size_t u) {
  double a[WB_MWU_EXACT_MAX], b[WB_MWU_EXACT_MAX];
  for (size_t j = 0; j < n; j++)
    b[j] = 10.0 * (double)j + 5.0; /* b: 5, 15, 25, ... */
  size_t left = u;
  for (size_t i = n; i-- > 0;) {
    size_t k = left > n ? n : left;
    left -= k;
    a[i] = 10.0 * (double)k + 1.0 + (double)i / 100.0;
  }
  wb_mwu_t r;
  assert_int_equal(wb_mwu_test(a, n, b, n, &r), 0);
  assert_true(r.exact);
  assert_close(r.u, (double)u, 0);
  return r.p;
}

static void mwu_critical_value_tables(void **state) {
  (void)state;
  const struct { size_t n, crit; double p_crit, p_next; } t[] = {
      {5, 2, 0.031746031746031744, 0.05555555555555555},
      {8, 13, 0.049883449883449886, 0.06495726495726496},
      {10, 23, 0.04325705254497824, 0.05242590227110351},
      {20, 127, 0.04909032518937244, 0.05239952187284973},
  };
  for (size_t i = 0; i < ARRAY_LEN(t); i++) {
    double pc = p_at_u(t[i].n, t[i].crit), pn = p_at_u(t[i].n, t[i].crit + 1);
    assert_true(pc < 0.05 && pn >= 0.05);
    assert_close(pc, t[i].p_crit, 1e-12);
    assert_close(pn, t[i].p_next, 1e-12);
  }
}

static void mwu_complete_separation(void **state) {
  (void)state;
  double a[8], b[8];
  for (int i = 0; i < 8; i++) {
    a[i] = 100 + i;
    b[i] = 150 + i;
  }
  wb_mwu_t r;
  assert_int_equal(wb_mwu_test(a, 8, b, 8, &r), 0);
  assert_close(r.u, 0, 0);
  assert_close(r.p, 2.0 / 12870.0, 1e-15); /* 2 / C(16, 8) */
}

static void mwu_r_examples_with_ties(void **state) {
  (void)state;
  double x[] = {1, 5, 9, 24, 56, 21, 3, 7, 21, 4};
  double y1[] = {12, 15, 5, 9, 9, 14, 56, 22, 3, 7, 32, 5};
  double y2[] = {1233, 4356, 987, 39999, 1111, 200000};
  wb_mwu_t r;
  assert_int_equal(wb_mwu_test(x, 10, y1, 12, &r), 0);
  assert_false(r.exact);
  assert_true(r.ties);
  assert_close(r.u, 51.5, 0);
  assert_close(r.p, 0.5966, 5e-5);
  assert_close(r.p, 0.5965969026279817, 1e-10);
  assert_int_equal(wb_mwu_test(x, 10, y2, 6, &r), 0);
  assert_close(r.u, 0, 0);
  assert_close(r.p, 0.001364, 5e-7);
}

static void mwu_normal_past_exact_limit(void **state) {
  (void)state;
  /* Past the exact limit the normal approximation applies even without
   * ties; check it against the same formula on a 21 vs 21 interleaving. */
  double a[21], b[21];
  for (int i = 0; i < 21; i++) {
    a[i] = 2.0 * i;
    b[i] = 2.0 * i + 1.0 + 6.0; /* b shifted up by ~3.5 ranks */
  }
  wb_mwu_t r;
  assert_int_equal(wb_mwu_test(a, 21, b, 21, &r), 0);
  assert_false(r.exact);
  /* U: a_i = 2i beats b_j = 2j + 7 when j <= i - 4: Σ_{i=4..20} (i - 3). */
  assert_close(r.u, 153, 0);
  double sigma = sqrt(21.0 * 21.0 * 43.0 / 12.0);
  double z = (153 - 220.5 + 0.5) / sigma;
  assert_close(r.z, z, 1e-12);
  assert_close(r.p, erfc(fabs(z) / sqrt(2.0)), 1e-12);
}

static void mwu_degenerate(void **state) {
  (void)state;
  double same[] = {3, 3, 3, 3, 3};
  wb_mwu_t r;
  assert_int_equal(wb_mwu_test(same, 5, same, 5, &r), 0);
  assert_close(r.p, 1.0, 0);
  double a[] = {1, 2, 3};
  assert_int_equal(wb_mwu_test(a, 3, a, 3, &r), 0); /* ties → normal */
  assert_close(r.p, 1.0, 0);
  assert_int_equal(wb_mwu_test(a, 0, a, 3, &r), -1);
  double nan_in[] = {1, NAN};
  assert_int_equal(wb_mwu_test(nan_in, 2, a, 3, &r), -1);
  double one_a[] = {1}, one_b[] = {2};
  assert_int_equal(wb_mwu_test(one_a, 1, one_b, 1, &r), 0);
  assert_close(r.p, 1.0, 0); /* 2 · 1/2 */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(median_odd_even_and_no_mutation),
      cmocka_unit_test(summary_fields),
      cmocka_unit_test(mwu_scipy_example_exact),
      cmocka_unit_test(mwu_r_example_exact),
      cmocka_unit_test(mwu_critical_value_tables),
      cmocka_unit_test(mwu_complete_separation),
      cmocka_unit_test(mwu_r_examples_with_ties),
      cmocka_unit_test(mwu_normal_past_exact_limit),
      cmocka_unit_test(mwu_degenerate),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
