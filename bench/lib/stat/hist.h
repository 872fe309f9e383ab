/*
 * hist.h — a log-linear ("HDR-style") histogram of uint64 values, meant for
 * latencies in nanoseconds.
 *
 * Owns: the bucket layout, recording, and the summary queries (count, min,
 * max, mean, percentiles), merge and reset. Nothing else: printing and JSON
 * belong to the callers.
 *
 * Layout: values below 2^(WB_HIST_SUB_BITS+1) get one bucket each (exact);
 * above that, every power of two is split into 2^WB_HIST_SUB_BITS linear
 * sub-buckets, so a bucket is never wider than 1/128 of its lower bound.
 * Percentiles report the bucket's middle, so the relative error of a
 * reported value is at most 1/256 (< 0.4 %). min and max are kept exactly.
 *
 * Range: 0 .. WB_HIST_MAX (2^42 - 1 ns, about 73 minutes). A larger value is
 * counted in the top bucket (and in max exactly), so a stray huge sample
 * never gets lost, it just loses resolution.
 *
 * Memory is fixed (one allocation of ~37 KiB); recording is O(1) and never
 * allocates, so it is safe on a hot path. Not thread-safe: use one histogram
 * per thread and merge.
 *
 * May call: libc and libm only (statistics library).
 */
#ifndef WB_HIST_H
#define WB_HIST_H

#include <stdint.h>

#define WB_HIST_SUB_BITS 7
#define WB_HIST_MAX_BITS 42
#define WB_HIST_MAX ((UINT64_C(1) << WB_HIST_MAX_BITS) - 1)

typedef struct wb_hist wb_hist_t;

/* A new, empty histogram, or NULL when out of memory. */
wb_hist_t *wb_hist_new(void);
void wb_hist_free(wb_hist_t *h);

/* Records one value (or n equal values). */
void wb_hist_record(wb_hist_t *h, uint64_t v);
void wb_hist_record_n(wb_hist_t *h, uint64_t v, uint64_t n);

uint64_t wb_hist_count(const wb_hist_t *h);
/* min/max/mean/percentile of an empty histogram are 0. */
uint64_t wb_hist_min(const wb_hist_t *h);
uint64_t wb_hist_max(const wb_hist_t *h);
double wb_hist_mean(const wb_hist_t *h);

/* The value at percentile p (0..100, clamped), nearest-rank definition: the
 * smallest recorded value such that at least p % of the values are <= it.
 * p = 0 gives min, p = 100 gives max, both exact. */
uint64_t wb_hist_percentile(const wb_hist_t *h, double p);

/* Adds every value of src into dst (src is unchanged). */
void wb_hist_merge(wb_hist_t *dst, const wb_hist_t *src);
void wb_hist_reset(wb_hist_t *h);

#endif
