/*
 * stats.h — summary statistics of repeated measurements and the two-sided
 * Mann–Whitney U test that bench/compare uses to tell a change from noise.
 *
 * Owns: the summary of a double array (median, min, max, mean, stddev) and
 * the U test's statistic and p-value. Every function reads the caller's
 * array and never reorders it.
 *
 * Why Mann–Whitney: benchmark runs are rarely normal (a long right tail from
 * preemption, bimodal cache effects), and a rank test needs no distribution
 * assumption; it asks only whether one side's runs tend to be larger.
 */
#ifndef WB_STATS_H
#define WB_STATS_H

#include <stddef.h>

typedef struct wb_stats {
  size_t n;
  double median; /* mean of the two middle values when n is even */
  double min;
  double max;
  double mean;
  double stddev; /* sample standard deviation (n - 1); 0 when n < 2 */
} wb_stats_t;

/* Fills out from x[0..n). 0, or -1 when n == 0 or x == NULL or out of
 * memory (out is then zeroed). */
int wb_stats_summary(const double *x, size_t n, wb_stats_t *out);

/* The median alone; NAN when n == 0 or out of memory. */
double wb_stats_median(const double *x, size_t n);

/* Samples up to this size on both sides, without ties, get the exact
 * distribution of U; larger or tied samples use the normal approximation. */
#define WB_MWU_EXACT_MAX 20

typedef struct wb_mwu {
  double u;     /* U of sample a: pairs (a_i, b_j) with a_i > b_j, ties 1/2 */
  double z;     /* normal-approximation z (continuity-corrected); 0 if exact */
  double p;     /* two-sided p-value, in [0, 1] */
  int exact;    /* 1 when p comes from the exact distribution */
  int ties;     /* 1 when any value occurs more than once in a ∪ b */
} wb_mwu_t;

/* Two-sided Mann–Whitney U test of a[0..na) against b[0..nb).
 * Exact (when na, nb <= WB_MWU_EXACT_MAX and no ties): p = 2 · min(P(U <= u),
 * P(U >= u)), capped at 1, from the count of rank arrangements.
 * Otherwise: z = (U - na·nb/2 ∓ 1/2) / σ with the tie-corrected
 * σ² = na·nb/12 · ((N + 1) - Σ(t³ - t) / (N(N - 1))), p = 2 · Φ(-|z|);
 * p = 1 when every value is tied (σ = 0). Both are the formulas of R's
 * wilcox.test (correct = TRUE) and SciPy's mannwhitneyu (use_continuity).
 * Returns 0, or -1 when a side is empty, a value is NaN, or out of memory. */
int wb_mwu_test(const double *a, size_t na, const double *b, size_t nb,
                wb_mwu_t *out);

#endif
