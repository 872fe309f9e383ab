/*
 * cli.h — wpool-compare's command line.
 *
 * Owns: the options structure, parsing argv into it (with every check a
 * user can get wrong, reported as one line), and the usage text. Strings
 * point into argv, except the metric-threshold globs (owned copies).
 * Two modes: compare BEFORE AFTER (default), or --noise FILE FILE...
 * (several runs of one build; see noise.h).
 */
#ifndef CMP_CLI_H
#define CMP_CLI_H

#include <stddef.h>
#include <stdio.h>

typedef enum { CMP_TEXT, CMP_MARKDOWN, CMP_JSON } cmp_format_t;
typedef enum { CMP_COLOR_AUTO, CMP_COLOR_NEVER, CMP_COLOR_ALWAYS } cmp_color_t;

/* --metric-threshold GLOB=PCT: metrics whose id matches GLOB (fnmatch) use
 * PCT instead of --threshold; when several match, the last one given wins. */
typedef struct {
  char *glob; /* the argument up to its last '=' (ids contain "n=16") */
  double pct;
} cmp_metric_threshold_t;

typedef struct {
  const char *before;      /* path, "latest", "previous" or NULL (default) */
  const char *after;
  int noise;               /* --noise: files are runs of one build */
  const char **files;      /* every positional argument (into argv) */
  size_t nfiles;
  const char *results_dir; /* --results-dir, else $WPOOL_RESULTS_DIR, else "results" */
  double threshold_pct;    /* default 20 */
  int threshold_given;     /* --threshold was given: a floor for every metric */
  double alpha;            /* default 0.05 */
  cmp_metric_threshold_t *mthr;
  size_t n_mthr;
  cmp_format_t format;
  cmp_color_t color;
} cmp_opts_t;

#define CMP_DEFAULT_THRESHOLD 20.0
#define CMP_DEFAULT_ALPHA 0.05

/* 0 ready to run, 1 help asked (usage printed on stdout), -1 bad usage with
 * a one-line reason in err. Free with cmp_opts_free either way. */
int cmp_parse_args(int argc, char **argv, cmp_opts_t *o, char *err,
                   size_t errlen);
void cmp_opts_free(cmp_opts_t *o);

/* The threshold (percent) that applies to metric id. */
/* own_pct: the metric's threshold_pct field, 0 when absent. */
double cmp_threshold_for(const cmp_opts_t *o, const char *id, double own_pct);

void cmp_usage(FILE *f);

#endif
