/*
 * render.c — bench/ab's report in three forms, as bench/compare's: an
 * aligned table for a terminal, Markdown for a pull-request comment, and
 * JSON ("wpool.ab/1") for scripts. Decides nothing: judge.c does.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ab.h"
#include "results.h"
#include "table.h"

enum { COL_ID, COL_BEFORE, COL_AFTER, COL_RATIO, COL_CI, COL_P, COL_VERDICT, NCOLS };
#define CELL 256

typedef struct {
  char c[NCOLS][CELL];
} cells_t;

static const char *const headers[NCOLS] = {"metric", "before", "after", "ratio",
                                           "CI",     "p",      "verdict"};

static void fmt_ratio(char *buf, double r) {
  snprintf(buf, CELL, isfinite(r) ? "%.3f" : "—", r);
}

/* Bounds on the ratio; too few rounds for a bound shows 0 or ∞. */
static void fmt_ci(char *buf, double lo, double hi) {
  if (isnan(lo))
    snprintf(buf, CELL, "—");
  else if (isfinite(hi) && lo > 0)
    snprintf(buf, CELL, "%.3f–%.3f", lo, hi);
  else
    snprintf(buf, CELL, "0–∞");
}

static void fill_cells(const ab_metric_t *x, cells_t *c) {
  snprintf(c->c[COL_ID], CELL, "%s", x->id);
  wb_fmt_value(c->c[COL_BEFORE], CELL, x->before_med, x->unit);
  wb_fmt_value(c->c[COL_AFTER], CELL, x->after_med, x->unit);
  fmt_ratio(c->c[COL_RATIO], x->ratio);
  fmt_ci(c->c[COL_CI], x->lo, x->hi);
  wb_fmt_p(c->c[COL_P], CELL, x->p_holm);
  if (x->more_rounds)
    snprintf(c->c[COL_VERDICT], CELL, "%s (~%zu rounds)", ab_verdict_name(x->verdict),
             x->more_rounds);
  else
    snprintf(c->c[COL_VERDICT], CELL, "%s", ab_verdict_name(x->verdict));
}

/* "main (e96a0ab1c2d3, dirty)". */
static const char *side_words(const char *label, const json_t *doc, char *buf,
                              size_t n) {
  const json_t *git = json_object_get(doc, "git");
  const char *c = json_string_value(json_object_get(git, "commit"));
  int dirty = json_is_true(json_object_get(git, "dirty"));
  snprintf(buf, n, "%s (%.12s%s)", label, c ? c : "no commit", dirty ? ", dirty" : "");
  return buf;
}

static void fmt_method(const ab_set_t *s, const ab_opts_t *o, char *buf, size_t n) {
  snprintf(buf, n,
           "%zu interleaved rounds, threshold %g%%, one-sided Wilcoxon signed-rank "
           "test on the paired log ratios, Holm over %zu metrics, alpha %g; ratio = "
           "after/before (inverted where higher is better: > 1 is worse), CI: "
           "median bounds at %g%% each",
           s->rounds, o->threshold_pct, s->njudged, o->alpha,
           100.0 * (1.0 - o->alpha / (double)(s->njudged ? s->njudged : 1)));
}

static size_t count(const ab_set_t *s, ab_verdict_t v) {
  size_t k = 0;
  for (size_t i = 0; i < s->nm; i++)
    k += s->m[i].verdict == v;
  return k;
}

/* The verdict with its reasons, one line. */
static void fmt_verdict(const ab_set_t *s, char *buf, size_t n) {
  size_t nf = json_array_size(s->failures);
  int k = snprintf(buf, n, "%s: %zu of %zu metrics regressed, %zu no regression, "
                           "%zu inconclusive",
                   ab_verdict_name(s->verdict), count(s, AB_REGRESSION), s->njudged,
                   count(s, AB_NO_REGRESSION), count(s, AB_INCONCLUSIVE));
  size_t nr = count(s, AB_REPORTED);
  if (nr && k > 0 && (size_t)k < n)
    k += snprintf(buf + k, n - (size_t)k, "; %zu maximum%s reported, not judged "
                  "(one sample a run)", nr, nr == 1 ? "" : "s");
  if (nf && k > 0 && (size_t)k < n)
    k += snprintf(buf + k, n - (size_t)k, "; %zu failure%s", nf, nf == 1 ? "" : "s");
  if (s->verdict == AB_INCONCLUSIVE && k > 0 && (size_t)k < n) {
    if (s->more_rounds)
      snprintf(buf + k, n - (size_t)k,
               "; about %zu rounds in all would likely decide (--rounds %zu)%s",
               s->more_rounds, s->more_rounds,
               s->undecidable ? ", though some change sits on the threshold" : "");
    else if (s->undecidable)
      snprintf(buf + k, n - (size_t)k,
               "; a change sits on the threshold: more rounds are unlikely to decide");
  }
}

/* ---- text -------------------------------------------------------------- */

/* Words left (metric, verdict), numbers right; nothing without metrics. */
static int print_table(FILE *out, const ab_set_t *s) {
  size_t n = s->nm + 1;
  cells_t *cells = calloc(n, sizeof *cells);
  const char **ptr = calloc(n * NCOLS, sizeof *ptr);
  int rc = -1;
  if (cells && ptr) {
    for (int c = 0; c < NCOLS; c++)
      snprintf(cells[0].c[c], CELL, "%s", headers[c]);
    for (size_t i = 1; i < n; i++)
      fill_cells(&s->m[i - 1], &cells[i]);
    for (size_t i = 0; i < n; i++)
      for (int c = 0; c < NCOLS; c++)
        ptr[i * NCOLS + (size_t)c] = cells[i].c[c];
    rc = s->nm ? wb_table_print(out, ptr, n, NCOLS, 1u << COL_ID | 1u << COL_VERDICT,
                                NULL, 0)
               : 0;
  }
  free(cells);
  free(ptr);
  return rc;
}

