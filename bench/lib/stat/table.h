/*
 * table.h — the cells of a report table, shared by the report printers
 * (wpool-ab, wpool-compare): a value with its unit, a p-value, an aligned
 * text row and a Markdown cell.
 *
 * Owns: formatting cells. May call: libc and libm only (statistics
 * library); a number as JSON is results.h's (wb_json_num).
 */
#ifndef WB_TABLE_H
#define WB_TABLE_H

#include <stddef.h>
#include <stdio.h>

/* Terminal columns of a UTF-8 string ("—" is three bytes, one column). */
size_t wb_display_width(const char *s);

/* Enough digits to see a few-percent change, no more: "3.176 us",
 * "303227 req/s", "0.0123 ms"; "—" for NaN. */
void wb_fmt_value(char *buf, size_t n, double v, const char *unit);

/* "0.0123", "<0.0001", "—" for NaN. */
void wb_fmt_p(char *buf, size_t n, double p);

/* A text table: nrows rows of ncols cells, rows[r * ncols + c], the first
 * the header; each column as wide as its widest cell, two spaces apart,
 * numbers right-aligned and the columns whose bit is set in left_mask
 * left-aligned. color[r] (color NULL, or color[r] NULL: none) is the
 * escape code that paints row r's columns in paint_mask, padding included
 * so colour never upsets the alignment. 0, or -1 out of memory. */
int wb_table_print(FILE *out, const char *const *rows, size_t nrows, size_t ncols,
                   unsigned left_mask, const char *const *color, unsigned paint_mask);

/* " s |", with '|' escaped: a Markdown table cell after its opening bar. */
void wb_md_cell(FILE *out, const char *s);

#endif
