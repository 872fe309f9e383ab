/*
 * report.h — build/wpool-report (run it as bench/report): charts and a
 * markdown report from one results file.
 *
 * Owns: the series model every chart is drawn from (rp_set_t: labelled
 * series of (x, median, min, max) points picked from the metrics by their
 * params), the chart context (the output directory, the gnuplot script
 * being written, the markdown being written) and the chart list. Data are
 * read with jansson only; gnuplot draws from .dat files beside the charts,
 * so a chart can be re-drawn or restyled from DIR/charts.gp alone.
 */
#ifndef RP_REPORT_H
#define RP_REPORT_H

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* A string member of o, or "?" (a fact the file lacks shows as such). */
static inline const char *rp_str(const json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "?";
}

/* A number member of o, or NaN (printed "n/a" by units.h). */
static inline double rp_num(const json_t *o, const char *k) {
  const json_t *v = json_object_get(o, k);
  return json_is_number(v) ? json_number_value(v) : NAN;
}

typedef struct rp_point {
  double x, med, min, max;
} rp_point_t;

typedef struct rp_series {
  char label[96];
  char unit[16];            /* the metrics' unit, for the tables */
  rp_point_t *pts;
  size_t n, cap;
} rp_series_t;

typedef struct rp_set {
  rp_series_t *s;
  size_t n, cap;
} rp_set_t;

/* Decides whether metric m (id, params) belongs to a chart: false to skip,
 * or true with its series label and x value filled in. */
typedef bool (*rp_pick_fn)(const char *id, const json_t *params, char *label,
                           size_t cap, double *x, const void *arg);

/* Adds every metric of doc that pick accepts; points sorted by x. 0 or -1
 * (out of memory). */
int rp_collect(const json_t *doc, rp_pick_fn pick, const void *arg, rp_set_t *set);
void rp_set_free(rp_set_t *set);
size_t rp_set_points(const rp_set_t *set);

typedef struct rp_ctx {
  const json_t *doc;
  const char *path;         /* the file read */
  const char *dir;          /* output directory */
  FILE *gp;                 /* DIR/charts.gp */
  FILE *md;                 /* DIR/report.md */
  int charts;               /* charts written so far */
  int datafiles;            /* numbering of DIR/data/NNN.dat */
} rp_ctx_t;

/* A chart's frame: both terminals, titles, axes. */
typedef struct rp_chart {
  const char *name;         /* file stem: NAME.png, NAME.svg */
  const char *title;
  const char *xlabel, *ylabel;
  bool logx, logy;
  const char *extra;        /* more gnuplot settings, or NULL */
} rp_chart_t;

/* Writes the set's series to data files and the gnuplot commands drawing
 * them (lines with min-max error bars) into the script, then the chart's
 * section (image, link to the SVG, a table of the medians) into the
 * markdown. Extra plot clauses (a fitted curve) may be given in
 * more_plot. 0, or -1 on a write error. */
int rp_draw(rp_ctx_t *c, const rp_chart_t *ch, const rp_set_t *set,
            const char *more_plot, const char *xunit);

/* A chart's frame (PNG terminal, titles, axes, grid, legend) and, after
 * its plot command, the same drawn again as NAME.svg: for charts that
 * write their own plot command (tune, load, trend). */
void rp_frame(FILE *gp, const rp_chart_t *ch);
void rp_replot_svg(FILE *gp, const char *name);

/* A new data file DIR/data/NNN.dat, open for writing (NULL on error); its
 * path relative to DIR into rel, for the script. */
FILE *rp_open_dat(rp_ctx_t *c, char *rel, size_t cap);

/* The chart families; each draws nothing when the file has none of its
 * metrics. 0, or -1 on an error (said on stderr). */
int rp_chart_startup(rp_ctx_t *c);
int rp_chart_throughput(rp_ctx_t *c);
int rp_chart_latency(rp_ctx_t *c);
int rp_chart_openloop(rp_ctx_t *c);
int rp_chart_payload(rp_ctx_t *c);
int rp_chart_tune(rp_ctx_t *c);
int rp_chart_peers(rp_ctx_t *c); /* bench/peers files: peers_chart.c */
int rp_chart_load(rp_ctx_t *c);  /* load shapes' series: load_chart.c */
/* Tables without a chart: cost.* and instr.* per point (counts.c). */
int rp_table_counts(rp_ctx_t *c);

/* Ratios to floors: each metric with a floor, its median, the floor's,
 * and the ratio (counts.c). */
int rp_table_floors(rp_ctx_t *c);

/* The report's head: what ran, where, from which commit, placement,
 * build. */
void rp_markdown_head(rp_ctx_t *c, const char *result_path);

/* The other files bench/report reads, each a whole report.md (and its
 * charts): bench/trend --json (trend_chart.c), bench/compare --json and
 * bench/ab --json (verdicts.c). 0, or -1 on a write error. */
int rp_report_trend(rp_ctx_t *c);
int rp_report_compare(rp_ctx_t *c);
int rp_report_ab(rp_ctx_t *c);

/* A verdict as Markdown with the page's colour: raw HTML, which report.md
 * viewers show as the word (verdicts.c). */
void rp_md_verdict(FILE *md, const char *verdict);

/* DIR/report.md as one self-contained page, DIR/report.html (its path
 * into out_path). 0, or -1 (said on stderr) when a file could not be
 * read or written or a chart's SVG is missing. */
int rp_html_write(const char *dir, const char *title, char *out_path, size_t cap);

#endif
