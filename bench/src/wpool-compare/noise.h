/*
 * noise.h — how much runs of one build differ on this machine
 * (bench/compare --noise FILE FILE...).
 *
 * Owns: replaying the regression rule (report.h, with the thresholds of
 * cli.h and each metric's own) on every pair of the given runs in both
 * orders, and the table of the metrics some order called a regression:
 * how often, the largest such change, and the threshold that would have
 * kept that metric quiet. Runs of one build
 * should never be flagged; what is, is the machine's run-to-run noise for
 * that metric, which is what a per-metric threshold should sit above.
 * Decides nothing new: report.c decides, this counts.
 */
#ifndef CMP_NOISE_H
#define CMP_NOISE_H

#include <stdio.h>

#include "cli.h"

/* Loads o->files, compares every pair, prints the table to out. Returns
 * the exit code: 0 every pair quiet, 1 some pair flagged, 2 bad input
 * (with one line on stderr). */
int cmp_noise(const cmp_opts_t *o, FILE *out);

#endif
