/*
 * scn_floors.c — the floors, measured in the same run as the pool figures
 * they are read against (floor.h says what each one is).
 *
 * Metrics:
 *   floor.spawn/<mode>/n=N        ms until N bare children all wrote a byte
 *   floor.spawn_first/<mode>/n=N  ms until the first one did
 *   floor.spawn_mean/<mode>/n=N   mean per child spawn → first byte, ms
 *   floor.rps/<t>/c=C             bare pipe / bare gRPC req/s, C in flight
 *   floor.<p>/<t>/c=C             their latency percentiles (us)
 * Sizes and repetitions follow startup's and ping's; the concurrencies are
 * those actually on the wire at some point of the ping grid (a checkout
 * point with n workers has min(C, n) out, the rest queue in the pool:
 * bl_ping_wire_concs), so every pool figure finds the floor doing its
 * work. The spawn floor runs in rounds over the sizes, as startup does
 * (scn_startup.c says why). The floors never use --worker: they are the
 * machine's reference, not the worker's.
 *
 * Placement: the suite's own (params.placement), so a floor and the pool
 * figure read against it ran alike: pinned when the suite is (--cpus,
 * --quick), unpinned when it is not. Unpinned, the scheduler sometimes
 * keeps the two ends on one vCPU and sometimes splits them (a wake-up on
 * an idle vCPU costs ~50 us here): the pipe floor swung 60x between
 * points of one run, the gRPC one 3x between runs. That swing is the
 * pool's too in that placement; pinning only the floor made ratios that
 * compared two placements (pipe C=1 at x13 of "its floor").
 *
 * The pipe floor writes one frame per write() on both sides (floor_pipe.c)
 * and records its requests per write in params, 1 by construction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "floor.h"
#include "ping.h"
#include "stats.h"

static const char *const mode_name[2] = {"concurrent", "sequential"};

/* One size's runs: [all, first, mean][mode][rep]. */
typedef struct spawn_runs {
  int n;
  bool ok;
  double *v[3][2];
} spawn_runs_t;

static void spawn_failed(wb_ctx_t *c, spawn_runs_t *s, const char *child) {
  s->ok = false;
  bl_fail(c, "spawn floor n=%d: %s did not start or stayed silent", s->n, child);
}

/* Repetition i (or the warm-up, i < 0) of one size, both modes, in
 * alternating order (scn_startup.c says why). */
static void spawn_rep(wb_ctx_t *c, const char *child, spawn_runs_t *s, int i) {
  fl_spawn_result_t r;
  for (int j = 0; j < 2 && s->ok; j++) {
    int k = (j + (i < 0 ? 0 : i)) % 2;
    if (i < 0) bl_status(c, "spawn %s n=%d warm-up", mode_name[k], s->n);
    else bl_status(c, "round %d/%d: spawn %s n=%d", i + 1, c->opt->startup_reps,
                   mode_name[k], s->n);
    if (fl_spawn(child, s->n, k == 1, &r) != 0) return spawn_failed(c, s, child);
    if (i < 0) continue;
    s->v[0][k][i] = r.all_ms;
    s->v[1][k][i] = r.first_ms;
    s->v[2][k][i] = r.mean_ms;
  }
}

static void spawn_emit(wb_ctx_t *c, const spawn_runs_t *s) {
  static const char *const name[3] = {"spawn", "spawn_first", "spawn_mean"};
  size_t reps = (size_t)c->opt->startup_reps;
  for (int m = 0; m < 3; m++)
    for (int k = 0; k < 2; k++)
      bl_metric(c, "ms", "lower",
                json_pack("{s:s, s:i}", "mode", mode_name[k], "n", s->n),
                s->v[m][k], reps, "floor.%s/%s/n=%d", name[m], mode_name[k], s->n);
  bl_done(c, "spawn n=%-3d to first byte: all at once %.2f ms, one by one %.2f ms",
          s->n, wb_stats_median(s->v[0][0], reps), wb_stats_median(s->v[0][1], reps));
}

