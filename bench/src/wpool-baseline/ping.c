/*
 * ping.c — measuring the ping grid (see ping.h).
 *
 * Every repetition of a point is independent: a fresh pool, a warm-up run
 * (--warmup answered requests, discarded), then a closed loop of exactly C
 * requests in flight until --requests are answered; its first C replies
 * are the ramp-up from zero in flight and are not measured either. Each
 * repetition yields its req/s and its own latency percentiles, from
 * --requests samples (10,000 by default: P99.9 has ten above it).
 *
 * The grid runs in rounds: round r is repetition r of every point. Why:
 * where the scheduler places the supervisor and its workers (one vCPU or
 * two), and what else the shared machine is doing, moved single points up
 * to 15x here, and both change over seconds, not per request. Repetitions
 * taken back to back (or on one pool) all share one such state, so two
 * runs of one build could differ "significantly" by the moment alone;
 * spread over the whole grid's minutes, each point's runs sample the
 * machine's states, and only a change of the code moves all of them.
 */
#include <stdlib.h>
#include <string.h>

#include "floor.h"
#include "load.h"
#include "ping.h"
#include "stats.h"
#include "wire.h"

const double bl_pct[BL_NPCT] = {50, 90, 95, 99, 99.9, 100};
const char *const bl_pct_name[BL_NPCT] = {"p50", "p90", "p95", "p99", "p99_9", "max"};
const char *const bl_cost_name[BL_NCOST] = {"sup_cpu_us", "wrk_cpu_us", "sup_csw",
                                            "wrk_csw", "sup_syscalls", "wrk_syscalls"};
const char *const bl_cost_unit[BL_NCOST] = {"us", "us", "csw", "csw", "syscalls",
                                            "syscalls"};

void bl_hist_pcts(const wb_hist_t *h, double out_us[BL_NPCT]) {
  for (int k = 0; k < BL_NPCT; k++)
    out_us[k] = (double)wb_hist_percentile(h, bl_pct[k]) / 1e3;
}

bool bl_pct_reportable(int k, uint64_t samples) {
  return bl_pct[k] >= 100 || (double)samples * (100 - bl_pct[k]) / 100 >= 10;
}

const char *bl_ping_mode(const bl_ping_point_t *pt) {
  return pt->pipelined ? "pipelined" : "checkout";
}

int bl_ping_wire(const bl_ping_point_t *pt) {
  long wire = (long)pt->n * pt->max_inflight;
  return wire < pt->c ? (int)wire : pt->c;
}

size_t bl_ping_request(const bl_opts_t *o, bool compact, uint8_t *buf, size_t cap) {
  static const uint8_t payload[64];
  wpi_request_t r = {.id = 1000000, /* a typical id's varint length mid-run */
                     .kind = WPI_REQ_PING, .payload = payload,
                     .payload_len = o->payload < sizeof payload ? o->payload : sizeof payload};
  wpi_request_enc_t e;
  size_t n = wpi_request_prepare(&e, &r, compact);
  if (n > cap) return 0;
  wpi_request_pack(&e, buf);
  return n;
}

/* Adds v to the ascending list l unless it is there. */
static void list_add(bl_list_t *l, int v) {
  int i = 0;
  while (i < l->n && l->v[i] < v) i++;
  if ((i < l->n && l->v[i] == v) || l->n == BL_MAX_LIST) return;
  memmove(l->v + i + 1, l->v + i, (size_t)(l->n - i) * sizeof *l->v);
  l->v[i] = v;
  l->n++;
}

void bl_ping_wire_concs(const bl_opts_t *o, bl_list_t *out) {
  out->n = 0;
  for (int si = 0; si < o->sizes.n; si++)
    for (int ci = 0; ci < o->conc.n; ci++) {
      int n = o->sizes.v[si], conc = o->conc.v[ci];
      list_add(out, conc < n ? conc : n); /* checkout */
      if (conc > n) list_add(out, conc);  /* pipelined: all C out */
    }
}

