/* opts.c — wpool-ab's command line; see ab.h. */
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ab.h"
#include "cmdline.h"

static void usage(FILE *f) {
  fputs(
      "usage: wpool-ab [options] DIR\n"
      "\n"
      "Judges a directory of interleaved A/B rounds written by bench/ab\n"
      "(DIR/r0001/before-POINT.json, after-POINT.json, ...): per metric, the\n"
      "median of the paired per-round ratios after/before (inverted where\n"
      "higher is better, so > 1 is worse), its confidence bounds, a one-sided\n"
      "Wilcoxon signed-rank p (Holm over the metrics) and a verdict:\n"
      "  regression     p < alpha and median ratio >= 1 + threshold\n"
      "  no regression  the upper bound is below 1 + threshold\n"
      "  inconclusive   neither (with the rounds likely to decide)\n"
      "A run's maximum (*.max, one sample a run) is shown but not judged.\n"
      "A side's failed run, or a metric the after side lost, is a regression.\n"
      "\n"
      "options:\n"
      "  --threshold PCT        slowdown that counts (default 5; see\n"
      "                         results/README.md, bench/ab)\n"
      "  --alpha A              family-wise significance (default 0.01)\n"
      "  --before-label S, --after-label S   names shown for the two sides\n"
      "  --markdown | --json    output form (default a text table)\n"
      "  -h, --help\n"
      "\n"
      "exit: 0 no regression, 1 regression, 2 bad input or usage,\n"
      "3 inconclusive\n",
      f);
}

enum { OPT_THRESHOLD = 1000, OPT_ALPHA, OPT_BLABEL, OPT_ALABEL, OPT_MD, OPT_JSON };

static const struct option longopts[] = {
    {"threshold", required_argument, 0, OPT_THRESHOLD},
    {"alpha", required_argument, 0, OPT_ALPHA},
    {"before-label", required_argument, 0, OPT_BLABEL},
    {"after-label", required_argument, 0, OPT_ALABEL},
    {"markdown", no_argument, 0, OPT_MD},
    {"json", no_argument, 0, OPT_JSON},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0}};

static int one_opt(ab_opts_t *o, int c, const char *v, char *err, size_t n) {
  switch (c) {
  case 'h': usage(stdout); return 1;
  case OPT_THRESHOLD:
    if (wb_parse_pct(v, &o->threshold_pct) || o->threshold_pct <= 0)
      return wb_why(err, n, "--threshold: '%s' is not a percentage > 0", v);
    return 0;
  case OPT_ALPHA:
    if (wb_parse_alpha(v, &o->alpha))
      return wb_why(err, n, "--alpha: '%s' is not a number in (0, 1)", v);
    return 0;
  case OPT_BLABEL: o->before_label = v; return 0;
  case OPT_ALABEL: o->after_label = v; return 0;
  case OPT_MD: o->format = AB_MARKDOWN; return 0;
  case OPT_JSON: o->format = AB_JSON; return 0;
  default: return wb_why(err, n, "unknown option");
  }
}

int ab_opts_parse(int argc, char **argv, ab_opts_t *o, char *err, size_t n) {
  int c;
  *o = (ab_opts_t){.threshold_pct = AB_DEFAULT_THRESHOLD, .alpha = AB_DEFAULT_ALPHA,
                   .before_label = "before", .after_label = "after"};
  opterr = 0;
  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    if (c == '?')
      return wb_why(err, n, "unknown option or missing value: '%s' (see --help)",
                         argv[optind - 1]);
    int rc = one_opt(o, c, optarg, err, n);
    if (rc)
      return rc;
  }
  if (optind != argc - 1)
    return wb_why(err, n, "expected one rounds directory (see --help)");
  o->dir = argv[optind];
  return 0;
}
