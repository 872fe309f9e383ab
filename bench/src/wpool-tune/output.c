/*
 * output.c — bench/tune's table for people and its results document.
 *
 * The document is schema "wpool.bench/1" (tool "bench/tune") so compare
 * can diff two sweeps: per size, tune.rps/<t>/n=N (req/s), tune.p50 and
 * tune.p99/<t>/n=N (ms), every repetition kept. Two extra top-level
 * objects carry the analysis: "usl" (the fit) and "recommendation".
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "build.h"
#include "results.h"
#include "stats.h"
#include "tune.h"

static double minmax(const double *x, int n, bool want_max) {
  double m = x[0];
  for (int i = 1; i < n; i++) m = want_max ? fmax(m, x[i]) : fmin(m, x[i]);
  return m;
}

static void print_row(FILE *f, const tune_opts_t *o, const tune_point_t *pt,
                      const tune_verdict_t *v) {
  if (!pt->ok) {
    fprintf(f, "%5d %6d   failed: %s\n", pt->n, pt->c, wp_strerror(pt->err));
    return;
  }
  char usl[32] = "-";
  if (v->usl_ok) snprintf(usl, sizeof usl, "%.0f", wb_usl_eval(&v->usl, pt->n));
  bool slo_ok = !o->slo_p99_ns || pt->p99_med * 1e6 <= (double)o->slo_p99_ns;
  fprintf(f, "%5d %6d %9.0f  %8.0f-%-8.0f %6.1f %% %8.2f %8.2f%s %9s%s\n", pt->n, pt->c,
          pt->rps_med, minmax(pt->rps, o->reps, false), minmax(pt->rps, o->reps, true),
          100 * pt->rps_med / v->best_rps, pt->p50_med, pt->p99_med,
          slo_ok ? " " : "!", usl, v->pick == pt ? "   <- recommended" : "");
}

static void print_usl(FILE *f, const tune_verdict_t *v) {
  if (!v->usl_ok) {
    fprintf(f, "USL fit: needs at least 3 measured sizes\n");
    return;
  }
  fprintf(f, "USL fit: lambda = %.1f req/s per worker, sigma = %.4f, kappa = %.6f (R^2 %.4f)\n",
          v->usl.lambda, v->usl.sigma, v->usl.kappa, v->usl.r2);
  if (isinf(v->n_star) && v->usl.sigma > 0)
    fprintf(f, "modelled peak N* = inf (kappa = 0: the curve flattens toward %.0f req/s, "
            "never turns down)\n", v->usl.lambda / v->usl.sigma);
  else if (isinf(v->n_star))
    fprintf(f, "modelled peak N* = inf (sigma = kappa = 0: linear over the sizes measured)\n");
  else
    fprintf(f, "modelled peak N* = sqrt((1 - sigma) / kappa) = %.1f workers, %.0f req/s\n",
            v->n_star, wb_usl_eval(&v->usl, v->n_star));
}

/* Whose workers the sweep ran: the command, or attached ones. */
static const char *workers_name(const tune_opts_t *o) {
  if (o->nconnect) return "attached workers (--connect)";
  return o->worker ? o->worker : "default worker";
}

void tune_print(FILE *f, const tune_opts_t *o, const tune_point_t *pts, int npts,
                const tune_verdict_t *v) {
  if (o->call.method)
    fprintf(f, "\nbench/tune: %s, %s, call %s on %zu payload(s) of %s\n",
            workers_name(o), wp_transport_name(o->transport),
            o->call.method, o->call.payloads.n, o->call.src ? o->call.src : "(empty)");
  else
    fprintf(f, "\nbench/tune: %s, %s, work cpu_us=%u sleep_us=%u reply_bytes=%u\n",
            workers_name(o), wp_transport_name(o->transport),
            o->cpu_us, o->sleep_us, o->reply_bytes);
  fprintf(f, "closed loop, %d in flight per worker (%s), %d x %.1f s per size (medians)\n\n",
          o->per_worker, o->checkout ? "checkout: queued in the pool" : "pipelined to it",
          o->reps, (double)o->duration_ns / 1e9);
  fprintf(f, "%5s %6s %9s  %-17s %8s %8s %8s  %9s\n", "size", "c", "req/s",
          "   (min-max)", "vs best", "p50 ms", "p99 ms", "USL req/s");
  for (int i = 0; i < npts; i++) print_row(f, o, &pts[i], v);
  if (o->slo_p99_ns) fprintf(f, "(! = P99 over the SLO of %.2f ms)\n", (double)o->slo_p99_ns / 1e6);
  fputc('\n', f);
  print_usl(f, v);
  if (!v->pick) {
    fprintf(f, "recommendation: none (%s)\n", v->reason);
    return;
  }
  fprintf(f, "recommendation: %d worker%s: %.0f req/s (%.0f %% of the best, %.0f req/s at n=%d), "
          "p99 %.2f ms\n  why: %s\n", v->size, v->size == 1 ? "" : "s", v->pick->rps_med,
          100 * v->pick->rps_med / v->best_rps, v->best_rps, v->best_n, v->pick->p99_med,
          v->reason);
  if (v->still_rising)
    fprintf(f, "  note: throughput still rises at the largest size; try --max-size %d\n",
            2 * npts);
}

