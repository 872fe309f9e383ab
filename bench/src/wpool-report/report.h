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
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

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

/* The report's head: what ran, where, from which commit. */
void rp_markdown_head(rp_ctx_t *c, const char *result_path);

#endif
