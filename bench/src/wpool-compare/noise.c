/* noise.c — bench/compare --noise; see noise.h. */
#include "noise.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "results.h"

typedef struct {
  const char *id;     /* borrowed from a loaded document */
  size_t flagged;     /* ordered pairs that called it a regression */
  size_t orders;      /* ordered pairs that had it on both sides */
  double max_flagged; /* largest |delta| among those, percent */
  double max_delta;   /* largest |delta| among all pairs, percent */
  double threshold;   /* the threshold the rule applied */
  size_t missing;     /* ordered pairs whose after lacked it */
} noise_row_t;

typedef struct {
  json_t **docs;
  const char *const *files;
  size_t ndocs;
  json_t *index; /* id → position in rows */
  noise_row_t *rows;
  size_t nrows, cap;
  size_t pairs, loud_pairs;
} noise_t;

static int bad(const char *what, const char *why) {
  fprintf(stderr, "compare: %s%s%s\n", what ? what : "", what ? ": " : "", why);
  return 2;
}

static noise_row_t *row_for(noise_t *n, const char *id) {
  json_t *at = json_object_get(n->index, id);
  if (at)
    return &n->rows[json_integer_value(at)];
  if (n->nrows == n->cap) {
    size_t cap = n->cap ? 2 * n->cap : 256;
    noise_row_t *v = realloc(n->rows, cap * sizeof *v);
    if (!v)
      return NULL;
    n->rows = v;
    n->cap = cap;
  }
  if (json_object_set_new(n->index, id, json_integer((json_int_t)n->nrows)) != 0)
    return NULL;
  n->rows[n->nrows] = (noise_row_t){.id = id};
  return &n->rows[n->nrows++];
}

/* One order of one pair: each metric's largest change, and the ones the
 * rule calls a regression. 0, or 2 after saying why. */
static int add_order(noise_t *n, const cmp_opts_t *o, size_t i, size_t j, int *loud) {
  cmp_report_t r;
  char why[512];
  if (cmp_report_build(n->docs[i], n->docs[j], o, &r, why, sizeof why) != 0)
    return bad(NULL, why);
  int rc = 0;
  for (size_t k = 0; k < r.nrows && rc == 0; k++) {
    const cmp_row_t *cr = &r.rows[k];
    noise_row_t *nr = row_for(n, cr->id);
    if (!nr) {
      rc = bad(NULL, "out of memory");
      break;
    }
    double d = fabs(cr->delta_pct);
    nr->orders++;
    nr->threshold = cr->threshold_pct;
    if (d > nr->max_delta)
      nr->max_delta = d;
    if (cr->verdict == CMP_REGRESSION) {
      nr->flagged++;
      if (d > nr->max_flagged)
        nr->max_flagged = d;
    }
  }
  json_t *id;
  size_t k;
  json_array_foreach(r.only_before, k, id) {
    noise_row_t *nr = rc == 0 ? row_for(n, json_string_value(id)) : NULL;
    if (nr) nr->missing++;
    else rc = rc ? rc : bad(NULL, "out of memory");
  }
  *loud |= cmp_report_failed(&r);
  cmp_report_free(&r);
  return rc;
}

/* One pair in both orders: either file could be the "before", and a rate
 * that rose 185 % one way fell 65 % the other; only regressions fail a
 * comparison, so each order counts its own. A metric flagged both ways
 * counts twice. */
static int add_pair(noise_t *n, const cmp_opts_t *o, size_t i, size_t j) {
  int loud = 0;
  int rc = add_order(n, o, i, j, &loud);
  if (rc == 0)
    rc = add_order(n, o, j, i, &loud);
  n->pairs++;
  n->loud_pairs += loud;
  return rc;
}

/* Most often flagged (or missing) first, then by the largest flagged
 * change. */
