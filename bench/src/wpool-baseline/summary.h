/*
 * summary.h — the human summary printed at the end of a run (summary.c).
 */
#ifndef BL_SUMMARY_H
#define BL_SUMMARY_H

#include <jansson.h>
#include <stdio.h>

#include "baseline.h"

/* One screen, wrk-style, read from the finished document (so it shows
 * exactly what was saved): start-up, floors, ping throughput and latency
 * with their ratios to the floors, memory. */
void bl_summary_print(FILE *f, const bl_opts_t *o, const json_t *doc,
                      const char *path, double elapsed_s);

#endif
