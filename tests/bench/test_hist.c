/*
 * test_hist.c — the log-linear histogram against exact percentiles of the
 * same samples, sorted. Distributions: uniform, lognormal, bimodal,
 * constant, tiny (exact range) and huge (minutes to an hour, and past the
 * range). Samples come from a fixed-seed generator, so runs are identical.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdlib.h>

#include "hist.h"

#define NSAMPLES 50000

/* splitmix64: a tiny, well-mixed, seedable generator (deterministic tests). */
static uint64_t rng_state;
static uint64_t rng_next(void) {
  uint64_t z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}
static double rng_unit(void) { /* (0, 1) */
  return ((double)(rng_next() >> 11) + 0.5) / 9007199254740992.0;
}
static double rng_normal(void) { /* Box–Muller */
  return sqrt(-2.0 * log(rng_unit())) * cos(2.0 * M_PI * rng_unit());
}

typedef uint64_t (*gen_fn)(void);

static uint64_t gen_uniform(void) { return 1 + rng_next() % 1000000; }
static uint64_t gen_lognormal(void) {
  return (uint64_t)exp(log(50000.0) + 1.0 * rng_normal());
}
static uint64_t gen_bimodal(void) { /* 10 µs cache hits, 5 ms misses */
  double centre = (rng_next() & 1) ? 10e3 : 5e6;
  return (uint64_t)(centre * (1.0 + 0.1 * rng_normal()));
}
static uint64_t gen_constant(void) { return 12345; }
static uint64_t gen_tiny(void) { return rng_next() % 256; }
static uint64_t gen_huge(void) { /* 1 s .. 1 h */
  return (uint64_t)(1e9 + rng_unit() * (3600e9 - 1e9));
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* Exact nearest-rank percentile of sorted s[0..n). */
static uint64_t exact_pct(const uint64_t *s, size_t n, double p) {
  double r = ceil(p * (double)n / 100.0);
  size_t rank = r < 1 ? 1 : (r > (double)n ? n : (size_t)r);
  return s[rank - 1];
}

static const double pcts[] = {0,  0.1, 1,  10,   25,    50,
                              75, 90,  99, 99.9, 99.99, 100};

static void check_pcts(const wb_hist_t *h, const uint64_t *sorted, size_t n,
                       const char *name) {
  for (size_t i = 0; i < sizeof pcts / sizeof pcts[0]; i++) {
    uint64_t want = exact_pct(sorted, n, pcts[i]);
    uint64_t got = wb_hist_percentile(h, pcts[i]);
    double err = want ? fabs((double)got - (double)want) / (double)want
                      : (double)got;
    /* The documented bound is half a bucket: 1/256 of the value. */
    if (err > 1.0 / 256.0)
      fail_msg("%s p%g: got %llu, exact %llu (error %.4f %%)", name, pcts[i],
               (unsigned long long)got, (unsigned long long)want, err * 100);
  }
}

static void check_distribution(gen_fn gen, const char *name) {
  uint64_t *s = malloc(NSAMPLES * sizeof *s);
  wb_hist_t *h = wb_hist_new();
  assert_non_null(s);
  assert_non_null(h);
  double sum = 0;
  for (size_t i = 0; i < NSAMPLES; i++) {
    s[i] = gen();
    sum += (double)s[i];
    wb_hist_record(h, s[i]);
  }
  qsort(s, NSAMPLES, sizeof *s, cmp_u64);
  assert_int_equal(wb_hist_count(h), NSAMPLES);
  assert_int_equal(wb_hist_min(h), s[0]);
  assert_int_equal(wb_hist_max(h), s[NSAMPLES - 1]);
  assert_true(fabs(wb_hist_mean(h) - sum / NSAMPLES) <= 1e-9 * sum / NSAMPLES);
  check_pcts(h, s, NSAMPLES, name);
  wb_hist_free(h);
  free(s);
}

/* One test per distribution, each with its own seed. */
#define DIST_TEST(name, seed)                                                 \
  static void name(void **state) {                                            \
    (void)state;                                                              \
    rng_state = (seed);                                                       \
    check_distribution(gen_##name, #name);                                    \
  }
DIST_TEST(uniform, 1)
DIST_TEST(lognormal, 2)
DIST_TEST(bimodal, 3)
DIST_TEST(constant, 4)
DIST_TEST(tiny, 5)
DIST_TEST(huge, 6)

/* Past WB_HIST_MAX a value loses resolution but is never lost: it counts,
 * and min/max/p100 stay exact. */
static void beyond_range(void **state) {
  (void)state;
  wb_hist_t *h = wb_hist_new();
  wb_hist_record(h, 1000);
  wb_hist_record(h, UINT64_MAX);
  assert_int_equal(wb_hist_count(h), 2);
  assert_int_equal(wb_hist_max(h), UINT64_MAX);
  assert_int_equal(wb_hist_percentile(h, 100), UINT64_MAX);
  assert_true(labs((long)wb_hist_percentile(h, 50) - 1000) <= 1000 / 256);
  assert_true(wb_hist_percentile(h, 99) >= WB_HIST_MAX / 2);
  wb_hist_free(h);
}

/* Merging two halves gives the histogram of the whole, bucket for bucket. */
static void merge(void **state) {
  (void)state;
  wb_hist_t *whole = wb_hist_new(), *a = wb_hist_new(), *b = wb_hist_new();
  rng_state = 7;
  for (int i = 0; i < 20000; i++) {
    uint64_t v = gen_lognormal();
    wb_hist_record(whole, v);
    wb_hist_record(i % 3 ? a : b, v);
  }
  wb_hist_merge(a, b);
  assert_int_equal(wb_hist_count(a), wb_hist_count(whole));
  assert_int_equal(wb_hist_min(a), wb_hist_min(whole));
  assert_int_equal(wb_hist_max(a), wb_hist_max(whole));
  for (double p = 0; p <= 100; p += 0.5)
    assert_int_equal(wb_hist_percentile(a, p), wb_hist_percentile(whole, p));
  wb_hist_t *empty = wb_hist_new();
  wb_hist_merge(a, empty); /* an empty source changes nothing */
  assert_int_equal(wb_hist_min(a), wb_hist_min(whole));
  wb_hist_merge(empty, a); /* into an empty one: a copy */
  assert_int_equal(wb_hist_min(empty), wb_hist_min(whole));
  assert_int_equal(wb_hist_percentile(empty, 99), wb_hist_percentile(whole, 99));
  wb_hist_free(empty);
  wb_hist_free(whole);
  wb_hist_free(a);
  wb_hist_free(b);
}

static void empty_reset_record_n(void **state) {
  (void)state;
  wb_hist_t *h = wb_hist_new();
  assert_int_equal(wb_hist_count(h), 0);
  assert_int_equal(wb_hist_min(h), 0);
  assert_int_equal(wb_hist_max(h), 0);
  assert_int_equal(wb_hist_percentile(h, 50), 0);
  assert_true(wb_hist_mean(h) == 0.0);
  wb_hist_record_n(h, 7000, 99);
  wb_hist_record(h, 1);
  assert_int_equal(wb_hist_count(h), 100);
  assert_int_equal(wb_hist_percentile(h, 1), 1);
  assert_true(labs((long)wb_hist_percentile(h, 2) - 7000) <= 7000 / 256);
  assert_true(fabs(wb_hist_mean(h) - 6930.01) < 1e-9);
  wb_hist_reset(h);
  assert_int_equal(wb_hist_count(h), 0);
  assert_int_equal(wb_hist_percentile(h, 50), 0);
  wb_hist_free(h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(uniform),      cmocka_unit_test(lognormal),
      cmocka_unit_test(bimodal),      cmocka_unit_test(constant),
      cmocka_unit_test(tiny),   cmocka_unit_test(huge),
      cmocka_unit_test(beyond_range), cmocka_unit_test(merge),
      cmocka_unit_test(empty_reset_record_n),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
