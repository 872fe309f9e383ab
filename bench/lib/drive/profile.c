/* profile.c — see profile.h. */
#include "profile.h"

#include "proc.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEC 1000000000ull
#define MS 1000000ull

static const char *SHAPES[] = {"stress", "spike", "soak"};

int wb_shape_parse(const char *s, wb_shape_t *out) {
  for (int i = 0; i < 3; i++)
    if (strcmp(s, SHAPES[i]) == 0) return *out = (wb_shape_t)i, 0;
  return -1;
}

const char *wb_shape_name(wb_shape_t s) { return SHAPES[s]; }

/* The first six every shape reports (over all its measured requests). */
static const wb_slo_metric_t METRICS[] = {
    {"p50", WB_K_TIME, false, "median latency from the intended send time"},
    {"p99", WB_K_TIME, false, "P99 latency from the intended send time"},
    {"max", WB_K_TIME, false, "slowest answer"},
    {"errors", WB_K_SHARE, false, "failed and never-sent requests, % of offered"},
    {"achieved", WB_K_RATE, false, "answered requests per second"},
    {"capacity", WB_K_RATE, false, "closed-loop capacity measured first"},
    {"breaking_point", WB_K_RATE, false, "stress: the last rate that held the --slo"},
    {"peak_queue", WB_K_COUNT, false, "spike: deepest pool queue"},
    {"refused", WB_K_COUNT, false, "spike: requests refused, queue full"},
    {"timed_out", WB_K_COUNT, false, "spike: requests that timed out"},
    {"spike_p99", WB_K_TIME, false, "spike: highest windowed P99 from the spike on"},
    {"recovery", WB_K_TIME, false, "spike: spike end until the windowed P99 is back"},
    {"supervisor_rss_slope", WB_K_SIZE, true, "soak: supervisor RSS growth"},
    {"worker_rss_slope", WB_K_SIZE, true, "soak: mean worker RSS growth"},
    {"fds_slope", WB_K_COUNT, true, "soak: supervisor open descriptors growth"},
    {"p99_slope", WB_K_TIME, true, "soak: growth of the P99 of each sample"},
};

const wb_slo_metric_t *wb_shape_metrics(wb_shape_t s, size_t *n) {
  /* Each shape: the common six, then its own (slo.c looks names up in
   * whatever table it is given, so a shape's table is a window). */
  static wb_slo_metric_t tables[3][16];
  static const int own[3][2] = {{6, 7}, {7, 12}, {12, 16}};
  wb_slo_metric_t *t = tables[s];
  size_t k = 0;
  for (int i = 0; i < 6; i++) t[k++] = METRICS[i];
  for (int i = own[s][0]; i < own[s][1]; i++) t[k++] = METRICS[i];
  *n = k;
  return t;
}

void wb_profile_defaults(wb_profile_t *p, wb_shape_t shape, bool quick) {
  memset(p, 0, sizeof *p);
  p->shape = shape;
  p->req = (wp_request_t){.kind = WP_REQ_WORK, .cpu_us = 200};
  p->slots = 1;
  p->step_pct = 10;
  p->max_pct = 200;
  p->step_ns = quick ? SEC : 3 * SEC;
  p->base_pct = 40;
  p->factor = 4;
  p->recover_pct = 50;
  p->recover_windows = 3;
  p->before_ns = quick ? 2 * SEC : 5 * SEC;
  p->spike_ns = quick ? 2 * SEC : 5 * SEC;
  p->after_ns = quick ? 5 * SEC : 15 * SEC;
  p->rate_pct = 50;
  p->duration_ns = quick ? 30 * SEC : 600 * SEC;
  p->sample_ns = quick ? 3 * SEC : 60 * SEC;
}

/* ---- one open-loop run, added to the result ------------------------------ */

static void add_run(wb_profile_result_t *r, const wb_open_result_t *o) {
  r->sent += o->sent;
  r->ok += o->ok;
  r->failed += o->failed;
  r->unsent += o->unsent;
  r->elapsed_s += o->elapsed_s;
  if (o->lat) wb_hist_merge(r->lat, o->lat);
  if (o->stall.workers) r->stall = o->stall;
}

static void free_run(wb_open_result_t *o) {
  wb_hist_free(o->lat);
  wb_hist_free(o->lat_sent);
  wb_hist_free(o->wait);
  wb_hist_free(o->service);
}

