/*
 * summary.c — the end-of-run summary on stdout, wrk-style: a few aligned
 * tables a person reads at a glance. Everything comes from the finished
 * document by metric id, so the summary shows exactly what was saved and a
 * missing point prints as "-".
 *
 * "×" figures are ratio_to_floor: the pool's median over the bare floor's
 * median measured in this run (floor.* ids). For req/s below 1 means slower
 * than bare; for times above 1 means slower than bare.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ping.h"
#include "results.h"
#include "summary.h"

#define LABEL_W 26

static const json_t *metric(const json_t *doc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static const json_t *metric(const json_t *doc, const char *fmt, ...) {
  char id[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(id, sizeof id, fmt, ap);
  va_end(ap);
  return wb_metric_find((json_t *)doc, id);
}

static double num(const json_t *m, const char *key) {
  return json_number_value(json_object_get(m, key));
}

/* 3 significant figures, k/M suffixes for large values. */
static void fmt_value(char *b, size_t cap, double v) {
  const char *sfx = "";
  if (v >= 1e6) v /= 1e6, sfx = "M";
  else if (v >= 1e4) v /= 1e3, sfx = "k";
  if (v >= 100) snprintf(b, cap, "%.0f%s", v, sfx);
  else if (v >= 10) snprintf(b, cap, "%.1f%s", v, sfx);
  else snprintf(b, cap, "%.2f%s", v, sfx);
}

/* "median", "median ×ratio", or "-" when the metric is absent. */
static void fmt_cell(char *b, size_t cap, const json_t *m, bool ratio) {
  if (!m) {
    snprintf(b, cap, "-");
    return;
  }
  char v[24];
  fmt_value(v, sizeof v, num(m, "median"));
  const json_t *r = json_object_get(m, "ratio_to_floor");
  double x = json_number_value(r);
  /* Two significant figures, never "×0.00". */
  const char *f = x >= 10 ? "%s ×%.0f" : x >= 0.1 ? "%s ×%.2f" : x >= 0.01 ? "%s ×%.3f" : "%s ×%.4f";
  if (ratio && r) snprintf(b, cap, f, v, x);
  else snprintf(b, cap, "%s", v);
}

static void header_row(FILE *f, const char *title, const bl_list_t *cols,
                       const char *prefix, int w) {
  fprintf(f, "\n%-*s", LABEL_W, title);
  for (int i = 0; i < cols->n; i++) {
    char h[16];
    snprintf(h, sizeof h, "%s%d", prefix, cols->v[i]);
    fprintf(f, "%*s", w, h);
  }
  fputc('\n', f);
}

/* One row: label, then a cell per column (ids built by the caller). */
typedef const json_t *(*cell_fn)(const json_t *doc, const void *row, int col);

static void row(FILE *f, const json_t *doc, const char *label, const bl_list_t *cols,
                int w, bool ratio, cell_fn fn, const void *arg) {
  fprintf(f, "  %-*s", LABEL_W - 2, label);
  for (int i = 0; i < cols->n; i++) {
    char c[64];
    fmt_cell(c, sizeof c, fn(doc, arg, cols->v[i]), ratio);
    /* "×" is two bytes and one column: pad by display width. */
    int pad = w - (int)strlen(c) + (strstr(c, "×") ? 1 : 0);
    fprintf(f, "%*s%s", pad > 0 ? pad : 0, "", c);
  }
  fputc('\n', f);
}

/* ---- start-up ------------------------------------------------------------ */

typedef struct srow {
  const char *fmt; /* id with %s transport/mode and %d n */
  const char *a, *b;
} srow_t;

static const json_t *startup_cell(const json_t *doc, const void *r, int n) {
  const srow_t *s = r;
  return s->b ? metric(doc, s->fmt, s->a, s->b, n) : metric(doc, s->fmt, s->a, n);
}

/* --spawn zygote: its starts, its template, and both restart times. */
static void startup_zygote(FILE *f, const bl_opts_t *o, const json_t *doc) {
  if (o->nspawns < 2 && o->spawns[0] != WP_SPAWN_ZYGOTE) return;
  const bl_list_t *cols = &o->startup_sizes;
  static const char *const modes[2] = {"concurrent", "sequential"};
  for (int k = 0; k < 2; k++) {
    char label[48];
    snprintf(label, sizeof label, "zygote %s", modes[k]);
    row(f, doc, label, cols, 12, true, startup_cell,
        &(srow_t){"startup.all_ready/%s/%s/n=%d", "pipe-zygote", modes[k]});
  }
  row(f, doc, "zygote first ready conc", cols, 12, true, startup_cell,
      &(srow_t){"startup.first_ready/%s/%s/n=%d", "pipe-zygote", "concurrent"});
  row(f, doc, "zygote template conc", cols, 12, false, startup_cell,
      &(srow_t){"startup.template_ready/%s/%s/n=%d", "pipe-zygote", "concurrent"});
  row(f, doc, "pipe restart (kill)", cols, 12, false, startup_cell,
      &(srow_t){"startup.restart/%s/n=%d", "pipe", NULL});
  row(f, doc, "zygote restart (kill)", cols, 12, false, startup_cell,
      &(srow_t){"startup.restart/%s/n=%d", "pipe-zygote", NULL});
}

