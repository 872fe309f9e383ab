/*
 * cmdline.h — what the user's commands (wpool, bench/baseline,
 * bench/compare, ...) share at their edges: the exit codes, and the values
 * their options take (durations, sizes, percentages, significance levels,
 * bounded integers and a Work request).
 *
 * Owns: the exit codes and parsing those values. May call: libc only (the statistics library, so
 * bench/compare links no pool). The worker command and CPU lists are
 * drive/proc.h's.
 */
#ifndef WB_CMDLINE_H
#define WB_CMDLINE_H

#include <stddef.h>
#include <stdint.h>

/* Every command's exit status. 1 is a failed run for the commands that
 * measure and a regression for those that judge (compare, ab): either way
 * the CI job fails. */
enum {
  WB_EXIT_OK = 0,
  WB_EXIT_RUNTIME = 1,      /* a run failed */
  WB_EXIT_REGRESSION = 1,   /* compare, ab: a real regression */
  WB_EXIT_USAGE = 2,        /* bad options or input */
  WB_EXIT_INCONCLUSIVE = 3, /* ab: the rounds could not tell */
};

/* Writes a one-line reason into buf (len bytes, truncated) and returns -1:
 * how a parser says what was wrong with the user's input. */
int wb_why(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* "10s", "250ms", "2m", "500us", plain number = seconds → ns. 0 or -1. */
int wb_parse_duration(const char *s, uint64_t *ns);
/* "64", "1k", "16KiB", "1M" → bytes. 0 or -1. */
int wb_parse_size(const char *s, uint64_t *bytes);
/* A percentage: a finite number >= 0, an optional trailing '%'. 0 or -1. */
int wb_parse_pct(const char *s, double *pct);
/* A significance level: a number in (0, 1). 0 or -1. */
int wb_parse_alpha(const char *s, double *alpha);
/* Unsigned decimal within [min, max]. 0 or -1. */
int wb_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* A Work request, "cpu_us=500,sleep_us=0,reply_bytes=64": any subset, any
 * order; what is not named keeps its value. 0 or -1. */
int wb_parse_work(const char *s, uint32_t *cpu_us, uint32_t *sleep_us, uint32_t *reply_bytes);

#endif
