/*
 * report.h — matching two results documents and deciding, per metric,
 * whether it regressed.
 *
 * Owns: the pairing of metrics by id, the delta of medians, the
 * Mann–Whitney p-value over the runs, the verdict rule, the lists of
 * metrics present on one side only, and the warnings about comparing runs
 * made in different conditions. Rendering lives in render.h.
 *
 * The rule, per metric (threshold T percent, significance alpha):
 *   delta = (after - before) / |before| · 100, "worse" read through the
 *   metric's better ("lower": delta > 0; "higher": delta < 0);
 *   |delta| <= T                          → same
 *   fewer than CMP_MIN_RUNS on a side     → regression / improvement by the
 *                                           threshold alone ("few runs")
 *   p < alpha                             → regression / improvement
 *   otherwise                             → noise
 * A metric whose unit or better changed between the runs is incomparable.
 *
 * The comparison as a whole fails (cmp_report_failed) on a regression, on a
 * metric BEFORE had and AFTER lacks (a point that stopped working reads as
 * a missing row, the worst regression of all), or on a failure AFTER
 * recorded in its failures[].
 *
 * Classes (results.h: wall, cost, instructions) are judged at their own
 * thresholds; cmp_classes_t says, per class, the smallest change the
 * thresholds that applied can flag.
 */
#ifndef CMP_REPORT_H
#define CMP_REPORT_H

#include <jansson.h>
#include <stddef.h>

#include "cli.h"

#define CMP_MIN_RUNS 5

typedef enum {
  CMP_SAME,
  CMP_NOISE,
  CMP_IMPROVEMENT,
  CMP_REGRESSION,
  CMP_INCOMPARABLE,
  CMP_FLOOR_MOVED, /* a floor.* metric moved: the machine changed, not the code */
  CMP_NVERDICTS
} cmp_verdict_t;

typedef struct {
  const char *id;     /* borrowed from the after document */
  const char *unit;
  const char *better; /* "lower" or "higher" */
  double before;      /* median of the runs */
  double after;
  double delta_pct;   /* signed; ±INFINITY when before is 0 and after not */
  double p;           /* NAN when not computed (few runs, incomparable) */
  size_t n_before, n_after;
  double threshold_pct;
  const char *klass;  /* "wall", "cost" or "instructions" */
  int few_runs;
  cmp_verdict_t verdict;
} cmp_row_t;

/* The thresholds that applied in one class, split by direction: a time
 * or a count (better lower) flags a rise of t %; a rate (better higher)
 * only a fall of t %, i.e. a slowdown of 1 / (1 - t/100). Floors excluded
 * (they never regress). n_* == 0: no such metric compared. */
typedef struct {
  const char *name;
  size_t n_lower, n_higher;
  double lower_min, lower_max;   /* percent */
  double higher_min, higher_max; /* percent */
} cmp_class_t;

#define CMP_NCLASSES 3 /* wall, cost, instructions */

typedef struct {
  cmp_row_t *rows; /* in the after document's order */
  size_t nrows;
  json_t *only_before; /* arrays of id strings */
  json_t *only_after;
  json_t *warnings;    /* array of one-line strings */
  const json_t *failures; /* AFTER's failures[] (borrowed), or NULL */
  size_t counts[CMP_NVERDICTS];
  cmp_class_t classes[CMP_NCLASSES];
} cmp_report_t;

/* Regression, a metric missing from AFTER, or a failure AFTER recorded. */
int cmp_report_failed(const cmp_report_t *r);

/* Builds the report; both documents must outlive it (rows borrow their
 * strings). 0, or -1 with a reason in why (out of memory, unreadable runs). */
int cmp_report_build(json_t *before, json_t *after, const cmp_opts_t *o,
                     cmp_report_t *r, char *why, size_t whylen);
void cmp_report_free(cmp_report_t *r);

const char *cmp_verdict_name(cmp_verdict_t v);

#endif