static void startup(FILE *f, const bl_opts_t *o, const json_t *doc) {
  const bl_list_t *cols = &o->startup_sizes;
  header_row(f, "start-up, all ready ms", cols, "n=", 12);
  static const char *const modes[2] = {"concurrent", "sequential"};
  for (int k = 0; k < 2; k++) {
    char label[48];
    snprintf(label, sizeof label, "bare spawn %s", modes[k]);
    row(f, doc, label, cols, 12, false, startup_cell,
        &(srow_t){"floor.spawn/%s/n=%d", modes[k], NULL});
  }
  for (int t = 0; t < o->ntransports; t++) {
    const char *tn = wp_transport_name(o->transports[t]);
    for (int k = 0; k < 2; k++) {
      char label[48];
      snprintf(label, sizeof label, "%s %s", tn, modes[k]);
      row(f, doc, label, cols, 12, true, startup_cell,
          &(srow_t){"startup.all_ready/%s/%s/n=%d", tn, modes[k]});
    }
    char label[48];
    snprintf(label, sizeof label, "%s first ready conc", tn);
    row(f, doc, label, cols, 12, true, startup_cell,
        &(srow_t){"startup.first_ready/%s/%s/n=%d", tn, "concurrent"});
    snprintf(label, sizeof label, "%s speedup seq/conc", tn);
    row(f, doc, label, cols, 12, false, startup_cell,
        &(srow_t){"startup.speedup/%s/n=%d", tn, NULL});
  }
  startup_zygote(f, o, doc);
}

/* ---- ping ---------------------------------------------------------------- */

typedef struct prow {
  const char *what; /* rps, p50, p99 */
  const char *t, *mode;
  int n;            /* 0: the floor row */
} prow_t;

static const json_t *ping_cell(const json_t *doc, const void *r, int c) {
  const prow_t *p = r;
  if (!p->n) return metric(doc, "floor.%s/%s/c=%d", p->what, p->t, c);
  if (!p->t) return metric(doc, "ping.%s_per_bare/pipe/%s/n=%d/c=%d", p->what, p->mode, p->n, c);
  return metric(doc, "ping.%s/%s/%s/n=%d/c=%d", p->what, p->t, p->mode, p->n, c);
}

static void ping_table(FILE *f, const bl_opts_t *o, const json_t *doc,
                       const char *title, const char *what) {
  header_row(f, title, &o->conc, "c=", 15);
  static const char *const modes[2] = {"checkout", "pipelined"};
  for (int t = 0; t < o->ntransports; t++) {
    const char *tn = wp_transport_name(o->transports[t]);
    char label[48];
    snprintf(label, sizeof label, "bare %s", tn);
    row(f, doc, label, &o->conc, 15, false, ping_cell, &(prow_t){what, tn, NULL, 0});
    for (int k = 0; k < 2; k++)
      for (int i = 0; i < o->sizes.n; i++) {
        snprintf(label, sizeof label, "%s %s n=%d", tn, modes[k], o->sizes.v[i]);
        row(f, doc, label, &o->conc, 15, true, ping_cell,
            &(prow_t){what, tn, modes[k], o->sizes.v[i]});
        if (o->transports[t] != WP_TRANSPORT_PIPE) continue;
        /* The paired ratio to the bare C pool at this point (t NULL). */
        row(f, doc, "  / bare C pool", &o->conc, 15, false, ping_cell,
            &(prow_t){what, NULL, modes[k], o->sizes.v[i]});
      }
  }
}

/* ---- memory -------------------------------------------------------------- */

static const json_t *mem_cell(const json_t *doc, const void *r, int n) {
  const char *const *s = r;
  return metric(doc, "mem.%s/%s/n=%d", s[0], s[1], n);
}

static void memory(FILE *f, const bl_opts_t *o, const json_t *doc) {
  header_row(f, "memory, RSS MiB", &o->sizes, "n=", 12);
  for (int t = 0; t < o->ntransports; t++) {
    const char *tn = wp_transport_name(o->transports[t]);
    char label[48];
    snprintf(label, sizeof label, "%s supervisor", tn);
    row(f, doc, label, &o->sizes, 12, false, mem_cell,
        (const char *const[]){"supervisor_rss", tn});
    snprintf(label, sizeof label, "%s per worker", tn);
    row(f, doc, label, &o->sizes, 12, false, mem_cell,
        (const char *const[]){"worker_rss", tn});
  }
}

/* ---- the user's call (workload) ------------------------------------------ */

typedef struct wrow {
  const char *what; /* rps, latency.p50, ...; NULL: start-up */
  const char *t;
  int per_worker;   /* c = n × this */
} wrow_t;

static const json_t *workload_cell(const json_t *doc, const void *r, int n) {
  const wrow_t *w = r;
  if (!w->what) return metric(doc, "workload.startup_ms/%s/n=%d", w->t, n);
  return metric(doc, "workload.%s/%s/n=%d/c=%d", w->what, w->t, n, n * w->per_worker);
}

