/* report.c — matching metrics and the verdict rule; see report.h. */
#include "report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "results.h"
#include "stats.h"

static const char *const verdict_names[CMP_NVERDICTS] = {
    "same", "noise", "improvement", "regression", "incomparable",
    "floor-moved"};

const char *cmp_verdict_name(cmp_verdict_t v) {
  return v < CMP_NVERDICTS ? verdict_names[v] : "?";
}

/* ---- conditions: is this a fair comparison? ---------------------------- */

static int same_value(const json_t *a, const json_t *b) {
  if (!a || !b)
    return a == b;
  return json_equal((json_t *)a, (json_t *)b);
}

static char *show(const json_t *v) {
  return v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : strdup("(absent)");
}

static void warn_if_differs(json_t *warnings, const char *what,
                            const json_t *b, const json_t *a) {
  if (same_value(b, a))
    return;
  char *sb = show(b), *sa = show(a), line[1024];
  snprintf(line, sizeof line, "%s differs: %s before, %s after", what,
           sb ? sb : "?", sa ? sa : "?");
  json_array_append_new(warnings, json_string(line));
  free(sb);
  free(sa);
}

static const json_t *field(const json_t *doc, const char *obj, const char *key) {
  return json_object_get(json_object_get(doc, obj), key);
}

/* A figure taken on another CPU, kernel or placement, or from a build with
 * uncommitted changes on one side only, may differ for reasons that have
 * nothing to do with the code: say so before anyone reads the verdicts. */
static void context_warnings(const json_t *b, const json_t *a, json_t *w) {
  static const char *const host_keys[] = {"cpu_model", "cpus", "kernel",
                                          "cpu_affinity"};
  for (size_t i = 0; i < sizeof host_keys / sizeof host_keys[0]; i++) {
    char what[64];
    snprintf(what, sizeof what, "host %s", host_keys[i]);
    warn_if_differs(w, what, field(b, "host", host_keys[i]),
                    field(a, "host", host_keys[i]));
  }
  warn_if_differs(w, "placement (config cpus)", field(b, "config", "cpus"),
                  field(a, "config", "cpus"));
  warn_if_differs(w, "schema", json_object_get(b, "schema"),
                  json_object_get(a, "schema"));
  warn_if_differs(w, "git dirty", field(b, "git", "dirty"),
                  field(a, "git", "dirty"));
}

/* ---- one metric --------------------------------------------------------- */

static double delta_pct(double before, double after) {
  if (before == after)
    return 0.0;
  if (before == 0.0)
    return after > 0 ? INFINITY : -INFINITY;
  return (after - before) / fabs(before) * 100.0;
}

static void decide(cmp_row_t *row, double alpha) {
  int worse = strcmp(row->better, "lower") == 0 ? row->delta_pct > 0
                                                : row->delta_pct < 0;
  cmp_verdict_t moved = worse ? CMP_REGRESSION : CMP_IMPROVEMENT;
  if (!(fabs(row->delta_pct) > row->threshold_pct))
    row->verdict = CMP_SAME;
  else if (row->few_runs)
    row->verdict = moved;
  else
    row->verdict = row->p < alpha ? moved : CMP_NOISE;
  /* Floors (bare spawn, bare ping-pong, bare gRPC call) measure the
   * machine, not our code: a real move there is reported, never a
   * regression; the pool figures' ratio_to_floor says what it did to them. */
  if (strncmp(row->id, "floor.", 6) == 0 &&
      (row->verdict == CMP_REGRESSION || row->verdict == CMP_IMPROVEMENT))
    row->verdict = CMP_FLOOR_MOVED;
}

static int comparable(const json_t *bm, const json_t *am) {
  return same_value(json_object_get(bm, "unit"), json_object_get(am, "unit")) &&
         same_value(json_object_get(bm, "better"), json_object_get(am, "better"));
}

/* Medians, delta and p for one metric present on both sides. */
static int measure(const json_t *bm, const json_t *am, cmp_row_t *row) {
  size_t nb, na;
  double *rb = wb_metric_runs(bm, &nb), *ra = wb_metric_runs(am, &na);
  int rc = -1;
  wb_mwu_t u = {0};
  if (rb && ra) {
    row->n_before = nb;
    row->n_after = na;
    row->before = wb_stats_median(rb, nb);
    row->after = wb_stats_median(ra, na);
    row->delta_pct = delta_pct(row->before, row->after);
    row->few_runs = nb < CMP_MIN_RUNS || na < CMP_MIN_RUNS;
    rc = 0;
    if (!row->few_runs)
      rc = wb_mwu_test(rb, nb, ra, na, &u);
    row->p = row->few_runs ? NAN : u.p;
  }
  free(rb);
  free(ra);
  return rc;
}

