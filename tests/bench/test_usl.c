/*
 * test_usl.c — the Universal Scalability Law fit (bench/lib/stat/usl.c)
 * recovers known parameters from synthetic curves, clean and noisy, keeps
 * σ and κ non-negative, and reports the modelled peak.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <cmocka.h>

#include "usl.h"

#define K 16

/* A curve with the given parameters at N = 1..k, each point scaled by
 * (1 + noise·u), u a fixed pseudo-random value in [-1, 1]. */
static void curve(const wb_usl_t *m, double noise, double *n, double *x, size_t k) {
  uint32_t s = 12345;
  for (size_t i = 0; i < k; i++) {
    s = s * 1103515245u + 12345u;
    double u = ((s >> 8) & 0xffff) / 32767.5 - 1;
    n[i] = (double)(i + 1);
    x[i] = wb_usl_eval(m, n[i]) * (1 + noise * u);
  }
}

static void assert_within(double got, double want, double rel) {
  if (fabs(got - want) > rel * fabs(want))
    fail_msg("got %g, want %g within %.0f %%", got, want, rel * 100);
}

static void recovers_exact(void **state) {
  (void)state;
  wb_usl_t truth = {.lambda = 950, .sigma = 0.05, .kappa = 0.002}, fit;
  double n[K], x[K];
  curve(&truth, 0, n, x, K);
  assert_int_equal(wb_usl_fit(n, x, K, &fit), 0);
  assert_within(fit.lambda, truth.lambda, 0.001);
  assert_within(fit.sigma, truth.sigma, 0.01);
  assert_within(fit.kappa, truth.kappa, 0.01);
  assert_true(fit.r2 > 0.9999);
  assert_within(wb_usl_peak(&fit), sqrt(0.95 / 0.002), 0.01);
}

/* ±0.3 % measurement noise (what repeated medians give here) still leaves
 * σ and κ within 5 %. */
static void recovers_noisy(void **state) {
  (void)state;
  wb_usl_t truth = {.lambda = 1000, .sigma = 0.08, .kappa = 0.004}, fit;
  double n[24], x[24];
  curve(&truth, 0.003, n, x, 24);
  assert_int_equal(wb_usl_fit(n, x, 24, &fit), 0);
  assert_within(fit.lambda, truth.lambda, 0.05);
  assert_within(fit.sigma, truth.sigma, 0.05);
  assert_within(fit.kappa, truth.kappa, 0.05);
}

/* Pure contention: the curve flattens but never turns down, κ = 0 and the
 * peak is infinite. */
static void contention_only(void **state) {
  (void)state;
  wb_usl_t truth = {.lambda = 500, .sigma = 0.3, .kappa = 0}, fit;
  double n[8], x[8];
  curve(&truth, 0, n, x, 8);
  assert_int_equal(wb_usl_fit(n, x, 8, &fit), 0);
  assert_within(fit.sigma, 0.3, 0.01);
  assert_true(fit.kappa < 1e-6);
  if (fit.kappa == 0) assert_true(isinf(wb_usl_peak(&fit)));
}

/* Super-linear data (better than linear) would need σ < 0: the fit keeps
 * σ, κ >= 0 instead. */
static void never_negative(void **state) {
  (void)state;
  double n[5] = {1, 2, 3, 4, 5}, x[5] = {100, 210, 330, 460, 600};
  wb_usl_t fit;
  assert_int_equal(wb_usl_fit(n, x, 5, &fit), 0);
  assert_true(fit.sigma >= 0);
  assert_true(fit.kappa >= 0);
  assert_true(fit.lambda > 0);
}

static void rejects_bad_input(void **state) {
  (void)state;
  double n[3] = {1, 1, 2}, x[3] = {1, 2, 3}, bad[3] = {1, -2, 3};
  double ok_n[3] = {1, 2, 3};
  wb_usl_t fit;
  assert_int_equal(wb_usl_fit(n, x, 3, &fit), -1);      /* 2 distinct sizes */
  assert_int_equal(wb_usl_fit(ok_n, bad, 3, &fit), -1); /* X <= 0 */
  assert_int_equal(wb_usl_fit(ok_n, x, 2, &fit), -1);
  assert_int_equal(wb_usl_fit(NULL, x, 3, &fit), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(recovers_exact),
      cmocka_unit_test(recovers_noisy),
      cmocka_unit_test(contention_only),
      cmocka_unit_test(never_negative),
      cmocka_unit_test(rejects_bad_input),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
