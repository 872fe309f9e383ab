/*
 * draw.c — one chart: its data files, its gnuplot commands, its section of
 * the markdown report (see report.h).
 *
 * Every chart is drawn twice from the same commands: PNG (pngcairo) for
 * the report and quick looks, SVG for zooming. Terminals are not
 * "enhanced", so ids such as p99_9 print as written instead of turning
 * into subscripts.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "report.h"
#include "units.h"

#define RP_SIZE "1000,620"
#define RP_FONT "DejaVu Sans,12"

FILE *rp_open_dat(rp_ctx_t *c, char *rel, size_t cap) {
  char path[4096];
  snprintf(rel, cap, "data/%03d.dat", ++c->datafiles);
  snprintf(path, sizeof path, "%s/%s", c->dir, rel);
  return fopen(path, "w");
}

/* Writes one series to DIR/data/NNN.dat; its relative path into rel. */
static int write_dat(rp_ctx_t *c, const rp_series_t *s, char *rel, size_t cap) {
  FILE *f = rp_open_dat(c, rel, cap);
  if (!f) return -1;
  fprintf(f, "# %s\n# x median min max\n", s->label);
  for (size_t i = 0; i < s->n; i++)
    fprintf(f, "%.10g %.10g %.10g %.10g\n", s->pts[i].x, s->pts[i].med, s->pts[i].min,
            s->pts[i].max);
  return fclose(f);
}

void rp_frame(FILE *gp, const rp_chart_t *ch) {
  fprintf(gp, "\n# ---- %s\nreset\n", ch->name);
  fprintf(gp, "set terminal pngcairo noenhanced size " RP_SIZE " font \"" RP_FONT "\"\n");
  fprintf(gp, "set output \"%s.png\"\n", ch->name);
  fprintf(gp, "set title \"%s\"\nset xlabel \"%s\"\nset ylabel \"%s\"\n", ch->title,
          ch->xlabel, ch->ylabel);
  /* Legend under the plot: the plot keeps the full width, and long
   * labels ("floor: bare posix_spawn, sequential") never cover data. */
  fprintf(gp, "set grid\nset key outside below center horizontal\n"
              "set border 3\nset tics nomirror\nset offsets graph 0.02, graph 0.02, 0, 0\n");
  if (ch->logx) fprintf(gp, "set logscale x 2\n");
  /* Axes in SI steps (3.5M, not 3.5x10^6; 1M on a log axis, not 1e+06). */
  if (ch->logy) fprintf(gp, "set logscale y 10\nset format y \"%%.0s%%c\"\n");
  else fprintf(gp, "set yrange [0:*]\nset format y \"%%.1s%%c\"\n");
  if (ch->extra) fprintf(gp, "%s\n", ch->extra);
}

static int plot(rp_ctx_t *c, const rp_set_t *set, const char *more_plot) {
  fprintf(c->gp, "plot ");
  for (size_t i = 0; i < set->n; i++) {
    char rel[64];
    if (write_dat(c, &set->s[i], rel, sizeof rel) != 0) return -1;
    /* Floors dashed: the reference, not a pool. */
    bool floor = strncmp(set->s[i].label, "floor", 5) == 0;
    fprintf(c->gp, "%s\"%s\" using 1:2:3:4 with yerrorlines lw 2 pt 7 ps 0.8%s title \"%s\"",
            i ? ", \\\n     " : "", rel, floor ? " dt 2" : "", set->s[i].label);
  }
  if (more_plot) fprintf(c->gp, "%s%s", set->n ? ", \\\n     " : "", more_plot);
  fprintf(c->gp, "\n");
  return 0;
}

/* The distinct x values of the set, sorted; count. */
static size_t xs_of(const rp_set_t *set, double *xs, size_t cap) {
  size_t n = 0;
  for (size_t i = 0; i < set->n; i++)
    for (size_t k = 0; k < set->s[i].n; k++) {
      double x = set->s[i].pts[k].x;
      size_t j = 0;
      while (j < n && xs[j] < x) j++;
      if ((j < n && xs[j] == x) || n == cap) continue;
      memmove(xs + j + 1, xs + j, (n - j) * sizeof *xs);
      xs[j] = x;
      n++;
    }
  return n;
}

static const rp_point_t *at_x(const rp_series_t *s, double x) {
  for (size_t k = 0; k < s->n; k++)
    if (s->pts[k].x == x) return &s->pts[k];
  return NULL;
}

/* The medians as a markdown table: a row per series, a column per x;
 * values with their unit to three significant digits (units.h). */
static void table(FILE *md, const rp_set_t *set, const char *xunit) {
  double xs[64];
  char b[64];
  size_t nx = xs_of(set, xs, 64);
  fprintf(md, "\n| median \\ %s |", xunit);
  for (size_t j = 0; j < nx; j++) /* sizes, counts: whole; else 3 digits */
    fprintf(md, " %s |", xs[j] == floor(xs[j]) && fabs(xs[j]) < 1e15
                             ? (snprintf(b, sizeof b, "%.0f", xs[j]), b)
                             : wb_fmt_sig3(xs[j], b, sizeof b));
  fprintf(md, "\n|---|");
  for (size_t j = 0; j < nx; j++) fprintf(md, "---:|");
  for (size_t i = 0; i < set->n; i++) {
    fprintf(md, "\n| %s |", set->s[i].label);
    for (size_t j = 0; j < nx; j++) {
      const rp_point_t *p = at_x(&set->s[i], xs[j]);
      if (p) fprintf(md, " %s |", wb_fmt_human(p->med, set->s[i].unit, b, sizeof b));
      else fprintf(md, " |");
    }
  }
  fprintf(md, "\n");
}

void rp_replot_svg(FILE *gp, const char *name) {
  fprintf(gp, "set terminal svg noenhanced size " RP_SIZE " dynamic font \"" RP_FONT "\" background \"white\"\n");
  fprintf(gp, "set output \"%s.svg\"\nreplot\nset output\n", name);
}

int rp_draw(rp_ctx_t *c, const rp_chart_t *ch, const rp_set_t *set,
            const char *more_plot, const char *xunit) {
  rp_frame(c->gp, ch);
  if (plot(c, set, more_plot) != 0) return -1;
  rp_replot_svg(c->gp, ch->name);
  fprintf(c->md, "\n## %s\n\n![%s](%s.png)\n\n[SVG](%s.svg) · error bars: min–max over the runs\n",
          ch->title, ch->title, ch->name, ch->name);
  table(c->md, set, xunit);
  c->charts++;
  return 0;
}
