/* cmdline.c — see cmdline.h. */
#include "cmdline.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int wb_why(char *buf, size_t len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, len, fmt, ap);
  va_end(ap);
  return -1;
}

int wb_parse_pct(const char *s, double *pct) {
  char *end;
  double v = strtod(s, &end);
  if (end == s) return -1;
  if (*end == '%') end++;
  if (*end != '\0' || !isfinite(v) || v < 0.0) return -1;
  *pct = v;
  return 0;
}

int wb_parse_alpha(const char *s, double *alpha) {
  char *end;
  double v = strtod(s, &end);
  if (end == s || *end != '\0' || !(v > 0.0 && v < 1.0)) return -1;
  *alpha = v;
  return 0;
}

int wb_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out) {
  if (!s || !isdigit((unsigned char)*s)) return -1;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end != '\0' || v < min || v > max) return -1;
  *out = v;
  return 0;
}

/* Splits "12.5ms" into 12.5 and "ms"; -1 when there is no number. */
static int number_unit(const char *s, double *v, const char **unit) {
  if (!s || !(isdigit((unsigned char)*s) || *s == '.')) return -1;
  char *end;
  errno = 0;
  *v = strtod(s, &end);
  if (errno || end == s || *v < 0) return -1;
  *unit = end;
  return 0;
}

int wb_parse_duration(const char *s, uint64_t *ns) {
  double v;
  const char *u;
  if (number_unit(s, &v, &u)) return -1;
  double mul;
  if (*u == '\0' || strcmp(u, "s") == 0) mul = 1e9;
  else if (strcmp(u, "ms") == 0) mul = 1e6;
  else if (strcmp(u, "us") == 0) mul = 1e3;
  else if (strcmp(u, "ns") == 0) mul = 1;
  else if (strcmp(u, "m") == 0) mul = 60e9;
  else return -1;
  *ns = (uint64_t)(v * mul + 0.5);
  return 0;
}

int wb_parse_size(const char *s, uint64_t *bytes) {
  double v;
  const char *u;
  if (number_unit(s, &v, &u)) return -1;
  double mul;
  if (*u == '\0' || strcasecmp(u, "b") == 0) mul = 1;
  else if (strcasecmp(u, "k") == 0 || strcasecmp(u, "kib") == 0 || strcasecmp(u, "kb") == 0) mul = 1024;
  else if (strcasecmp(u, "m") == 0 || strcasecmp(u, "mib") == 0 || strcasecmp(u, "mb") == 0) mul = 1024 * 1024;
  else return -1;
  *bytes = (uint64_t)(v * mul + 0.5);
  return 0;
}

int wb_parse_work(const char *s, uint32_t *cpu_us, uint32_t *sleep_us, uint32_t *reply_bytes) {
  char buf[256];
  if (strlen(s) >= sizeof buf) return -1;
  snprintf(buf, sizeof buf, "%s", s);
  for (char *save = NULL, *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(kv, '=');
    uint64_t v;
    if (!eq || wb_parse_uint(eq + 1, 0, 100000000, &v)) return -1;
    *eq = '\0';
    if (!strcmp(kv, "cpu_us")) *cpu_us = (uint32_t)v;
    else if (!strcmp(kv, "sleep_us")) *sleep_us = (uint32_t)v;
    else if (!strcmp(kv, "reply_bytes")) *reply_bytes = (uint32_t)v;
    else return -1;
  }
  return 0;
}
