/* units.c — three significant digits and a unit (see units.h). */
#include "units.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* v rounded to three significant digits (so 999.7 becomes 1000 before a
 * scale is chosen, and prints as 1.00k rather than 1000). */
static double round3(double v) {
  char b[32];
  snprintf(b, sizeof b, "%.2e", v);
  return strtod(b, NULL);
}

const char *wb_fmt_sig3(double v, char *buf, size_t cap) {
  double r = round3(v);
  if (r == 0) {
    snprintf(buf, cap, "0");
    return buf;
  }
  int mag = (int)floor(log10(fabs(r)));
  int decimals = mag >= 2 ? 0 : 2 - mag;
  snprintf(buf, cap, "%.*f", decimals, mag >= 3 ? v : r);
  return buf;
}

static const struct {
  const char *name, *shown;
  double sec;
} TIMES[] = {{"ns", "ns", 1e-9}, {"us", "µs", 1e-6}, {"ms", "ms", 1e-3}, {"s", "s", 1}};
#define NTIMES (sizeof TIMES / sizeof TIMES[0])

/* A time unit's index in TIMES, or -1. */
static int time_unit(const char *unit) {
  for (size_t i = 0; i < NTIMES; i++)
    if (strcmp(unit, TIMES[i].name) == 0) return (int)i;
  return -1;
}

static const char *fmt_time(double v, int u, char *buf, size_t cap) {
  double sec = round3(v * TIMES[u].sec);
  int k = 0;
  while (k + 1 < (int)NTIMES && fabs(sec) >= TIMES[k + 1].sec) k++;
  if (sec == 0) k = u;
  char num[48];
  wb_fmt_sig3(sec / TIMES[k].sec, num, sizeof num);
  snprintf(buf, cap, "%s %s", num, TIMES[k].shown);
  return buf;
}

const char *wb_fmt_human(double v, const char *unit, char *buf, size_t cap) {
  if (!isfinite(v)) {
    snprintf(buf, cap, "n/a");
    return buf;
  }
  if (!unit) unit = "";
  int u = time_unit(unit);
  if (u >= 0) return fmt_time(v, u, buf, cap);
  static const char prefix[] = {'\0', 'k', 'M', 'G', 'T'};
  double r = round3(v);
  int p = 0;
  while (p < 4 && fabs(r) >= 1000) r /= 1000, v /= 1000, p++;
  char num[48];
  wb_fmt_sig3(v, num, sizeof num);
  if (strcmp(unit, "ratio") == 0) snprintf(buf, cap, "×%s%.1s", num, &prefix[p]);
  else snprintf(buf, cap, "%s%.1s%s%s", num, &prefix[p], *unit ? " " : "", unit);
  return buf;
}
