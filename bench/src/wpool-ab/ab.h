/*
 * ab.h — wpool-ab, the judge of bench/ab: reads a directory of interleaved
 * rounds (each round one fresh run of each build per scenario point) and
 * says, per metric and overall, regression / no regression / inconclusive.
 *
 * Modules: opts.c (command line), rounds.c (loading a rounds directory
 * into paired per-round values and the failures of either side), judge.c
 * (the statistics and the verdict rule), render.c (text, Markdown, JSON).
 *
 * A rounds directory holds one subdirectory per round, r0001, r0002, ...;
 * in each, SIDE-POINT.json (SIDE before or after, POINT a name such as
 * n1-c1) written by wpool-baseline --out, and optionally SIDE-POINT.rc
 * (the run's exit code) and SIDE-POINT.err (its stderr), which bench/ab
 * writes so a failed run is named.
 */
#ifndef AB_H
#define AB_H

#include <jansson.h>
#include <stdio.h>

typedef enum { AB_TEXT, AB_MARKDOWN, AB_JSON } ab_format_t;

typedef struct {
  const char *dir;          /* the rounds directory */
  double threshold_pct;     /* default AB_DEFAULT_THRESHOLD */
  double alpha;             /* family-wise, over all metrics; default 0.01 */
  const char *before_label; /* shown next to each side's commit */
  const char *after_label;
  ab_format_t format;
} ab_opts_t;

/* Why 5 % and not 10 %, and 0.01: see judge.c and results/README.md. */
#define AB_DEFAULT_THRESHOLD 5.0
#define AB_DEFAULT_ALPHA 0.01

/* 0 run, 1 help printed (exit 0), -1 usage error with one line in err. */
int ab_opts_parse(int argc, char **argv, ab_opts_t *o, char *err, size_t n);

/* AB_REPORTED: an extreme (a run's maximum), shown but not judged. */
typedef enum { AB_NO_REGRESSION, AB_REGRESSION, AB_INCONCLUSIVE, AB_REPORTED } ab_verdict_t;
#define AB_NVERDICTS 4

/* One metric's paired values: before[i] and after[i] come from round i. */
typedef struct {
  char *id, *unit, *better;
  double *before, *after;
  size_t n, cap;
  /* Filled by ab_judge. */
  double before_med, after_med; /* medians over the rounds */
  double ratio, lo, hi;         /* median paired ratio, oriented so > 1 is
                                 * worse, and its confidence bounds */
  double p, p_holm;             /* one-sided signed-rank p (slower), Holm */
  size_t more_rounds;           /* inconclusive: rounds likely to decide it
                                 * in all; 0 when not estimable */
  ab_verdict_t verdict;
} ab_metric_t;

typedef struct {
  ab_metric_t *m;
  size_t nm;
  size_t rounds;
  json_t *failures;  /* one-line strings: a side's failed run, a metric the
                      * after side lost */
  json_t *warnings;  /* one-line strings */
  json_t *before_doc, *after_doc; /* round 1's files, for provenance */
  /* Filled by ab_judge. */
  ab_verdict_t verdict;
  size_t njudged;      /* metrics judged: all but the extremes */
  size_t more_rounds;  /* inconclusive: the largest estimate over metrics */
  int undecidable;     /* some inconclusive metric sits on the threshold */
} ab_set_t;

/* Loads dir; 0, or -1 with a one-line reason in why (bad input). */
int ab_rounds_load(const char *dir, ab_set_t *s, char *why, size_t n);
void ab_set_free(ab_set_t *s);

/* Decides every metric but the extremes, and the whole; 0 or -1 (out of
 * memory). */
int ab_judge(ab_set_t *s, const ab_opts_t *o);

const char *ab_verdict_name(ab_verdict_t v);

/* Writes the report in o->format; 0 or -1 (out of memory). */
int ab_render(const ab_set_t *s, const ab_opts_t *o, FILE *out);

#endif
