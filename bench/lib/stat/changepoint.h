/*
 * changepoint.h — where the level of a series moved: E-divisive means
 * (Matteson & James 2014, "A nonparametric approach for multiple change
 * point analysis of multivariate data"; what MongoDB's CI and Apache
 * Otava/Hunter use), with a permutation test and a seeded generator so
 * the same series always gives the same answer.
 *
 * Owns: finding change points in one series of numbers (a metric's median
 * per run, in run order). bench/trend reads the history; this only sees
 * numbers. May call: libc and libm only (statistics library).
 *
 * The method, in one paragraph: for a split of x[a..b) at t, the energy
 * statistic q(t) = (n_l·n_r/n)·(2·mean|l−r| − mean|l−l'| − mean|r−r'|)
 * (means over the pairs across, within left, within right) grows with how
 * differently the two sides are distributed, whatever the distribution.
 * The best split of each segment (both sides >= min_seg) is found; the
 * segment with the largest q is tested by permuting its values: p =
 * (1 + #permutations whose best q >= the observed) / (1 + perms). Below
 * alpha, the split is a change point and both halves are searched again;
 * else the search stops. Last, change points whose move is under
 * min_change_pct (median of the segment after against the one before, its
 * neighbours' boundaries) are dropped, the smallest first, so a
 * significant but tiny move is not reported — on a shared machine a 1 %
 * level shift is noise of another kind.
 */
#ifndef WB_CHANGEPOINT_H
#define WB_CHANGEPOINT_H

#include <stddef.h>
#include <stdint.h>

typedef struct wb_cp_opts {
  size_t min_seg;        /* fewest points on either side of a split (>= 2) */
  double alpha;          /* permutation p below this: a change point */
  unsigned perms;        /* permutations per test */
  uint64_t seed;         /* the permutations' generator: same seed, same answer */
  double min_change_pct; /* smallest |move| of the median reported, in % */
} wb_cp_opts_t;

/* The defaults: min_seg 5, alpha 0.01, 499 permutations, a fixed seed,
 * min_change_pct 10: on this VM one run in ten is hit by a neighbour's
 * burst (+10..25 %), and two such in a five-run segment move its median
 * by 5 % (tests/bench/test_changepoint.c: A/A histories with that noise
 * stay quiet, a 25 % step is found at its run). */
void wb_cp_opts_init(wb_cp_opts_t *o);

typedef struct wb_cp {
  size_t at;         /* the first index of the new level */
  double before;     /* median of the segment before (from the previous change point) */
  double after;      /* median of the segment after (to the next one) */
  double change_pct; /* (after - before) / |before| · 100 */
  double p;          /* the permutation test's p-value when it was found */
} wb_cp_t;

/* Change points of x[0..n), in index order, at most cap into out, their
 * count into *count. 0, or -1 (a NaN in x, bad options, out of memory).
 * A series shorter than 2·min_seg has none. */
int wb_changepoints(const double *x, size_t n, const wb_cp_opts_t *o, wb_cp_t *out,
                    size_t cap, size_t *count);

#endif