static int fill_row(const json_t *bm, const json_t *am, const cmp_opts_t *o,
                    cmp_row_t *row) {
  memset(row, 0, sizeof *row);
  row->id = json_string_value(json_object_get(am, "id"));
  row->unit = json_string_value(json_object_get(am, "unit"));
  row->better = json_string_value(json_object_get(am, "better"));
  row->threshold_pct = cmp_threshold_for(
      o, row->id, json_number_value(json_object_get(am, "threshold_pct")));
  row->klass = wb_metric_class(am);
  row->p = NAN;
  if (measure(bm, am, row) != 0)
    return -1;
  if (!comparable(bm, am)) {
    row->p = NAN;
    row->verdict = CMP_INCOMPARABLE;
    return 0;
  }
  decide(row, o->alpha);
  return 0;
}

/* ---- classes: what each could flag -------------------------------------- */

static const char *const class_names[CMP_NCLASSES] = {"instructions", "cost", "wall"};

static void range_add(size_t *n, double *lo, double *hi, double v) {
  if ((*n)++ == 0 || v < *lo) *lo = v;
  if (*n == 1 || v > *hi) *hi = v;
}

static void tally_classes(cmp_report_t *r) {
  for (int k = 0; k < CMP_NCLASSES; k++)
    r->classes[k] = (cmp_class_t){.name = class_names[k]};
  for (size_t i = 0; i < r->nrows; i++) {
    const cmp_row_t *row = &r->rows[i];
    if (strncmp(row->id, "floor.", 6) == 0 || row->verdict == CMP_INCOMPARABLE)
      continue;
    for (int k = 0; k < CMP_NCLASSES; k++) {
      cmp_class_t *c = &r->classes[k];
      if (strcmp(row->klass, c->name) != 0) continue;
      if (strcmp(row->better, "higher") == 0)
        range_add(&c->n_higher, &c->higher_min, &c->higher_max, row->threshold_pct);
      else
        range_add(&c->n_lower, &c->lower_min, &c->lower_max, row->threshold_pct);
    }
  }
}

int cmp_report_failed(const cmp_report_t *r) {
  return r->counts[CMP_REGRESSION] > 0 || json_array_size(r->only_before) > 0 ||
         json_array_size(r->failures) > 0;
}

/* ---- the whole report --------------------------------------------------- */

static int fail(char *why, size_t whylen, const char *msg, const char *id) {
  snprintf(why, whylen, "%s%s%s", id ? id : "", id ? ": " : "", msg);
  return -1;
}

static void list_only(json_t *from, json_t *other, json_t *out) {
  json_t *m;
  size_t i;
  json_array_foreach(json_object_get(from, "metrics"), i, m) {
    json_t *id = json_object_get(m, "id");
    if (!wb_metric_find(other, json_string_value(id)))
      json_array_append(out, id);
  }
}

static int match_rows(json_t *before, json_t *after, const cmp_opts_t *o,
                      cmp_report_t *r, char *why, size_t whylen) {
  json_t *metrics = json_object_get(after, "metrics"), *am;
  size_t i;
  r->rows = calloc(json_array_size(metrics) + 1, sizeof *r->rows);
  if (!r->rows)
    return fail(why, whylen, "out of memory", NULL);
  json_array_foreach(metrics, i, am) {
    const json_t *bm = wb_metric_find(before, json_string_value(
                                                  json_object_get(am, "id")));
    if (!bm)
      continue;
    cmp_row_t *row = &r->rows[r->nrows];
    if (fill_row(bm, am, o, row) != 0)
      return fail(why, whylen, "cannot read its runs", row->id);
    r->counts[row->verdict]++;
    r->nrows++;
  }
  if (r->counts[CMP_FLOOR_MOVED])
    json_array_append_new(
        r->warnings,
        json_sprintf("%zu floor metric%s moved: the machine changed between "
                     "the runs; read pool figures by their ratio_to_floor",
                     r->counts[CMP_FLOOR_MOVED],
                     r->counts[CMP_FLOOR_MOVED] == 1 ? "" : "s"));
  return 0;
}

int cmp_report_build(json_t *before, json_t *after, const cmp_opts_t *o,
                     cmp_report_t *r, char *why, size_t whylen) {
  memset(r, 0, sizeof *r);
  r->only_before = json_array();
  r->only_after = json_array();
  r->warnings = json_array();
  if (!r->only_before || !r->only_after || !r->warnings)
    return fail(why, whylen, "out of memory", NULL);
  context_warnings(before, after, r->warnings);
  list_only(before, after, r->only_before);
  list_only(after, before, r->only_after);
  r->failures = json_object_get(after, "failures");
  if (match_rows(before, after, o, r, why, whylen) != 0)
    return -1;
  tally_classes(r);
  return 0;
}

void cmp_report_free(cmp_report_t *r) {
  free(r->rows);
  json_decref(r->only_before);
  json_decref(r->only_after);
  json_decref(r->warnings);
  memset(r, 0, sizeof *r);
}
