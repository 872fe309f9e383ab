/*
 * baseline.h — build/wpool-baseline, the benchmark suite behind
 * bench/baseline.
 *
 * Owns: the options (bl_opts_t), the context every scenario runs in
 * (wb_ctx_t), the scenario type and the registry (wb_scenario_t,
 * bl_scenarios), and the services scenarios share: adding metrics with a
 * link to their floor, progress on stderr, the pool options of a point.
 * Measuring lives in the scn_*.c files, the floors in floor.h, the ping
 * grid in ping.h, printing in summary.c, files in output.c.
 *
 * Adding a scenario: write scn_<name>.c exporting
 *   const wb_scenario_t scn_<name> = {"name", "what it measures", run};
 * declare it at the bottom of this header and add one line to the table in
 * registry.c. run() adds metrics to ctx->doc with bl_metric(); a point that
 * fails is reported with bl_fail_point() (or bl_fail()) and skipped, the
 * others still run; the results file records it in failures[].
 */
#ifndef BL_BASELINE_H
#define BL_BASELINE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "charts.h"
#include "cmdline.h"
#include "payloads.h"
#include "proc.h"
#include "wpool.h"

#define BL_MAX_LIST 32

/* A list of small positive integers given as "1,2,4". */
typedef struct bl_list {
  int n;
  int v[BL_MAX_LIST];
} bl_list_t;

typedef struct bl_opts {
  bool quick;
  wp_transport_t transports[2];
  int ntransports;
  bl_list_t sizes;          /* pool sizes: throughput, latency, memory */
  bl_list_t startup_sizes;  /* startup and the spawn floor */
  int startup_grpc_max;     /* gRPC startup skips sizes above this */
  bl_list_t conc;           /* requests in flight: ping and pipe/gRPC floors */
  int startup_reps, ping_reps, mem_reps;
  uint64_t requests;        /* answered requests per ping repetition */
  uint64_t warmup;          /* answered before each ping repetition */
  uint32_t payload;         /* ping payload bytes */
  const char *worker;       /* --worker as given, or NULL (the default) */
  char **worker_argv;       /* split --worker (owned), or NULL */
  wb_cpus_t cpus;           /* n 0: placement not set (inherited) */
  bool cpus_set;            /* --cpus given (all: cpus.n 0, no preset pin) */
  const char *out;          /* --out FILE, or NULL: the results directory */
  uint32_t only;            /* bit i selects bl_scenarios[i] */
  bool charts;              /* --charts: draw them when the file is saved */
  bool no_bare_pool;        /* --no-bare-pool: no bare C pool beside pipe points */
  wb_call_t call;           /* the user's workload (scn_workload): --call,
                               its payloads loaded at parse time */
  wp_spawn_t spawns[2];     /* --spawn: startup's spawn modes (default exec) */
  int nspawns;
  char **connect;           /* --connect targets (owned), or NULL: the
                               remote scenario's attached workers */
  int nconnect;
} bl_opts_t;

/* Parses argv into o (defaults, --quick presets, then the options).
 * 0 to run, 1 when --help/--list printed (exit 0), -1 on a usage error
 * (one line printed; exit 2). */
int bl_opts_parse(int argc, char **argv, bl_opts_t *o);
void bl_opts_free(bl_opts_t *o);
/* Every option as resolved, for the results' config object (new ref). */
json_t *bl_opts_config(const bl_opts_t *o);

typedef struct bl_ping_grid bl_ping_grid_t;

/* What a scenario gets: the options, the document it adds metrics to, a
 * libuv loop to run pools on, and the ping grid shared by the throughput
 * and latency scenarios (measured once, by whichever runs first). */
typedef struct wb_ctx {
  const bl_opts_t *opt;
  json_t *doc;
  uv_loop_t *loop;
  bl_ping_grid_t *ping;     /* NULL until measured (ping.c) */
  int failures;             /* points that failed (bl_fail) */
  bool one_cpu;             /* the suite runs on a single CPU (metrics.c) */
  uint64_t t_start;         /* when the suite began, for progress */
  const char *scenario;     /* the one running, for progress lines */
} wb_ctx_t;

typedef struct wb_scenario {
  const char *name;         /* what --only names it by */
  const char *what;         /* one line for --list */
  void (*run)(wb_ctx_t *ctx);
} wb_scenario_t;

/* The registry: every scenario in the order the suite runs them. */
extern const wb_scenario_t *const bl_scenarios[];
extern const size_t bl_nscenarios;
/* Index of a scenario by name, or -1. */
int bl_scenario_find(const char *name);
/* Whether scenario i runs only when --only names it (the long ones). */
bool bl_scenario_opt_in(size_t i);

/* ---- services for scenarios (metrics.c, progress.c, pool.c) ------------ */

/* Adds a metric (id printf-formatted) to ctx->doc; params stolen. Returns
 * the metric, or NULL after reporting why (the run then counts a failure). */
json_t *bl_metric(wb_ctx_t *c, const char *unit, const char *better,
                  json_t *params, const double *runs, size_t n,
                  const char *idfmt, ...) __attribute__((format(printf, 7, 8)));
/* Names the floor metric m is to be read against (id printf-formatted).
 * bl_floors_resolve later turns it into ratio_to_floor, or drops it when
 * that floor was not measured in this run. */
void bl_link_floor(json_t *m, const char *idfmt, ...)
    __attribute__((format(printf, 2, 3)));
void bl_floors_resolve(json_t *doc);
/* Records in doc's config how the cost counters were read, and why
 * syscalls are not counted where they can't be (cost_counters.syscalls
 * "unavailable: ..."; the syscall metrics are then omitted). */
void bl_costs_config(json_t *doc);

/* A live status line on a terminal (overwritten), nothing otherwise. */
void bl_status(wb_ctx_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A finished point: a plain line when stderr is not a terminal, the live
 * line when it is. */
void bl_done(wb_ctx_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A failure: always a line on stderr; counts in c->failures and is
 * recorded in the results' failures[] (scenario, message). */
void bl_fail(wb_ctx_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A line that stays on stderr (a scenario skipped, and why); not a failure. */
void bl_note(wb_ctx_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A point that failed with a WP_E* code: the line "<point>: <strerror>
 * (<errname>)" (point printf-formatted, e.g. "pipe n=4"), and failures[]
 * gets the point and the error name apart. */
void bl_fail_point(wb_ctx_t *c, int err, const char *pointfmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Clears the live line (before the summary). */
void bl_status_end(void);

/* The pool options of a benchmark point: the --worker command, no restarts
 * (a worker that dies must fail the point, not be papered over). */
void bl_pool_options(const wb_ctx_t *c, wp_transport_t t, int size,
                     wp_options_t *o);
/* The suite's placement as floors record it (params.placement): "cpus
 * LIST" when pinned, "unpinned" otherwise. */
void bl_placement(const bl_opts_t *o, char *buf, size_t cap);

/* ---- the scenarios (one file each; the table is in registry.c) ---------- */

extern const wb_scenario_t scn_floors;
extern const wb_scenario_t scn_startup;
extern const wb_scenario_t scn_throughput;
extern const wb_scenario_t scn_latency;
extern const wb_scenario_t scn_openloop;
extern const wb_scenario_t scn_payload;
extern const wb_scenario_t scn_memory;
extern const wb_scenario_t scn_remote;
extern const wb_scenario_t scn_recovery;
extern const wb_scenario_t scn_workload;
extern const wb_scenario_t scn_instructions;
extern const wb_scenario_t scn_stress, scn_spike, scn_soak; /* scn_loads.c */

#endif
