/* stats.c — summaries and the Mann–Whitney U test; see stats.h. */
#include "stats.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *pa, const void *pb) {
  double a = *(const double *)pa, b = *(const double *)pb;
  return (a > b) - (a < b);
}

static int has_nan(const double *x, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (isnan(x[i]))
      return 1;
  return 0;
}

/* A sorted copy, so the caller's array keeps its order (runs are kept in
 * the order they were measured, which is itself information). */
static double *sorted_copy(const double *x, size_t n) {
  double *c = malloc(n * sizeof *c);
  if (!c)
    return NULL;
  memcpy(c, x, n * sizeof *c);
  qsort(c, n, sizeof *c, cmp_double);
  return c;
}

static double median_of_sorted(const double *s, size_t n) {
  return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2.0;
}

double wb_stats_median(const double *x, size_t n) {
  if (!x || n == 0 || has_nan(x, n))
    return NAN;
  double *s = sorted_copy(x, n);
  if (!s)
    return NAN;
  double m = median_of_sorted(s, n);
  free(s);
  return m;
}

/* Mean and sample stddev in two passes: one pass (sum of squares) loses
 * the digits that matter when runs differ by a fraction of a percent. */
static void mean_stddev(const double *x, size_t n, double *mean, double *sd) {
  double sum = 0.0, ss = 0.0;
  for (size_t i = 0; i < n; i++)
    sum += x[i];
  *mean = sum / (double)n;
  for (size_t i = 0; i < n; i++)
    ss += (x[i] - *mean) * (x[i] - *mean);
  *sd = n > 1 ? sqrt(ss / (double)(n - 1)) : 0.0;
}

int wb_stats_summary(const double *x, size_t n, wb_stats_t *out) {
  memset(out, 0, sizeof *out);
  if (!x || n == 0 || has_nan(x, n))
    return -1;
  double *s = sorted_copy(x, n);
  if (!s)
    return -1;
  out->n = n;
  out->median = median_of_sorted(s, n);
  out->min = s[0];
  out->max = s[n - 1];
  free(s);
  mean_stddev(x, n, &out->mean, &out->stddev);
  return 0;
}

/* ---- Mann–Whitney U ---------------------------------------------------- */

typedef struct {
  double v;
  int from_a;
} obs_t;

static int cmp_obs(const void *pa, const void *pb) {
  return cmp_double(&((const obs_t *)pa)->v, &((const obs_t *)pb)->v);
}

/* Ranks the pooled sample (ties get their average rank) and returns the
 * rank sum of the observations flagged from_a (sample a; for the
 * signed-rank test, the positive differences, ranked by |d|); *tie_term
 * gets Σ(t³ - t) over the tie groups. */
static double rank_sum_a(obs_t *o, size_t n, double *tie_term) {
  double r1 = 0.0;
  *tie_term = 0.0;
  qsort(o, n, sizeof *o, cmp_obs);
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j + 1 < n && o[j + 1].v == o[i].v)
      j++;
    double t = (double)(j - i + 1);
    double rank = (double)(i + j) / 2.0 + 1.0; /* average of i+1 .. j+1 */
    for (size_t k = i; k <= j; k++)
      if (o[k].from_a)
        r1 += rank;
    *tie_term += t * t * t - t;
    i = j + 1;
  }
  return r1;
}

/* Exact two-sided p for rank sum r1 of na ranks among N = na + nb, with no
 * ties. Under H0 every na-subset of the ranks 1..N is equally likely, so
 * P(R1 = s) = (number of na-subsets of {1..N} summing to s) / C(N, na).
 * The counts come from the subset-sum recurrence
 *   c_r[k][s] = c_{r-1}[k][s] + c_{r-1}[k-1][s-r]
 * (rank r left out or taken), kept in place by running k and s downwards.
 * With N <= 40 every count is <= C(40, 20) < 2^38: exact in uint64. */
