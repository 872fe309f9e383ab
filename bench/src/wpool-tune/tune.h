/*
 * tune.h — build/wpool-tune (run it as bench/tune): sweeps pool sizes
 * 1..N under a saturating load, fits the Universal Scalability Law and
 * recommends the smallest pool that reaches the throughput plateau while
 * meeting a P99 SLO.
 *
 * Owns: the options (tune_opts_t), the measured points (tune_point_t) and
 * the verdict (tune_verdict_t). Measuring is sweep.c, fitting and choosing
 * decide.c, the table and the results file output.c.
 *
 * Load: a closed loop with K requests in flight per worker (default 2),
 * pipelined: each worker holds its K in its own pipe (max_inflight K), so
 * the moment it answers one the next is already there. Why closed and not
 * an open-loop probe: tuning asks for capacity, and an open loop must guess
 * a rate before knowing it (too low measures the rate, too high measures a
 * queue). Why pipelined: the question is how many workers the work needs.
 * With checkout (one request per worker at a time, --checkout) every
 * answer leaves the worker idle for a round trip through the supervisor
 * (~0.1-0.2 ms on this VM), and extra workers look useful only because
 * they fill those gaps: the answer then measures the VM's wake-up cost, not
 * the work. K = 2 keeps every worker busy while P99 stays service time
 * plus one request's wait.
 */
#ifndef TUNE_H
#define TUNE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cmdline.h"
#include "payloads.h"
#include "proc.h"
#include "usl.h"
#include "wpool.h"

#define TUNE_MAX_REPS 50

typedef struct tune_opts {
  const char *worker;       /* --worker as given, or NULL (pool default) */
  char **worker_argv;       /* split --worker (owned) */
  wp_transport_t transport;
  uint32_t cpu_us, sleep_us, reply_bytes;  /* --work */
  wb_call_t call;           /* --call: the user's own call instead of Work,
                               on its payloads (cycled) */
  uint64_t slo_p99_ns;      /* 0: no SLO */
  int max_size;             /* sweep 1..max_size */
  int per_worker;           /* requests in flight per worker */
  bool checkout;            /* max_inflight 1 instead of per_worker */
  int reps;
  uint64_t duration_ns;     /* per repetition */
  uint64_t warmup_ns;       /* before each repetition, not measured */
  double plateau;           /* fraction of the best throughput: 0.95 */
  const char *out;          /* --out FILE, or NULL: results/tune/ */
  bool charts;              /* --charts: draw them when the file is saved */
  wb_cpus_t cpus;
  char **connect;           /* --connect: attached workers (owned), or NULL */
  int nconnect;
} tune_opts_t;

/* 0 to run, 1 when --help printed, -1 on a usage error (printed). */
int tune_opts_parse(int argc, char **argv, tune_opts_t *o);
void tune_opts_free(tune_opts_t *o);
json_t *tune_opts_config(const tune_opts_t *o);

typedef struct tune_point {
  int n, c;
  bool ok;
  int err;                  /* WP_E* when !ok */
  double rps[TUNE_MAX_REPS], p50_ms[TUNE_MAX_REPS], p99_ms[TUNE_MAX_REPS];
  double rps_med, p50_med, p99_med;
} tune_point_t;

/* Measures sizes 1..o->max_size into pts[0..max_size); progress on stderr.
 * Returns the number of points that failed. */
int tune_sweep(const tune_opts_t *o, tune_point_t *pts);

typedef struct tune_verdict {
  bool usl_ok;              /* the fit had >= 3 measured sizes */
  wb_usl_t usl;
  double n_star;            /* modelled peak, INFINITY when κ = 0 */
  double best_rps;          /* the best measured median */
  int best_n;
  double target_rps;        /* plateau × best_rps */
  int size;                 /* recommended, 0 when none */
  const tune_point_t *pick; /* its point, or NULL */
  char reason[256];
  bool still_rising;        /* the largest size still gained > 5 % */
} tune_verdict_t;

void tune_decide(const tune_opts_t *o, const tune_point_t *pts, int npts,
                 tune_verdict_t *v);

/* The table and the verdict, for people. */
void tune_print(FILE *f, const tune_opts_t *o, const tune_point_t *pts,
                int npts, const tune_verdict_t *v);
/* The results document (tool "bench/tune"): new reference, NULL on OOM. */
json_t *tune_document(const tune_opts_t *o, const tune_point_t *pts, int npts,
                      const tune_verdict_t *v);
/* --out, else $WPOOL_RESULTS_DIR/tune/<stamp>-<sha>.json plus latest.json.
 * 0, or -1 with errno set; path says which file. */
int tune_write(json_t *doc, const char *out, char *path, size_t cap);

#endif