/* Warm-up, then rounds over the sizes (as startup does), then the metrics. */
static void spawn_floors(wb_ctx_t *c, const char *child) {
  int ns = c->opt->startup_sizes.n, reps = c->opt->startup_reps;
  spawn_runs_t *s = calloc((size_t)ns, sizeof *s);
  double *buf = calloc((size_t)ns * 6 * (size_t)reps, sizeof *buf);
  if (!s || !buf) {
    free(s);
    free(buf);
    return bl_fail(c, "out of memory");
  }
  for (int j = 0; j < ns; j++) {
    s[j] = (spawn_runs_t){.n = c->opt->startup_sizes.v[j], .ok = true};
    for (int m = 0; m < 3; m++)
      for (int k = 0; k < 2; k++) s[j].v[m][k] = buf + (size_t)reps * (size_t)(j * 6 + m * 2 + k);
    spawn_rep(c, child, &s[j], -1);
  }
  for (int i = 0; i < reps; i++)
    for (int j = 0; j < ns; j++) spawn_rep(c, child, &s[j], i);
  for (int j = 0; j < ns; j++)
    if (s[j].ok) spawn_emit(c, &s[j]);
  free(s);
  free(buf);
}

/* ---- the pipe and gRPC floors: closed loops at each concurrency --------- */

typedef int (*load_fn)(void *h, const fl_load_t *l, wb_hist_t *lat, double *rps);
/* More params for a point's floor.rps, about the runs since the last call
 * (new object), or NULL. */
typedef json_t *(*note_fn)(void *h);

static int pipe_run(void *h, const fl_load_t *l, wb_hist_t *lat, double *rps) {
  return fl_pipe_run(h, l, lat, rps);
}
static int grpc_run(void *h, const fl_load_t *l, wb_hist_t *lat, double *rps) {
  return fl_grpc_run(h, l, lat, rps);
}

/* Requests per write() on each side: 1 when each request is its own write
 * (a ratio above 1 would be batching, not a request's work). */
static json_t *pipe_note(void *h) {
  fl_writes_t w;
  fl_pipe_writes(h, &w);
  json_t *o = json_pack("{s:I, s:f}", "requests", (json_int_t)w.requests,
                        "requests_per_write", w.writes ? (double)w.requests / (double)w.writes : 0.0);
  if (o && w.echo_writes > 0)
    json_object_set_new(o, "requests_per_echo_write",
                        json_real((double)w.requests / (double)w.echo_writes));
  return o;
}

/* Warm-up, then the repetitions: rps[rep] and pct[k][rep]. */
static int load_point(wb_ctx_t *c, load_fn fn, void *h, const char *tn, int conc,
                      double *rps, double *pct[BL_NPCT]) {
  const bl_opts_t *o = c->opt;
  wb_hist_t *lat = wb_hist_new();
  if (!lat) return -1;
  double r, p[BL_NPCT];
  /* Warm-up, then each repetition skips its ramp-up (the first C), as ping.c does. */
  fl_load_t l = {.conc = conc, .requests = o->warmup ? o->warmup : 1};
  int err = fn(h, &l, lat, &r);
  l = (fl_load_t){.conc = conc, .requests = o->requests, .warmup = (uint64_t)conc};
  for (int i = 0; i < o->ping_reps && !err; i++) {
    bl_status(c, "%s c=%d rep %d/%d", tn, conc, i + 1, o->ping_reps);
    wb_hist_reset(lat);
    err = fn(h, &l, lat, &rps[i]);
    bl_hist_pcts(lat, p);
    for (int k = 0; k < BL_NPCT; k++) pct[k][i] = p[k];
  }
  wb_hist_free(lat);
  return err;
}

