/*
 * decide.c — from the measured points to a recommendation.
 *
 * The rule: the plateau is `plateau` (95 %) of the best measured median
 * throughput; the recommendation is the smallest size that reaches it
 * with its median P99 within the SLO. Measured, not modelled, figures
 * decide: the USL fit explains the curve (σ: contention, κ: crosstalk, N*:
 * where it would peak) but a fit can be pulled by one noisy point, and the
 * user is choosing among sizes that were all measured. When the SLO rules
 * out every size on the plateau, the fastest size within the SLO is
 * recommended instead, and the reason says so.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tune.h"

static void fit(const tune_point_t *pts, int npts, tune_verdict_t *v) {
  double n[npts], x[npts];
  int k = 0;
  for (int i = 0; i < npts; i++) {
    if (!pts[i].ok || !(pts[i].rps_med > 0)) continue;
    n[k] = pts[i].n;
    x[k] = pts[i].rps_med;
    k++;
  }
  v->usl_ok = k >= 3 && wb_usl_fit(n, x, (size_t)k, &v->usl) == 0;
  v->n_star = v->usl_ok ? wb_usl_peak(&v->usl) : NAN;
}

static bool meets_slo(const tune_opts_t *o, const tune_point_t *pt) {
  return !o->slo_p99_ns || pt->p99_med * 1e6 <= (double)o->slo_p99_ns;
}

static void best(const tune_point_t *pts, int npts, tune_verdict_t *v) {
  for (int i = 0; i < npts; i++)
    if (pts[i].ok && pts[i].rps_med > v->best_rps) {
      v->best_rps = pts[i].rps_med;
      v->best_n = pts[i].n;
    }
}

/* Does the largest measured size still gain > 5 % over the one before? */
static bool still_rising(const tune_point_t *pts, int npts) {
  if (npts < 2 || !pts[npts - 1].ok || !pts[npts - 2].ok) return false;
  return pts[npts - 1].rps_med > 1.05 * pts[npts - 2].rps_med;
}

static void choose(const tune_opts_t *o, const tune_point_t *pts, int npts,
                   tune_verdict_t *v) {
  const tune_point_t *fastest_ok = NULL;
  for (int i = 0; i < npts; i++) {
    const tune_point_t *pt = &pts[i];
    if (!pt->ok || !meets_slo(o, pt)) continue;
    if (pt->rps_med >= v->target_rps) {
      v->pick = pt;
      snprintf(v->reason, sizeof v->reason,
               "smallest size reaching %.0f %% of the best throughput%s",
               o->plateau * 100, o->slo_p99_ns ? " within the P99 SLO" : "");
      return;
    }
    if (!fastest_ok || pt->rps_med > fastest_ok->rps_med) fastest_ok = pt;
  }
  v->pick = fastest_ok;
  snprintf(v->reason, sizeof v->reason, "%s",
           fastest_ok ? "no size on the plateau meets the P99 SLO: the fastest that does"
                      : "no measured size meets the P99 SLO");
}

void tune_decide(const tune_opts_t *o, const tune_point_t *pts, int npts,
                 tune_verdict_t *v) {
  memset(v, 0, sizeof *v);
  fit(pts, npts, v);
  best(pts, npts, v);
  v->target_rps = o->plateau * v->best_rps;
  choose(o, pts, npts, v);
  v->size = v->pick ? v->pick->n : 0;
  v->still_rising = v->pick && v->pick->n == npts && still_rising(pts, npts);
}
