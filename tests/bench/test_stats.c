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
 *   - Wilcoxon signed-rank: R's wilcox.test example (paired, greater: V = 40,
 *     p = 0.01953) and SciPy's wilcoxon example (p = 0.041259765625);
 *     Holm against R's p.adjust.
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

/* ---- Wilcoxon signed-rank, median bounds, Holm --------------------------- */

static void wsr_r_example_exact(void **state) {
  (void)state;
  /* R's wilcox.test documentation (Hollander & Wolfe, depression scale
   * before/after): paired, alternative "greater" → V = 40, p = 0.01953. */
  double x[] = {1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30};
  double y[] = {0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29};
  double d[9];
  for (int i = 0; i < 9; i++)
    d[i] = x[i] - y[i];
  wb_wsr_t r;
  assert_int_equal(wb_wsr_test(d, 9, WB_ALT_GREATER, &r), 0);
  assert_true(r.exact);
  assert_close(r.v, 40, 0);
  assert_close(r.p, 10.0 / 512.0, 1e-15); /* 0.01953125 */
  assert_int_equal(wb_wsr_test(d, 9, WB_ALT_TWO_SIDED, &r), 0);
  assert_close(r.p, 20.0 / 512.0, 1e-15);
}

static void wsr_scipy_example_exact(void **state) {
  (void)state;
  /* SciPy's wilcoxon documentation (Cushny & Peebles via Fisher, 15 pairs
   * of plant heights): two-sided p = 0.041259765625, greater 0.0206298828125. */
  double d[] = {6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75};
  wb_wsr_t r;
  assert_int_equal(wb_wsr_test(d, 15, WB_ALT_TWO_SIDED, &r), 0);
  assert_close(r.v, 96, 0);
  assert_close(r.p, 0.041259765625, 1e-15);
  assert_int_equal(wb_wsr_test(d, 15, WB_ALT_GREATER, &r), 0);
  assert_close(r.p, 0.0206298828125, 1e-15);
  assert_int_equal(wb_wsr_test(d, 15, WB_ALT_LESS, &r), 0);
  assert_close(r.p, 0.982330322265625, 1e-15); /* P(V <= 96), enumerated */
}

static void wsr_ties_and_zeros_normal(void **state) {
  (void)state;
  /* Ties (|2|, |3|, |5| twice each) and a zero (dropped): normal
   * approximation. V = 43 of n = 10, σ² = 10·11·21/24 - 3·6/48; values from
   * an independent implementation of the same formulas (R's, correct = TRUE):
   * z = 1.5319287635644958, two-sided p = 0.12554001464545364, greater with
   * its own correction 0.06277000732272682. */
  double d[] = {1, 2, 2, 3, -3, 4, 5, -5, 6, 0, 7};
  wb_wsr_t r;
  assert_int_equal(wb_wsr_test(d, 11, WB_ALT_TWO_SIDED, &r), 0);
  assert_false(r.exact);
  assert_true(r.ties);
  assert_int_equal(r.n, 10);
  assert_close(r.v, 43, 0);
  assert_close(r.z, 1.5319287635644958, 1e-12);
  assert_close(r.p, 0.12554001464545364, 1e-12);
  assert_int_equal(wb_wsr_test(d, 11, WB_ALT_GREATER, &r), 0);
  assert_close(r.p, 0.06277000732272682, 1e-12);
}

static void wsr_degenerate(void **state) {
  (void)state;
  double zeros[] = {0, 0, 0}, nan_in[] = {1, NAN}, one[] = {0.5};
  wb_wsr_t r;
  assert_int_equal(wb_wsr_test(zeros, 3, WB_ALT_GREATER, &r), 0);
  assert_close(r.p, 1.0, 0);
  assert_int_equal(wb_wsr_test(nan_in, 2, WB_ALT_GREATER, &r), -1);
  assert_int_equal(wb_wsr_test(one, 0, WB_ALT_GREATER, &r), -1);
  assert_int_equal(wb_wsr_test(one, 1, WB_ALT_GREATER, &r), 0);
  assert_close(r.p, 0.5, 0); /* one positive of two equally likely signs */
}

static void median_ci_order_statistics(void **state) {
  (void)state;
  /* n = 9, 2.5 % a side: P(Bin(9, 1/2) <= 1) = 10/512 <= 0.025 < 46/512,
   * so the textbook 96.1 % interval (x_(2), x_(8)). */
  double x[] = {9, 1, 8, 2, 7, 3, 6, 4, 5};
  double lo, hi;
  assert_int_equal(wb_median_ci(x, 9, 0.025, &lo, &hi), 0);
  assert_close(lo, 2, 0);
  assert_close(hi, 8, 0);
  assert_close(x[0], 9, 0); /* untouched */
  /* Five values cannot bound a median at 1 %: 2^-5 > 0.01. */
  assert_int_equal(wb_median_ci(x, 5, 0.01, &lo, &hi), 0);
  assert_true(isinf(lo) && lo < 0);
  assert_true(isinf(hi) && hi > 0);
}

static void holm_matches_r(void **state) {
  (void)state;
  /* R: p.adjust(c(0.01, 0.04, 0.03, 0.005), "holm") → 0.03 0.06 0.06 0.02 */
  double p[] = {0.01, 0.04, 0.03, 0.005};
  assert_int_equal(wb_holm_adjust(p, 4), 0);
  assert_close(p[0], 0.03, 1e-15);
  assert_close(p[1], 0.06, 1e-15);
  assert_close(p[2], 0.06, 1e-15);
  assert_close(p[3], 0.02, 1e-15);
  double big[] = {0.5, 0.9};
  assert_int_equal(wb_holm_adjust(big, 2), 0);
  assert_close(big[0], 1.0, 0); /* capped */
  assert_close(big[1], 1.0, 0);
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
      cmocka_unit_test(wsr_r_example_exact),
      cmocka_unit_test(wsr_scipy_example_exact),
      cmocka_unit_test(wsr_ties_and_zeros_normal),
      cmocka_unit_test(wsr_degenerate),
      cmocka_unit_test(median_ci_order_statistics),
      cmocka_unit_test(holm_matches_r),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
