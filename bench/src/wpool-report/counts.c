/*
 * counts.c — the report's tables of per-operation counts: cost counters
 * (cost.*: CPU time, context switches, syscalls) and instruction counts
 * (instr.*). No chart: each is one figure per point, read against the
 * same point of another run (bench/compare), not along an axis.
 *
 * A table per family and kind (per request, per worker start): a row per
 * point (the id after the metric's name, "pipe/checkout/n=1/c=1"), a
 * column per metric name, the median to three significant digits with
 * its unit; an empty cell where the point lacks that metric.
 */
#include <stdio.h>
#include <string.h>

#include "report.h"
#include "results.h"
#include "units.h"

#define RP_MAX_COLS 16
#define RP_MAX_ROWS 64

typedef struct {
  char col[RP_MAX_COLS][48];    /* metric names, first-seen order */
  size_t ncol;
  const char *row[RP_MAX_ROWS]; /* points, first-seen order */
  size_t nrow;
} grid_t;

/* The metric's name within its family ("sup_cpu_us" of
 * "cost.sup_cpu_us/pipe/..."), its length; 0 when m is not of the
 * family, or not of the kind (start: names "start_*"). */
static size_t name_of(const char *id, const char *family, bool start, const char **name) {
  size_t f = strlen(family), n = strcspn(id, "/");
  if (strncmp(id, family, f) != 0 || id[n] != '/') return 0;
  *name = id + f;
  return (strncmp(*name, "start_", 6) == 0) == start ? n - f : 0;
}

static void add_row(grid_t *g, const char *point) {
  for (size_t i = 0; i < g->nrow; i++)
    if (strcmp(g->row[i], point) == 0) return;
  if (g->nrow < RP_MAX_ROWS) g->row[g->nrow++] = point;
}

static void add_col(grid_t *g, const char *name, size_t len) {
  for (size_t i = 0; i < g->ncol; i++)
    if (strlen(g->col[i]) == len && strncmp(g->col[i], name, len) == 0) return;
  if (g->ncol < RP_MAX_COLS && len < sizeof g->col[0])
    snprintf(g->col[g->ncol++], sizeof g->col[0], "%.*s", (int)len, name);
}

static void build(const json_t *metrics, const char *family, bool start, grid_t *g) {
  size_t i;
  const json_t *m;
  json_array_foreach(metrics, i, m) {
    const char *id = json_string_value(json_object_get(m, "id")), *name;
    size_t len = id ? name_of(id, family, start, &name) : 0;
    if (!len) continue;
    add_col(g, name, len);
    add_row(g, name + len + 1);
  }
}

/* The median of the metric family+col+"/"+row, formatted; "" if none. */
static const char *cell(const json_t *metrics, const char *family, const char *col,
                        const char *row, char *buf, size_t cap) {
  char id[256];
  size_t i;
  const json_t *m;
  snprintf(id, sizeof id, "%s%s/%s", family, col, row);
  json_array_foreach(metrics, i, m) {
    const char *mid = json_string_value(json_object_get(m, "id"));
    if (mid && strcmp(mid, id) == 0)
      return wb_fmt_human(json_number_value(json_object_get(m, "median")),
                          json_string_value(json_object_get(m, "unit")), buf, cap);
  }
  return "";
}

static void table(rp_ctx_t *c, const char *family, bool start, const char *title) {
  const json_t *metrics = json_object_get(c->doc, "metrics");
  grid_t g = {0};
  char buf[64];
  build(metrics, family, start, &g);
  if (!g.nrow) return;
  fprintf(c->md, "\n## %s\n\nMedians over the runs; sup: the supervisor, wrk: the "
                 "workers (how each is counted: results/README.md).\n\n| point |", title);
  for (size_t j = 0; j < g.ncol; j++) fprintf(c->md, " %s |", g.col[j]);
  fprintf(c->md, "\n|---|");
  for (size_t j = 0; j < g.ncol; j++) fputs("---:|", c->md);
  for (size_t i = 0; i < g.nrow; i++) {
    fprintf(c->md, "\n| %s |", g.row[i]);
    for (size_t j = 0; j < g.ncol; j++)
      fprintf(c->md, " %s |", cell(metrics, family, g.col[j], g.row[i], buf, sizeof buf));
  }
  fputc('\n', c->md);
}

int rp_table_counts(rp_ctx_t *c) {
  table(c, "cost.", false, "Cost counters per request (cost.*)");
  table(c, "cost.", true, "Cost counters per worker start (cost.start_*)");
  table(c, "instr.", false, "User-space instructions per request, under valgrind (instr.*)");
  table(c, "instr.", true, "User-space instructions per worker start, under valgrind (instr.start_*)");
  return 0;
}

int rp_table_floors(rp_ctx_t *c) {
  const json_t *metrics = json_object_get(c->doc, "metrics"), *m;
  size_t i, rows = 0;
  char a[64], b[64], r[64];
  json_array_foreach(metrics, i, m) {
    const char *floor = json_string_value(json_object_get(m, "floor"));
    const json_t *ratio = json_object_get(m, "ratio_to_floor");
    const json_t *f = floor ? wb_metric_find((json_t *)c->doc, floor) : NULL;
    if (!floor || !json_is_number(ratio)) continue;
    if (!rows++)
      fprintf(c->md, "\n## Ratios to floors\n\nEach figure over the bare version of the same work "
                     "measured in the same run and placement (results/README.md, floors).\n\n"
                     "| metric | median | floor | floor's median | ratio |\n|---|---:|---|---:|---:|\n");
    fprintf(c->md, "| %s | %s | %s | %s | %s |\n", json_string_value(json_object_get(m, "id")),
            wb_fmt_human(json_number_value(json_object_get(m, "median")),
                         json_string_value(json_object_get(m, "unit")), a, sizeof a),
            floor,
            f ? wb_fmt_human(json_number_value(json_object_get(f, "median")),
                             json_string_value(json_object_get(f, "unit")), b, sizeof b)
              : "—",
            wb_fmt_human(json_number_value(ratio), "ratio", r, sizeof r));
  }
  return 0;
}
