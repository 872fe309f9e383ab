/*
 * series.c — one series per metric id over a group's runs: each run's
 * median, min and max, and the change points of the medians.
 *
 * A metric keeps one unit and direction over time (results/README.md); a
 * run that recorded it with another unit or direction is left out of its
 * series with a warning, as compare calls such a pair incomparable. The
 * newest run's unit is the series' unit: the figure as it is read today.
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "results.h"
#include "trend.h"

static const char *str(const json_t *o, const char *k) {
  return json_string_value(json_object_get(o, k));
}

static int by_id(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The distinct matching ids of the group (borrowed strings), sorted. */
static const char **ids_of(const tr_group_t *g, const char *glob, size_t *n) {
  const char **ids = NULL;
  size_t cap = 0, k;
  const json_t *m;
  *n = 0;
  for (size_t r = 0; r < g->n; r++)
    json_array_foreach(json_object_get(g->runs[r].doc, "metrics"), k, m) {
      const char *id = str(m, "id");
      if (!id || fnmatch(glob, id, 0) != 0) continue;
      bool seen = false;
      for (size_t i = 0; i < *n && !seen; i++) seen = !strcmp(ids[i], id);
      if (seen) continue;
      if (*n == cap) {
        const char **v = realloc(ids, (cap = cap ? 2 * cap : 64) * sizeof *v);
        if (!v) return free(ids), NULL;
        ids = v;
      }
      ids[(*n)++] = id;
    }
  if (*n) qsort(ids, *n, sizeof *ids, by_id);
  return ids ? ids : calloc(1, sizeof *ids);
}

static const json_t *find(const tr_run_t *r, const char *id) {
  return wb_metric_find(r->doc, id);
}

/* The newest run's unit and direction for id. */
static void current_unit(const tr_group_t *g, tr_series_t *s) {
  for (size_t r = g->n; r-- > 0;) {
    const json_t *m = find(&g->runs[r], s->id);
    if (m) {
      s->unit = str(m, "unit") ? str(m, "unit") : "";
      s->better = str(m, "better") ? str(m, "better") : "lower";
      return;
    }
  }
}

static int fill(const tr_group_t *g, const tr_opts_t *o, tr_series_t *s) {
  current_unit(g, s);
  s->pts = calloc(g->n, sizeof *s->pts);
  double *med = calloc(g->n, sizeof *med);
  if (!s->pts || !med) return free(med), -1;
  for (size_t r = 0; r < g->n; r++) {
    const json_t *m = find(&g->runs[r], s->id);
    if (!m) continue;
    const char *u = str(m, "unit"), *b = str(m, "better");
    if (!u || !b || strcmp(u, s->unit) || strcmp(b, s->better)) {
      fprintf(stderr, "trend: warning: %s: %s records it in %s (%s is better), now %s (%s): left out\n",
              s->id, g->runs[r].path, u ? u : "?", b ? b : "?", s->unit, s->better);
      continue;
    }
    tr_point_t *p = &s->pts[s->n];
    p->run = r;
    p->med = json_number_value(json_object_get(m, "median"));
    p->min = json_number_value(json_object_get(m, "min"));
    p->max = json_number_value(json_object_get(m, "max"));
    med[s->n++] = p->med;
  }
  int rc = wb_changepoints(med, s->n, &o->cp, s->cp, TR_MAX_CPS, &s->ncp);
  free(med);
  return rc;
}

int tr_series_build(const tr_group_t *g, const tr_opts_t *o, tr_series_t **out, size_t *n,
                    char *why, size_t whylen) {
  size_t nid;
  const char **ids = ids_of(g, o->metric, &nid);
  *out = NULL;
  *n = 0;
  tr_series_t *s = ids ? calloc(nid ? nid : 1, sizeof *s) : NULL;
  int rc = s ? 0 : -1;
  for (size_t i = 0; rc == 0 && i < nid; i++) {
    s[i].id = ids[i];
    if (fill(g, o, &s[i]) != 0) {
      rc = -1;
      snprintf(why, whylen, "%s: could not build its series (out of memory)", ids[i]);
    }
  }
  if (!s) snprintf(why, whylen, "out of memory");
  free(ids);
  if (rc != 0) return tr_series_free(s, nid), -1;
  *out = s;
  *n = nid;
  return 0;
}

void tr_series_free(tr_series_t *s, size_t n) {
  for (size_t i = 0; s && i < n; i++) free(s[i].pts);
  free(s);
}

void tr_series_best_worst(const tr_series_t *s, double *best, double *worst) {
  bool higher = !strcmp(s->better, "higher");
  *best = *worst = s->n ? s->pts[0].med : 0;
  for (size_t i = 1; i < s->n; i++) {
    double v = s->pts[i].med;
    if (higher ? v > *best : v < *best) *best = v;
    if (higher ? v < *worst : v > *worst) *worst = v;
  }
}

const char *tr_cp_direction(const tr_series_t *s, size_t k) {
  bool up = s->cp[k].change_pct > 0, higher = !strcmp(s->better, "higher");
  return up == higher ? "better" : "worse";
}

const char *tr_short_commit(const tr_run_t *r, char *buf, size_t cap) {
  snprintf(buf, cap, "%.7s%s", r->commit ? r->commit : "?", r->dirty ? "+" : "");
  return buf;
}

bool tr_cp_same_commit(const tr_group_t *g, const tr_series_t *s, size_t k) {
  size_t at = s->cp[k].at;
  const tr_run_t *a = &g->runs[s->pts[at - 1].run], *b = &g->runs[s->pts[at].run];
  return a->commit && b->commit && !a->dirty && !b->dirty && !strcmp(a->commit, b->commit);
}
