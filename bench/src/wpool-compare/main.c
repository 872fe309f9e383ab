/*
 * wpool-compare — compares two saved benchmark runs and says, per metric,
 * regression / improvement / noise / same (rule in report.h).
 *
 * main only wires the steps: parse args (cli), pick the two files (pick),
 * load them (results), match and decide (report), print (render); or,
 * with --noise, replay the rule on every pair of runs of one build (noise).
 * Exit: 0 no regression, 1 regression (a metric worse, missing from AFTER,
 * or a failure AFTER recorded), 2 bad input or usage — always with one line
 * on stderr saying what was wrong.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "cmdline.h"
#include "noise.h"
#include "pick.h"
#include "render.h"
#include "report.h"
#include "results.h"

static int bad_input(const char *what, const char *why) {
  fprintf(stderr, "compare: %s%s%s\n", what ? what : "", what ? ": " : "", why);
  return WB_EXIT_USAGE;
}

static void print_warnings(const json_t *warnings) {
  json_t *w;
  size_t i;
  json_array_foreach(warnings, i, w)
    fprintf(stderr, "compare: warning: %s\n", json_string_value(w));
}

/* Loads both files, compares, prints; the exit code. */
static int compare_files(const cmp_opts_t *o, const char *bpath,
                         const char *apath) {
  json_t *b = NULL, *a = NULL;
  cmp_report_t r = {0};
  char why[512];
  int rc = WB_EXIT_USAGE;
  if (wb_results_load(bpath, &b, why, sizeof why) != 0)
    rc = bad_input(bpath, why);
  else if (wb_results_load(apath, &a, why, sizeof why) != 0)
    rc = bad_input(apath, why);
  else if (cmp_report_build(b, a, o, &r, why, sizeof why) != 0)
    rc = bad_input(NULL, why);
  else if (r.nrows == 0) {
    snprintf(why, sizeof why, "no metric in common between %s and %s", bpath,
             apath);
    rc = bad_input(NULL, why);
  } else {
    print_warnings(r.warnings);
    if (cmp_render(&r, o, (cmp_side_t){bpath, b}, (cmp_side_t){apath, a}, stdout) != 0)
      rc = bad_input(NULL, "out of memory while printing");
    else
      rc = cmp_report_failed(&r) ? WB_EXIT_REGRESSION : WB_EXIT_OK;
  }
  cmp_report_free(&r);
  json_decref(b);
  json_decref(a);
  return rc;
}

int main(int argc, char **argv) {
  cmp_opts_t o;
  char why[512], *bpath = NULL, *apath = NULL;
  int rc = cmp_parse_args(argc, argv, &o, why, sizeof why);
  if (rc == 1)
    rc = WB_EXIT_OK; /* --help */
  else if (rc != 0)
    rc = bad_input(NULL, why);
  else if (o.noise)
    rc = cmp_noise(&o, stdout);
  else if (cmp_pick(&o, &bpath, &apath, why, sizeof why) != 0)
    rc = bad_input(NULL, why);
  else
    rc = compare_files(&o, bpath, apath);
  if (fflush(stdout) != 0 && rc != WB_EXIT_USAGE)
    rc = bad_input("stdout", "write failed");
  free(bpath);
  free(apath);
  cmp_opts_free(&o);
  return rc;
}
