/* hist.c — log-linear histogram; see hist.h for the layout and its error. */
#include "hist.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SUB_COUNT (1u << WB_HIST_SUB_BITS)
/* Index of WB_HIST_MAX plus one: (MAX_BITS - SUB_BITS) groups of SUB_COUNT
 * above the 2*SUB_COUNT exact buckets at the bottom. */
#define NBUCKETS ((WB_HIST_MAX_BITS - WB_HIST_SUB_BITS) * SUB_COUNT + SUB_COUNT)

struct wb_hist {
  uint64_t count;
  uint64_t min;
  uint64_t max;
  double sum; /* a double: a uint64 sum of ns overflows after ~5e6 hours */
  uint64_t buckets[NBUCKETS];
};

wb_hist_t *wb_hist_new(void) {
  wb_hist_t *h = malloc(sizeof *h);
  if (h)
    wb_hist_reset(h);
  return h;
}

void wb_hist_free(wb_hist_t *h) { free(h); }

void wb_hist_reset(wb_hist_t *h) {
  memset(h, 0, sizeof *h);
  h->min = UINT64_MAX;
}

/* Bucket of v: shift is how many low bits the bucket ignores (0 for the
 * exact bottom range), and index = shift * SUB_COUNT + (v >> shift), which
 * runs on without gaps because v >> shift always lands in
 * [SUB_COUNT, 2 * SUB_COUNT) once shift > 0. */
static unsigned bucket_of(uint64_t v) {
  if (v > WB_HIST_MAX)
    v = WB_HIST_MAX;
  if (v < 2 * SUB_COUNT)
    return (unsigned)v;
  unsigned msb = 63u - (unsigned)__builtin_clzll(v);
  unsigned shift = msb - WB_HIST_SUB_BITS;
  return shift * SUB_COUNT + (unsigned)(v >> shift);
}

/* The middle of bucket i: within half a bucket width of any value in it. */
static uint64_t bucket_mid(unsigned i) {
  if (i < 2 * SUB_COUNT)
    return i;
  unsigned shift = (i >> WB_HIST_SUB_BITS) - 1;
  uint64_t lower = (uint64_t)(i - shift * SUB_COUNT) << shift;
  return lower + (UINT64_C(1) << (shift - 1));
}

void wb_hist_record_n(wb_hist_t *h, uint64_t v, uint64_t n) {
  if (n == 0)
    return;
  h->buckets[bucket_of(v)] += n;
  h->count += n;
  h->sum += (double)v * (double)n;
  if (v < h->min)
    h->min = v;
  if (v > h->max)
    h->max = v;
}

void wb_hist_record(wb_hist_t *h, uint64_t v) { wb_hist_record_n(h, v, 1); }

uint64_t wb_hist_count(const wb_hist_t *h) { return h->count; }

uint64_t wb_hist_min(const wb_hist_t *h) { return h->count ? h->min : 0; }

uint64_t wb_hist_max(const wb_hist_t *h) { return h->max; }

double wb_hist_mean(const wb_hist_t *h) {
  return h->count ? h->sum / (double)h->count : 0.0;
}

/* Nearest rank (1-based) of percentile p among count values. */
static uint64_t rank_of(double p, uint64_t count) {
  double r = ceil(p * (double)count / 100.0);
  if (r < 1.0)
    return 1;
  return r >= (double)count ? count : (uint64_t)r;
}

uint64_t wb_hist_percentile(const wb_hist_t *h, double p) {
  if (h->count == 0)
    return 0;
  if (!(p > 0.0)) /* also catches NaN */
    return h->min;
  if (p >= 100.0)
    return h->max;
  uint64_t rank = rank_of(p, h->count), seen = 0;
  unsigned i = 0;
  for (; i < NBUCKETS - 1; i++) {
    seen += h->buckets[i];
    if (seen >= rank)
      break;
  }
  /* The true value lies in bucket i and in [min, max]; so does the clamp. */
  uint64_t v = bucket_mid(i);
  if (v < h->min)
    v = h->min;
  if (v > h->max)
    v = h->max;
  return v;
}

void wb_hist_merge(wb_hist_t *dst, const wb_hist_t *src) {
  if (src->count == 0)
    return;
  for (unsigned i = 0; i < NBUCKETS; i++)
    dst->buckets[i] += src->buckets[i];
  dst->count += src->count;
  dst->sum += src->sum;
  if (src->min < dst->min)
    dst->min = src->min;
  if (src->max > dst->max)
    dst->max = src->max;
}
