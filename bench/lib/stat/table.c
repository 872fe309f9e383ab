/* table.c — cells of report tables; see table.h. */
#include "table.h"

#include <math.h>
#include <stdlib.h>

size_t wb_display_width(const char *s) {
  size_t w = 0;
  for (; *s; s++)
    w += ((unsigned char)*s & 0xC0) != 0x80;
  return w;
}

void wb_fmt_value(char *buf, size_t n, double v, const char *unit) {
  double a = fabs(v);
  if (isnan(v))
    snprintf(buf, n, "—");
  else if (a != 0 && a < 1)
    snprintf(buf, n, "%.3g %s", v, unit);
  else
    snprintf(buf, n, "%.*f %s", a >= 1000 ? 0 : a >= 100 ? 1 : a >= 10 ? 2 : 3, v, unit);
}

void wb_fmt_p(char *buf, size_t n, double p) {
  if (isnan(p))
    snprintf(buf, n, "—");
  else if (p < 0.0001)
    snprintf(buf, n, "<0.0001");
  else
    snprintf(buf, n, "%.4f", p);
}

static void table_row(FILE *out, const char *const *cells, const size_t *w,
                      size_t ncols, unsigned left_mask, const char *color,
                      unsigned paint_mask) {
  for (size_t c = 0; c < ncols; c++) {
    int pad = (int)(w[c] - wb_display_width(cells[c]));
    int left = (left_mask >> c) & 1u;
    int paint = color && ((paint_mask >> c) & 1u);
    /* The last column is not padded on the right: no trailing blanks. */
    fprintf(out, "%s%s%*s%s%*s%s", c ? "  " : "", paint ? color : "", left ? 0 : pad,
            "", cells[c], left && c + 1 < ncols ? pad : 0, "", paint ? "\033[0m" : "");
  }
  fputc('\n', out);
}

int wb_table_print(FILE *out, const char *const *rows, size_t nrows, size_t ncols,
                   unsigned left_mask, const char *const *color, unsigned paint_mask) {
  size_t *w = calloc(ncols ? ncols : 1, sizeof *w);
  if (!w)
    return -1;
  for (size_t r = 0; r < nrows; r++)
    for (size_t c = 0; c < ncols; c++)
      if (wb_display_width(rows[r * ncols + c]) > w[c])
        w[c] = wb_display_width(rows[r * ncols + c]);
  for (size_t r = 0; r < nrows; r++)
    table_row(out, rows + r * ncols, w, ncols, left_mask, color ? color[r] : NULL,
              paint_mask);
  free(w);
  return 0;
}

void wb_md_cell(FILE *out, const char *s) {
  fputs(" ", out);
  for (; *s; s++) {
    if (*s == '|')
      fputc('\\', out);
    fputc(*s, out);
  }
  fputs(" |", out);
}
