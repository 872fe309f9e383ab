/*
 * metrics.c — adding metrics to the results document and linking each pool
 * figure to its floor.
 *
 * Why links are resolved at the end: a scenario names the floor it should
 * be read against without knowing whether the floors scenario ran (--only)
 * or in which order; once every scenario is done, bl_floors_resolve turns
 * each link into ratio_to_floor, or removes it when that floor is absent.
 */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "baseline.h"
#include "results.h"

/* Tail percentiles (P90 and beyond, max) and open-loop latencies move more
 * between two runs of one build than medians and rates do (on this 2-vCPU
 * VM: +20-60 % with p ~0.01-0.05 between two --quick runs); they carry a
 * wider regression threshold for compare. */
#define TAIL_THRESHOLD_PCT 50.0

static bool is_tail(const char *id) {
  const char *dot = strchr(id, '.'), *slash = strchr(id, '/');
  if (!dot || !slash || slash < dot) return false;
  size_t len = (size_t)(slash - dot - 1);
  const char *name = dot + 1;
  bool openloop = strncmp(id, "openloop.", 9) == 0;
  if (len == 3 && strncmp(name, "max", 3) == 0) return true;
  /* p90 and beyond everywhere; every percentile of the open loop. */
  if (name[0] == 'p' && len >= 3 && name[1] == '9') return true;
  return openloop && name[0] == 'p' && len >= 2;
}

json_t *bl_metric(wb_ctx_t *c, const char *unit, const char *better,
                  json_t *params, const double *runs, size_t n,
                  const char *idfmt, ...) {
  char id[256];
  va_list ap;
  va_start(ap, idfmt);
  vsnprintf(id, sizeof id, idfmt, ap);
  va_end(ap);
  json_t *m = wb_metric_add(c->doc, id, unit, better, params, runs, n);
  if (!m) bl_fail(c, "%s: cannot add the metric (duplicate id or a non-finite run)", id);
  else if (is_tail(id))
    json_object_set_new(m, "threshold_pct", json_real(TAIL_THRESHOLD_PCT));
  return m;
}

void bl_link_floor(json_t *m, const char *idfmt, ...) {
  if (!m) return;
  char id[256];
  va_list ap;
  va_start(ap, idfmt);
  vsnprintf(id, sizeof id, idfmt, ap);
  va_end(ap);
  json_object_set_new(m, "floor", json_string(id));
}

void bl_floors_resolve(json_t *doc) {
  json_t *metrics = json_object_get(doc, "metrics"), *m;
  size_t i;
  json_array_foreach(metrics, i, m) {
    const char *fid = json_string_value(json_object_get(m, "floor"));
    if (!fid) continue;
    json_t *f = wb_metric_find(doc, fid);
    double fm = f ? json_number_value(json_object_get(f, "median")) : 0;
    double mm = json_number_value(json_object_get(m, "median"));
    if (!f || fm == 0 || !isfinite(mm / fm)) {
      json_object_del(m, "floor");
      continue;
    }
    json_object_set_new(m, "ratio_to_floor", json_real(mm / fm));
  }
}
