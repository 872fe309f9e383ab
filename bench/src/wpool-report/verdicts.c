/*
 * verdicts.c — report.md for a judgement: the --json of bench/compare
 * (wpool.compare/1) and of bench/ab (wpool.ab/1). No chart: a verdict is
 * one figure per metric against the other side, read in a table; the
 * page colours each verdict (red: regression, green: improvement or no
 * regression, amber: could not tell). The judging is the tools' own;
 * this only shows what they decided.
 */
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "report.h"
#include "table.h"
#include "units.h"

void rp_md_verdict(FILE *md, const char *v) {
  const char *cls = !strcmp(v, "regression") || !strcmp(v, "worse")           ? "v-bad"
                    : !strcmp(v, "improvement") || !strcmp(v, "no regression") ||
                              !strcmp(v, "better")                             ? "v-good"
                    : !strcmp(v, "inconclusive") || !strcmp(v, "incomparable") ||
                              !strcmp(v, "floor-moved")                        ? "v-warn"
                                                                               : "v-same";
  fprintf(md, "<span class=\"%s\">%s</span>", cls, v);
}

static void side(FILE *md, const char *name, const json_t *s) {
  fprintf(md, "| %s | `%s`%s%s%s |\n", name, rp_str(s, "commit"),
          json_is_true(json_object_get(s, "dirty")) ? " (dirty)" : "",
          json_string_value(json_object_get(s, "created_at")) ? ", run at " : "",
          json_string_value(json_object_get(s, "created_at")) ? rp_str(s, "created_at") : "");
}

static void list(FILE *md, const char *title, const json_t *a) {
  size_t i;
  const json_t *v;
  if (!json_array_size(a)) return;
  fprintf(md, "\n%s:\n\n", title);
  json_array_foreach(a, i, v) {
    const char *s = json_string_value(v);
    if (s) fprintf(md, "- %s\n", s);
    else fprintf(md, "- %s: %s\n", rp_str(v, "point"), rp_str(v, "message"));
  }
}

/* The metrics' rows: changed (every verdict but same and noise) or all. */
static void compare_rows(FILE *md, const json_t *metrics, bool changed) {
  size_t i, rows = 0;
  const json_t *m;
  char a[64], b[64], p[32];
  json_array_foreach(metrics, i, m) {
    const char *v = rp_str(m, "verdict");
    if (changed && (!strcmp(v, "same") || !strcmp(v, "noise"))) continue;
    if (!rows++)
      fprintf(md, "\n## %s\n\n| metric | class | before | after | change | threshold | p | verdict |\n"
                  "|---|---|---:|---:|---:|---:|---:|---|\n", changed ? "What changed" : "Every metric");
    wb_fmt_p(p, sizeof p, rp_num(m, "p_value"));
    fprintf(md, "| %s | %s | %s | %s | %+.1f %% | %.0f %% | %s | ", rp_str(m, "id"), rp_str(m, "class"),
            wb_fmt_human(rp_num(m, "before"), rp_str(m, "unit"), a, sizeof a),
            wb_fmt_human(rp_num(m, "after"), rp_str(m, "unit"), b, sizeof b), rp_num(m, "delta_pct"),
            rp_num(m, "threshold_pct"), p);
    rp_md_verdict(md, v);
    fprintf(md, " |\n");
  }
  if (changed && !rows) fprintf(md, "\n## What changed\n\nNothing beyond its threshold.\n");
}

int rp_report_compare(rp_ctx_t *c) {
  const json_t *d = c->doc;
  FILE *md = c->md;
  fprintf(md, "# wpool compare: ");
  rp_md_verdict(md, json_is_true(json_object_get(d, "regression")) ? "regression" : "no regression");
  fprintf(md, "\n\n| | |\n|---|---|\n| file | `%s` |\n", c->path);
  side(md, "before", json_object_get(d, "before"));
  side(md, "after", json_object_get(d, "after"));
  fprintf(md, "| test | Mann–Whitney U, alpha %g; each metric's own threshold |\n", rp_num(d, "alpha"));
  list(md, "Warnings", json_object_get(d, "warnings"));
  /* what changed first: a reader looks for the red rows, not 300 "same" */
  compare_rows(md, json_object_get(d, "metrics"), true);
  compare_rows(md, json_object_get(d, "metrics"), false);
  list(md, "Only in BEFORE (missing in after: a regression)", json_object_get(d, "only_before"));
  list(md, "Only in AFTER", json_object_get(d, "only_after"));
  list(md, "Failed points", json_object_get(d, "failures"));
  return 0;
}

int rp_report_ab(rp_ctx_t *c) {
  const json_t *d = c->doc, *m, *meth = json_object_get(c->doc, "method");
  FILE *md = c->md;
  size_t i;
  char a[64], b[64], p[32];
  fprintf(md, "# wpool A/B: ");
  rp_md_verdict(md, rp_str(d, "verdict"));
  fprintf(md, "\n\n%s\n\n| | |\n|---|---|\n| file | `%s` |\n", rp_str(d, "summary"), c->path);
  side(md, "before", json_object_get(d, "before"));
  side(md, "after", json_object_get(d, "after"));
  fprintf(md, "| method | %.0f interleaved rounds, threshold %g %%, %s, %s correction, alpha %g |\n",
          rp_num(meth, "rounds"), rp_num(meth, "threshold_pct"), rp_str(meth, "test"),
          rp_str(meth, "correction"), rp_num(meth, "alpha"));
  list(md, "Warnings", json_object_get(d, "warnings"));
  fprintf(md, "\n## Metrics\n\nratio = after/before, inverted where higher is better: above 1 is "
              "worse.\n\n| metric | before | after | ratio | CI | p (Holm) | verdict |\n"
              "|---|---:|---:|---:|---:|---:|---|\n");
  json_array_foreach(json_object_get(d, "metrics"), i, m) {
    const json_t *ci = json_object_get(m, "ci");
    wb_fmt_p(p, sizeof p, rp_num(m, "p_holm"));
    /* ratios near 1 keep three decimals: a 0.5 % move is what A/B sees */
    fprintf(md, "| %s | %s | %s | %.3f | %.3f–%.3f | %s | ", rp_str(m, "id"),
            wb_fmt_human(rp_num(m, "before"), rp_str(m, "unit"), a, sizeof a),
            wb_fmt_human(rp_num(m, "after"), rp_str(m, "unit"), b, sizeof b), rp_num(m, "ratio"),
            json_number_value(json_array_get(ci, 0)), json_number_value(json_array_get(ci, 1)), p);
    rp_md_verdict(md, rp_str(m, "verdict"));
    fprintf(md, " |\n");
  }
  list(md, "Failed points", json_object_get(d, "failures"));
  return 0;
}
