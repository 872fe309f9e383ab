/*
 * render.h — printing a comparison report.
 *
 * Owns: the three output forms — an aligned table for a terminal (coloured
 * when asked or on a tty: red regression, green improvement, yellow noise),
 * a Markdown table for a pull-request comment, and a JSON document
 * ("wpool.compare/1") for scripts. Decides nothing: report.h does.
 */
#ifndef CMP_RENDER_H
#define CMP_RENDER_H

#include <jansson.h>
#include <stdio.h>

#include "cli.h"
#include "report.h"

typedef struct {
  const char *path;
  const json_t *doc;
} cmp_side_t;

/* Whether to colour, from --color, NO_COLOR and whether out is a tty. */
int cmp_use_color(cmp_color_t c, FILE *out);

/* Writes the report in o->format to out; 0, or -1 when out of memory. */
int cmp_render(const cmp_report_t *r, const cmp_opts_t *o, cmp_side_t before,
               cmp_side_t after, FILE *out);

#endif