static void print_list(FILE *out, const char *title, const json_t *l, const char *pre) {
  json_t *v;
  size_t i;
  if (!json_array_size(l))
    return;
  fprintf(out, "%s:\n", title);
  json_array_foreach(l, i, v)
    fprintf(out, "%s%s\n", pre, json_string_value(v));
  fputc('\n', out);
}

static int render_text(const ab_set_t *s, const ab_opts_t *o, FILE *out) {
  char buf[1024];
  fprintf(out, "before  %s\n", side_words(o->before_label, s->before_doc, buf, sizeof buf));
  fprintf(out, "after   %s\n", side_words(o->after_label, s->after_doc, buf, sizeof buf));
  fprintf(out, "rounds  %s\n\n", o->dir);
  if (print_table(out, s))
    return -1;
  fputc('\n', out);
  print_list(out, "failures (each is a regression)", s->failures, "  ");
  print_list(out, "warnings", s->warnings, "  ");
  fmt_verdict(s, buf, sizeof buf);
  fprintf(out, "verdict: %s\n", buf);
  fmt_method(s, o, buf, sizeof buf);
  fprintf(out, "method: %s\n", buf);
  return 0;
}

/* ---- Markdown ----------------------------------------------------------- */

static int render_markdown(const ab_set_t *s, const ab_opts_t *o, FILE *out) {
  char buf[1024], b2[512];
  fmt_verdict(s, buf, sizeof buf);
  fprintf(out, "### wpool A/B: %s\n\n", buf);
  fprintf(out, "%s → ", side_words(o->before_label, s->before_doc, b2, sizeof b2));
  fprintf(out, "%s\n\n", side_words(o->after_label, s->after_doc, b2, sizeof b2));
  print_list(out, "**Failures** (each is a regression)", s->failures, "- ");
  fputs("| metric | before | after | ratio | CI | p | verdict |\n", out);
  fputs("|:--|--:|--:|--:|--:|--:|:--|\n", out);
  for (size_t i = 0; i < s->nm; i++) {
    cells_t c;
    char id[CELL + 2];
    fill_cells(&s->m[i], &c);
    snprintf(id, sizeof id, "`%s`", c.c[COL_ID]);
    fputs("|", out);
    wb_md_cell(out, id);
    for (int col = COL_BEFORE; col < NCOLS; col++)
      wb_md_cell(out, c.c[col]);
    fputc('\n', out);
  }
  fmt_method(s, o, buf, sizeof buf);
  fprintf(out, "\n%s\n", buf);
  return 0;
}

/* ---- JSON --------------------------------------------------------------- */

static json_t *side_json(const char *label, const json_t *doc) {
  const json_t *git = json_object_get(doc, "git");
  return json_pack("{s:s, s:O?, s:O?}", "label", label, "commit",
                   json_object_get(git, "commit"), "dirty",
                   json_object_get(git, "dirty"));
}

static json_t *metric_json(const ab_metric_t *x) {
  return json_pack("{s:s, s:s, s:s, s:I, s:o, s:o, s:o, s:[o, o], s:o, s:o, s:s, s:o}",
                   "id", x->id, "unit", x->unit, "better", x->better,
                   "rounds", (json_int_t)x->n, "before", wb_json_num(x->before_med),
                   "after", wb_json_num(x->after_med), "ratio", wb_json_num(x->ratio),
                   "ci", wb_json_num(x->lo), wb_json_num(x->hi), "p", wb_json_num(x->p),
                   "p_holm", wb_json_num(x->p_holm), "verdict", ab_verdict_name(x->verdict),
                   "rounds_to_decide", x->more_rounds ? json_integer((json_int_t)x->more_rounds)
                                                      : json_null());
}

static int render_json(const ab_set_t *s, const ab_opts_t *o, FILE *out) {
  json_t *ms = json_array();
  char summary[1024];
  fmt_verdict(s, summary, sizeof summary);
  for (size_t i = 0; ms && i < s->nm; i++)
    json_array_append_new(ms, metric_json(&s->m[i]));
  json_t *doc = json_pack(
      "{s:s, s:s, s:o, s:o, s:{s:I, s:f, s:f, s:s, s:s, s:s}, s:o, s:O, s:O, s:s, s:s, s:o}",
      "schema", "wpool.ab/1", "dir", o->dir,
      "before", side_json(o->before_label, s->before_doc),
      "after", side_json(o->after_label, s->after_doc),
      "method", "rounds", (json_int_t)s->rounds, "threshold_pct", o->threshold_pct,
      "alpha", o->alpha, "test", "wilcoxon signed-rank, one-sided, paired log ratios",
      "correction", "holm", "ci", "order statistics of the median, 1 - alpha/m each side",
      "metrics", ms, "failures", s->failures, "warnings", s->warnings,
      "verdict", ab_verdict_name(s->verdict), "summary", summary,
      "rounds_to_decide", s->more_rounds ? json_integer((json_int_t)s->more_rounds) : json_null());
  if (!doc || json_dumpf(doc, out, JSON_INDENT(2) | JSON_REAL_PRECISION(12)) != 0) {
    json_decref(doc);
    return -1;
  }
  fputc('\n', out);
  json_decref(doc);
  return 0;
}

int ab_render(const ab_set_t *s, const ab_opts_t *o, FILE *out) {
  switch (o->format) {
  case AB_MARKDOWN: return render_markdown(s, o, out);
  case AB_JSON: return render_json(s, o, out);
  default: return render_text(s, o, out);
  }
}
