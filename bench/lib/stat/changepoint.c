/* changepoint.c — E-divisive means with a permutation test; see changepoint.h. */
#include "changepoint.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

void wb_cp_opts_init(wb_cp_opts_t *o) {
  o->min_seg = 5;
  o->alpha = 0.01;
  o->perms = 499;
  o->seed = 0x5eed2026u;
  o->min_change_pct = 10.0;
}

/* splitmix64: small, fast, and the same sequence on every machine (rand()
 * is neither specified nor shared state we own). */
static uint64_t next_u64(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

static void shuffle(double *x, size_t n, uint64_t *s) {
  for (size_t i = n; i > 1; i--) {
    size_t j = (size_t)(next_u64(s) % i);
    double t = x[i - 1];
    x[i - 1] = x[j];
    x[j] = t;
  }
}

/* The best split of x[0..n) with both sides >= m: its q (see the header),
 * its index into *tau; -1 when n < 2m. One pass moves each point from the
 * right side to the left, keeping the three sums of distances (across,
 * within left, within right) current: O(n²). */
static double best_split(const double *x, size_t n, size_t m, size_t *tau) {
  double within = 0, across = 0, wl = 0, wr, best = -1;
  if (n < 2 * m) return -1;
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++) within += fabs(x[i] - x[j]);
  wr = within;
  for (size_t k = 0; k + 1 < n; k++) { /* x[k] joins the left side */
    double lk = 0, rk = 0;
    for (size_t i = 0; i < k; i++) lk += fabs(x[i] - x[k]);
    for (size_t j = k + 1; j < n; j++) rk += fabs(x[k] - x[j]);
    across += rk - lk;
    wl += lk;
    wr -= rk;
    double nl = (double)(k + 1), nr = (double)(n - k - 1);
    if (k + 1 < m || n - k - 1 < m) continue;
    double e = 2 * across / (nl * nr) - wl / (nl * (nl - 1) / 2) - wr / (nr * (nr - 1) / 2);
    double q = nl * nr / (double)n * e;
    if (q > best) {
      best = q;
      *tau = k + 1;
    }
  }
  return best;
}

/* The permutation p-value of observed q for the segment x[0..n): stops
 * early once it cannot fall below alpha (most A/A tests end after a few
 * dozen permutations). */
static double perm_p(const double *x, size_t n, double q, const wb_cp_opts_t *o,
                     uint64_t *s, double *tmp) {
  size_t tau, hits = 0, limit = (size_t)(o->alpha * (o->perms + 1.0)) + 1;
  memcpy(tmp, x, n * sizeof *x);
  for (unsigned r = 0; r < o->perms; r++) {
    shuffle(tmp, n, s);
    if (best_split(tmp, n, o->min_seg, &tau) >= q * (1 - 1e-12) && ++hits >= limit)
      return (hits + 1.0) / (r + 2.0);
  }
  return (hits + 1.0) / (o->perms + 1.0);
}

typedef struct {
  size_t *at;  /* sorted change points */
  double *p;
  size_t n;
} cps_t;

static void insert(cps_t *c, size_t at, double p) {
  size_t i = c->n;
  while (i > 0 && c->at[i - 1] > at) {
    c->at[i] = c->at[i - 1];
    c->p[i] = c->p[i - 1];
    i--;
  }
  c->at[i] = at;
  c->p[i] = p;
  c->n++;
}

/* Segment k of the partition: [lo, hi). */
static void seg(const cps_t *c, size_t k, size_t n, size_t *lo, size_t *hi) {
  *lo = k ? c->at[k - 1] : 0;
  *hi = k < c->n ? c->at[k] : n;
}

/* The hierarchical search: split the segment with the largest q while the
 * permutation test says it is significant. */
static void search(const double *x, size_t n, const wb_cp_opts_t *o, cps_t *c, double *tmp) {
  uint64_t s = o->seed;
  for (;;) {
    double bq = -1;
    size_t bk = 0, btau = 0;
    for (size_t k = 0; k <= c->n; k++) {
      size_t lo, hi, tau;
      seg(c, k, n, &lo, &hi);
      double q = best_split(x + lo, hi - lo, o->min_seg, &tau);
      if (q > bq) {
        bq = q;
        bk = k;
        btau = lo + tau;
      }
    }
    if (bq <= 0) return;
    size_t lo, hi;
    seg(c, bk, n, &lo, &hi);
    double p = perm_p(x + lo, hi - lo, bq, o, &s, tmp);
    if (p >= o->alpha) return;
    insert(c, btau, p);
  }
}

/* Fills out[k] for change point k: the medians of its two neighbouring
 * segments and the move between them. */
static void describe(const double *x, size_t n, const cps_t *c, size_t k, wb_cp_t *out) {
  size_t lo, mid, hi;
  seg(c, k, n, &lo, &mid);
  seg(c, k + 1, n, &mid, &hi);
  out->at = c->at[k];
  out->p = c->p[k];
  out->before = wb_stats_median(x + lo, mid - lo);
  out->after = wb_stats_median(x + mid, hi - mid);
  out->change_pct = out->before != 0 ? (out->after - out->before) / fabs(out->before) * 100
                                     : (out->after == 0 ? 0 : INFINITY);
}

/* Drops the smallest move under min_change_pct, then looks again: a
 * neighbour's move is measured anew once the segments merge. */
static void prune(const double *x, size_t n, const wb_cp_opts_t *o, cps_t *c, wb_cp_t *d) {
  for (;;) {
    size_t worst = c->n;
    double wm = o->min_change_pct;
    for (size_t k = 0; k < c->n; k++) {
      describe(x, n, c, k, &d[k]);
      if (fabs(d[k].change_pct) < wm) {
        wm = fabs(d[k].change_pct);
        worst = k;
      }
    }
    if (worst == c->n) return;
    memmove(c->at + worst, c->at + worst + 1, (c->n - worst - 1) * sizeof *c->at);
    memmove(c->p + worst, c->p + worst + 1, (c->n - worst - 1) * sizeof *c->p);
    c->n--;
  }
}

int wb_changepoints(const double *x, size_t n, const wb_cp_opts_t *o, wb_cp_t *out,
                    size_t cap, size_t *count) {
  *count = 0;
  if (!o || o->min_seg < 2 || !(o->alpha > 0 && o->alpha < 1) || o->perms == 0 ||
      !(o->min_change_pct >= 0) || (n && !x))
    return -1;
  for (size_t i = 0; i < n; i++)
    if (isnan(x[i])) return -1;
  if (n < 2 * o->min_seg) return 0;
  size_t most = n / o->min_seg + 1;
  cps_t c = {malloc(most * sizeof *c.at), malloc(most * sizeof *c.p), 0};
  double *tmp = malloc(n * sizeof *tmp);
  wb_cp_t *d = malloc(most * sizeof *d);
  int rc = c.at && c.p && tmp && d ? 0 : -1;
  if (rc == 0) {
    search(x, n, o, &c, tmp);
    prune(x, n, o, &c, d);
    for (size_t k = 0; k < c.n && k < cap; k++) out[k] = d[k];
    *count = c.n < cap ? c.n : cap;
  }
  free(c.at);
  free(c.p);
  free(tmp);
  free(d);
  return rc;
}