static wb_open_t open_of(const wb_profile_t *p, wb_profile_result_t *r, double rate) {
  return (wb_open_t){.rate = rate, .req = p->req, .set = p->set, .nset = p->nset,
                     .stall_ns = p->stall_ns, .series = &r->series};
}

/* No cap on outstanding requests below the run's own size: a shape is
 * about what the pool's queue does under overload, and the open loop's
 * cap (load.h) would hold requests back in the generator instead — a spike
 * of 5 s at 5,000/s peaked at exactly the default 10,000. */
static void uncapped(wb_open_t *o, double requests) {
  double n = requests + (double)o->warmup + 1;
  o->max_outstanding = n > WB_OPEN_DEFAULT_CAP ? (uint64_t)n : 0;
}

/* One run; its figures go into r, its own into *one (caller frees). */
static int run_one(uv_loop_t *loop, wp_pool_t *pool, const wb_open_t *o,
                   wb_profile_result_t *r, wb_open_result_t *one) {
  int err = wb_run_open(loop, pool, o, one);
  add_run(r, one);
  return err;
}

static double errors_pct(uint64_t failed, uint64_t unsent, uint64_t sent) {
  uint64_t all = sent + unsent;
  return all ? 100.0 * (double)(failed + unsent) / (double)all : 0;
}

/* ---- capacity ------------------------------------------------------------ */

static int capacity(uv_loop_t *loop, wp_pool_t *pool, const wb_profile_t *p, double *out) {
  int n = p->slots > 0 ? p->slots : 1;
  wb_load_t l = {.concurrency = n, .duration_ns = SEC, .warmup = (uint64_t)n * 20,
                 .req = p->req, .set = p->set, .nset = p->nset, .stall_ns = p->stall_ns};
  return wb_run_rate(loop, pool, &l, out);
}

/* ---- stress -------------------------------------------------------------- */

/* A step's figures by name, for the --slo rules. */
static double step_value(const char *name, void *arg) {
  const wb_step_t *s = arg;
  if (!strcmp(name, "p50")) return s->p50_ms;
  if (!strcmp(name, "p99")) return s->p99_ms;
  if (!strcmp(name, "errors")) return s->errors_pct;
  if (!strcmp(name, "achieved")) return s->achieved;
  return NAN;
}

static int stress_step(uv_loop_t *loop, wp_pool_t *pool, const wb_profile_t *p,
                       wb_profile_result_t *r, double rate, wb_step_t *st) {
  wb_open_t o = open_of(p, r, rate);
  o.duration_ns = p->step_ns;
  uncapped(&o, rate * (double)p->step_ns / 1e9);
  wb_open_result_t one;
  int err = run_one(loop, pool, &o, r, &one);
  *st = (wb_step_t){.rate = rate, .achieved = one.achieved_rps,
                    .p50_ms = one.lat ? wb_hist_percentile(one.lat, 50) / 1e6 : NAN,
                    .p99_ms = one.lat ? wb_hist_percentile(one.lat, 99) / 1e6 : NAN,
                    .errors_pct = errors_pct(one.failed, one.unsent, one.sent)};
  /* Every rule the step can be judged on: whole-run figures (capacity, the
   * shape's own) are not the step's. */
  st->held = !err;
  for (int i = 0; p->slo && i < p->slo->n; i++) {
    double v = step_value(p->slo->r[i].m->name, st);
    if (!isnan(v) && !wb_slo_pass(&p->slo->r[i], v)) st->held = false;
  }
  free_run(&one);
  return err;
}

/* Steps up until a step breaks the objective twice in a row (once may be
 * the shared machine's noise, not the pool's limit). */
static int stress(uv_loop_t *loop, wp_pool_t *pool, const wb_profile_t *p,
                  wb_profile_result_t *r) {
  int err = 0;
  for (int k = 1; r->nsteps < WB_MAX_STEPS - 1; k++) {
    double pct = p->step_pct * k;
    if (pct > p->max_pct + 1e-9) break;
    double rate = r->capacity * pct / 100;
    wb_step_t *st = &r->steps[r->nsteps++];
    err = stress_step(loop, pool, p, r, rate, st);
    if (!err && !st->held && r->nsteps < WB_MAX_STEPS) {
      st = &r->steps[r->nsteps++];
      err = stress_step(loop, pool, p, r, rate, st);
    }
    if (err || !st->held) break;
    r->breaking_point = rate;
  }
  return err;
}

