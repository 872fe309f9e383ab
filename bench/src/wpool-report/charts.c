/*
 * charts.c — which metrics each chart draws, picked by id group and
 * params (results/README.md lists the ids):
 *
 *   startup         startup.all_ready vs pool size, per transport and start
 *                   mode, with the bare posix_spawn floor (floor.spawn)
 *   throughput_T    ping.rps vs requests in flight, a line per pool size and
 *                   dispatch mode, with the bare transport's floor.rps
 *   latency_T       ping P50 and P99 vs requests in flight (checkout mode)
 *   openloop        open-loop latency percentiles at fixed arrival rates
 *   payload_*       echo MB/s and latency vs payload size
 *   tune, tune_latency  bench/tune's curve with its USL fit and choice
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report.h"

static const char *str(const json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "";
}

static double num(const json_t *o, const char *k) {
  const json_t *v = json_object_get(o, k);
  return json_is_number(v) ? json_number_value(v) : NAN;
}

static bool starts(const char *id, const char *prefix) {
  return strncmp(id, prefix, strlen(prefix)) == 0;
}

/* Collects, draws when there is anything, frees. */
static int draw_set(rp_ctx_t *c, const rp_chart_t *ch, rp_pick_fn pick,
                    const void *arg, const char *more, const char *xunit) {
  rp_set_t set;
  int rc = rp_collect(c->doc, pick, arg, &set);
  if (rc == 0 && rp_set_points(&set) > 0) rc = rp_draw(c, ch, &set, more, xunit);
  rp_set_free(&set);
  if (rc) fprintf(stderr, "report: %s: cannot write the chart's files\n", ch->name);
  return rc;
}

/* ---- startup ------------------------------------------------------------- */

static bool pick_startup(const char *id, const json_t *p, char *label, size_t cap,
                         double *x, const void *arg) {
  (void)arg;
  *x = num(p, "n");
  if (starts(id, "startup.all_ready/"))
    snprintf(label, cap, "%s, %s start", str(p, "transport"), str(p, "mode"));
  else if (starts(id, "floor.spawn/"))
    snprintf(label, cap, "floor: bare posix_spawn, %s", str(p, "mode"));
  else
    return false;
  return isfinite(*x);
}

int rp_chart_startup(rp_ctx_t *c) {
  rp_chart_t ch = {"startup", "Pool start-up: all workers ready, vs pool size",
                   "pool size (workers)", "time to all ready (ms)", true, true, NULL};
  return draw_set(c, &ch, pick_startup, NULL, NULL, "workers");
}

/* ---- throughput and latency vs concurrency, per transport ---------------- */

static bool pick_rps(const char *id, const json_t *p, char *label, size_t cap,
                     double *x, const void *arg) {
  if (strcmp(str(p, "transport"), arg) != 0) return false;
  *x = num(p, "c");
  if (starts(id, "ping.rps/"))
    snprintf(label, cap, "pool n=%.0f, %s", num(p, "n"), str(p, "mode"));
  else if (starts(id, "floor.rps/"))
    snprintf(label, cap, "floor: one bare %s", (const char *)arg);
  else
    return false;
  return isfinite(*x);
}

static bool pick_lat(const char *id, const json_t *p, char *label, size_t cap,
                     double *x, const void *arg) {
  double pct = num(p, "percentile");
  if (strcmp(str(p, "transport"), arg) != 0 || (pct != 50 && pct != 99)) return false;
  *x = num(p, "c");
  if (starts(id, "ping.") && strcmp(str(p, "mode"), "checkout") == 0)
    snprintf(label, cap, "pool n=%.0f P%.0f", num(p, "n"), pct);
  else if (starts(id, "floor."))
    snprintf(label, cap, "floor: bare %s P%.0f", (const char *)arg, pct);
  else
    return false;
  return isfinite(*x);
}

