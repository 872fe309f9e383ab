/* series.c — see series.h. */
#include "series.h"

#include <stdlib.h>
#include <string.h>

int wb_series_init(wb_series_t *s, uint64_t t0, uint64_t interval_ns) {
  memset(s, 0, sizeof *s);
  s->t0 = t0;
  s->interval_ns = interval_ns ? interval_ns : WB_SERIES_DEFAULT_NS;
  s->cur = wb_hist_new();
  return s->cur ? 0 : WP_ENOMEM;
}

void wb_series_free(wb_series_t *s) {
  free(s->iv);
  wb_hist_free(s->cur);
  memset(s, 0, sizeof *s);
}

size_t wb_series_index(const wb_series_t *s, uint64_t t) {
  return t > s->t0 ? (size_t)((t - s->t0) / s->interval_ns) : 0;
}

/* Makes interval i exist (zeroed up to it). 0, or -1 out of memory. */
static int reach(wb_series_t *s, size_t i) {
  if (i < s->n) return 0;
  if (i >= s->cap) {
    size_t cap = s->cap ? s->cap : 64;
    while (cap <= i) cap *= 2;
    wb_interval_t *iv = realloc(s->iv, cap * sizeof *iv);
    if (!iv) {
      s->oom = 1;
      return -1;
    }
    s->iv = iv;
    s->cap = cap;
  }
  memset(s->iv + s->n, 0, (i + 1 - s->n) * sizeof *s->iv);
  s->n = i + 1;
  return 0;
}

/* The open interval's percentiles, from the histogram of its answers. */
static void close_open(wb_series_t *s) {
  if (s->open >= s->n || wb_hist_count(s->cur) == 0) return;
  wb_interval_t *v = &s->iv[s->open];
  v->p50_ns = wb_hist_percentile(s->cur, 50);
  v->p99_ns = wb_hist_percentile(s->cur, 99);
  v->max_ns = wb_hist_max(s->cur);
  wb_hist_reset(s->cur);
}

/* The interval of `now`, made current unless the series is finished;
 * NULL out of memory. */
static wb_interval_t *at_now(wb_series_t *s, uint64_t now) {
  size_t i = wb_series_index(s, now);
  if (reach(s, i)) return NULL;
  if (i > s->open && !s->finished) {
    close_open(s);
    s->open = i;
  }
  return &s->iv[i];
}

void wb_series_offer(wb_series_t *s, uint64_t intended) {
  size_t i = wb_series_index(s, intended);
  if (reach(s, i) == 0) s->iv[i].offered++;
}

void wb_series_answer(wb_series_t *s, uint64_t now, int err, uint64_t latency_ns) {
  wb_interval_t *v = at_now(s, now);
  if (!v) return;
  if (err) {
    v->failed++;
    if (err < 0 && -err < WB_SERIES_NERR) v->err[-err]++;
    return;
  }
  v->ok++;
  if (v == &s->iv[s->open] && !s->finished) wb_hist_record(s->cur, latency_ns);
}

void wb_series_sample(wb_series_t *s, uint64_t now, const wp_pool_t *p) {
  wb_interval_t *v = at_now(s, now);
  if (!v) return;
  wp_stats_t st;
  wp_pool_stats(p, &st);
  if (st.queued_now > v->queued_max) v->queued_max = st.queued_now;
  if (st.inflight_now > v->inflight_max) v->inflight_max = st.inflight_now;
  /* The first sample only sets the mark: restarts before the series
   * began are not its own. */
  if (s->sampled && st.restarts > s->restarts_seen) v->restarts += st.restarts - s->restarts_seen;
  s->sampled = 1;
  s->restarts_seen = st.restarts;
}

void wb_series_finish(wb_series_t *s) {
  close_open(s);
  s->finished = 1;
}

void wb_series_sum(const wb_series_t *s, size_t from, size_t to, wb_interval_t *out) {
  memset(out, 0, sizeof *out);
  if (to > s->n) to = s->n;
  for (size_t i = from; i < to; i++) {
    const wb_interval_t *v = &s->iv[i];
    out->offered += v->offered;
    out->ok += v->ok;
    out->failed += v->failed;
    out->restarts += v->restarts;
    for (int e = 0; e < WB_SERIES_NERR; e++) out->err[e] += v->err[e];
#define KEEP_MAX(f) if (v->f > out->f) out->f = v->f
    KEEP_MAX(p50_ns);
    KEEP_MAX(p99_ns);
    KEEP_MAX(max_ns);
    KEEP_MAX(queued_max);
    KEEP_MAX(inflight_max);
#undef KEEP_MAX
  }
}

static json_t *errors_json(const wb_interval_t *v) {
  json_t *o = json_object();
  for (int e = 1; o && e < WB_SERIES_NERR; e++)
    if (v->err[e]) json_object_set_new(o, wp_errname(-e), json_integer(v->err[e]));
  return o;
}

static json_t *interval_json(const wb_series_t *s, size_t i) {
  const wb_interval_t *v = &s->iv[i];
  double per_s = 1e9 / (double)s->interval_ns;
  return json_pack("{s:f, s:f, s:f, s:I, s:I, s:f, s:f, s:f, s:I, s:I, s:I, s:o}",
                   "t_ms", (double)(i * s->interval_ns) / 1e6,
                   "offered_rps", (double)v->offered * per_s,
                   "achieved_rps", (double)v->ok * per_s,
                   "ok", (json_int_t)v->ok, "failed", (json_int_t)v->failed,
                   "p50_us", (double)v->p50_ns / 1e3, "p99_us", (double)v->p99_ns / 1e3,
                   "max_us", (double)v->max_ns / 1e3,
                   "queue_depth_max", (json_int_t)v->queued_max,
                   "inflight_max", (json_int_t)v->inflight_max,
                   "restarts", (json_int_t)v->restarts, "errors", errors_json(v));
}

json_t *wb_series_json(const wb_series_t *s) {
  json_t *arr = json_array();
  for (size_t i = 0; arr && i < s->n; i++)
    if (json_array_append_new(arr, interval_json(s, i))) {
      json_decref(arr);
      return NULL;
    }
  return json_pack("{s:f, s:o*}", "interval_ms", (double)s->interval_ns / 1e6, "intervals", arr);
}
