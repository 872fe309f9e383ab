/*
 * profile.h — load shapes on an up pool, as k6 names them: stress (rate
 * steps until an objective breaks), spike (steady, N x for a few seconds,
 * back) and soak (a steady rate for a long time, watching for growth).
 *
 * Owns: running a shape with wb_run_open (load.h), the per-interval
 * series every shape fills (series.h), and what each shape reports (the
 * breaking point and the curve; peak queue, refused, timed out and the
 * recovery time; the slopes of memory, descriptors and P99), by name for
 * thresholds (slo.h). The pool, its options (recycling for a soak) and the
 * printing belong to the caller.
 *
 * Every rate is a share of the capacity, measured first on the same pool
 * (a closed loop, one request per worker slot in flight) unless the caller
 * gives it.
 *
 * May call: load, series, slo, proc (drive/), jansson and libwpool.
 */
#ifndef WB_PROFILE_H
#define WB_PROFILE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "load.h"
#include "series.h"
#include "slo.h"

typedef enum { WB_STRESS, WB_SPIKE, WB_SOAK } wb_shape_t;

/* "stress"/"spike"/"soak": 0, or -1. */
int wb_shape_parse(const char *s, wb_shape_t *out);
const char *wb_shape_name(wb_shape_t s);

/* The metrics a shape reports, for wb_slo_parse (count in *n). */
const wb_slo_metric_t *wb_shape_metrics(wb_shape_t s, size_t *n);

typedef struct wb_profile {
  wb_shape_t shape;
  wp_request_t req;         /* template: kind, payload, work */
  const wb_payload_t *set;  /* the user's payloads (load.h), or NULL */
  size_t nset;
  uint64_t stall_ns;        /* as in wb_open_t */
  uint64_t interval_ns;     /* series interval (0: 100 ms) */
  double capacity;          /* req/s; 0: measured first */
  int slots;                /* requests in flight for the capacity loop */
  /* stress: rate steps of step_pct % of the capacity from step_pct %, each
   * step_ns long, until a step breaks slo twice in a row or max_pct. */
  double step_pct, max_pct;
  uint64_t step_ns;
  const wb_slo_t *slo;
  /* spike: base_pct % of the capacity for before_ns, factor x that for
   * spike_ns, back for after_ns; recovered when recover_windows windows in
   * a row have a P99 within recover_pct % of the pre-spike P99 (the 90th
   * percentile of the pre-spike windows' P99s). */
  double base_pct, factor, recover_pct;
  int recover_windows;
  uint64_t before_ns, spike_ns, after_ns;
  /* soak: rate_pct % of the capacity for duration_ns, sampled every
   * sample_ns (memory, descriptors, the P99 of that stretch). */
  double rate_pct;
  uint64_t duration_ns, sample_ns;
} wb_profile_t;

/* Fills the defaults of a shape (quick: each well under a minute). */
void wb_profile_defaults(wb_profile_t *p, wb_shape_t shape, bool quick);

#define WB_MAX_STEPS 64
#define WB_MAX_SAMPLES 1024

typedef struct wb_step {
  double rate, achieved;    /* req/s */
  double p50_ms, p99_ms, errors_pct;
  bool held;
} wb_step_t;

typedef struct wb_sample {
  double t_s;               /* since the soak began */
  /* supervisor: this process less the series' own memory (it grows by
   * design); worker: the mean over live workers */
  double sup_rss_mib, worker_rss_mib;
  double fds, p99_ms;       /* fds: the supervisor's open descriptors */
} wb_sample_t;

typedef struct wb_profile_result {
  double capacity;
  wb_series_t series;
  wb_hist_t *lat;           /* every measured answer, from intended time */
  uint64_t sent, ok, failed, unsent;
  double elapsed_s;
  uint64_t err[WB_SERIES_NERR]; /* failed by -code */
  wb_stall_t stall;
  /* stress */
  wb_step_t steps[WB_MAX_STEPS];
  int nsteps;
  double breaking_point;    /* last rate that held, req/s (0: none) */
  /* spike */
  double base_rate, spike_rate, p99_before_ms, spike_p99_ms, recovery_s;
  uint64_t peak_queue;
  /* soak */
  wb_sample_t samples[WB_MAX_SAMPLES];
  int nsamples;
  double sup_rss_slope, worker_rss_slope, fds_slope, p99_slope; /* per minute */
} wb_profile_result_t;

/* Runs the shape on an up pool. 0, or the WP_E* that stopped it (the
 * result holds what was measured). Free the result with
 * wb_profile_result_free either way. */
int wb_profile_run(uv_loop_t *loop, wp_pool_t *pool, const wb_profile_t *p,
                   wb_profile_result_t *r);
void wb_profile_result_free(wb_profile_result_t *r);
/* A reported figure by metric name (wb_shape_metrics), NAN if not
 * measured; the signature of wb_slo_lookup_fn (arg: the result). */
double wb_profile_value(const char *name, void *result);
/* The shape's figures, its curve or samples, and the series (new ref). */
json_t *wb_profile_json(const wb_profile_t *p, const wb_profile_result_t *r);

#endif