/* A measured run's CPU and context switches, per request: the window
 * spans the whole wb_run_closed, so every request counted was both sent
 * and answered in it (its C ramp-up requests included: requests + warmup
 * in all). */
static void record_costs(bl_ping_point_t *pt, int rep, wb_costs_t *w,
                         double requests) {
  wb_cost_t k;
  if (!w || wb_costs_end(w, &k) != 0) {
    pt->costs_ok = false;
    return;
  }
  const double v[] = {k.sup_cpu_ns / 1e3, k.wrk_cpu_ns / 1e3, k.sup_csw, k.wrk_csw};
  for (int i = 0; i <= BL_COST_WRK_CSW; i++) pt->cost[i][rep] = v[i] / requests;
}

/* One closed-loop run; its figures into rep (when rep >= 0). Its window
 * counts no syscalls: see count_syscalls. */
static int run_load(wb_ctx_t *c, wp_pool_t *p, bl_ping_point_t *pt,
                    const wb_load_t *l, int rep) {
  wb_load_result_t r;
  wb_costs_t *w = rep >= 0 ? wb_pool_costs_begin(p, false) : NULL;
  int err = wb_run_closed(c->loop, p, l, &r);
  if (rep >= 0) record_costs(pt, rep, w, (double)(l->requests + l->warmup));
  if (!err && r.failed) err = r.first_err;
  if (!err && rep >= 0) {
    double pct[BL_NPCT];
    bl_hist_pcts(r.lat, pct);
    pt->rps[rep] = r.rps;
    for (int k = 0; k < BL_NPCT; k++) pt->pct[k][rep] = pct[k];
  }
  wb_hist_free(r.lat);
  return err;
}

/* Syscalls per request, counted apart from the timed run. Why apart: the
 * counter (a raw_syscalls:sys_enter tracepoint on every process of the
 * pool) sends each syscall down the kernel's traced path, and on this VM
 * that made the timed run ~15 % slower at checkout points while the bare
 * C pool beside it ran uncounted (wpool / bare at n=1 c=1 read 0.82
 * counted, 0.95 not). So: one more closed loop on the same warm pool,
 * counted over its steady state only (load.h count_syscalls: the ramp of
 * its first C sends and the drain of its last replies left out; counted
 * over a whole run, the ramp read 40 extra worker syscalls one run and 0
 * the next at n=1 c=100, where the steady state makes 2 per 100
 * requests). R holds at least 50 rounds of the requests on the wire, so
 * the window's ends weigh a few percent at most. 0, or the run's error. */
static int count_syscalls(wb_ctx_t *c, wp_pool_t *p, bl_ping_point_t *pt,
                          const wb_load_t *timed, int rep) {
  if (wb_costs_syscalls_unavailable()) {
    pt->syscalls_ok = false;
    return 0;
  }
  uint64_t r = c->opt->requests / 10, wire = (uint64_t)bl_ping_wire(pt);
  if (r < 50 * wire) r = 50 * wire;
  if (r < 2000) r = 2000; /* the window's own syscalls (/proc reads) weigh ~0.01 */
  wb_load_t l = *timed;
  l.requests = r;
  l.warmup = (uint64_t)pt->c; /* the ramp: C first sends, none in a read */
  l.count_syscalls = true;
  wb_load_result_t res;
  int err = wb_run_closed(c->loop, p, &l, &res);
  wb_hist_free(res.lat);
  if (!err && res.failed) err = res.first_err;
  if (err || !res.sys_ok) {
    pt->syscalls_ok = false;
    return err;
  }
  pt->cost[BL_COST_SUP_SYS][rep] = res.sys.sup_syscalls / (double)res.sys_answered;
  pt->cost[BL_COST_WRK_SYS][rep] = res.sys.wrk_syscalls / (double)res.sys_answered;
  return 0;
}