static void add_point(json_t *doc, const tune_opts_t *o, const tune_point_t *pt) {
  const char *tn = wp_transport_name(o->transport);
  const struct { const char *name, *unit, *better; const double *runs; } m[] = {
      {"rps", "req/s", "higher", pt->rps},
      {"p50", "ms", "lower", pt->p50_ms},
      {"p99", "ms", "lower", pt->p99_ms}};
  for (size_t k = 0; k < sizeof m / sizeof m[0]; k++) {
    char id[128];
    snprintf(id, sizeof id, "tune.%s/%s/n=%d", m[k].name, tn, pt->n);
    json_t *params = json_pack("{s:s, s:i, s:i, s:s}", "transport", tn, "n", pt->n, "c", pt->c,
                               "dispatch", o->checkout ? "checkout" : "pipelined");
    wb_metric_add(doc, id, m[k].unit, m[k].better, params, m[k].runs, (size_t)o->reps);
  }
}

static json_t *usl_json(const tune_verdict_t *v) {
  if (!v->usl_ok) return json_null();
  return json_pack("{s:f, s:f, s:f, s:f, s:o, s:i}", "lambda", v->usl.lambda,
                   "sigma", v->usl.sigma, "kappa", v->usl.kappa, "r2", v->usl.r2,
                   "n_star", isinf(v->n_star) ? json_null() : json_real(v->n_star),
                   "iterations", v->usl.iterations);
}

static json_t *recommendation_json(const tune_opts_t *o, const tune_verdict_t *v) {
  json_t *slo = o->slo_p99_ns ? json_real((double)o->slo_p99_ns / 1e6) : json_null();
  if (!v->pick)
    return json_pack("{s:n, s:s, s:o}", "size", "reason", v->reason, "slo_p99_ms", slo);
  return json_pack("{s:i, s:f, s:f, s:f, s:i, s:f, s:f, s:o, s:s, s:b}", "size", v->size,
                   "rps", v->pick->rps_med, "p99_ms", v->pick->p99_med, "best_rps",
                   v->best_rps, "best_n", v->best_n, "plateau", o->plateau,
                   "target_rps", v->target_rps, "slo_p99_ms", slo, "reason", v->reason,
                   "still_rising", v->still_rising);
}

json_t *tune_document(const tune_opts_t *o, const tune_point_t *pts, int npts,
                      const tune_verdict_t *v) {
  json_t *doc = wb_results_new("bench/tune", tune_opts_config(o), wb_build_facts());
  if (!doc) return NULL;
  for (int i = 0; i < npts; i++)
    if (pts[i].ok) add_point(doc, o, &pts[i]);
  json_object_set_new(doc, "usl", usl_json(v));
  json_object_set_new(doc, "recommendation", recommendation_json(o, v));
  return doc;
}

/* "2024-05-01T12:34:56.123456Z" → "20240501T123456Z", then "-<sha7>". */
static void file_stem(const json_t *doc, char *buf, size_t cap) {
  const char *at = json_string_value(json_object_get(doc, "created_at"));
  const char *sha = json_string_value(json_object_get(json_object_get(doc, "git"), "commit"));
  char ts[32];
  size_t k = 0;
  for (; at && *at && *at != '.' && k + 2 < sizeof ts; at++)
    if (strchr("-:", *at) == NULL) ts[k++] = *at;
  ts[k] = '\0';
  snprintf(buf, cap, "%sZ-%.7s", ts, sha ? sha : "nogit");
}

int tune_write(json_t *doc, const char *out, char *path, size_t cap) {
  if (out) {
    snprintf(path, cap, "%s", out);
    return wb_results_write(doc, path);
  }
  const char *base = getenv("WPOOL_RESULTS_DIR");
  char dir[4096], stem[64];
  snprintf(dir, sizeof dir, "%s/tune", base && *base ? base : "results");
  snprintf(path, cap, "%s", dir);
  if ((mkdir(base && *base ? base : "results", 0777) != 0 && errno != EEXIST) ||
      (mkdir(dir, 0777) != 0 && errno != EEXIST))
    return -1;
  file_stem(doc, stem, sizeof stem);
  snprintf(path, cap, "%s/%s.json", dir, stem);
  if (wb_results_write(doc, path) != 0) return -1;
  char latest[4200];
  snprintf(latest, sizeof latest, "%s/latest.json", dir);
  if (wb_results_write(doc, latest) != 0) {
    snprintf(path, cap, "%s", latest);
    return -1;
  }
  return 0;
}
