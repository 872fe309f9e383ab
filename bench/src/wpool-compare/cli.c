/* cli.c — wpool-compare's options; see cli.h. */
#include "cli.h"

#include <fnmatch.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"

void cmp_usage(FILE *f) {
  fputs(
      "usage: bench/compare [BEFORE] [AFTER] [options]\n"
      "\n"
      "Compares two saved benchmark runs metric by metric and says, for each,\n"
      "regression / improvement / noise / same. BEFORE and AFTER are results\n"
      "files, or the names 'latest' and 'previous' (the newest and second\n"
      "newest run in the results directory, by created_at). Defaults:\n"
      "BEFORE = previous, AFTER = latest.\n"
      "\n"
      "A metric regresses when its median got worse by more than the\n"
      "threshold AND a two-sided Mann-Whitney U test over the runs gives\n"
      "p < alpha (with fewer than 5 runs on a side, the threshold alone).\n"
      "A metric BEFORE had and AFTER lacks, or a failure AFTER recorded, is a\n"
      "regression too. The last line says, per class (wall, cost,\n"
      "instructions), the smallest change the thresholds could flag.\n"
      "\n"
      "options:\n"
      "  --threshold PCT            change that counts (default 20, or the\n"
      "                             metric's own threshold_pct; given, it is\n"
      "                             the least any metric gets)\n"
      "  --metric-threshold GLOB=PCT  per-metric threshold for ids matching\n"
      "                             GLOB (repeatable; the last match wins)\n"
      "  --alpha A                  significance level (default 0.05)\n"
      "  --markdown                 a table for a pull-request comment\n"
      "  --json                     machine-readable verdicts\n"
      "  --color=auto|never|always  colour the table (auto: on a tty, unless\n"
      "                             NO_COLOR is set)\n"
      "  --results-dir DIR          where 'latest'/'previous' are looked up\n"
      "                             (default $WPOOL_RESULTS_DIR or results)\n"
      "  -h, --help                 this text\n"
      "\n"
      "bench/compare --noise FILE FILE [FILE...]\n"
      "  FILEs are runs of one build on one machine: compares every pair\n"
      "  with the rule above and lists the metrics some pair would call a\n"
      "  regression or an improvement: the machine's own run-to-run noise,\n"
      "  and the --metric-threshold that would have kept each one quiet;\n"
      "  a metric missing from one run, or a recorded failure, fails its pairs.\n"
      "\n"
      "exit: 0 no regression (--noise: every pair quiet), 1 regression\n"
      "(--noise: some pair flagged), 2 bad input or usage\n",
      f);
}

static int opt_threshold(cmp_opts_t *o, const char *v, char *err, size_t n) {
  if (wb_parse_pct(v, &o->threshold_pct) != 0)
    return wb_why(err, n, "--threshold: '%s' is not a percentage", v);
  o->threshold_given = 1;
  return 0;
}

static int opt_alpha(cmp_opts_t *o, const char *v, char *err, size_t n) {
  if (wb_parse_alpha(v, &o->alpha) != 0)
    return wb_why(err, n, "--alpha: '%s' is not a number in (0, 1)", v);
  return 0;
}

/* GLOB=PCT, split at the last '=': metric ids themselves hold '='. */
static int opt_metric_threshold(cmp_opts_t *o, const char *v, char *err,
                                size_t n) {
  const char *eq = strrchr(v, '=');
  double pct;
  if (!eq || eq == v || wb_parse_pct(eq + 1, &pct) != 0)
    return wb_why(err, n, "--metric-threshold: '%s' is not GLOB=PCT", v);
  cmp_metric_threshold_t *t =
      realloc(o->mthr, (o->n_mthr + 1) * sizeof *o->mthr);
  if (!t)
    return wb_why(err, n, "out of memory");
  o->mthr = t;
  t[o->n_mthr].glob = strndup(v, (size_t)(eq - v));
  t[o->n_mthr].pct = pct;
  if (!t[o->n_mthr].glob)
    return wb_why(err, n, "out of memory");
  o->n_mthr++;
  return 0;
}

static int opt_color(cmp_opts_t *o, const char *v, char *err, size_t n) {
  if (strcmp(v, "auto") == 0)
    o->color = CMP_COLOR_AUTO;
  else if (strcmp(v, "never") == 0)
    o->color = CMP_COLOR_NEVER;
  else if (strcmp(v, "always") == 0)
    o->color = CMP_COLOR_ALWAYS;
  else
    return wb_why(err, n, "--color: '%s' is not auto, never or always", v);
  return 0;
}

static int opt_results_dir(cmp_opts_t *o, const char *v, char *err, size_t n) {
  (void)err, (void)n;
  o->results_dir = v;
  return 0;
}

static int opt_format(cmp_opts_t *o, cmp_format_t f, char *err, size_t n) {
  if (o->format != CMP_TEXT && o->format != f)
    return wb_why(err, n, "--markdown and --json exclude each other");
  o->format = f;
  return 0;
}

static int opt_markdown(cmp_opts_t *o, const char *v, char *err, size_t n) {
  (void)v;
  return opt_format(o, CMP_MARKDOWN, err, n);
}