int bl_ping_rep(wb_ctx_t *c, bl_ping_point_t *pt, const wp_options_t *po, int rep) {
  const bl_opts_t *o = c->opt;
  wp_pool_t *p;
  int err = wb_pool_up(c->loop, po, &p);
  if (err) return err;
  char payload[64];
  memset(payload, 'p', sizeof payload);
  wb_load_t l = {.concurrency = pt->c, .requests = o->warmup,
                 .req = {.kind = WP_REQ_PING, .payload = payload,
                         .payload_len = o->payload}};
  if (o->warmup) err = run_load(c, p, pt, &l, -1);
  l.requests = o->requests;
  l.warmup = (uint64_t)pt->c;
  if (!err) err = run_load(c, p, pt, &l, rep);
  if (!err) err = count_syscalls(c, p, pt, &l, rep);
  wb_pool_down(c->loop, p);
  return err;
}

/* The bare C pool's repetition of a pipe point: the same n, C, in flight
 * per worker, warm-up and requests as one_rep, on fresh children. */
static int bare_rep(wb_ctx_t *c, bl_ping_point_t *pt, int rep) {
  const bl_opts_t *o = c->opt;
  char child[4096];
  uint8_t req[128];
  size_t len = bl_ping_request(o, true, req, sizeof req);
  fl_pool_t *f;
  if (len == 0 || wb_sibling_path("tests/floor_child", child, sizeof child) != 0 ||
      fl_pool_open(child, pt->n, (uint32_t)len, &f) != 0)
    return -1;
  wb_hist_t *lat = wb_hist_new();
  double rps, pct[BL_NPCT];
  fl_load_t l = {.conc = pt->c, .requests = o->warmup ? o->warmup : 1};
  int err = lat ? fl_pool_run(f, &l, pt->max_inflight, lat, &rps) : -1;
  uint64_t requests, writes;
  fl_pool_writes(f, &requests, &writes); /* count the measured run only */
  l = (fl_load_t){.conc = pt->c, .requests = o->requests, .warmup = (uint64_t)pt->c};
  if (!err) wb_hist_reset(lat);
  if (!err) err = fl_pool_run(f, &l, pt->max_inflight, lat, &rps);
  if (!err) {
    fl_pool_writes(f, &requests, &writes);
    pt->bare_per_write = (double)requests / (double)writes;
    bl_hist_pcts(lat, pct);
    pt->bare_rps[rep] = rps;
    for (int k = 0; k < BL_NPCT; k++) pt->bare_pct[k][rep] = pct[k];
  }
  wb_hist_free(lat);
  fl_pool_close(f);
  return err;
}

static void bare_try(wb_ctx_t *c, bl_ping_point_t *pt, int rep) {
  if (bare_rep(c, pt, rep) == 0) return;
  pt->bare_ok = false;
  bl_fail(c, "bare C pool %s n=%d c=%d: a child broke or hung", bl_ping_mode(pt),
          pt->n, pt->c);
}

/* One repetition of a grid point: its pool options. */
static int one_rep(wb_ctx_t *c, bl_ping_point_t *pt, int rep) {
  wp_options_t po;
  bl_pool_options(c, pt->t, pt->n, &po);
  po.max_inflight = pt->max_inflight;
  return bl_ping_rep(c, pt, &po, rep);
}

static void point_failed(wb_ctx_t *c, bl_ping_point_t *pt, int err) {
  pt->ok = false;
  bl_fail_point(c, err, "ping %s %s n=%d c=%d", wp_transport_name(pt->t),
                bl_ping_mode(pt), pt->n, pt->c);
}

/* Round r: repetition r of every point still standing. */
static void one_round(wb_ctx_t *c, bl_ping_grid_t *g, int r) {
  for (size_t i = 0; i < g->npts; i++) {
    bl_ping_point_t *pt = &g->pts[i];
    if (!pt->ok) continue;
    bl_status(c, "round %d/%d: %s %s n=%d c=%d", r + 1, g->reps,
              wp_transport_name(pt->t), bl_ping_mode(pt), pt->n, pt->c);
    /* The bare pool beside it, first in every other round: neither side
     * always gets the warmer caches. */
    if (c->opt->no_bare_pool) pt->bare_ok = false; /* no floor metrics either */
    bool bare = pt->bare_ok && pt->t == WP_TRANSPORT_PIPE;
    bool bare_first = r % 2;
    if (bare && bare_first) bare_try(c, pt, r);
    int err = one_rep(c, pt, r);
    if (err) point_failed(c, pt, err);
    if (bare && !bare_first) bare_try(c, pt, r);
  }
  bl_done(c, "ping round %d/%d done (%zu points)", r + 1, g->reps, g->npts);
}

