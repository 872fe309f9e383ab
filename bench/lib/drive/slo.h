/*
 * slo.h — thresholds as k6 writes them: "p99<5ms,errors<1%", evaluated at
 * the end of a run into a pass/fail table whose verdict sets the exit code.
 *
 * Owns: parsing a threshold list against the metrics a run can report
 * (each with a kind that fixes its canonical unit), evaluating it, and the
 * table (printed and as JSON). What the metrics are and how they are
 * measured belongs to the caller (profile.h).
 *
 * Syntax: NAME OP NUMBER[UNIT], comma-separated; OP is < <= > >=. Units by
 * kind (canonical first): time ms|us|s, share %, size MiB|B|KiB|GiB, rate
 * /s, count (none); a metric that is a slope per minute takes the same
 * unit followed by "/min" ("1MiB/min", "2/min"). A number without a unit
 * is in the canonical unit.
 *
 * May call: libc, libm and jansson.
 */
#ifndef WB_SLO_H
#define WB_SLO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef enum { WB_K_TIME, WB_K_SHARE, WB_K_SIZE, WB_K_RATE, WB_K_COUNT } wb_kind_t;

/* A metric a run can report: its name, kind, whether it is per minute. */
typedef struct wb_slo_metric {
  const char *name;
  wb_kind_t kind;
  bool per_min;
  const char *what;         /* one line for --help */
} wb_slo_metric_t;

#define WB_SLO_MAX 16

typedef struct wb_slo_rule {
  char text[64];            /* as typed, trimmed */
  const wb_slo_metric_t *m;
  int op;                   /* '<', 'l' (<=), '>', 'g' (>=) */
  double bound;             /* canonical unit */
} wb_slo_rule_t;

typedef struct wb_slo {
  wb_slo_rule_t r[WB_SLO_MAX];
  int n;
} wb_slo_t;

/* Parses spec and appends its rules to s (so --slo and --fail-on can
 * share one list). 0, or -1 with one line in why. */
int wb_slo_parse(const char *spec, const wb_slo_metric_t *known, size_t nknown,
                 wb_slo_t *s, char *why, size_t len);
/* The canonical unit's name of a kind ("ms", "%", "MiB", "req/s", ""). */
const char *wb_slo_unit(wb_kind_t k);
/* Whether value passes rule r (NaN, a value not measured, fails). */
bool wb_slo_pass(const wb_slo_rule_t *r, double value);

/* The values measured, looked up by metric name (NAN: not measured). */
typedef double (*wb_slo_lookup_fn)(const char *name, void *arg);

/* Evaluates every rule: prints the table to f (when non-NULL), returns the
 * number that failed and, when out is non-NULL, the table as a JSON array
 * of {rule, metric, value, unit, pass} (new ref). */
int wb_slo_eval(const wb_slo_t *s, wb_slo_lookup_fn look, void *arg, FILE *f,
                json_t **out);

#endif
