/*
 * output.h — saving a run: --out FILE, or results/<UTC time>-<sha>.json and
 * results/latest.json (see output.c).
 */
#ifndef BL_OUTPUT_H
#define BL_OUTPUT_H

#include <jansson.h>
#include <stddef.h>

/* Writes doc; path receives the file written (or the one that failed).
 * 0, or -1 with errno set. */
int bl_output_write(json_t *doc, const char *out, char *path, size_t cap);

#endif
