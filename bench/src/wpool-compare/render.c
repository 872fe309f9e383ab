/* render.c — table, Markdown and JSON output; see render.h. */
#include "render.h"
#include "results.h"
#include "table.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { COL_ID, COL_BEFORE, COL_AFTER, COL_DELTA, COL_P, COL_THR, COL_VERDICT, NCOLS };
#define CELL 256

typedef struct {
  char c[NCOLS][CELL];
} cells_t;

/* "threshold": the metric's own (its class's noise) or --threshold. */
static const char *const headers[NCOLS] = {"metric", "before", "after", "delta",
                                           "p",      "threshold", "verdict"};

int cmp_use_color(cmp_color_t c, FILE *out) {
  const char *no = getenv("NO_COLOR"); /* no-color.org: set and non-empty */
  if (c != CMP_COLOR_AUTO)
    return c == CMP_COLOR_ALWAYS;
  return !(no && *no) && isatty(fileno(out));
}

/* ---- cells: the same words in every format ------------------------------ */

static void fmt_delta(char *buf, double d) {
  if (isinf(d))
    snprintf(buf, CELL, "%sinf%%", d > 0 ? "+" : "-");
  else
    snprintf(buf, CELL, "%+.1f%%", d);
}

static void fill_cells(const cmp_row_t *row, cells_t *c) {
  snprintf(c->c[COL_ID], CELL, "%s", row->id);
  wb_fmt_value(c->c[COL_BEFORE], CELL, row->before, row->unit);
  wb_fmt_value(c->c[COL_AFTER], CELL, row->after, row->unit);
  fmt_delta(c->c[COL_DELTA], row->delta_pct);
  wb_fmt_p(c->c[COL_P], CELL, row->p);
  snprintf(c->c[COL_THR], CELL, "%g%%", row->threshold_pct);
  snprintf(c->c[COL_VERDICT], CELL, "%s%s", cmp_verdict_name(row->verdict),
           row->few_runs ? " (few runs)" : "");
}

static const char *short_commit(const json_t *doc, char *buf, size_t n) {
  const json_t *git = json_object_get(doc, "git");
  const char *c = json_string_value(json_object_get(git, "commit"));
  int dirty = json_is_true(json_object_get(git, "dirty"));
  snprintf(buf, n, "%.12s%s", c ? c : "no commit", dirty ? ", dirty" : "");
  return buf;
}

static const char *created(const json_t *doc) {
  const char *s = json_string_value(json_object_get(doc, "created_at"));
  return s ? s : "?";
}

static void fmt_summary(const cmp_report_t *r, const cmp_opts_t *o, char *buf,
                        size_t n) {
  size_t missing = json_array_size(r->only_before), failed = json_array_size(r->failures);
  snprintf(buf, n,
           "%zu regression%s, %zu improvement%s, %zu noise, %zu same, "
           "%zu floor-moved%s, %zu missing in after, %zu failed in after "
           "(threshold %g%% or the metric's own, alpha %g)",
           r->counts[CMP_REGRESSION], r->counts[CMP_REGRESSION] == 1 ? "" : "s",
           r->counts[CMP_IMPROVEMENT], r->counts[CMP_IMPROVEMENT] == 1 ? "" : "s",
           r->counts[CMP_NOISE], r->counts[CMP_SAME], r->counts[CMP_FLOOR_MOVED],
           r->counts[CMP_INCOMPARABLE] ? ", some incomparable" : "", missing,
           failed, o->threshold_pct, o->alpha);
}

/* "+8 %" or "+8-60 %": the rise a time or a count must exceed. */
static int fmt_rise(char *buf, size_t n, double lo, double hi) {
  return lo == hi ? snprintf(buf, n, "+%g %%", lo)
                  : snprintf(buf, n, "+%g-%g %%", lo, hi);
}

