/* usl.c — see usl.h.
 *
 * The fit has two steps. A linear start: with λ fixed, N·λ/X − 1 =
 * σ(N − 1) + κN(N − 1) is linear in σ and κ, a two-variable non-negative
 * least squares solved by trying the four active sets. Then Levenberg–
 * Marquardt on all three parameters against the throughput itself (the
 * linear form weights the points unevenly), projecting σ and κ back to
 * >= 0 after each step. Marquardt's diagonal scaling copes with λ being
 * ~10^3 while κ is ~10^-3. */
#include "usl.h"

#include <math.h>
#include <string.h>

double wb_usl_eval(const wb_usl_t *m, double n) {
  return m->lambda * n / (1 + m->sigma * (n - 1) + m->kappa * n * (n - 1));
}

double wb_usl_peak(const wb_usl_t *m) {
  if (m->sigma >= 1) return 1;
  if (m->kappa <= 0) return INFINITY;
  return sqrt((1 - m->sigma) / m->kappa);
}

static double sse(const wb_usl_t *m, const double *n, const double *x, size_t k) {
  double s = 0;
  for (size_t i = 0; i < k; i++) {
    double r = x[i] - wb_usl_eval(m, n[i]);
    s += r * r;
  }
  return s;
}

/* λ's starting value: the throughput per worker at the smallest size. */
static double lambda_start(const double *n, const double *x, size_t k) {
  size_t best = 0;
  for (size_t i = 1; i < k; i++)
    if (n[i] < n[best]) best = i;
  return x[best] / n[best];
}

/* Least squares of y on a·σ + b·κ with σ, κ >= 0: the unconstrained
 * solution if feasible, else the best one-variable fit, else zero. */
static void nnls2(const double *a, const double *b, const double *y, size_t k,
                  double *sigma, double *kappa) {
  double aa = 0, ab = 0, bb = 0, ay = 0, by = 0;
  for (size_t i = 0; i < k; i++) {
    aa += a[i] * a[i]; ab += a[i] * b[i]; bb += b[i] * b[i];
    ay += a[i] * y[i]; by += b[i] * y[i];
  }
  double det = aa * bb - ab * ab;
  if (det > 0) {
    double s = (ay * bb - by * ab) / det, c = (by * aa - ay * ab) / det;
    if (s >= 0 && c >= 0) { *sigma = s; *kappa = c; return; }
  }
  double s1 = aa > 0 && ay > 0 ? ay / aa : 0; /* κ = 0 */
  double c1 = bb > 0 && by > 0 ? by / bb : 0; /* σ = 0 */
  /* Residual sums: Σy² − 2·s·ay + s²·aa, and the same for c; compare
   * without the common Σy². */
  double r_s = s1 * s1 * aa - 2 * s1 * ay, r_c = c1 * c1 * bb - 2 * c1 * by;
  *sigma = r_s <= r_c ? s1 : 0;
  *kappa = r_s <= r_c ? 0 : c1;
}

static void linear_start(const double *n, const double *x, size_t k, wb_usl_t *m) {
  double a[k], b[k], y[k];
  m->lambda = lambda_start(n, x, k);
  for (size_t i = 0; i < k; i++) {
    a[i] = n[i] - 1;
    b[i] = n[i] * (n[i] - 1);
    y[i] = n[i] * m->lambda / x[i] - 1;
  }
  nnls2(a, b, y, k, &m->sigma, &m->kappa);
}

/* Solves the 3×3 system A·d = g by Gaussian elimination with partial
 * pivoting. 0, or -1 when singular. */
static int solve3(double A[3][3], double g[3], double d[3]) {
  for (int c = 0; c < 3; c++) {
    int p = c;
    for (int r = c + 1; r < 3; r++)
      if (fabs(A[r][c]) > fabs(A[p][c])) p = r;
    if (fabs(A[p][c]) < 1e-300) return -1;
    for (int j = 0; j < 3; j++) { double t = A[c][j]; A[c][j] = A[p][j]; A[p][j] = t; }
    double t = g[c]; g[c] = g[p]; g[p] = t;
    for (int r = c + 1; r < 3; r++) {
      double f = A[r][c] / A[c][c];
      for (int j = c; j < 3; j++) A[r][j] -= f * A[c][j];
      g[r] -= f * g[c];
    }
  }
  for (int r = 2; r >= 0; r--) {
    double s = g[r];
    for (int j = r + 1; j < 3; j++) s -= A[r][j] * d[j];
    d[r] = s / A[r][r];
  }
  return 0;
}