/* ---- spike --------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* The pre-spike P99: the 90th percentile of the windowed P99s of
 * intervals [from, to) that had answers. Why not their median: on a shared
 * machine one window in five has a hiccup of a few ms at any load, and a
 * reference below the routine noise would never be "back". */
static double pre_spike_p99_ms(const wb_series_t *s, size_t from, size_t to) {
  uint64_t v[4096];
  size_t n = 0;
  for (size_t i = from; i < to && i < s->n && n < 4096; i++)
    if (s->iv[i].ok) v[n++] = s->iv[i].p99_ns;
  if (!n) return NAN;
  qsort(v, n, sizeof v[0], cmp_u64);
  return (double)v[(n * 9) / 10 < n ? (n * 9) / 10 : n - 1] / 1e6;
}

/* From the spike's end, the first run of recover_windows windows whose
 * P99 is within recover_pct % of the pre-spike P99: how long until it. */
static double recovery_s(const wb_series_t *s, const wb_profile_t *p, size_t end, double limit_ms) {
  int good = 0;
  for (size_t i = end; i < s->n; i++) {
    const wb_interval_t *v = &s->iv[i];
    bool ok = v->failed == 0 && (v->ok == 0 || (double)v->p99_ns / 1e6 <= limit_ms);
    good = ok ? good + 1 : 0;
    if (good == p->recover_windows) {
      size_t first = i + 1 - (size_t)p->recover_windows;
      return (double)((first - end) * s->interval_ns) / 1e9;
    }
  }
  return NAN;
}

static void spike_figures(const wb_profile_t *p, wb_profile_result_t *r, uint64_t t_first) {
  const wb_series_t *s = &r->series;
  size_t begin = wb_series_index(s, t_first + p->before_ns);
  size_t end = wb_series_index(s, t_first + p->before_ns + p->spike_ns);
  /* Skip the first pre-spike window: it holds the warm-up's tail. */
  size_t first = wb_series_index(s, t_first) + 1;
  r->p99_before_ms = pre_spike_p99_ms(s, first, begin);
  wb_interval_t all, from_spike;
  wb_series_sum(s, 0, s->n, &all);
  wb_series_sum(s, begin, s->n, &from_spike);
  r->peak_queue = all.queued_max;
  r->spike_p99_ms = (double)from_spike.p99_ns / 1e6;
  r->recovery_s = recovery_s(s, p, end, r->p99_before_ms * (1 + p->recover_pct / 100));
}

static int spike(uv_loop_t *loop, wp_pool_t *pool, const wb_profile_t *p,
                 wb_profile_result_t *r) {
  r->base_rate = r->capacity * p->base_pct / 100;
  r->spike_rate = r->base_rate * p->factor;
  wb_phase_t ph[3] = {{r->base_rate, p->before_ns},
                      {r->spike_rate, p->spike_ns},
                      {r->base_rate, p->after_ns}};
  wb_open_t o = open_of(p, r, r->base_rate);
  o.phases = ph;
  o.nphases = 3;
  o.warmup = (uint64_t)(r->base_rate / 5) + 1; /* 200 ms */
  uncapped(&o, (r->base_rate * (double)(p->before_ns + p->after_ns) +
                r->spike_rate * (double)p->spike_ns) / 1e9);
  wb_open_result_t one;
  int err = run_one(loop, pool, &o, r, &one);
  wb_series_finish(&r->series);
  spike_figures(p, r, one.t_first);
  free_run(&one);
  return err;
}

/* ---- soak ---------------------------------------------------------------- */

/* VmRSS of a process (0: this one) in MiB, NAN if unreadable. */
static double rss_mib(int pid) {
  long long b = wb_rss_bytes(pid);
  return b < 0 ? NAN : (double)b / 1048576;
}

/* This process's RSS less the series' intervals: the series grows by
 * design (~190 B per interval, 0.11 MiB a minute at 100 ms), and a soak
 * is after the pool's growth, not the harness's. */
static double own_rss_mib(const wb_profile_result_t *r) {
  return rss_mib(0) - (double)(r->series.n * sizeof(wb_interval_t)) / 1048576;
}

static double open_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) return NAN;
  int n = 0;
  while (readdir(d)) n++;
  closedir(d);
  return n - 3; /* ".", "..", and the directory's own descriptor */
}

static double worker_rss_mib(const wp_pool_t *pool) {
  int pids[1024], n = wp_pool_pids(pool, pids, 1024), k = 0;
  double sum = 0;
  for (int i = 0; i < n; i++) {
    double v = rss_mib(pids[i]);
    if (!isnan(v)) sum += v, k++;
  }
  return k ? sum / k : NAN;
}

