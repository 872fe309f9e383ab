/*
 * trend_chart.c — report.md for bench/trend's JSON (wpool.trend/1): per
 * group (host class and placement) a table of its series, then a chart
 * per series: each run's median as a line over its min–max band, one
 * point per run in commit order with the commits on the x axis, and the
 * change points as dashed red lines labelled with the move.
 */
#include <math.h>
#include <string.h>

#include "report.h"
#include "units.h"

/* The short commit of run r of the group ("a1b2c3d", "+" if dirty). */
static const char *commit_of(const json_t *runs, json_int_t r, char *buf, size_t cap) {
  const json_t *run = json_array_get(runs, (size_t)r);
  snprintf(buf, cap, "%.7s%s", rp_str(run, "commit"), json_is_true(json_object_get(run, "dirty")) ? "+" : "");
  return buf;
}

/* x median min max "commit": every k-th commit named so they stay legible. */
static int write_dat(rp_ctx_t *c, const json_t *runs, const json_t *pts, char *rel, size_t cap) {
  FILE *f = rp_open_dat(c, rel, cap);
  if (!f) return -1;
  size_t n = json_array_size(pts), every = n > 40 ? (n + 39) / 40 : 1, i;
  const json_t *p;
  char cm[16];
  json_array_foreach(pts, i, p)
    fprintf(f, "%zu %.10g %.10g %.10g \"%s\"\n", i, rp_num(p, "median"), rp_num(p, "min"), rp_num(p, "max"),
            i % every ? "" : commit_of(runs, json_integer_value(json_object_get(p, "run")), cm, sizeof cm));
  return fclose(f);
}

/* The index in the series' points of the point of run r. */
static size_t point_of_run(const json_t *pts, json_int_t r) {
  size_t i;
  const json_t *p;
  json_array_foreach(pts, i, p) if (json_integer_value(json_object_get(p, "run")) == r) return i;
  return 0;
}

static int chart(rp_ctx_t *c, const json_t *runs, const json_t *s, size_t g, size_t k) {
  const json_t *pts = json_object_get(s, "points"), *cp;
  char rel[64], name[64], ylabel[96], extra[4096];
  size_t len = 0, i;
  if (!json_array_size(pts)) return 0;
  if (write_dat(c, runs, pts, rel, sizeof rel) != 0) return -1;
  snprintf(name, sizeof name, "trend_%zu_%zu", g + 1, k + 1);
  snprintf(ylabel, sizeof ylabel, "%s (%s is better)", rp_str(s, "unit"), rp_str(s, "better"));
  len += (size_t)snprintf(extra, sizeof extra, "set grid noxtics\nset xtics rotate by -60 font \",9\"\nset xrange [-0.5:%zu]",
                          json_array_size(pts) - 1 + (json_array_size(pts) == 1));
  json_array_foreach(json_object_get(s, "change_points"), i, cp) {
    double x = (double)point_of_run(pts, json_integer_value(json_object_get(cp, "run"))) - 0.5;
    if (len < sizeof extra)
      len += (size_t)snprintf(extra + len, sizeof extra - len,
                              "\nset arrow from %g, graph 0 to %g, graph 1 nohead lw 2 dt 2 lc rgb \"#c0392b\""
                              "\nset label \"%+.1f %%\" at %g, graph 0.96 left offset 0.4,0 tc rgb \"#c0392b\"",
                              x, x, rp_num(cp, "change_pct"), x);
  }
  rp_chart_t ch = {name, rp_str(s, "id"), "commit (oldest left), one point per run", ylabel, false, false, extra};
  rp_frame(c->gp, &ch);
  fprintf(c->gp, "plot \"%s\" using 1:3:4 with filledcurves lc rgb \"#aec7e8\" title \"min-max of each run\", \\\n"
                 "     \"\" using 1:2:xtic(5) with linespoints lw 2 pt 7 ps 0.6 lc rgb \"#1f77b4\" title \"median\"%s\n",
          rel, json_array_size(json_object_get(s, "change_points"))
                   ? ", \\\n     NaN with lines lw 2 dt 2 lc rgb \"#c0392b\" title \"change point\"" : "");
  rp_replot_svg(c->gp, name);
  fprintf(c->md, "\n### %s\n\n![%s](%s.png)\n\n[SVG](%s.svg) · band: min–max of each run's repetitions\n",
          rp_str(s, "id"), rp_str(s, "id"), name, name);
  c->charts++;
  return 0;
}

static void change_points(FILE *md, const json_t *runs, const json_t *s) {
  size_t i;
  const json_t *cp;
  char cm[16];
  if (!json_array_size(json_object_get(s, "change_points"))) fputs("—", md);
  json_array_foreach(json_object_get(s, "change_points"), i, cp) {
    json_int_t r = json_integer_value(json_object_get(cp, "run"));
    fprintf(md, "%srun %lld `%s` %+.1f %% ", i ? "; " : "", (long long)r + 1,
            commit_of(runs, r, cm, sizeof cm), rp_num(cp, "change_pct"));
    rp_md_verdict(md, rp_str(cp, "direction"));
    if (json_is_true(json_object_get(cp, "same_commit"))) fputs(" (same commit: the host)", md);
  }
}

static void table(FILE *md, const json_t *runs, const json_t *series) {
  size_t i;
  const json_t *s;
  char b[4][64];
  fprintf(md, "| metric | runs | first | last | best | worst | change points |\n"
              "|---|---:|---:|---:|---:|---:|---|\n");
  json_array_foreach(series, i, s) {
    const char *u = rp_str(s, "unit");
    fprintf(md, "| %s | %zu | %s | %s | %s | %s | ", rp_str(s, "id"),
            json_array_size(json_object_get(s, "points")), wb_fmt_human(rp_num(s, "first"), u, b[0], 64),
            wb_fmt_human(rp_num(s, "last"), u, b[1], 64), wb_fmt_human(rp_num(s, "best"), u, b[2], 64),
            wb_fmt_human(rp_num(s, "worst"), u, b[3], 64));
    change_points(md, runs, s);
    fputs(" |\n", md);
  }
}

int rp_report_trend(rp_ctx_t *c) {
  const json_t *d = c->doc, *m = json_object_get(d, "method"), *g, *s;
  size_t i, k;
  fprintf(c->md, "# wpool trend: %s\n\n| | |\n|---|---|\n| file | `%s` |\n| results | `%s` |\n"
                 "| change points | %s: p < %g (%.0f permutations), segments of %.0f runs or more, "
                 "moves of %g %% and more |\n",
          rp_str(d, "metric"), c->path, rp_str(d, "results_dir"), rp_str(m, "name"), rp_num(m, "alpha"),
          rp_num(m, "perms"), rp_num(m, "min_seg"), rp_num(m, "min_change_pct"));
  json_array_foreach(json_object_get(d, "groups"), i, g) {
    const json_t *runs = json_object_get(g, "runs");
    fprintf(c->md, "\n## %s — %s\n\n%zu runs, ordered by %s.\n\n", rp_str(g, "host"),
            rp_str(g, "placement"), json_array_size(runs), rp_str(g, "order"));
    table(c->md, runs, json_object_get(g, "series"));
    json_array_foreach(json_object_get(g, "series"), k, s)
      if (chart(c, runs, s, i, k) != 0) return -1;
  }
  return 0;
}