int rp_chart_throughput(rp_ctx_t *c) {
  static const char *ts[] = {"pipe", "grpc"};
  for (int i = 0; i < 2; i++) {
    char name[64], title[128];
    snprintf(name, sizeof name, "throughput_%s", ts[i]);
    snprintf(title, sizeof title, "Ping throughput over %s, closed loop", ts[i]);
    /* Log y: the bare-transport floor can be 10x the pool's. */
    rp_chart_t ch = {name, title, "requests in flight", "throughput (req/s)", true, true, NULL};
    if (draw_set(c, &ch, pick_rps, ts[i], NULL, "in flight")) return -1;
  }
  return 0;
}

int rp_chart_latency(rp_ctx_t *c) {
  static const char *ts[] = {"pipe", "grpc"};
  for (int i = 0; i < 2; i++) {
    char name[64], title[128];
    snprintf(name, sizeof name, "latency_%s", ts[i]);
    snprintf(title, sizeof title, "Ping latency over %s, closed loop (checkout): P50 and P99", ts[i]);
    rp_chart_t ch = {name, title, "requests in flight", "latency (µs)", true, true, NULL};
    if (draw_set(c, &ch, pick_lat, ts[i], NULL, "in flight")) return -1;
  }
  return 0;
}

/* ---- open loop ------------------------------------------------------------ */

static const double PCTS[] = {50, 90, 95, 99, 99.9, 100};
#define NPCTS (sizeof PCTS / sizeof PCTS[0])

static bool pick_open(const char *id, const json_t *p, char *label, size_t cap,
                      double *x, const void *arg) {
  (void)arg;
  double pct = num(p, "percentile");
  if (!starts(id, "openloop.") || !isfinite(pct)) return false;
  for (size_t k = 0; k < NPCTS; k++)
    if (PCTS[k] == pct) *x = (double)k;
  snprintf(label, cap, "%s n=%.0f, %.0f %% of capacity (%.0f req/s)", str(p, "transport"),
           num(p, "n"), num(p, "load_pct"), num(p, "rate"));
  return true;
}

int rp_chart_openloop(rp_ctx_t *c) {
  rp_chart_t ch = {"openloop", "Open-loop latency at a fixed arrival rate (from intended send time)",
                   "percentile", "latency (µs)", false, true,
                   "set xtics (\"P50\" 0, \"P90\" 1, \"P95\" 2, \"P99\" 3, \"P99.9\" 4, \"max\" 5)\n"
                   "set xrange [-0.3:5.3]"};
  return draw_set(c, &ch, pick_open, NULL, NULL, "percentile # (P50 P90 P95 P99 P99.9 max)");
}

/* ---- payload sizes -------------------------------------------------------- */

static bool pick_payload(const char *id, const json_t *p, char *label, size_t cap,
                         double *x, const void *arg) {
  const char *what = arg;
  *x = num(p, "bytes");
  if (!starts(id, "payload.") || !isfinite(*x)) return false;
  if (!strcmp(what, "mbps")) {
    if (!starts(id, "payload.mbps/")) return false;
    snprintf(label, cap, "%s", str(p, "transport"));
  } else {
    double pct = num(p, "percentile");
    if (pct != 50 && pct != 99) return false;
    snprintf(label, cap, "%s P%.0f", str(p, "transport"), pct);
  }
  return true;
}

int rp_chart_payload(rp_ctx_t *c) {
  /* Sizes in binary units: 64B, 16kiB, 1MiB. */
  static const char *fmt = "set format x \"%.0b%BB\"";
  rp_chart_t bw = {"payload_mbps", "Echo throughput vs payload size (one worker, one at a time)",
                   "payload (each way)", "echoed payload (MB/s)", true, false, fmt};
  rp_chart_t lat = {"payload_latency", "Echo latency vs payload size: P50 and P99",
                    "payload (each way)", "latency (µs)", true, true, fmt};
  if (draw_set(c, &bw, pick_payload, "mbps", NULL, "bytes")) return -1;
  return draw_set(c, &lat, pick_payload, "lat", NULL, "bytes");
}