/* Least-squares slope of y over x (per minute: x is in seconds). Samples
 * after the first, when there are three or more: the first holds the
 * start's own growth (page faults of a fresh worker). */
static double slope_per_min(const wb_sample_t *s, int n, size_t off) {
  int from = n >= 3 ? 1 : 0;
  double sx = 0, sy = 0, sxx = 0, sxy = 0, k = n - from;
  if (k < 2) return NAN;
  for (int i = from; i < n; i++) {
    double x = s[i].t_s / 60, y = *(const double *)((const char *)&s[i] + off);
    sx += x, sy += y, sxx += x * x, sxy += x * y;
  }
  double den = k * sxx - sx * sx;
  return den > 0 ? (k * sxy - sx * sy) / den : NAN;
}

static int soak(uv_loop_t *loop, wp_pool_t *pool, const wb_profile_t *p,
                wb_profile_result_t *r) {
  double rate = r->capacity * p->rate_pct / 100;
  uint64_t t0 = wp_now_ns(), done = 0;
  int err = 0;
  /* Back-to-back runs, one per sample: each gives that stretch's P99;
   * between two, the pool drains for about one service time. The
   * schedule, not the clock, says when it is over: the drains would
   * otherwise leave a tail of tiny runs. */
  while (!err && r->nsamples < WB_MAX_SAMPLES && done < p->duration_ns) {
    wb_open_t o = open_of(p, r, rate);
    uint64_t left = p->duration_ns - done;
    o.duration_ns = left < p->sample_ns ? left : p->sample_ns;
    done += o.duration_ns;
    wb_open_result_t one;
    err = run_one(loop, pool, &o, r, &one);
    wb_sample_t *s = &r->samples[r->nsamples++];
    *s = (wb_sample_t){.t_s = (double)(wp_now_ns() - t0) / 1e9, .sup_rss_mib = own_rss_mib(r),
                       .worker_rss_mib = worker_rss_mib(pool), .fds = open_fds(),
                       .p99_ms = one.lat ? wb_hist_percentile(one.lat, 99) / 1e6 : NAN};
    free_run(&one);
  }
  r->sup_rss_slope = slope_per_min(r->samples, r->nsamples, offsetof(wb_sample_t, sup_rss_mib));
  r->worker_rss_slope = slope_per_min(r->samples, r->nsamples, offsetof(wb_sample_t, worker_rss_mib));
  r->fds_slope = slope_per_min(r->samples, r->nsamples, offsetof(wb_sample_t, fds));
  r->p99_slope = slope_per_min(r->samples, r->nsamples, offsetof(wb_sample_t, p99_ms));
  return err;
}

/* ---- the entry points ---------------------------------------------------- */

int wb_profile_run(uv_loop_t *loop, wp_pool_t *pool, const wb_profile_t *p,
                   wb_profile_result_t *r) {
  memset(r, 0, sizeof *r);
  r->breaking_point = 0;
  r->recovery_s = r->p99_before_ms = r->spike_p99_ms = NAN;
  r->sup_rss_slope = r->worker_rss_slope = r->fds_slope = r->p99_slope = NAN;
  r->lat = wb_hist_new();
  if (!r->lat || wb_series_init(&r->series, wp_now_ns(), p->interval_ns)) return WP_ENOMEM;
  r->capacity = p->capacity;
  int err = r->capacity > 0 ? 0 : capacity(loop, pool, p, &r->capacity);
  if (err) return err;
  if (!(r->capacity > 0)) return WP_EINVAL;
  /* The series starts with the shape, not with the capacity loop. */
  r->series.t0 = wp_now_ns();
  switch (p->shape) {
  case WB_STRESS: err = stress(loop, pool, p, r); break;
  case WB_SPIKE: err = spike(loop, pool, p, r); break;
  case WB_SOAK: err = soak(loop, pool, p, r); break;
  }
  wb_series_finish(&r->series);
  for (size_t i = 0; i < r->series.n; i++)
    for (int e = 0; e < WB_SERIES_NERR; e++) r->err[e] += r->series.iv[i].err[e];
  return err;
}

void wb_profile_result_free(wb_profile_result_t *r) {
  wb_hist_free(r->lat);
  r->lat = NULL;
  wb_series_free(&r->series);
}

