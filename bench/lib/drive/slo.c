/* slo.c — see slo.h. */
#include "slo.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct unit {
  const char *suffix;
  wb_kind_t kind;
  double factor;            /* to the canonical unit */
} unit_t;

static const unit_t UNITS[] = {
    {"ms", WB_K_TIME, 1},           {"us", WB_K_TIME, 1e-3},
    {"s", WB_K_TIME, 1e3},          {"%", WB_K_SHARE, 1},
    {"MiB", WB_K_SIZE, 1},          {"B", WB_K_SIZE, 1.0 / 1048576},
    {"KiB", WB_K_SIZE, 1.0 / 1024}, {"GiB", WB_K_SIZE, 1024},
    {"/s", WB_K_RATE, 1},
};

const char *wb_slo_unit(wb_kind_t k) {
  static const char *names[] = {"ms", "%", "MiB", "req/s", ""};
  return names[k];
}

static const wb_slo_metric_t *find_metric(const char *name, size_t len,
                                          const wb_slo_metric_t *known, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (strlen(known[i].name) == len && strncmp(known[i].name, name, len) == 0) return &known[i];
  return NULL;
}

/* "5ms", "1MiB/min", "2/min", "0.5": the number in m's canonical unit. */
static int parse_value(const char *s, const wb_slo_metric_t *m, double *out) {
  char *end;
  double v = strtod(s, &end);
  if (end == s || !isfinite(v)) return -1;
  char unit[16];
  size_t len = strlen(end);
  if (len >= sizeof unit) return -1;
  memcpy(unit, end, len + 1);
  bool per_min = len >= 4 && strcmp(unit + len - 4, "/min") == 0;
  if (per_min) unit[len - 4] = '\0';
  if (per_min != m->per_min && !(per_min == false && unit[0] == '\0')) return -1;
  if (unit[0] == '\0') {
    *out = v;
    return 0;
  }
  for (size_t i = 0; i < sizeof UNITS / sizeof UNITS[0]; i++)
    if (strcmp(UNITS[i].suffix, unit) == 0 && UNITS[i].kind == m->kind) {
      *out = v * UNITS[i].factor;
      return 0;
    }
  return -1;
}

/* One rule "NAME OP VALUE" (spaces allowed around OP). */
static int parse_rule(const char *txt, const wb_slo_metric_t *known, size_t nknown,
                      wb_slo_rule_t *r, char *why, size_t len) {
  const char *op = strpbrk(txt, "<>");
  if (!op) return snprintf(why, len, "'%s': expected NAME<VALUE or NAME>VALUE", txt), -1;
  size_t nlen = (size_t)(op - txt);
  while (nlen && isspace((unsigned char)txt[nlen - 1])) nlen--;
  r->m = find_metric(txt, nlen, known, nknown);
  if (!r->m) {
    int w = snprintf(why, len, "'%s': unknown metric '%.*s' (known:", txt, (int)nlen, txt);
    for (size_t i = 0; i < nknown && w > 0 && (size_t)w < len; i++)
      w += snprintf(why + w, len - (size_t)w, " %s", known[i].name);
    if (w > 0 && (size_t)w < len) snprintf(why + w, len - (size_t)w, ")");
    return -1;
  }
  const char *v = op + 1;
  r->op = *op;
  if (*v == '=') {
    r->op = *op == '<' ? 'l' : 'g';
    v++;
  }
  while (isspace((unsigned char)*v)) v++;
  if (parse_value(v, r->m, &r->bound)) {
    snprintf(why, len, "'%s': bad value '%s' for %s (in %s%s)", txt, v, r->m->name,
             r->m->kind == WB_K_COUNT ? "a plain number" : wb_slo_unit(r->m->kind),
             r->m->per_min ? "/min" : "");
    return -1;
  }
  snprintf(r->text, sizeof r->text, "%s", txt);
  return 0;
}

int wb_slo_parse(const char *spec, const wb_slo_metric_t *known, size_t nknown,
                 wb_slo_t *s, char *why, size_t len) {
  char buf[512];
  if (strlen(spec) >= sizeof buf) return snprintf(why, len, "thresholds too long"), -1;
  memcpy(buf, spec, strlen(spec) + 1);
  for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    while (isspace((unsigned char)*tok)) tok++;
    char *e = tok + strlen(tok);
    while (e > tok && isspace((unsigned char)e[-1])) *--e = '\0';
    if (!*tok) continue;
    if (s->n >= WB_SLO_MAX) return snprintf(why, len, "more than %d thresholds", WB_SLO_MAX), -1;
    if (parse_rule(tok, known, nknown, &s->r[s->n], why, len)) return -1;
    s->n++;
  }
  return 0;
}

bool wb_slo_pass(const wb_slo_rule_t *r, double v) {
  if (isnan(v)) return false;
  switch (r->op) {
  case '<': return v < r->bound;
  case 'l': return v <= r->bound;
  case '>': return v > r->bound;
  default: return v >= r->bound;
  }
}

int wb_slo_eval(const wb_slo_t *s, wb_slo_lookup_fn look, void *arg, FILE *f,
                json_t **out) {
  int failed = 0;
  json_t *arr = out ? json_array() : NULL;
  if (f && s->n) fprintf(f, "%-32s %14s %-9s %s\n", "threshold", "measured", "unit", "verdict");
  for (int i = 0; i < s->n; i++) {
    const wb_slo_rule_t *r = &s->r[i];
    double v = look(r->m->name, arg);
    bool ok = wb_slo_pass(r, v);
    failed += !ok;
    char unit[16];
    snprintf(unit, sizeof unit, "%s%s", wb_slo_unit(r->m->kind), r->m->per_min ? "/min" : "");
    if (f) fprintf(f, "%-32s %14.3f %-9s %s\n", r->text, v, unit, ok ? "pass" : "FAIL");
    if (arr)
      json_array_append_new(arr, json_pack("{s:s, s:s, s:o, s:s, s:b}", "rule", r->text,
                                           "metric", r->m->name,
                                           "value", isnan(v) ? json_null() : json_real(v),
                                           "unit", unit, "pass", ok));
  }
  if (out) *out = arr;
  return failed;
}