static void report_point(wb_ctx_t *c, const bl_ping_point_t *pt, int reps) {
  bl_done(c, "ping %s %-9s n=%d c=%-3d %8.0f req/s  p50 %7.1f us  p99 %7.1f us",
          wp_transport_name(pt->t), bl_ping_mode(pt), pt->n, pt->c,
          wb_stats_median(pt->rps, (size_t)reps),
          wb_stats_median(pt->pct[0], (size_t)reps),
          wb_stats_median(pt->pct[3], (size_t)reps));
}

bool bl_ping_point_init(bl_ping_point_t *pt, int reps, wp_transport_t t, int n, int conc,
                        bool pipelined) {
  double *buf = calloc((size_t)reps * (2 + 2 * BL_NPCT + BL_NCOST), sizeof *buf);
  if (!buf) return false;
  *pt = (bl_ping_point_t){.t = t, .pipelined = pipelined, .n = n, .c = conc,
                          .max_inflight = pipelined ? (conc + n - 1) / n : 1,
                          .ok = true, .costs_ok = true, .syscalls_ok = true,
                          .bare_ok = true, .rps = buf};
  for (int k = 0; k < BL_NPCT; k++) pt->pct[k] = buf + (size_t)reps * (1 + k);
  for (int k = 0; k < BL_NCOST; k++)
    pt->cost[k] = buf + (size_t)reps * (1 + BL_NPCT + k);
  pt->bare_rps = buf + (size_t)reps * (1 + BL_NPCT + BL_NCOST);
  for (int k = 0; k < BL_NPCT; k++)
    pt->bare_pct[k] = buf + (size_t)reps * (2 + BL_NPCT + BL_NCOST + k);
  return true;
}

/* Appends one point. */
static bool add_point(bl_ping_grid_t *g, wp_transport_t t, int n, int conc,
                      bool pipelined) {
  if (!bl_ping_point_init(&g->pts[g->npts], g->reps, t, n, conc, pipelined)) return false;
  g->npts++;
  return true;
}

static bl_ping_grid_t *plan(const bl_opts_t *o) {
  bl_ping_grid_t *g = calloc(1, sizeof *g);
  size_t cap = (size_t)o->ntransports * (size_t)o->sizes.n * (size_t)o->conc.n * 2;
  if (g) g->pts = calloc(cap, sizeof *g->pts);
  if (!g || !g->pts) {
    free(g);
    return NULL;
  }
  g->reps = o->ping_reps;
  for (int ti = 0; ti < o->ntransports; ti++)
    for (int si = 0; si < o->sizes.n; si++)
      for (int ci = 0; ci < o->conc.n; ci++) {
        int n = o->sizes.v[si], conc = o->conc.v[ci];
        if (!add_point(g, o->transports[ti], n, conc, false)) return g;
        if (conc > n && !add_point(g, o->transports[ti], n, conc, true)) return g;
      }
  return g;
}

const bl_ping_grid_t *bl_ping_grid(wb_ctx_t *c) {
  if (c->ping) return c->ping;
  c->ping = plan(c->opt);
  if (!c->ping) {
    bl_fail(c, "out of memory planning the ping grid");
    return NULL;
  }
  bl_ping_grid_t *g = c->ping;
  for (int r = 0; r < g->reps; r++) one_round(c, g, r);
  for (size_t i = 0; i < g->npts; i++)
    if (g->pts[i].ok) report_point(c, &g->pts[i], g->reps);
  return g;
}

void bl_ping_free(wb_ctx_t *c) {
  if (!c->ping) return;
  for (size_t i = 0; i < c->ping->npts; i++) free(c->ping->pts[i].rps);
  free(c->ping->pts);
  free(c->ping);
  c->ping = NULL;
}