/* Normal equations JᵀJ and Jᵀr of the residuals r = x − f at m. */
static void normal_eq(const wb_usl_t *m, const double *n, const double *x, size_t k,
                      double JtJ[3][3], double Jtr[3]) {
  memset(JtJ, 0, 9 * sizeof(double));
  memset(Jtr, 0, 3 * sizeof(double));
  for (size_t i = 0; i < k; i++) {
    double D = 1 + m->sigma * (n[i] - 1) + m->kappa * n[i] * (n[i] - 1);
    double f = m->lambda * n[i] / D;
    double J[3] = {n[i] / D, -f * (n[i] - 1) / D, -f * n[i] * (n[i] - 1) / D};
    double r = x[i] - f;
    for (int a = 0; a < 3; a++) {
      Jtr[a] += J[a] * r;
      for (int b = 0; b < 3; b++) JtJ[a][b] += J[a] * J[b];
    }
  }
}

/* One damped step from m; the candidate, projected onto σ, κ >= 0. */
static int lm_step(const wb_usl_t *m, double JtJ[3][3], const double Jtr[3],
                   double mu, wb_usl_t *cand) {
  double A[3][3], g[3] = {Jtr[0], Jtr[1], Jtr[2]}, d[3];
  memcpy(A, JtJ, sizeof A);
  for (int a = 0; a < 3; a++) A[a][a] += mu * (JtJ[a][a] > 0 ? JtJ[a][a] : 1e-12);
  if (solve3(A, g, d) != 0) return -1;
  *cand = *m;
  cand->lambda += d[0];
  cand->sigma = fmax(0, m->sigma + d[1]);
  cand->kappa = fmax(0, m->kappa + d[2]);
  return cand->lambda > 0 ? 0 : -1;
}

static void levenberg_marquardt(const double *n, const double *x, size_t k, wb_usl_t *m) {
  double mu = 1e-3, cur = sse(m, n, x, k);
  for (int it = 0; it < 500 && mu < 1e12; it++) {
    double JtJ[3][3], Jtr[3];
    wb_usl_t cand;
    normal_eq(m, n, x, k, JtJ, Jtr);
    if (lm_step(m, JtJ, Jtr, mu, &cand) != 0) { mu *= 10; continue; }
    double s = sse(&cand, n, x, k);
    if (s < cur) {
      double gain = (cur - s) / (cur > 0 ? cur : 1);
      *m = cand;
      m->iterations = it + 1;
      cur = s;
      mu = fmax(mu / 3, 1e-12);
      if (gain < 1e-14) break;
    } else {
      mu *= 4;
    }
  }
}

static int input_ok(const double *n, const double *x, size_t k) {
  if (!n || !x || k < 3) return 0;
  size_t distinct = 0;
  for (size_t i = 0; i < k; i++) {
    if (!(n[i] >= 1) || !(x[i] > 0) || !isfinite(n[i]) || !isfinite(x[i])) return 0;
    size_t j = 0;
    while (j < i && n[j] != n[i]) j++;
    distinct += j == i;
  }
  return distinct >= 3;
}

int wb_usl_fit(const double *n, const double *x, size_t k, wb_usl_t *out) {
  memset(out, 0, sizeof *out);
  if (!input_ok(n, x, k)) return -1;
  wb_usl_t m = {0};
  linear_start(n, x, k, &m);
  levenberg_marquardt(n, x, k, &m);
  double mean = 0, sst = 0;
  for (size_t i = 0; i < k; i++) mean += x[i] / (double)k;
  for (size_t i = 0; i < k; i++) sst += (x[i] - mean) * (x[i] - mean);
  m.r2 = sst > 0 ? 1 - sse(&m, n, x, k) / sst : 1;
  *out = m;
  return 0;
}