static int loudest_first(const void *pa, const void *pb) {
  const noise_row_t *a = pa, *b = pb;
  if (a->flagged + a->missing != b->flagged + b->missing)
    return a->flagged + a->missing < b->flagged + b->missing ? 1 : -1;
  if (a->flagged != b->flagged)
    return a->flagged < b->flagged ? 1 : -1;
  if (a->max_flagged != b->max_flagged)
    return a->max_flagged < b->max_flagged ? 1 : -1;
  return strcmp(a->id, b->id);
}

/* The threshold, in whole 5 %, just above the largest flagged change. */
static double quiet_threshold(const noise_row_t *r) {
  return isfinite(r->max_flagged) ? (floor(r->max_flagged / 5.0) + 1) * 5.0
                                  : INFINITY;
}

/* Runs that recorded a failure fail every pair they are the after of. */
static void print_failed_runs(const noise_t *n, FILE *out) {
  for (size_t i = 0; i < n->ndocs; i++) {
    size_t k = json_array_size(json_object_get(n->docs[i], "failures"));
    if (k)
      fprintf(out, "%s recorded %zu failure%s: a regression in every pair it is the after of\n",
              n->files[i], k, k == 1 ? "" : "s");
  }
}

static void print(noise_t *n, FILE *out) {
  qsort(n->rows, n->nrows, sizeof *n->rows, loudest_first);
  fprintf(out, "%zu runs, %zu pairs: %zu pair%s would fail (a regression in one order or the other)\n",
          n->ndocs, n->pairs, n->loud_pairs, n->loud_pairs == 1 ? "" : "s");
  print_failed_runs(n, out);
  size_t loud = 0;
  for (size_t i = 0; i < n->nrows; i++)
    loud += n->rows[i].flagged + n->rows[i].missing > 0;
  if (!loud) {
    fprintf(out, "no metric was flagged by any pair\n");
    return;
  }
  fprintf(out, "\n%-48s %7s %10s %10s %10s\n", "metric", "orders", "worst", "threshold",
          "quiet at");
  for (size_t i = 0; i < n->nrows && n->rows[i].flagged + n->rows[i].missing; i++) {
    const noise_row_t *r = &n->rows[i];
    if (r->flagged)
      fprintf(out, "%-48s %3zu/%-3zu %9.1f%% %9.0f%% %9.0f%%\n", r->id, r->flagged,
              r->orders, r->max_flagged, r->threshold, quiet_threshold(r));
    if (r->missing)
      fprintf(out, "%-48s %3zu orders: missing in after\n", r->id, r->missing);
  }
  fprintf(out, "\n%zu metric%s regressed between runs of one build. orders: in how many of the\n"
               "ordered pairs; worst: the largest such change; quiet at: the smallest\n"
               "threshold (in 5 %% steps) none would have crossed (--metric-threshold 'ID=PCT').\n",
          loud, loud == 1 ? "" : "s");
}

static void noise_free(noise_t *n) {
  for (size_t i = 0; i < n->ndocs; i++)
    json_decref(n->docs[i]);
  free(n->docs);
  free(n->rows);
  json_decref(n->index);
}

int cmp_noise(const cmp_opts_t *o, FILE *out) {
  noise_t n = {.docs = calloc(o->nfiles, sizeof(json_t *)), .files = o->files,
               .index = json_object()};
  char why[512];
  int rc = 0;
  if (!n.docs || !n.index)
    rc = bad(NULL, "out of memory");
  for (size_t i = 0; i < o->nfiles && rc == 0; i++, n.ndocs++)
    if (wb_results_load(o->files[i], &n.docs[i], why, sizeof why) != 0)
      rc = bad(o->files[i], why);
  for (size_t i = 0; i < n.ndocs && rc == 0; i++)
    for (size_t j = i + 1; j < n.ndocs && rc == 0; j++)
      rc = add_pair(&n, o, i, j);
  if (rc == 0 && n.nrows == 0)
    rc = bad(NULL, "no metric in common between the files");
  if (rc == 0) {
    print(&n, out);
    rc = n.loud_pairs ? 1 : 0;
  }
  noise_free(&n);
  return rc;
}
