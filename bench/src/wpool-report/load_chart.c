/*
 * load_chart.c — the per-interval series of load shapes (wpool load's
 * "load" object, or a baseline metric's "profile"): offered and achieved
 * rate over time above, P99 with the pool's queue depth on a second axis
 * below, the spike's or the stress steps' shape visible at a glance.
 */
#include <stdio.h>
#include <string.h>

#include "report.h"
#include "units.h"

static double num(const json_t *o, const char *k) {
  return json_number_value(json_object_get(o, k));
}

/* DIR/data/NNN.dat: t_s offered achieved p99_ms queue; its relative path. */
static int write_series(rp_ctx_t *c, const json_t *series, char *rel, size_t cap) {
  FILE *f = rp_open_dat(c, rel, cap);
  if (!f) return -1;
  fprintf(f, "# t_s offered_rps achieved_rps p99_ms queue_depth_max\n");
  size_t i;
  const json_t *v;
  json_array_foreach(json_object_get(series, "intervals"), i, v)
    fprintf(f, "%.4f %.6g %.6g %.6g %.0f\n", num(v, "t_ms") / 1e3, num(v, "offered_rps"),
            num(v, "achieved_rps"), num(v, "p99_us") / 1e3, num(v, "queue_depth_max"));
  return fclose(f);
}

/* Two panels, one script section, drawn as PNG then SVG. */
static void script(FILE *gp, const char *name, const char *title, const char *rel) {
  fprintf(gp, "\n# ---- %s\n", name);
  for (int svg = 0; svg < 2; svg++) {
    fprintf(gp, "reset\n");
    if (svg)
      fprintf(gp, "set terminal svg noenhanced size 1000,760 dynamic font \"DejaVu Sans,12\" background \"white\"\n");
    else
      fprintf(gp, "set terminal pngcairo noenhanced size 1000,760 font \"DejaVu Sans,12\"\n");
    fprintf(gp, "set output \"%s.%s\"\nset multiplot layout 2,1 title \"%s\"\n"
                "set grid\nset key top left\nset border 3\nset tics nomirror\n"
                "set ylabel \"req/s\"\nset yrange [0:*]\nset format y \"%%.1s%%c\"\n"
                "plot \"%s\" using 1:2 with steps lw 2 title \"offered\", "
                "\"%s\" using 1:3 with steps lw 2 title \"achieved\"\n"
                "set xlabel \"time (s)\"\nset ylabel \"P99 (ms, per interval)\"\n"
                "set logscale y 10\nset yrange [*:*]\nset format y \"%%g\"\n"
                "set y2label \"queue depth (peak)\"\nset y2tics\nset y2range [0:*]\n"
                "plot \"%s\" using 1:($4 > 0 ? $4 : 1/0) with steps lw 2 title \"P99\", "
                "\"%s\" using 1:5 axes x1y2 with steps lw 2 dt 2 title \"queue depth\"\n"
                "unset multiplot\nset output\n",
            name, svg ? "svg" : "png", title, rel, rel, rel, rel);
  }
}

/* One run: its chart (load_K.png) and a section of the report. */
static int chart(rp_ctx_t *c, const json_t *run, const char *label, int k) {
  const json_t *series = json_object_get(run, "series");
  if (!json_array_size(json_object_get(series, "intervals"))) return 0;
  char rel[64], name[96], title[256];
  if (write_series(c, series, rel, sizeof rel) != 0) return -1;
  snprintf(name, sizeof name, "load_%d", k);
  snprintf(title, sizeof title, "%s %s: rate, P99 and queue depth per %.0f ms",
           json_string_value(json_object_get(run, "profile")), label,
           num(series, "interval_ms"));
  script(c->gp, name, title, rel);
  fprintf(c->md, "\n## %s\n\n![%s](%s.png)\n\n[SVG](%s.svg)\n\n| figure | value |\n|---|---:|\n",
          title, title, name, name);
  const char *key;
  const json_t *v;
  json_object_foreach((json_t *)json_object_get(run, "figures"), key, v)
    if (json_is_number(v)) {
      char b[64];
      fprintf(c->md, "| %s | %s |\n", key, wb_fmt_sig3(json_number_value(v), b, sizeof b));
    }
  c->charts++;
  return 0;
}

int rp_chart_load(rp_ctx_t *c) {
  int k = 0;
  const json_t *load = json_object_get(c->doc, "load");
  if (json_is_object(load)) {
    const json_t *cfg = json_object_get(c->doc, "config");
    char label[96];
    snprintf(label, sizeof label, "(%s, n=%lld)", json_string_value(json_object_get(cfg, "transport")),
             (long long)json_integer_value(json_object_get(cfg, "n")));
    if (chart(c, load, label, ++k)) return -1;
  }
  size_t i;
  const json_t *m;
  json_array_foreach(json_object_get(c->doc, "metrics"), i, m) {
    const json_t *run = json_object_get(m, "profile");
    if (json_is_object(run) && chart(c, run, json_string_value(json_object_get(m, "id")), ++k))
      return -1;
  }
  return 0;
}