/* A rate's threshold t flags a fall of t %: a slowdown of 1 / (1 - t). */
static void fmt_factor(char *buf, size_t n, double pct) {
  if (pct >= 100) snprintf(buf, n, "never");
  else snprintf(buf, n, "%.3g×", 1 / (1 - pct / 100));
}

static int fmt_slowdown(char *buf, size_t n, double lo, double hi) {
  char a[32], b[32];
  fmt_factor(a, sizeof a, lo);
  fmt_factor(b, sizeof b, hi);
  return lo == hi ? snprintf(buf, n, "rates %s slower", a)
                  : snprintf(buf, n, "rates %s-%s slower", a, b);
}

/* Per class, the smallest change the applied thresholds can flag:
 * "sensitivity: cost +5-40 %; wall +50-2000 %, rates 2.22x-never slower". */
static void fmt_sensitivity(const cmp_report_t *r, char *buf, size_t n) {
  size_t len = (size_t)snprintf(buf, n, "sensitivity:");
  int any = 0;
  for (int k = 0; k < CMP_NCLASSES && len < n; k++) {
    const cmp_class_t *c = &r->classes[k];
    if (!c->n_lower && !c->n_higher) continue;
    len += (size_t)snprintf(buf + len, n - len, "%s %s ", any++ ? ";" : "", c->name);
    if (c->n_lower && len < n)
      len += (size_t)fmt_rise(buf + len, n - len, c->lower_min, c->lower_max);
    if (c->n_lower && c->n_higher && len < n)
      len += (size_t)snprintf(buf + len, n - len, ", ");
    if (c->n_higher && len < n)
      len += (size_t)fmt_slowdown(buf + len, n - len, c->higher_min, c->higher_max);
  }
}

/* ---- text table --------------------------------------------------------- */

static const char *verdict_color(cmp_verdict_t v) {
  switch (v) {
  case CMP_REGRESSION: return "\033[31m";
  case CMP_IMPROVEMENT: return "\033[32m";
  case CMP_NOISE: return "\033[33m";
  case CMP_FLOOR_MOVED: return "\033[33m";
  default: return NULL;
  }
}

/* Numbers align right, words left; the delta and the verdict in colour. */
static int print_table(FILE *out, const cmp_report_t *r, int color) {
  size_t n = r->nrows + 1;
  cells_t *cells = calloc(n, sizeof *cells);
  const char **ptr = calloc(n * NCOLS, sizeof *ptr), **paint = calloc(n, sizeof *paint);
  int rc = -1;
  if (cells && ptr && paint) {
    for (int c = 0; c < NCOLS; c++)
      snprintf(cells[0].c[c], CELL, "%s", headers[c]);
    for (size_t i = 1; i < n; i++) {
      fill_cells(&r->rows[i - 1], &cells[i]);
      paint[i] = color ? verdict_color(r->rows[i - 1].verdict) : NULL;
    }
    for (size_t i = 0; i < n; i++)
      for (int c = 0; c < NCOLS; c++)
        ptr[i * NCOLS + (size_t)c] = cells[i].c[c];
    rc = wb_table_print(out, ptr, n, NCOLS, 1u << COL_ID | 1u << COL_VERDICT, paint,
                        1u << COL_DELTA | 1u << COL_VERDICT);
  }
  free(cells);
  free(ptr);
  free(paint);
  return rc;
}

static void print_only(FILE *out, const char *label, const json_t *ids,
                       const char *quote) {
  json_t *id;
  size_t i;
  if (json_array_size(ids) == 0)
    return;
  fprintf(out, "only in %s (%zu):", label, json_array_size(ids));
  json_array_foreach(ids, i, id)
    fprintf(out, "%s %s%s%s", i ? "," : "", quote, json_string_value(id), quote);
  fputc('\n', out);
}

