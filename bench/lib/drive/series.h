/*
 * series.h — the per-interval time series of an open-loop run: what a
 * dashboard of the run would show, interval by interval (default 100 ms).
 *
 * Owns: the intervals and their counts, and their JSON. Per interval:
 * offered (requests whose intended send time falls in it), ok and failed
 * (answers that came in it), P50/P99/max of those answers' latency from
 * their intended send time, failures by error name, the pool's peak queue
 * depth and requests in flight (sampled at every send and answer) and the
 * worker restarts that happened in it.
 *
 * Why answers are counted where they come and not where they were due: a
 * run then needs only the current interval's histogram (memory stays flat
 * over a long soak), and the achieved rate and latency of an interval are
 * those of the same answers. Offered counts go to the interval of their
 * intended time, so offered and achieved rates can differ per interval but
 * sum to the same totals once every request is answered.
 *
 * Times are absolute (wp_now_ns); one series can follow several runs in a
 * row (a stress test's steps). Not thread-safe: the loop's thread only.
 *
 * May call: hist (stat/), jansson and libwpool (its stats and error names).
 */
#ifndef WB_SERIES_H
#define WB_SERIES_H

#include <jansson.h>
#include <stdint.h>

#include "hist.h"
#include "wpool.h"

#define WB_SERIES_DEFAULT_NS 100000000ull /* 100 ms */
#define WB_SERIES_NERR 32                 /* error codes -1 .. -31 */

typedef struct wb_interval {
  uint64_t offered, ok, failed;
  uint64_t p50_ns, p99_ns, max_ns;   /* ok answers in this interval */
  uint64_t queued_max, inflight_max; /* the pool's, at sends and answers */
  uint64_t restarts;                 /* worker restarts in this interval */
  uint32_t err[WB_SERIES_NERR];      /* failed, by -code */
} wb_interval_t;

typedef struct wb_series {
  uint64_t t0, interval_ns;
  wb_interval_t *iv;
  size_t n, cap;                     /* intervals used / allocated */
  size_t open;                       /* the interval cur collects for */
  wb_hist_t *cur;
  uint64_t restarts_seen;            /* pool's restart count at last sample */
  int sampled, finished;
  int oom;                           /* an interval could not be added */
} wb_series_t;

/* Starts an empty series at t0 (ns), intervals interval_ns long (0: the
 * default). 0 or WP_ENOMEM. */
int wb_series_init(wb_series_t *s, uint64_t t0, uint64_t interval_ns);
void wb_series_free(wb_series_t *s);
/* A request due at `intended` (counted once, at the first attempt to send). */
void wb_series_offer(wb_series_t *s, uint64_t intended);
/* An answer at `now`: err 0 with its latency from the intended time, or a
 * WP_E* code. */
void wb_series_answer(wb_series_t *s, uint64_t now, int err, uint64_t latency_ns);
/* The pool's queue, in flight and restarts, now (peaks per interval). */
void wb_series_sample(wb_series_t *s, uint64_t now, const wp_pool_t *p);
/* Closes the open interval's percentiles (call once the runs are over;
 * further answers reopen nothing). */
void wb_series_finish(wb_series_t *s);
/* Totals over the intervals [from, to) (to clamped to n): sums, and the
 * maxima of the peaks and percentiles. */
void wb_series_sum(const wb_series_t *s, size_t from, size_t to, wb_interval_t *out);
/* The interval index of time t (t >= t0). */
size_t wb_series_index(const wb_series_t *s, uint64_t t);
/* {"interval_ms", "intervals": [{t_ms, offered_rps,
 * achieved_rps, ok, failed, p50_us, p99_us, max_us, queue_depth_max,
 * inflight_max, restarts, errors: {NAME: n}}]} (new ref), NULL when out of
 * memory. */
json_t *wb_series_json(const wb_series_t *s);

#endif
