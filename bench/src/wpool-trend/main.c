/*
 * main.c — build/wpool-trend (run it as bench/trend):
 *
 *   bench/trend [--metric GLOB] [--results-dir DIR] [--since DATE]
 *               [--markdown | --json] [--charts DIR] [--min-change PCT] [--alpha A]
 *
 * Reads every saved run of DIR, groups them by host class and placement
 * (runs.c), orders each group by commit time, and prints per metric the
 * first, last, best and worst median and the change points (E-divisive,
 * changepoint.h). --charts DIR: the same as JSON in DIR/trend.json, drawn
 * by wpool-report (charts.c). Exit: 0 ok, 1 a chart could not be drawn,
 * 2 bad usage or no runs.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "trend.h"

static int usage(FILE *f, int rc) {
  fprintf(f,
          "usage: bench/trend [--metric GLOB] [--results-dir DIR] [--since DATE]\n"
          "                   [--markdown | --json] [--charts DIR] [--min-change PCT] [--alpha A]\n"
          "The saved runs of DIR (default $WPOOL_RESULTS_DIR or results), grouped by host\n"
          "class (CPU model, count, arch) and placement (config.cpus) and ordered by commit\n"
          "time: per metric the first, last, best and worst median and the change points\n"
          "(E-divisive means, permutation test: p < A, default 0.01; a move under PCT,\n"
          "default 10 %%, is not reported). --since keeps runs made at or after DATE\n"
          "(2026-12-01, or a full UTC time). --charts DIR: a chart per metric (PNG, SVG),\n"
          "DIR/report.md and DIR/report.html, by bench/report from DIR/trend.json.\n");
  return rc;
}

static bool is_date(const char *s) {
  return strlen(s) >= 10 && isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[3]) &&
         s[4] == '-' && isdigit((unsigned char)s[5]) && s[7] == '-' && isdigit((unsigned char)s[8]);
}

/* The value of option argv[*i] ("--x V" or "--x=V"), or NULL. */
static const char *value(int argc, char **argv, int *i, const char *name) {
  size_t len = strlen(name);
  if (strncmp(argv[*i], name, len) != 0) return NULL;
  if (argv[*i][len] == '=') return argv[*i] + len + 1;
  if (argv[*i][len] == '\0' && *i + 1 < argc) return argv[++*i];
  return NULL;
}

static int parse(int argc, char **argv, tr_opts_t *o) {
  const char *v, *env = getenv("WPOOL_RESULTS_DIR");
  *o = (tr_opts_t){.metric = "*", .dir = env && *env ? env : "results"};
  wb_cp_opts_init(&o->cp);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage(stdout, WB_EXIT_OK), 1;
    if (!strcmp(a, "--markdown")) o->format = TR_MARKDOWN;
    else if (!strcmp(a, "--json")) o->format = TR_JSON;
    else if ((v = value(argc, argv, &i, "--metric"))) o->metric = v;
    else if ((v = value(argc, argv, &i, "--results-dir"))) o->dir = v;
    else if ((v = value(argc, argv, &i, "--charts"))) o->charts = v;
    else if ((v = value(argc, argv, &i, "--since"))) {
      if (!is_date(v)) return fprintf(stderr, "trend: --since %s: not a date (2026-12-01)\n", v), -1;
      o->since = v;
    } else if ((v = value(argc, argv, &i, "--min-change"))) {
      if (wb_parse_pct(v, &o->cp.min_change_pct) != 0)
        return fprintf(stderr, "trend: --min-change %s: not a percentage\n", v), -1;
    } else if ((v = value(argc, argv, &i, "--alpha"))) {
      if (wb_parse_alpha(v, &o->cp.alpha) != 0)
        return fprintf(stderr, "trend: --alpha %s: not a number in (0, 1)\n", v), -1;
    } else return fprintf(stderr, "trend: unknown option or missing value: %s\n", a), usage(stderr, -1);
  }
  return 0;
}

/* One group: its series, printed and added to the JSON groups. */
static int one_group(const tr_opts_t *o, const tr_group_t *g, json_t *groups) {
  tr_series_t *s;
  size_t n;
  char why[512];
  if (tr_series_build(g, o, &s, &n, why, sizeof why) != 0) {
    fprintf(stderr, "trend: %s\n", why);
    return WB_EXIT_RUNTIME;
  }
  if (n == 0) fprintf(stderr, "trend: %s — %s: no metric matches %s\n", g->host, g->placement, o->metric);
  json_array_append_new(groups, tr_json_group(g, s, n));
  if (o->format != TR_JSON) tr_print_group(stdout, g, s, n, o->format == TR_MARKDOWN);
  tr_series_free(s, n);
  return WB_EXIT_OK;
}

int main(int argc, char **argv) {
  tr_opts_t o;
  int p = parse(argc, argv, &o);
  if (p != 0) return p > 0 ? WB_EXIT_OK : WB_EXIT_USAGE;
  tr_history_t h;
  char why[512];
  if (tr_history_load(&o, &h, why, sizeof why) != 0) {
    fprintf(stderr, "trend: %s\n", why);
    return WB_EXIT_USAGE;
  }
  if (h.n > 1)
    fprintf(stderr, "trend: runs from %zu host classes or placements: each is its own series "
                    "(never mixed)\n", h.n);
  if (o.format == TR_MARKDOWN)
    printf("## Trend of %s (%s)\n\nChange points: E-divisive means, permutation test p < %g, "
           "moves of %g %% and more.\n", o.dir, o.metric, o.cp.alpha, o.cp.min_change_pct);
  json_t *groups = json_array();
  int rc = WB_EXIT_OK;
  for (size_t k = 0; k < h.n; k++) {
    int r = one_group(&o, &h.g[k], groups);
    if (r != WB_EXIT_OK) rc = r;
  }
  json_t *doc = tr_json_doc(&o, groups);
  if (!doc) rc = WB_EXIT_RUNTIME;
  if (doc && o.format == TR_JSON) {
    if (json_dumpf(doc, stdout, JSON_INDENT(2)) != 0) rc = WB_EXIT_RUNTIME;
    fputc('\n', stdout);
  }
  if (doc && o.charts && tr_charts(o.charts, doc) != 0) rc = WB_EXIT_RUNTIME;
  json_decref(doc);
  tr_history_free(&h);
  return rc;
}