static int exact_p(size_t na, size_t nb, double r1, double *p) {
  size_t n = na + nb, smax = n * (n + 1) / 2, w = smax + 1;
  uint64_t *c = calloc((na + 1) * w, sizeof *c);
  if (!c)
    return -1;
  c[0] = 1; /* the empty subset sums to 0 */
  for (size_t r = 1; r <= n; r++)
    for (size_t k = (r < na ? r : na); k >= 1; k--)
      for (size_t s = smax; s >= r; s--)
        c[k * w + s] += c[(k - 1) * w + (s - r)];
  size_t obs = (size_t)llround(r1);
  uint64_t total = 0, le = 0, ge = 0;
  for (size_t s = 0; s <= smax; s++) {
    uint64_t k = c[na * w + s];
    total += k;
    le += s <= obs ? k : 0;
    ge += s >= obs ? k : 0;
  }
  free(c);
  double tail = (double)(le < ge ? le : ge) / (double)total;
  *p = fmin(1.0, 2.0 * tail);
  return 0;
}

/* Normal approximation with tie and continuity corrections (see stats.h). */
static void normal_p(size_t na, size_t nb, double u, double tie_term,
                     double *z, double *p) {
  double n1 = (double)na, n2 = (double)nb, n = n1 + n2;
  double var = n1 * n2 / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)));
  double d = u - n1 * n2 / 2.0;
  if (var <= 0.0) { /* every value equal: nothing to tell apart */
    *z = 0.0;
    *p = 1.0;
    return;
  }
  double corr = d > 0 ? 0.5 : (d < 0 ? -0.5 : 0.0);
  *z = (d - corr) / sqrt(var);
  *p = fmin(1.0, erfc(fabs(*z) / sqrt(2.0))); /* = 2 · Φ(-|z|) */
}

int wb_mwu_test(const double *a, size_t na, const double *b, size_t nb,
                wb_mwu_t *out) {
  memset(out, 0, sizeof *out);
  if (!a || !b || na == 0 || nb == 0 || has_nan(a, na) || has_nan(b, nb))
    return -1;
  size_t n = na + nb;
  obs_t *o = malloc(n * sizeof *o);
  if (!o)
    return -1;
  for (size_t i = 0; i < na; i++)
    o[i] = (obs_t){a[i], 1};
  for (size_t i = 0; i < nb; i++)
    o[na + i] = (obs_t){b[i], 0};
  double tie_term, r1 = rank_sum_a(o, n, &tie_term);
  free(o);
  out->u = r1 - (double)na * (double)(na + 1) / 2.0;
  out->ties = tie_term > 0.0;
  if (!out->ties && na <= WB_MWU_EXACT_MAX && nb <= WB_MWU_EXACT_MAX) {
    out->exact = 1;
    return exact_p(na, nb, r1, &out->p);
  }
  normal_p(na, nb, out->u, tie_term, &out->z, &out->p);
  return 0;
}

/* ---- Wilcoxon signed-rank ---------------------------------------------- */

/* Both tails of V's exact null distribution: c[s] counts the subsets of
 * ranks 1..n summing to s (c_r[s] = c_{r-1}[s] + c_{r-1}[s - r], s run
 * downwards to update in place); each of the 2^n subsets is equally
 * likely. n <= 50 keeps every count below 2^50: exact in uint64. */
static int wsr_exact_tails(size_t n, double v, double *le, double *ge) {
  size_t smax = n * (n + 1) / 2;
  uint64_t *c = calloc(smax + 1, sizeof *c);
  if (!c)
    return -1;
  c[0] = 1;
  for (size_t r = 1; r <= n; r++)
    for (size_t s = smax; s >= r; s--)
      c[s] += c[s - r];
  size_t obs = (size_t)llround(v);
  uint64_t nle = 0, nge = 0;
  for (size_t s = 0; s <= smax; s++) {
    nle += s <= obs ? c[s] : 0;
    nge += s >= obs ? c[s] : 0;
  }
  free(c);
  *le = ldexp((double)nle, -(int)n);
  *ge = ldexp((double)nge, -(int)n);
  return 0;
}

static double p_for(wb_alt_t alt, double le, double ge) {
  if (alt == WB_ALT_GREATER)
    return fmin(1.0, ge);
  if (alt == WB_ALT_LESS)
    return fmin(1.0, le);
  return fmin(1.0, 2.0 * fmin(le, ge));
}

/* Normal approximation (see stats.h); the continuity correction moves V
 * half a unit toward its mean, on the side the alternative looks at. */