/* Per size: start-up, req/s at c = n and 2n, and at 2n the P50 split into
 * the pool's queue wait and the worker's service time. */
static void workload(FILE *f, const bl_opts_t *o, const json_t *doc) {
  char title[64];
  snprintf(title, sizeof title, "call %.40s", o->call.method);
  header_row(f, title, &o->sizes, "n=", 12);
  static const struct { const char *label, *what; int k; } rows[] = {
      {"start-up ms", NULL, 0},         {"req/s c=n", "rps", 1},
      {"req/s c=2n", "rps", 2},         {"P50 us c=2n", "latency.p50", 2},
      {"  queue wait P50", "queue_wait.p50", 2}, {"  service P50", "service.p50", 2}};
  for (int t = 0; t < o->ntransports; t++) {
    const char *tn = wp_transport_name(o->transports[t]);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
      char label[48];
      snprintf(label, sizeof label, "%s %s", tn, rows[i].label);
      row(f, doc, label, &o->sizes, 12, false, workload_cell,
          &(wrow_t){rows[i].what, tn, rows[i].k});
    }
  }
}

/* ---- instructions -------------------------------------------------------- */

/* "median" of the metric, or "-". */
static const char *median_or_dash(char *b, size_t cap, const json_t *m) {
  if (m) fmt_value(b, cap, num(m, "median"));
  else snprintf(b, cap, "-");
  return b;
}

static void instructions(FILE *f, const json_t *doc) {
  static const char *const rows[3][3] = {
      {"per request, checkout c=1", "instr.sup/pipe/checkout/n=1/c=1", "instr.wrk/pipe/checkout/n=1/c=1"},
      {"per request, pipelined c=100", "instr.sup/pipe/pipelined/n=1/c=100", "instr.wrk/pipe/pipelined/n=1/c=100"},
      {"per worker start, n=16", "instr.start_sup/pipe/n=16", "instr.start_wrk/pipe/n=16"}};
  if (!metric(doc, "%s", rows[0][1]) && !metric(doc, "%s", rows[2][1])) return;
  fprintf(f, "\n%-*s %12s %12s\n", LABEL_W + 6, "pipe instructions (valgrind)", "supervisor", "worker");
  for (int i = 0; i < 3; i++) {
    char a[32], b[32];
    fprintf(f, "  %-*s %12s %12s\n", LABEL_W + 4, rows[i][0],
            median_or_dash(a, sizeof a, metric(doc, "%s", rows[i][1])),
            median_or_dash(b, sizeof b, metric(doc, "%s", rows[i][2])));
  }
}

static void header(FILE *f, const json_t *doc, const char *path, double elapsed) {
  const json_t *g = json_object_get(doc, "git"), *h = json_object_get(doc, "host");
  const char *sha = json_string_value(json_object_get(g, "commit"));
  const json_t *load = json_object_get(h, "loadavg");
  const char *cpu = json_string_value(json_object_get(h, "cpu_model"));
  fprintf(f, "wpool baseline  %.7s%s  %d cpus (%s)  load %.2f\n", sha ? sha : "no git",
          json_is_true(json_object_get(g, "dirty")) ? " dirty" : "",
          (int)json_integer_value(json_object_get(h, "cpus")), cpu ? cpu : "?",
          json_number_value(json_array_get(load, 0)));
  fprintf(f, "%zu metrics in %dm%02ds → %s\n",
          json_array_size(json_object_get(doc, "metrics")), (int)elapsed / 60,
          (int)elapsed % 60, path);
}

static bool selected(const bl_opts_t *o, const char *name) {
  int i = bl_scenario_find(name);
  return i >= 0 && (o->only & (1u << i));
}

void bl_summary_print(FILE *f, const bl_opts_t *o, const json_t *doc,
                      const char *path, double elapsed_s) {
  header(f, doc, path, elapsed_s);
  if (selected(o, "startup") || selected(o, "floors")) startup(f, o, doc);
  if (selected(o, "throughput"))
    ping_table(f, o, doc, "ping req/s (×floor)", "rps");
  /* P90-P99.9 and max are in the file; P50 keeps this on one screen. */
  if (selected(o, "latency")) ping_table(f, o, doc, "ping P50 us (×floor)", "p50");
  if (selected(o, "memory")) memory(f, o, doc);
  if (selected(o, "workload")) workload(f, o, doc);
  if (selected(o, "instructions")) instructions(f, doc);
  fprintf(f, "\n× = pool median / bare floor median in this run and placement, the floor\n"
             "at the requests on the wire, min(C, n × in flight per worker): a\n"
             "checkout point at C > n is read against the floor at n, and its latency,\n"
             "mostly queueing, against none. / bare C pool = the pool over the bare C\n"
             "pool (floor_pool.c) at the same n, C and rules, paired per round.\n"
             "Medians of %d (start-up) and %d (ping) runs.\n",
          o->startup_reps, o->ping_reps);
}