static int opt_json(cmp_opts_t *o, const char *v, char *err, size_t n) {
  (void)v;
  return opt_format(o, CMP_JSON, err, n);
}

static int opt_noise(cmp_opts_t *o, const char *v, char *err, size_t n) {
  (void)v, (void)err, (void)n;
  o->noise = 1;
  return 0;
}

typedef struct {
  const char *name;
  int takes_value;
  int (*apply)(cmp_opts_t *, const char *, char *, size_t);
} opt_def_t;

static const opt_def_t opt_defs[] = {
    {"--threshold", 1, opt_threshold},
    {"--metric-threshold", 1, opt_metric_threshold},
    {"--alpha", 1, opt_alpha},
    {"--color", 1, opt_color},
    {"--results-dir", 1, opt_results_dir},
    {"--markdown", 0, opt_markdown},
    {"--json", 0, opt_json},
    {"--noise", 0, opt_noise},
};

static const opt_def_t *find_opt(const char *arg, size_t namelen) {
  for (size_t i = 0; i < sizeof opt_defs / sizeof opt_defs[0]; i++)
    if (strlen(opt_defs[i].name) == namelen &&
        strncmp(opt_defs[i].name, arg, namelen) == 0)
      return &opt_defs[i];
  return NULL;
}

/* One option at argv[*i], in the form --name, --name=value or --name value. */
static int parse_option(int argc, char **argv, int *i, cmp_opts_t *o,
                        char *err, size_t errlen) {
  const char *arg = argv[*i], *eq = strchr(arg, '=');
  size_t namelen = eq ? (size_t)(eq - arg) : strlen(arg);
  const opt_def_t *d = find_opt(arg, namelen);
  if (!d)
    return wb_why(err, errlen, "unknown option '%s' (see --help)", arg);
  if (!d->takes_value && eq)
    return wb_why(err, errlen, "%s takes no value", d->name);
  const char *val = eq ? eq + 1 : NULL;
  if (d->takes_value && !val) {
    if (*i + 1 >= argc)
      return wb_why(err, errlen, "%s needs a value", d->name);
    val = argv[++*i];
  }
  return d->apply(o, val, err, errlen);
}

static int add_positional(cmp_opts_t *o, const char *arg, char *err,
                          size_t errlen) {
  const char **v = realloc(o->files, (o->nfiles + 1) * sizeof *v);
  if (!v)
    return wb_why(err, errlen, "out of memory");
  o->files = v;
  o->files[o->nfiles++] = arg;
  return 0;
}

/* Once every argument is read: what the positionals mean in this mode. */
static int check_positionals(cmp_opts_t *o, char *err, size_t errlen) {
  if (o->noise) {
    if (o->nfiles < 2)
      return wb_why(err, errlen, "--noise needs at least two results files");
    if (o->format != CMP_TEXT)
      return wb_why(err, errlen, "--noise prints a table only (no --markdown, --json)");
    return 0;
  }
  if (o->nfiles > 2)
    return wb_why(err, errlen, "too many arguments: '%s' (see --help)", o->files[2]);
  o->before = o->nfiles > 0 ? o->files[0] : NULL;
  o->after = o->nfiles > 1 ? o->files[1] : NULL;
  return 0;
}

static void set_defaults(cmp_opts_t *o) {
  const char *dir = getenv("WPOOL_RESULTS_DIR");
  memset(o, 0, sizeof *o);
  o->results_dir = dir && *dir ? dir : "results";
  o->threshold_pct = CMP_DEFAULT_THRESHOLD;
  o->alpha = CMP_DEFAULT_ALPHA;
}

int cmp_parse_args(int argc, char **argv, cmp_opts_t *o, char *err,
                   size_t errlen) {
  int only_positional = 0;
  set_defaults(o);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int rc = 0;
    if (!only_positional && (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)) {
      cmp_usage(stdout);
      return 1;
    }
    if (!only_positional && strcmp(a, "--") == 0)
      only_positional = 1;
    else if (!only_positional && a[0] == '-' && a[1] != '\0')
      rc = parse_option(argc, argv, &i, o, err, errlen);
    else
      rc = add_positional(o, a, err, errlen);
    if (rc != 0)
      return -1;
  }
  return check_positionals(o, err, errlen);
}

void cmp_opts_free(cmp_opts_t *o) {
  for (size_t i = 0; i < o->n_mthr; i++)
    free(o->mthr[i].glob);
  free(o->mthr);
  o->mthr = NULL;
  o->n_mthr = 0;
  free(o->files);
  o->files = NULL;
  o->nfiles = 0;
}

/* --metric-threshold wins; otherwise the metric's own threshold_pct (the
 * measured noise of its class: a cost counter's is far below the default
 * 20 %, a tail percentile's far above), raised to --threshold when one was
 * given; the default applies to metrics without their own. */
double cmp_threshold_for(const cmp_opts_t *o, const char *id, double own_pct) {
  double pct = o->threshold_pct;
  if (own_pct > 0 && (own_pct > pct || !o->threshold_given)) pct = own_pct;
  for (size_t i = 0; i < o->n_mthr; i++)
    if (fnmatch(o->mthr[i].glob, id, 0) == 0)
      pct = o->mthr[i].pct;
  return pct;
}
