/*
 * costs.h — per-operation cost counters of a process tree: what a window
 * of work cost the supervisor (this process, every thread) and a list of
 * worker processes (every thread of each), in CPU time, context switches
 * and system calls. Divide a window's totals by the operations done in it
 * for per-request figures.
 *
 * Owns: reading the counters and the syscall counters' set-up. Why these:
 * wall-clock figures here drift 1.5-2x with the shared host; the work a
 * request costs in CPU, switches and kernel entries barely does.
 *
 * Sources:
 *   supervisor CPU       CLOCK_PROCESS_CPUTIME_ID (all threads, ns)
 *   supervisor switches  getrusage(RUSAGE_SELF) ru_nvcsw + ru_nivcsw
 *   worker CPU           /proc/PID/task/TID/schedstat field 1 (ns on CPU)
 *   worker switches      /proc/PID/task/TID/status, voluntary + nonvoluntary
 *   syscalls             perf_event_open, PERF_TYPE_TRACEPOINT on
 *                        raw_syscalls:sys_enter, one inheriting counter per
 *                        task of each process (supervisor threads included)
 * Worker figures are summed per thread that lives at the window's end (a
 * thread born in the window counts from zero); a worker thread that exits
 * inside the window takes its CPU and switches with it. Syscall counters
 * inherit, so threads started in the window are counted, and the window's
 * own bookkeeping (reading /proc, a few dozen syscalls) is included.
 *
 * Library code: never prints or exits.
 *
 * May call: libc, /proc and perf_event_open only.
 */
#ifndef WB_COSTS_H
#define WB_COSTS_H

#include <stdbool.h>
#include <stdint.h>

/* What one window cost, totals (not per operation). */
typedef struct wb_cost {
  double sup_cpu_ns, wrk_cpu_ns;
  double sup_csw, wrk_csw;
  double sup_syscalls, wrk_syscalls; /* only when syscalls is true */
  bool syscalls;
} wb_cost_t;

typedef struct wb_costs wb_costs_t;

/* Opens a window over this process and pids[0..npids): snapshots their
 * counters and, when count_syscalls and the kernel allows it, starts the
 * syscall counters. NULL only when out of memory. */
wb_costs_t *wb_costs_begin(const int *pids, int npids, bool count_syscalls);

/* Closes the window: *out = now - then (supervisor first, so reading the
 * workers' counters is not charged to it). Frees w. 0, or -1 when a worker
 * has gone (its figures would be partial; *out is then zeroed). */
int wb_costs_end(wb_costs_t *w, wb_cost_t *out);

/* NULL when syscalls can be counted here, else why not (a static string,
 * "no tracefs: ...", "perf_event_open: Permission denied", ...). Probes
 * once, mounting tracefs at /sys/kernel/tracing if it is not mounted. */
const char *wb_costs_syscalls_unavailable(void);

/* CPU time a process has used since it started, summed over its live
 * threads (ns), into *ns. 0, or -1 when it is gone. */
int wb_costs_proc_cpu_ns(int pid, uint64_t *ns);

/* This process's CPU time so far, all threads (ns). */
uint64_t wb_costs_self_cpu_ns(void);

#endif
