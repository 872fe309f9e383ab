/*
 * proc.h — facts about processes that the commands driving a pool need:
 * the worker command a user typed, the CPUs this process may use and
 * pinning it to some, a process's resident memory, and the programs built
 * beside the running one.
 *
 * Owns: those lookups, once for every command (wpool, bench/baseline,
 * bench/tune). May call: libc and /proc only. Never prints or exits.
 */
#ifndef WB_PROC_H
#define WB_PROC_H

#include <stddef.h>

/* Splits "CMD ARGS" the way a shell would (quotes, no expansion of
 * commands) with wordexp(3). *argv is NULL-terminated; free with
 * wb_argv_free. 0 or -1. */
int wb_split_command(const char *s, char ***argv);
void wb_argv_free(char **argv);
/* Replaces *list (freed) with "a,b,c" split at sep, NULL-terminated (free
 * with wb_argv_free): its count, or -1 when malformed (an empty item; then
 * *list is NULL). */
int wb_split_list(const char *s, char sep, char ***list);

/* A CPU list as --cpus gives it; n == 0: not given (placement inherited). */
#define WB_MAX_CPUS 256
typedef struct wb_cpus {
  int cpu[WB_MAX_CPUS];
  int n;
} wb_cpus_t;

/* "0", "0,1", "0-3,6" into out: its count, or -1 if malformed (out->n is
 * then -1 too). */
int wb_cpus_parse(const char *s, wb_cpus_t *out);
/* Pins this process (and so the workers it spawns) to the CPUs. 0 or -1. */
int wb_cpus_pin(const wb_cpus_t *c);
/* How many CPUs this process may run on (at least 1). */
int wb_cpus_usable(void);
/* The first CPU this process may run on, or -1. */
int wb_cpus_first(void);

/* VmRSS of a process (0: this one) in bytes, or -1. */
long long wb_rss_bytes(int pid);

/* dir(/proc/self/exe)/rel into buf: the programs built beside this one.
 * 0, or -1 (unreadable, or buf too small). */
int wb_sibling_path(const char *rel, char *buf, size_t cap);

#endif