static void wsr_normal(size_t n, double v, double tie_term, wb_alt_t alt,
                       wb_wsr_t *out) {
  double nn = (double)n, mean = nn * (nn + 1.0) / 4.0;
  double var = nn * (nn + 1.0) * (2.0 * nn + 1.0) / 24.0 - tie_term / 48.0;
  double d = v - mean;
  if (var <= 0.0) {
    out->p = 1.0;
    return;
  }
  double corr = alt == WB_ALT_GREATER ? 0.5
              : alt == WB_ALT_LESS    ? -0.5
              : d > 0 ? 0.5 : d < 0 ? -0.5 : 0.0;
  out->z = (d - corr) / sqrt(var);
  double ge = 0.5 * erfc(out->z / sqrt(2.0)); /* P(Z >= z) */
  double le = 0.5 * erfc(-out->z / sqrt(2.0));
  out->p = alt == WB_ALT_TWO_SIDED ? fmin(1.0, erfc(fabs(out->z) / sqrt(2.0)))
                                   : p_for(alt, le, ge);
}

int wb_wsr_test(const double *d, size_t n, wb_alt_t alt, wb_wsr_t *out) {
  memset(out, 0, sizeof *out);
  if (!d || n == 0 || has_nan(d, n))
    return -1;
  obs_t *o = malloc(n * sizeof *o);
  if (!o)
    return -1;
  size_t m = 0;
  for (size_t i = 0; i < n; i++)
    if (d[i] != 0.0)
      o[m++] = (obs_t){fabs(d[i]), d[i] > 0};
  out->n = m;
  if (m == 0) { /* no difference at all: nothing speaks against H0 */
    free(o);
    out->p = 1.0;
    return 0;
  }
  double tie_term;
  out->v = rank_sum_a(o, m, &tie_term);
  free(o);
  out->ties = tie_term > 0.0;
  if (!out->ties && m <= WB_WSR_EXACT_MAX) {
    double le, ge;
    if (wsr_exact_tails(m, out->v, &le, &ge))
      return -1;
    out->exact = 1;
    out->p = p_for(alt, le, ge);
    return 0;
  }
  wsr_normal(m, out->v, tie_term, alt, out);
  return 0;
}

/* ---- Median confidence interval, Holm ------------------------------------ */

int wb_median_ci(const double *x, size_t n, double tail, double *lo,
                 double *hi) {
  if (!x || n == 0 || has_nan(x, n))
    return -1;
  double *s = sorted_copy(x, n);
  if (!s)
    return -1;
  /* P(Bin(n, 1/2) < k), summed in logs: n can be in the thousands. */
  size_t k = 0;
  double cdf = 0.0;
  for (size_t j = 0; j < n; j++) {
    double pj = exp(lgamma((double)n + 1) - lgamma((double)j + 1) -
                    lgamma((double)(n - j) + 1) - (double)n * log(2.0));
    if (cdf + pj > tail)
      break;
    cdf += pj;
    k = j + 1; /* P(Bin < j + 1) = cdf <= tail */
  }
  if (k == 0 || k > (n + 1) / 2) {
    *lo = k == 0 ? -INFINITY : s[(n - 1) / 2];
    *hi = k == 0 ? INFINITY : s[n / 2];
  } else {
    *lo = s[k - 1];
    *hi = s[n - k];
  }
  free(s);
  return 0;
}

static int cmp_pidx(const void *pa, const void *pb, void *ctx) {
  const double *p = ctx;
  return cmp_double(&p[*(const size_t *)pa], &p[*(const size_t *)pb]);
}

int wb_holm_adjust(double *p, size_t m) {
  size_t *idx = malloc((m ? m : 1) * sizeof *idx);
  if (!idx)
    return -1;
  for (size_t i = 0; i < m; i++)
    idx[i] = i;
  qsort_r(idx, m, sizeof *idx, cmp_pidx, p);
  double run = 0.0;
  for (size_t j = 0; j < m; j++) {
    double adj = fmin(1.0, (double)(m - j) * p[idx[j]]);
    run = fmax(run, adj); /* adjusted p never falls as raw p rises */
    p[idx[j]] = run;
  }
  free(idx);
  return 0;
}
