/*
 * tune_chart.c — bench/tune's file: the measured throughput curve with the
 * USL fit over it and the recommended size marked; P50/P99 vs size with
 * the SLO; and the recommendation at the top of the report.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report.h"
#include "units.h"

/* arg "rps": the throughput; "lat": P50 and P99, one series each. */
static bool pick_tune(const char *id, const json_t *p, char *label, size_t cap,
                      double *x, const void *arg) {
  *x = json_number_value(json_object_get(p, "n"));
  if (!strcmp(arg, "rps")) {
    if (strncmp(id, "tune.rps/", 9) != 0) return false;
    snprintf(label, cap, "measured, %s (median, min-max)",
             json_string_value(json_object_get(p, "transport")));
    return true;
  }
  if (strncmp(id, "tune.p50/", 9) == 0) snprintf(label, cap, "P50");
  else if (strncmp(id, "tune.p99/", 9) == 0) snprintf(label, cap, "P99");
  else return false;
  return true;
}

static double get(const json_t *o, const char *k) {
  const json_t *v = json_object_get(o, k);
  return json_is_number(v) ? json_number_value(v) : NAN;
}

/* The recommended size as a dashed vertical line with a label. */
static void mark_choice(char *buf, size_t cap, const json_t *doc) {
  double n = get(json_object_get(doc, "recommendation"), "size");
  double max = get(json_object_get(doc, "config"), "max_size");
  /* Whole workers on the x axis, while there are few enough to label. */
  int len = snprintf(buf, cap, "%s", isfinite(max) && max <= 24 ? "set xtics 1\n" : "");
  if (!isfinite(n)) return;
  snprintf(buf + len, cap - (size_t)len,
           "set arrow from %g, graph 0 to %g, graph 1 nohead dt 2 lw 2 lc rgb \"#2e8b57\"\n"
           "set label \"recommended: %g worker%s\" at %g, graph 0.06 %s tc rgb \"#2e8b57\"",
           n, n, n, n == 1 ? "" : "s", n,
           /* Right of the line, or left of it near the right edge. */
           isfinite(max) && n > max / 2 ? "right offset -0.8,0" : "left offset 0.8,0");
}

static void usl_curve(char *buf, size_t cap, const json_t *usl) {
  double l = get(usl, "lambda"), s = get(usl, "sigma"), k = get(usl, "kappa");
  if (!isfinite(l)) {
    buf[0] = '\0';
    return;
  }
  snprintf(buf, cap,
           "%.10g*x/(1+%.10g*(x-1)+%.10g*x*(x-1)) with lines lw 2 dt 2 lc rgb \"#c0392b\" "
           "title \"USL fit: λ=%.0f/s, σ=%.4f, κ=%.5f\"", l, s, k, l, s, k);
}

static void markdown_verdict(FILE *md, const json_t *doc) {
  const json_t *rec = json_object_get(doc, "recommendation");
  const json_t *usl = json_object_get(doc, "usl");
  const json_t *work = json_object_get(json_object_get(doc, "config"), "work");
  fprintf(md, "\n## Recommendation\n\n");
  fprintf(md, "Work per request: cpu_us=%.0f, sleep_us=%.0f, reply_bytes=%.0f.\n\n",
          get(work, "cpu_us"), get(work, "sleep_us"), get(work, "reply_bytes"));
  char b[3][64]; /* figures as the tables print them: 3 digits, a unit */
  if (isfinite(get(rec, "size")))
    fprintf(md, "**%.0f worker%s**: %s (best measured %s at n=%.0f), P99 %s. %s.\n",
            get(rec, "size"), get(rec, "size") == 1 ? "" : "s",
            wb_fmt_human(get(rec, "rps"), "req/s", b[0], 64), wb_fmt_human(get(rec, "best_rps"), "req/s", b[1], 64),
            get(rec, "best_n"), wb_fmt_human(get(rec, "p99_ms"), "ms", b[2], 64),
            json_string_value(json_object_get(rec, "reason")));
  else
    fprintf(md, "No recommendation: %s.\n", json_string_value(json_object_get(rec, "reason")));
  if (isfinite(get(usl, "lambda"))) {
    double ns = get(usl, "n_star");
    fprintf(md, "\nUSL: λ = %s per worker, σ = %.4f, κ = %.6f (R² %.4f); modelled peak N* = ",
            wb_fmt_human(get(usl, "lambda"), "req/s", b[0], 64), get(usl, "sigma"), get(usl, "kappa"), get(usl, "r2"));
    if (isfinite(ns)) fprintf(md, "%.1f.\n", ns);
    else fprintf(md, "∞ (κ = 0).\n");
  }
}

/* Collects with pick_tune(what) and draws when there is anything. */
static int draw_tune(rp_ctx_t *c, const rp_chart_t *ch, const char *what, const char *more) {
  rp_set_t set;
  int rc = rp_collect(c->doc, pick_tune, what, &set);
  if (rc == 0 && rp_set_points(&set) > 0) rc = rp_draw(c, ch, &set, more, "workers");
  rp_set_free(&set);
  if (rc) fprintf(stderr, "report: %s: cannot write the chart's files\n", ch->name);
  return rc;
}

int rp_chart_tune(rp_ctx_t *c) {
  if (!json_is_object(json_object_get(c->doc, "recommendation"))) return 0;
  markdown_verdict(c->md, c->doc);
  char extra[512], curve[512], slo_line[160] = "";
  mark_choice(extra, sizeof extra, c->doc);
  usl_curve(curve, sizeof curve, json_object_get(c->doc, "usl"));
  rp_chart_t ch = {"tune", "Throughput vs pool size (closed loop) and the USL fit",
                   "pool size (workers)", "throughput (req/s)", false, false, extra};
  if (draw_tune(c, &ch, "rps", curve[0] ? curve : NULL)) return -1;
  double slo = get(json_object_get(c->doc, "config"), "slo_p99_ms");
  if (isfinite(slo))
    snprintf(slo_line, sizeof slo_line,
             "%g with lines dt 3 lw 2 lc rgb \"#c0392b\" title \"P99 SLO (%g ms)\"", slo, slo);
  rp_chart_t lat = {"tune_latency", "Latency vs pool size (closed loop, same runs)",
                    "pool size (workers)", "latency (ms)", false, false, extra};
  return draw_tune(c, &lat, "lat", slo_line[0] ? slo_line : NULL);
}