/* Failures AFTER recorded: one line each, "scenario point: error — message". */
static void print_failures(FILE *out, const json_t *failures, const char *quote) {
  json_t *f;
  size_t i;
  if (json_array_size(failures) == 0)
    return;
  fprintf(out, "failed in after (%zu, a regression):\n", json_array_size(failures));
  json_array_foreach(failures, i, f) {
    const char *sc = json_string_value(json_object_get(f, "scenario"));
    const char *pt = json_string_value(json_object_get(f, "point"));
    const char *er = json_string_value(json_object_get(f, "error"));
    const char *msg = json_string_value(json_object_get(f, "message"));
    fprintf(out, "  %s%s%s%s%s: %s%s%s\n", quote, sc ? sc : "?", pt ? " " : "",
            pt ? pt : "", quote, er ? er : "", er && msg ? " - " : "", msg ? msg : "");
  }
}

static int render_text(const cmp_report_t *r, const cmp_opts_t *o,
                       cmp_side_t b, cmp_side_t a, FILE *out) {
  char buf[256], sum[512];
  fprintf(out, "before  %s  (%s, %s)\n", b.path, created(b.doc),
          short_commit(b.doc, buf, sizeof buf));
  fprintf(out, "after   %s  (%s, %s)\n\n", a.path, created(a.doc),
          short_commit(a.doc, buf, sizeof buf));
  if (print_table(out, r, cmp_use_color(o->color, out)))
    return -1;
  fputc('\n', out);
  print_only(out, "before: missing in after, a regression", r->only_before, "");
  print_only(out, "after", r->only_after, "");
  print_failures(out, r->failures, "");
  if (json_array_size(r->only_before) + json_array_size(r->only_after) +
      json_array_size(r->failures))
    fputc('\n', out);
  fmt_summary(r, o, sum, sizeof sum);
  fprintf(out, "%s\n", sum);
  fmt_sensitivity(r, sum, sizeof sum);
  fprintf(out, "%s\n", sum);
  return 0;
}

/* ---- Markdown ----------------------------------------------------------- */

static void md_row(FILE *out, const cmp_row_t *row) {
  cells_t c;
  char id[CELL + 2], verdict[CELL + 4];
  fill_cells(row, &c);
  snprintf(id, sizeof id, "`%s`", c.c[COL_ID]);
  snprintf(verdict, sizeof verdict, row->verdict == CMP_REGRESSION ? "**%s**" : "%s",
           c.c[COL_VERDICT]);
  fputs("|", out);
  wb_md_cell(out, id);
  for (int col = COL_BEFORE; col < COL_VERDICT; col++)
    wb_md_cell(out, c.c[col]);
  wb_md_cell(out, verdict);
  fputc('\n', out);
}

static int render_markdown(const cmp_report_t *r, const cmp_opts_t *o,
                           cmp_side_t b, cmp_side_t a, FILE *out) {
  char buf[512], buf2[256];
  json_t *w;
  size_t i;
  fmt_summary(r, o, buf, sizeof buf);
  fprintf(out, "### wpool compare: %s\n\n", buf);
  fmt_sensitivity(r, buf, sizeof buf);
  fprintf(out, "%s\n\n", buf);
  fprintf(out, "`%s` (%s) → `%s` (%s)\n\n", b.path,
          short_commit(b.doc, buf, sizeof buf), a.path,
          short_commit(a.doc, buf2, sizeof buf2));
  json_array_foreach(r->warnings, i, w)
    fprintf(out, "> warning: %s\n", json_string_value(w));
  if (json_array_size(r->warnings))
    fputc('\n', out);
  fputs("| metric | before | after | delta | p | threshold | verdict |\n", out);
  fputs("|:--|--:|--:|--:|--:|--:|:--|\n", out);
  for (i = 0; i < r->nrows; i++)
    md_row(out, &r->rows[i]);
  fputc('\n', out);
  print_only(out, "before: missing in after, a regression", r->only_before, "`");
  print_only(out, "after", r->only_after, "`");
  print_failures(out, r->failures, "`");
  return 0;
}

/* ---- JSON --------------------------------------------------------------- */

