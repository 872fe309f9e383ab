/*
 * usl.h — the Universal Scalability Law (Gunther), fitted to measured
 * throughput X at pool sizes N:
 *
 *     X(N) = λN / (1 + σ(N − 1) + κN(N − 1))
 *
 * λ is the throughput of one worker, σ the contention (the serial
 * fraction: a shared CPU, the supervisor's one loop), κ the coherency cost
 * (every worker paying for every other: it makes the curve turn down).
 *
 * Owns: the least-squares fit with σ, κ >= 0, evaluating the model and its
 * peak. Pure computation, no I/O.
 *
 * May call: libc and libm only (statistics library).
 */
#ifndef WB_USL_H
#define WB_USL_H

#include <stddef.h>

typedef struct wb_usl {
  double lambda, sigma, kappa;
  double r2;        /* 1 − SSE / SST of the fit, on X */
  int iterations;   /* Levenberg–Marquardt steps taken */
} wb_usl_t;

/* Fits the model to k points (n[i] >= 1, x[i] > 0), minimising the sum of
 * squared throughput residuals. Needs k >= 3 distinct sizes. 0, or -1 on
 * bad input (out is then zeroed). */
int wb_usl_fit(const double *n, const double *x, size_t k, wb_usl_t *out);

/* The modelled throughput at size n. */
double wb_usl_eval(const wb_usl_t *m, double n);

/* The modelled peak N* = √((1 − σ) / κ): INFINITY when κ == 0 (the curve
 * only flattens), 1 when σ >= 1. */
double wb_usl_peak(const wb_usl_t *m);

#endif
