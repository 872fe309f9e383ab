/* series.c — picking metrics into labelled series; see report.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

static rp_series_t *series_for(rp_set_t *set, const char *label) {
  for (size_t i = 0; i < set->n; i++)
    if (strcmp(set->s[i].label, label) == 0) return &set->s[i];
  if (set->n == set->cap) {
    size_t cap = set->cap ? 2 * set->cap : 8;
    rp_series_t *s = realloc(set->s, cap * sizeof *s);
    if (!s) return NULL;
    set->s = s;
    set->cap = cap;
  }
  rp_series_t *s = &set->s[set->n++];
  memset(s, 0, sizeof *s);
  snprintf(s->label, sizeof s->label, "%s", label);
  return s;
}

static int series_add(rp_series_t *s, rp_point_t p) {
  if (s->n == s->cap) {
    size_t cap = s->cap ? 2 * s->cap : 8;
    rp_point_t *pts = realloc(s->pts, cap * sizeof *pts);
    if (!pts) return -1;
    s->pts = pts;
    s->cap = cap;
  }
  s->pts[s->n++] = p;
  return 0;
}

static int by_x(const void *a, const void *b) {
  double x = ((const rp_point_t *)a)->x, y = ((const rp_point_t *)b)->x;
  return (x > y) - (x < y);
}

static double num(const json_t *m, const char *key) {
  return json_number_value(json_object_get(m, key));
}

int rp_collect(const json_t *doc, rp_pick_fn pick, const void *arg, rp_set_t *set) {
  memset(set, 0, sizeof *set);
  const json_t *metrics = json_object_get(doc, "metrics"), *m;
  size_t i;
  json_array_foreach(metrics, i, m) {
    const char *id = json_string_value(json_object_get(m, "id"));
    char label[96];
    double x;
    if (!id || !pick(id, json_object_get(m, "params"), label, sizeof label, &x, arg))
      continue;
    rp_series_t *s = series_for(set, label);
    rp_point_t p = {x, num(m, "median"), num(m, "min"), num(m, "max")};
    if (!s || series_add(s, p) != 0) return -1;
    const char *unit = json_string_value(json_object_get(m, "unit"));
    if (!s->unit[0] && unit) snprintf(s->unit, sizeof s->unit, "%s", unit);
  }
  for (size_t k = 0; k < set->n; k++) qsort(set->s[k].pts, set->s[k].n, sizeof(rp_point_t), by_x);
  return 0;
}

void rp_set_free(rp_set_t *set) {
  for (size_t i = 0; i < set->n; i++) free(set->s[i].pts);
  free(set->s);
  memset(set, 0, sizeof *set);
}

size_t rp_set_points(const rp_set_t *set) {
  size_t n = 0;
  for (size_t i = 0; i < set->n; i++) n += set->s[i].n;
  return n;
}