static void load_emit(wb_ctx_t *c, const char *tn, const char *place, int conc,
                      double *rps, double *pct[BL_NPCT], json_t *note) {
  size_t reps = (size_t)c->opt->ping_reps;
  json_t *params = json_pack("{s:s, s:i, s:s}", "transport", tn, "c", conc, "placement", place);
  if (params && note) json_object_update(params, note);
  json_decref(note);
  bl_metric(c, "req/s", "higher", params, rps, reps, "floor.rps/%s/c=%d", tn, conc);
  for (int k = 0; k < BL_NPCT; k++)
    if (bl_pct_reportable(k, c->opt->requests))
      bl_metric(c, "us", "lower",
                json_pack("{s:s, s:i, s:f, s:s}", "transport", tn, "c", conc,
                          "percentile", bl_pct[k], "placement", place),
                pct[k], reps, "floor.%s/%s/c=%d", bl_pct_name[k], tn, conc);
  bl_done(c, "bare %s c=%-3d %8.0f req/s  p50 %7.1f us", tn, conc,
          wb_stats_median(rps, reps), wb_stats_median(pct[0], reps));
}

static void load_floors(wb_ctx_t *c, load_fn fn, note_fn note, void *h,
                        const char *tn, const char *place) {
  size_t reps = (size_t)c->opt->ping_reps;
  double *buf = calloc(reps * (1 + BL_NPCT), sizeof *buf), *pct[BL_NPCT];
  if (!buf) return bl_fail(c, "out of memory");
  for (int k = 0; k < BL_NPCT; k++) pct[k] = buf + reps * (size_t)(1 + k);
  bl_list_t concs;
  bl_ping_wire_concs(c->opt, &concs);
  if (note) json_decref(note(h)); /* count from here */
  for (int i = 0; i < concs.n; i++) {
    int conc = concs.v[i];
    if (load_point(c, fn, h, tn, conc, buf, pct) != 0) {
      bl_fail(c, "bare %s floor c=%d failed (the peer broke or hung)", tn, conc);
      break;
    }
    load_emit(c, tn, place, conc, buf, pct, note ? note(h) : NULL);
  }
  free(buf);
}

/* Frames the size of a ping request: the echo child needs only the size. */
static void pipe_floor(wb_ctx_t *c, const char *child, size_t len,
                       const char *place) {
  fl_pipe_t *f;
  if (fl_pipe_open(child, (uint32_t)len, &f) != 0)
    return bl_fail(c, "bare pipe floor: cannot start %s echo", child);
  load_floors(c, pipe_run, pipe_note, f, "pipe", place);
  fl_pipe_close(f);
}

static void grpc_floor(wb_ctx_t *c, const uint8_t *req, size_t len,
                       const char *place) {
  char worker[4096], why[256] = "cannot locate wpool-worker-grpc";
  fl_grpc_t *g;
  if (wb_sibling_path("wpool-worker-grpc", worker, sizeof worker) != 0 ||
      fl_grpc_open(worker, req, len, &g, why, sizeof why) != 0)
    return bl_fail(c, "bare gRPC floor: %s", why);
  load_floors(c, grpc_run, NULL, g, "grpc", place);
  fl_grpc_close(g);
}

static void run(wb_ctx_t *c) {
  char child[4096];
  uint8_t req[128], preq[128];
  size_t len = bl_ping_request(c->opt, false, req, sizeof req),
         plen = bl_ping_request(c->opt, true, preq, sizeof preq);
  if (wb_sibling_path("tests/floor_child", child, sizeof child) != 0 ||
      access(child, X_OK) != 0)
    return bl_fail(c, "no %s: build it with make", child);
  spawn_floors(c, child);
  char place[1024];
  bl_placement(c->opt, place, sizeof place);
  for (int i = 0; i < c->opt->ntransports; i++) {
    if (c->opt->transports[i] == WP_TRANSPORT_PIPE) pipe_floor(c, child, plen, place);
    else grpc_floor(c, req, len, place);
  }
}

const wb_scenario_t scn_floors = {
    "floors",
    "bare posix_spawn to first byte, bare pipe ping-pong, bare gRPC C-core "
    "calls (the references)",
    run};
