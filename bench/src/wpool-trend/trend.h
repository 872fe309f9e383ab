/*
 * trend.h — build/wpool-trend (run it as bench/trend): the saved runs of
 * one host class and placement, ordered by commit time, one series per
 * metric, with the change points where a level moved.
 *
 * Owns: the history model (runs grouped by host class and placement, in
 * commit order), the series drawn from it, and printing them as a table,
 * Markdown and JSON ("wpool.trend/1"). Change points are the statistics
 * library's (changepoint.h); loading a file is results.h's; charts are
 * bench/report's (it reads the JSON). May call: results, stat, jansson,
 * libc; git (commit times) and wpool-report (charts) as programs.
 */
#ifndef TR_TREND_H
#define TR_TREND_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "changepoint.h"

typedef enum { TR_TEXT, TR_MARKDOWN, TR_JSON } tr_format_t;

typedef struct tr_opts {
  const char *metric;      /* glob on metric ids (fnmatch) */
  const char *dir;         /* results directory */
  const char *since;       /* created_at >= this (text, ISO-8601 prefix), or NULL */
  const char *charts;      /* directory for SVG charts, or NULL */
  tr_format_t format;
  wb_cp_opts_t cp;
} tr_opts_t;

typedef struct tr_run {
  char *path;
  json_t *doc;
  const char *commit;      /* NULL outside a checkout */
  const char *created_at;
  bool dirty;
  long long commit_time;   /* seconds since the epoch; -1 unknown */
} tr_run_t;

typedef struct tr_group {
  char host[320];          /* "CPU model, N CPUs, arch" */
  char placement[128];     /* "cpus 0" or "unpinned" */
  tr_run_t *runs;
  size_t n;
  bool by_commit;          /* ordered by commit time (else by run time) */
  size_t unknown_commits;  /* commits git did not know (then by run time) */
} tr_group_t;

typedef struct tr_history {
  tr_group_t *g;
  size_t n;
  size_t skipped;          /* files that did not load */
} tr_history_t;

/* Loads every *.json of o->dir (not latest.json) made since o->since,
 * groups them, orders each group. 0, or -1 with a one-line reason. */
int tr_history_load(const tr_opts_t *o, tr_history_t *h, char *why, size_t whylen);
void tr_history_free(tr_history_t *h);

typedef struct tr_point {
  size_t run;              /* index into the group's runs */
  double med, min, max;
} tr_point_t;

#define TR_MAX_CPS 16
typedef struct tr_series {
  const char *id, *unit, *better; /* borrowed from the first run holding it */
  tr_point_t *pts;
  size_t n;
  wb_cp_t cp[TR_MAX_CPS];
  size_t ncp;
} tr_series_t;

/* The series of every metric matching o->metric in g, in id order, with
 * their change points. 0, or -1 (out of memory, or a unit that changed:
 * said in why). */
int tr_series_build(const tr_group_t *g, const tr_opts_t *o, tr_series_t **out, size_t *n,
                     char *why, size_t whylen);
void tr_series_free(tr_series_t *s, size_t n);

/* The best and worst medians of s by its better direction. */
void tr_series_best_worst(const tr_series_t *s, double *best, double *worst);
/* "worse" or "better": the direction of change point k for s. */
const char *tr_cp_direction(const tr_series_t *s, size_t k);
/* Change point k of s falls between two runs of one clean commit: the
 * code did not change there, the host did (a neighbour's load, a
 * throttled CPU) — said beside it, so no one bisects for it. */
bool tr_cp_same_commit(const tr_group_t *g, const tr_series_t *s, size_t k);
/* The short commit of run r ("a1b2c3d", "+" when dirty, "?" when none). */
const char *tr_short_commit(const tr_run_t *r, char *buf, size_t cap);

/* Output (output.c): one group's table, as text or Markdown. */
void tr_print_group(FILE *out, const tr_group_t *g, const tr_series_t *s, size_t n,
                    bool markdown);
/* The whole history as a wpool.trend/1 document (NULL: out of memory). */
json_t *tr_json_group(const tr_group_t *g, const tr_series_t *s, size_t n);
json_t *tr_json_doc(const tr_opts_t *o, json_t *groups);

/* Charts: doc (the JSON above) saved as dir/trend.json and drawn by
 * wpool-report beside this program (PNG and SVG per series, report.md,
 * report.html): bench/report draws every chart, trends included. 0, or
 * -1 (said on stderr). */
int tr_charts(const char *dir, json_t *doc);

#endif
