/*
 * output.c — a group's series as a table (text or Markdown) and as JSON
 * ("wpool.trend/1", results/README.md). Values to three significant
 * digits with their unit (units.h); a change point reads "run 20
 * a1b2c3d +25.0 % worse".
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "results.h"
#include "table.h"
#include "trend.h"
#include "units.h"

#define NCOLS 8

static void group_head(FILE *out, const tr_group_t *g, bool md) {
  const char *first = g->n ? g->runs[0].created_at : "?", *last = first;
  for (size_t i = 1; i < g->n; i++) {
    if (strcmp(g->runs[i].created_at, first) < 0) first = g->runs[i].created_at;
    if (strcmp(g->runs[i].created_at, last) > 0) last = g->runs[i].created_at;
  }
  fprintf(out, md ? "\n### %s — %s\n\n%zu runs made from %s to %s, ordered by %s"
                  : "\n%s — %s\n%zu runs made from %s to %s, ordered by %s",
          g->host, g->placement, g->n, first, last,
          g->by_commit ? "commit time (then run time)" : "run time");
  if (!g->by_commit)
    fprintf(out, " (git does not know %zu run(s)' commit here)", g->unknown_commits);
  fprintf(out, md ? "\n\n" : "\n\n");
}

/* "run 20 a1b2c3d +25.0 % worse; ..." into buf. */
static const char *cps_text(const tr_group_t *g, const tr_series_t *s, char *buf, size_t cap) {
  size_t len = 0;
  char c[16];
  buf[0] = '\0';
  for (size_t k = 0; k < s->ncp && len < cap; k++) {
    size_t run = s->pts[s->cp[k].at].run;
    len += (size_t)snprintf(buf + len, cap - len, "%srun %zu %s %+.1f %% %s%s", k ? "; " : "",
                            run + 1, tr_short_commit(&g->runs[run], c, sizeof c),
                            s->cp[k].change_pct, tr_cp_direction(s, k),
                            tr_cp_same_commit(g, s, k) ? " (same commit: the host)" : "");
  }
  return s->ncp ? buf : "—";
}

void tr_print_group(FILE *out, const tr_group_t *g, const tr_series_t *s, size_t n, bool md) {
  static const char *const head[NCOLS] = {"metric", "runs", "first", "last", "best",
                                         "worst", "better", "change points"};
  group_head(out, g, md);
  char (*cells)[NCOLS][160] = calloc(n + 1, sizeof *cells);
  const char **rows = calloc((n + 1) * NCOLS, sizeof *rows);
  if (!cells || !rows) {
    free(cells), free(rows);
    fprintf(out, "(out of memory)\n");
    return;
  }
  for (size_t j = 0; j < NCOLS; j++) rows[j] = head[j];
  for (size_t i = 0; i < n; i++) {
    double best, worst;
    char(*c)[160] = cells[i + 1];
    tr_series_best_worst(&s[i], &best, &worst);
    snprintf(c[0], 160, "%s", s[i].id);
    snprintf(c[1], 160, "%zu", s[i].n);
    wb_fmt_human(s[i].n ? s[i].pts[0].med : NAN, s[i].unit, c[2], 160);
    wb_fmt_human(s[i].n ? s[i].pts[s[i].n - 1].med : NAN, s[i].unit, c[3], 160);
    wb_fmt_human(best, s[i].unit, c[4], 160);
    wb_fmt_human(worst, s[i].unit, c[5], 160);
    snprintf(c[6], 160, "%s", s[i].better);
    char cp[160];
    snprintf(c[7], 160, "%s", cps_text(g, &s[i], cp, sizeof cp));
    for (size_t j = 0; j < NCOLS; j++) rows[(i + 1) * NCOLS + j] = c[j];
  }
  if (md) {
    for (size_t r = 0; r <= n; r++) {
      fputc('|', out);
      for (size_t j = 0; j < NCOLS; j++) wb_md_cell(out, rows[r * NCOLS + j]);
      fputs(r ? "\n" : "\n|---|---:|---:|---:|---:|---:|---|---|\n", out);
    }
  } else {
    wb_table_print(out, rows, n + 1, NCOLS, 1u | 1u << 6 | 1u << 7, NULL, 0);
  }
  free(cells);
  free(rows);
}

static json_t *run_json(const tr_run_t *r) {
  return json_pack("{s:s, s:s?, s:b, s:s, s:o}", "file", r->path, "commit", r->commit,
                   "dirty", r->dirty, "created_at", r->created_at, "commit_time",
                   r->commit_time >= 0 ? json_integer(r->commit_time) : json_null());
}

static json_t *cp_json(const tr_group_t *g, const tr_series_t *s, size_t k) {
  const wb_cp_t *c = &s->cp[k];
  size_t run = s->pts[c->at].run;
  return json_pack("{s:I, s:s?, s:o, s:o, s:o, s:f, s:s, s:b}", "run", (json_int_t)run,
                   "commit", g->runs[run].commit, "before", wb_json_num(c->before), "after",
                   wb_json_num(c->after), "change_pct", wb_json_num(c->change_pct), "p", c->p,
                   "direction", tr_cp_direction(s, k), "same_commit", tr_cp_same_commit(g, s, k));
}

static json_t *series_json(const tr_group_t *g, const tr_series_t *s) {
  json_t *pts = json_array(), *cps = json_array();
  for (size_t i = 0; i < s->n; i++)
    json_array_append_new(pts, json_pack("{s:I, s:o, s:o, s:o}", "run", (json_int_t)s->pts[i].run,
                                         "median", wb_json_num(s->pts[i].med), "min",
                                         wb_json_num(s->pts[i].min), "max",
                                         wb_json_num(s->pts[i].max)));
  for (size_t k = 0; k < s->ncp; k++) json_array_append_new(cps, cp_json(g, s, k));
  double best, worst;
  tr_series_best_worst(s, &best, &worst);
  return json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "id", s->id, "unit", s->unit,
                   "better", s->better, "first", wb_json_num(s->n ? s->pts[0].med : NAN), "last",
                   wb_json_num(s->n ? s->pts[s->n - 1].med : NAN), "best", wb_json_num(best),
                   "worst", wb_json_num(worst), "points", pts, "change_points", cps);
}

json_t *tr_json_group(const tr_group_t *g, const tr_series_t *s, size_t n) {
  json_t *runs = json_array(), *series = json_array();
  for (size_t i = 0; i < g->n; i++) json_array_append_new(runs, run_json(&g->runs[i]));
  for (size_t i = 0; i < n; i++) json_array_append_new(series, series_json(g, &s[i]));
  return json_pack("{s:s, s:s, s:s, s:o, s:o}", "host", g->host, "placement", g->placement,
                   "order", g->by_commit ? "commit time" : "run time", "runs", runs, "series",
                   series);
}

json_t *tr_json_doc(const tr_opts_t *o, json_t *groups) {
  return json_pack("{s:s, s:s, s:s, s:{s:s, s:I, s:f, s:I, s:f, s:I}, s:o}", "schema",
                   "wpool.trend/1", "results_dir", o->dir, "metric", o->metric, "method",
                   "name", "e-divisive means, permutation test", "min_seg",
                   (json_int_t)o->cp.min_seg, "alpha", o->cp.alpha, "perms",
                   (json_int_t)o->cp.perms, "min_change_pct", o->cp.min_change_pct, "seed",
                   (json_int_t)o->cp.seed, "groups", groups);
}
