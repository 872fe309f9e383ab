/*
 * stats.h — summary statistics of repeated measurements, the two-sided
 * Mann–Whitney U test that bench/compare uses to tell a change from noise,
 * and the paired tools bench/ab judges interleaved rounds with.
 *
 * Owns: the summary of a double array (median, min, max, mean, stddev),
 * the U test's statistic and p-value, the Wilcoxon signed-rank test, a
 * distribution-free confidence interval of a median and Holm's correction
 * for many tests. Every function reads the caller's array and never
 * reorders it (wb_holm_adjust rewrites p by design).
 *
 * Why Mann–Whitney: benchmark runs are rarely normal (a long right tail from
 * preemption, bimodal cache effects), and a rank test needs no distribution
 * assumption; it asks only whether one side's runs tend to be larger.
 *
 * May call: libc and libm only (statistics library).
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

/* ---- Wilcoxon signed-rank test (paired samples) ----------------------- */

/* Up to this many non-zero differences without ties, p is exact. */
#define WB_WSR_EXACT_MAX 50

typedef enum {
  WB_ALT_TWO_SIDED, /* the differences are not centred on 0 */
  WB_ALT_GREATER,   /* they tend to be > 0 */
  WB_ALT_LESS       /* they tend to be < 0 */
} wb_alt_t;

typedef struct wb_wsr {
  double v;  /* V: the rank sum of the positive differences */
  size_t n;  /* non-zero differences ranked (zeros are dropped) */
  double z;  /* normal-approximation z (continuity-corrected); 0 if exact */
  double p;  /* p-value for the alternative asked, in [0, 1] */
  int exact; /* 1 when p comes from the exact distribution */
  int ties;  /* 1 when two non-zero |differences| are equal */
} wb_wsr_t;

/* Wilcoxon signed-rank test of d[0..n) (paired differences, e.g. log
 * ratios after/before) against a centre of 0. Zero differences are dropped
 * and the rest ranked by |d| (ties get their average rank), as R's
 * wilcox.test and SciPy's wilcoxon (zero_method "wilcox") do.
 * Exact (no ties, at most WB_WSR_EXACT_MAX non-zero): under H0 each of the
 * 2^n sign patterns is equally likely; P(V = s) counts the subsets of the
 * ranks 1..n summing to s. Otherwise z = (V - n(n+1)/4 - c) / σ with
 * σ² = n(n+1)(2n+1)/24 - Σ(t³ - t)/48 and continuity correction c = ±1/2
 * toward the mean. Two-sided p = 2 · min of the tails, capped at 1; p = 1
 * when every difference is 0. Returns 0, or -1 when n == 0, a value is
 * NaN, or out of memory. */
int wb_wsr_test(const double *d, size_t n, wb_alt_t alt, wb_wsr_t *out);

/* Distribution-free confidence bounds on the median of x[0..n) from its
 * order statistics: *lo = x_(k), *hi = x_(n+1-k) with the largest k such
 * that P(Binomial(n, 1/2) < k) <= tail, so each bound holds with
 * probability >= 1 - tail whatever the distribution (two-sided level
 * 1 - 2·tail). When n is too small for any k >= 1 (2^-n > tail), the
 * bounds are -INFINITY / +INFINITY. 0, or -1 (n == 0, NaN, memory). */
int wb_median_ci(const double *x, size_t n, double tail, double *lo,
                 double *hi);

/* Holm's step-down adjustment of p[0..m) for m simultaneous tests, in
 * place: the i-th smallest becomes max over j <= i of min(1, (m - j + 1) ·
 * p_(j)). A metric is then significant when its adjusted p < alpha; the
 * chance of any false call among the m stays <= alpha. 0 or -1 (memory). */
int wb_holm_adjust(double *p, size_t m);

#endif
