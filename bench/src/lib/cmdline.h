/*
 * cmdline.h — small parsers shared by the user's commands (wpool,
 * wpool-baseline, ...): a worker command string, a CPU list, durations,
 * sizes, and pinning the current process.
 */
#ifndef WB_CMDLINE_H
#define WB_CMDLINE_H

#include <stddef.h>
#include <stdint.h>

/* Splits "CMD ARGS" the way a shell would (quotes, no expansion of
 * commands) with wordexp(3). *argv is NULL-terminated; free with
 * wb_argv_free. 0 or -1. */
int wb_split_command(const char *s, char ***argv);
void wb_argv_free(char **argv);

/* "0", "0,1", "0-3,6": fills cpus (up to max); count, or -1 if malformed. */
int wb_parse_cpus(const char *s, int *cpus, int max);
/* Pins this process (and so the workers it spawns) to the CPUs. 0 or -1. */
int wb_pin_self(const int *cpus, int n);

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