static json_t *side_json(cmp_side_t s) {
  const json_t *git = json_object_get(s.doc, "git");
  return json_pack("{s:s, s:O?, s:O?, s:O?}", "path", s.path, "created_at",
                   json_object_get(s.doc, "created_at"), "commit",
                   json_object_get(git, "commit"), "dirty",
                   json_object_get(git, "dirty"));
}

static json_t *row_json(const cmp_row_t *row) {
  return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:I, s:I, s:f, s:b, s:s}",
                   "id", row->id, "unit", row->unit, "better", row->better,
                   "class", row->klass,
                   "before", wb_json_num(row->before), "after",
                   wb_json_num(row->after), "delta_pct",
                   wb_json_num(row->delta_pct), "p_value", wb_json_num(row->p),
                   "n_before", (json_int_t)row->n_before, "n_after",
                   (json_int_t)row->n_after, "threshold_pct", row->threshold_pct,
                   "few_runs", row->few_runs, "verdict",
                   cmp_verdict_name(row->verdict));
}

static json_t *summary_json(const cmp_report_t *r) {
  json_t *s = json_object();
  for (int v = 0; v < CMP_NVERDICTS; v++)
    json_object_set_new(s, cmp_verdict_name(v), json_integer((json_int_t)r->counts[v]));
  json_object_set_new(s, "missing", json_integer((json_int_t)json_array_size(r->only_before)));
  json_object_set_new(s, "failed", json_integer((json_int_t)json_array_size(r->failures)));
  return s;
}

static json_t *range_json(size_t n, double lo, double hi) {
  return n ? json_pack("{s:I, s:f, s:f}", "metrics", (json_int_t)n, "min_pct", lo,
                       "max_pct", hi)
           : json_null();
}

/* Per class: the thresholds that applied, times/counts and rates apart. */
static json_t *classes_json(const cmp_report_t *r) {
  json_t *all = json_object();
  for (int k = 0; k < CMP_NCLASSES; k++) {
    const cmp_class_t *c = &r->classes[k];
    if (!c->n_lower && !c->n_higher) continue;
    json_object_set_new(all, c->name, json_pack("{s:o, s:o}", "lower_better",
                        range_json(c->n_lower, c->lower_min, c->lower_max),
                        "higher_better",
                        range_json(c->n_higher, c->higher_min, c->higher_max)));
  }
  return all;
}

static int render_json(const cmp_report_t *r, const cmp_opts_t *o,
                       cmp_side_t b, cmp_side_t a, FILE *out) {
  json_t *rows = json_array();
  for (size_t i = 0; rows && i < r->nrows; i++)
    json_array_append_new(rows, row_json(&r->rows[i]));
  json_t *doc = json_pack(
      "{s:s, s:o, s:o, s:f, s:f, s:o, s:O, s:O, s:O, s:O, s:o, s:o, s:b}",
      "schema", "wpool.compare/1", "before", side_json(b), "after", side_json(a),
      "threshold_pct", o->threshold_pct, "alpha", o->alpha, "metrics", rows,
      "only_before", r->only_before, "only_after", r->only_after, "failures",
      r->failures ? (json_t *)r->failures : json_null(), "warnings", r->warnings,
      "summary", summary_json(r), "classes", classes_json(r), "regression",
      cmp_report_failed(r));
  if (!doc || json_dumpf(doc, out, JSON_INDENT(2) | JSON_REAL_PRECISION(12)) != 0) {
    json_decref(doc);
    return -1;
  }
  fputc('\n', out);
  json_decref(doc);
  return 0;
}

int cmp_render(const cmp_report_t *r, const cmp_opts_t *o, cmp_side_t before,
               cmp_side_t after, FILE *out) {
  switch (o->format) {
  case CMP_MARKDOWN: return render_markdown(r, o, before, after, out);
  case CMP_JSON: return render_json(r, o, before, after, out);
  default: return render_text(r, o, before, after, out);
  }
}