double wb_profile_value(const char *name, void *arg) {
  const wb_profile_result_t *r = arg;
  bool any = r->lat && wb_hist_count(r->lat);
  if (!strcmp(name, "p50")) return any ? wb_hist_percentile(r->lat, 50) / 1e6 : NAN;
  if (!strcmp(name, "p99")) return any ? wb_hist_percentile(r->lat, 99) / 1e6 : NAN;
  if (!strcmp(name, "max")) return any ? (double)wb_hist_max(r->lat) / 1e6 : NAN;
  if (!strcmp(name, "errors")) return errors_pct(r->failed, r->unsent, r->sent);
  if (!strcmp(name, "achieved")) return r->elapsed_s > 0 ? (double)r->ok / r->elapsed_s : NAN;
  if (!strcmp(name, "capacity")) return r->capacity;
  if (!strcmp(name, "breaking_point")) return r->breaking_point;
  if (!strcmp(name, "peak_queue")) return (double)r->peak_queue;
  if (!strcmp(name, "refused")) return (double)r->err[-WP_EQUEUE_FULL];
  if (!strcmp(name, "timed_out")) return (double)r->err[-WP_ETIMEDOUT];
  if (!strcmp(name, "spike_p99")) return r->spike_p99_ms;
  if (!strcmp(name, "recovery")) return r->recovery_s * 1e3;
  if (!strcmp(name, "supervisor_rss_slope")) return r->sup_rss_slope;
  if (!strcmp(name, "worker_rss_slope")) return r->worker_rss_slope;
  if (!strcmp(name, "fds_slope")) return r->fds_slope;
  if (!strcmp(name, "p99_slope")) return r->p99_slope;
  return NAN;
}

static json_t *num(double v) { return isnan(v) ? json_null() : json_real(v); }

static json_t *steps_json(const wb_profile_result_t *r) {
  json_t *a = json_array();
  for (int i = 0; a && i < r->nsteps; i++) {
    const wb_step_t *s = &r->steps[i];
    json_array_append_new(a, json_pack("{s:f, s:o, s:o, s:o, s:f, s:b}", "rate", s->rate,
                                       "achieved", num(s->achieved), "p50_ms", num(s->p50_ms),
                                       "p99_ms", num(s->p99_ms), "errors_pct", s->errors_pct,
                                       "held", s->held));
  }
  return a;
}

static json_t *samples_json(const wb_profile_result_t *r) {
  json_t *a = json_array();
  for (int i = 0; a && i < r->nsamples; i++) {
    const wb_sample_t *s = &r->samples[i];
    json_array_append_new(a, json_pack("{s:f, s:o, s:o, s:o, s:o}", "t_s", s->t_s,
                                       "supervisor_rss_mib", num(s->sup_rss_mib),
                                       "worker_rss_mib", num(s->worker_rss_mib),
                                       "fds", num(s->fds), "p99_ms", num(s->p99_ms)));
  }
  return a;
}

json_t *wb_profile_json(const wb_profile_t *p, const wb_profile_result_t *r) {
  size_t n;
  const wb_slo_metric_t *m = wb_shape_metrics(p->shape, &n);
  json_t *fig = json_object();
  for (size_t i = 0; fig && i < n; i++)
    json_object_set_new(fig, m[i].name, num(wb_profile_value(m[i].name, (void *)r)));
  json_t *o = json_pack("{s:s, s:o, s:I, s:I, s:I, s:I, s:o*}", "profile", wb_shape_name(p->shape),
                        "figures", fig, "sent", (json_int_t)r->sent, "ok", (json_int_t)r->ok,
                        "failed", (json_int_t)r->failed, "unsent", (json_int_t)r->unsent,
                        "series", wb_series_json(&r->series));
  if (!o) return NULL;
  if (p->shape == WB_STRESS) json_object_set_new(o, "steps", steps_json(r));
  if (p->shape == WB_SPIKE)
    json_object_set_new(o, "spike", json_pack("{s:f, s:f, s:f, s:f, s:f, s:o}", "base_rate",
                                              r->base_rate, "spike_rate", r->spike_rate,
                                              "before_s", (double)p->before_ns / 1e9,
                                              "spike_s", (double)p->spike_ns / 1e9,
                                              "after_s", (double)p->after_ns / 1e9,
                                              "p99_before_ms", num(r->p99_before_ms)));
  if (p->shape == WB_SOAK) json_object_set_new(o, "samples", samples_json(r));
  return o;
}
