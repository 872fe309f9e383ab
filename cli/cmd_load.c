/*
 * cmd_load.c — `wpool load --profile stress|spike|soak`: a load shape on a
 * pool (profile.h), its figures, a pass/fail table of the thresholds
 * (--slo, --fail-on, as k6's) and the exit code they set: 1 when any
 * fails. --out saves the run (figures, the curve or samples, and the
 * per-interval series) as a results document.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmdline.h"
#include "interrupt.h"
#include "load.h"
#include "profile.h"
#include "build.h"
#include "results.h"

static const char *CMD = "load";

enum {
  OPT_PROFILE = OPT_SHARED_END, OPT_WORK, OPT_QUICK, OPT_SLO, OPT_FAIL_ON, OPT_CAPACITY,
  OPT_STEP, OPT_STEP_PCT, OPT_BASE_PCT, OPT_FACTOR, OPT_SPIKE, OPT_RECOVER_PCT, OPT_SAMPLE,
  OPT_RECYCLE, OPT_QUEUE_LIMIT, OPT_INTERVAL, OPT_OUT, OPT_CALL, OPT_PAYLOAD_FILE, OPT_PAYLOADS
};

static void usage(FILE *f) {
  fprintf(f,
          "usage: wpool load --profile stress|spike|soak [-n N] [options]\n"
          "A load shape on a pool, rates as shares of its capacity (measured first):\n"
          "  stress  rate steps (--step-pct of capacity each) until a step breaks --slo\n"
          "          twice: the breaking point (the last rate that held) and the curve\n"
          "  spike   --base-pct of capacity, --factor times that for --spike, back: peak\n"
          "          queue, refused, timed out, P99 from the spike on, recovery time\n"
          "  soak    --base-pct of capacity for --duration, workers recycled: slopes of\n"
          "          supervisor and worker RSS, open descriptors, P99 per --sample\n"
          "Thresholds (--slo, --fail-on) end in a pass/fail table; exit 1 if any fails.\n"
          "      --profile P        stress, spike or soak\n"
          "      --work SPEC        the request: cpu_us=U,sleep_us=U,reply_bytes=B\n"
          "                         (default cpu_us=200)\n"
          "      --call METHOD      the worker's own method instead of --work\n"
          "      --payload-file F, --payloads DIR|F.jsonl   its payload(s), as in ping\n"
          "  -d, --duration DUR     soak length (default 10m; --quick 30s)\n"
          "      --quick            short variants, each well under a minute\n"
          "      --slo SPEC         stress: what a step must hold (default\n"
          "                         'p99<5ms,errors<1%%'); spike, soak: thresholds\n"
          "      --fail-on SPEC     thresholds on the run's figures (defaults: stress\n"
          "                         'breaking_point>0', spike 'errors<1%%', soak\n"
          "                         'supervisor_rss_slope<1MiB/min,worker_rss_slope<1MiB/min,\n"
          "                         fds_slope<1/min')\n"
          "      --capacity R       req/s to take as the capacity instead of measuring\n"
          "      --step DUR         stress: each step's length (default 3s; quick 1s)\n"
          "      --step-pct P       stress: step size, %% of capacity (default 10)\n"
          "      --base-pct P       spike, soak: the steady rate, %% of capacity (40, 50)\n"
          "      --factor F         spike: the spike's rate over the steady one (default 4)\n"
          "      --spike DUR        spike: its length (default 5s; quick 2s)\n"
          "      --recover-pct P    spike: recovered when 3 windows' P99 are within P %%\n"
          "                         of the pre-spike P99 (default 50)\n"
          "      --sample DUR       soak: sample period (default 60s; quick 3s)\n"
          "      --recycle K        soak: recycle a worker after K requests (default\n"
          "                         10000, jitter 10 %%; 0 off)\n"
          "      --queue-limit K    the pool's queue limit (requests beyond: refused)\n"
          "      --interval DUR     the series' interval (default 100ms)\n"
          "      --out FILE         save the run as a results document (JSON)\n"
          "Threshold metrics: p50 p99 max errors achieved capacity, and stress:\n"
          "breaking_point; spike: peak_queue refused timed_out spike_p99 recovery;\n"
          "soak: supervisor_rss_slope worker_rss_slope fds_slope p99_slope (per /min).\n"
          "Exit: 0 every threshold passed, 1 one failed (or the run did), 2 usage.\n"
          CLI_POOL_HELP);
}

typedef struct load_opts {
  cli_pool_t cp;
  wb_profile_t prof;
  bool have_profile, quick;
  const char *slo_s, *fail_s, *out;
  uint64_t recycle;
  wb_call_t call;
  wb_slo_t slo, fail;
  /* Options given before --profile/--quick settle the defaults. */
  double capacity, step_pct, base_pct, factor, recover_pct;
  uint64_t step_ns, spike_ns, sample_ns, duration_ns, interval_ns;
  uint32_t cpu_us, sleep_us, reply_bytes;
  bool work_given;
} load_opts_t;

static int parse_pos(const char *s, double max, double *out) {
  char *end;
  double v = strtod(s, &end);
  if (end == s || *end || !(v > 0) || v > max) return -1;
  *out = v;
  return 0;
}

/* One of load's own options: 0, or -1 (a bad value). */
static int own_opt(load_opts_t *lo, int c, const char *arg, char *why, size_t len) {
  switch (c) {
  case OPT_PROFILE: lo->have_profile = true; return wb_shape_parse(arg, &lo->prof.shape);
  case OPT_QUICK: lo->quick = true; return 0;
  case OPT_WORK:
    lo->work_given = true;
    return wb_parse_work(arg, &lo->cpu_us, &lo->sleep_us, &lo->reply_bytes);
  case OPT_SLO: lo->slo_s = arg; return 0;
  case OPT_FAIL_ON: lo->fail_s = arg; return 0;
  case OPT_OUT: lo->out = arg; return 0;
  case 'd': return wb_parse_duration(arg, &lo->duration_ns) || !lo->duration_ns ? -1 : 0;
  case OPT_STEP: return wb_parse_duration(arg, &lo->step_ns) || !lo->step_ns ? -1 : 0;
  case OPT_SPIKE: return wb_parse_duration(arg, &lo->spike_ns) || !lo->spike_ns ? -1 : 0;
  case OPT_SAMPLE: return wb_parse_duration(arg, &lo->sample_ns) || !lo->sample_ns ? -1 : 0;
  case OPT_INTERVAL: return wb_parse_duration(arg, &lo->interval_ns) || lo->interval_ns < 1000000 ? -1 : 0;
  case OPT_CAPACITY: return parse_pos(arg, 1e8, &lo->capacity);
  case OPT_STEP_PCT: return parse_pos(arg, 100, &lo->step_pct);
  case OPT_BASE_PCT: return parse_pos(arg, 1000, &lo->base_pct);
  case OPT_FACTOR: return parse_pos(arg, 1000, &lo->factor);
  case OPT_RECOVER_PCT: return parse_pos(arg, 10000, &lo->recover_pct);
  case OPT_RECYCLE: return wb_parse_uint(arg, 0, UINT64_MAX, &lo->recycle);
  case OPT_QUEUE_LIMIT: {
    uint64_t v;
    if (wb_parse_uint(arg, 1, UINT64_MAX, &v)) return -1;
    lo->cp.o.queue_limit = (size_t)v;
    return 0;
  }
  case OPT_CALL:
  case OPT_PAYLOAD_FILE:
  case OPT_PAYLOADS:
    return wb_call_opt(&lo->call, c - OPT_CALL, arg, why, len) ? -2 : 0;
  default: return -3;
  }
}

/* The profile from the defaults of its shape and what was typed. */
static void settle(load_opts_t *lo) {
  wb_profile_t *p = &lo->prof;
  wb_profile_defaults(p, p->shape, lo->quick);
  p->req = (wp_request_t){.kind = WP_REQ_WORK, .cpu_us = lo->work_given ? lo->cpu_us : 200,
                          .sleep_us = lo->sleep_us, .reply_bytes = lo->reply_bytes};
  if (lo->call.method) {
    p->req = (wp_request_t){.kind = WP_REQ_CALL, .method = lo->call.method};
    p->set = lo->call.payloads.items;
    p->nset = lo->call.payloads.n;
  }
  p->capacity = lo->capacity;
  p->slots = lo->cp.o.size * lo->cp.o.max_inflight;
  if (lo->step_pct > 0) p->step_pct = lo->step_pct;
  if (lo->step_ns) p->step_ns = lo->step_ns;
  if (lo->base_pct > 0) p->base_pct = p->rate_pct = lo->base_pct;
  if (lo->factor > 0) p->factor = lo->factor;
  if (lo->spike_ns) p->spike_ns = lo->spike_ns;
  if (lo->recover_pct > 0) p->recover_pct = lo->recover_pct;
  if (lo->sample_ns) p->sample_ns = lo->sample_ns;
  if (lo->duration_ns) p->duration_ns = lo->duration_ns;
  p->interval_ns = lo->interval_ns;
  if (lo->cp.o.request_timeout_ns) p->stall_ns = WB_STALL_OFF;
  /* Attached workers are not ours to recycle (the pool refuses it). */
  if (p->shape == WB_SOAK && lo->recycle && !lo->cp.o.nconnect) {
    lo->cp.o.max_requests = lo->recycle;
    lo->cp.o.max_requests_jitter = lo->recycle / 10;
  }
}

/* --slo and --fail-on against the shape's metrics, with their defaults. */
static int parse_thresholds(load_opts_t *lo, char *why, size_t len) {
  static const char *fail_default[] = {
      "breaking_point>0", "errors<1%",
      "supervisor_rss_slope<1MiB/min,worker_rss_slope<1MiB/min,fds_slope<1/min"};
  size_t n;
  const wb_slo_metric_t *m = wb_shape_metrics(lo->prof.shape, &n);
  const char *slo = lo->slo_s ? lo->slo_s : lo->prof.shape == WB_STRESS ? "p99<5ms,errors<1%" : "";
  const char *fail = lo->fail_s ? lo->fail_s : fail_default[lo->prof.shape];
  if (wb_slo_parse(slo, m, n, &lo->slo, why, len)) return -1;
  if (wb_slo_parse(fail, m, n, &lo->fail, why, len)) return -1;
  lo->prof.slo = &lo->slo;
  return 0;
}

static int parse_args(int argc, char **argv, load_opts_t *lo) {
  static const struct option longopts[] = {
      CLI_POOL_LONGOPTS,
      {"profile", required_argument, 0, OPT_PROFILE}, {"work", required_argument, 0, OPT_WORK},
      {"quick", no_argument, 0, OPT_QUICK}, {"slo", required_argument, 0, OPT_SLO},
      {"fail-on", required_argument, 0, OPT_FAIL_ON}, {"duration", required_argument, 0, 'd'},
      {"capacity", required_argument, 0, OPT_CAPACITY}, {"step", required_argument, 0, OPT_STEP},
      {"step-pct", required_argument, 0, OPT_STEP_PCT}, {"base-pct", required_argument, 0, OPT_BASE_PCT},
      {"factor", required_argument, 0, OPT_FACTOR}, {"spike", required_argument, 0, OPT_SPIKE},
      {"recover-pct", required_argument, 0, OPT_RECOVER_PCT}, {"sample", required_argument, 0, OPT_SAMPLE},
      {"recycle", required_argument, 0, OPT_RECYCLE}, {"queue-limit", required_argument, 0, OPT_QUEUE_LIMIT},
      {"interval", required_argument, 0, OPT_INTERVAL}, {"out", required_argument, 0, OPT_OUT},
      WB_CALL_LONGOPTS(OPT_CALL, OPT_PAYLOAD_FILE, OPT_PAYLOADS),
      {0, 0, 0, 0}};
  char why[512];
  int c;
  lo->recycle = 10000;
  while ((c = getopt_long(argc, argv, "n:d:h", longopts, NULL)) != -1) {
    int h = cli_pool_opt(&lo->cp, CMD, c, optarg);
    if (h < 0) return -1;
    if (h > 0) continue;
    if (c == 'h') return usage(stdout), 1;
    int rc = own_opt(lo, c, optarg, why, sizeof why);
    if (rc == -2) return cli_err(CMD, "%s", why), -1;
    if (rc == -3) return -1;
    if (rc && c == OPT_PROFILE) return cli_err(CMD, "--profile must be stress, spike or soak"), -1;
    if (rc) return cli_err(CMD, "bad value '%s'", optarg), -1;
  }
  if (optind != argc) return cli_err(CMD, "unexpected argument '%s'", argv[optind]), -1;
  if (!lo->have_profile) return cli_err(CMD, "--profile stress|spike|soak is required"), -1;
  if (lo->call.method && lo->work_given) return cli_err(CMD, "--call and --work exclude each other"), -1;
  settle(lo);
  if (parse_thresholds(lo, why, sizeof why)) return cli_err(CMD, "%s", why), -1;
  return 0;
}

/* ---- printing ------------------------------------------------------------ */

static void print_stress(const wb_profile_result_t *r) {
  printf("%10s %10s %10s %10s %8s  %s\n", "rate/s", "achieved/s", "p50 ms", "p99 ms", "errors", "slo");
  for (int i = 0; i < r->nsteps; i++) {
    const wb_step_t *s = &r->steps[i];
    printf("%10.0f %10.0f %10.3f %10.3f %7.2f%%  %s\n", s->rate, s->achieved, s->p50_ms,
           s->p99_ms, s->errors_pct, s->held ? "held" : "broke");
  }
  if (r->breaking_point > 0)
    printf("breaking point: %.0f req/s (%.0f %% of the capacity %.0f req/s)\n", r->breaking_point,
           100 * r->breaking_point / r->capacity, r->capacity);
  else
    printf("breaking point: none, the first step already broke the objective\n");
}

static void print_spike(const wb_profile_t *p, const wb_profile_result_t *r) {
  printf("steady %.0f req/s for %.1f s, spike %.0f req/s (x%.1f) for %.1f s, back for %.1f s\n",
         r->base_rate, (double)p->before_ns / 1e9, r->spike_rate, p->factor,
         (double)p->spike_ns / 1e9, (double)p->after_ns / 1e9);
  printf("p99 before %.3f ms, highest windowed p99 from the spike on %.3f ms\n",
         r->p99_before_ms, r->spike_p99_ms);
  printf("peak queue depth %llu, refused %llu, timed out %llu\n",
         (unsigned long long)r->peak_queue, (unsigned long long)r->err[-WP_EQUEUE_FULL],
         (unsigned long long)r->err[-WP_ETIMEDOUT]);
  if (isnan(r->recovery_s))
    printf("recovery: not recovered by the end of the run\n");
  else
    printf("recovery: %.1f s after the spike (windowed p99 within %.0f %% of before)\n",
           r->recovery_s, p->recover_pct);
}

static void print_soak(const wb_profile_result_t *r) {
  printf("%8s %14s %14s %6s %10s\n", "t s", "supervisor MiB", "worker MiB", "fds", "p99 ms");
  for (int i = 0; i < r->nsamples; i++) {
    const wb_sample_t *s = &r->samples[i];
    printf("%8.1f %14.2f %14.2f %6.0f %10.3f\n", s->t_s, s->sup_rss_mib, s->worker_rss_mib,
           s->fds, s->p99_ms);
  }
  printf("slopes per minute: supervisor RSS %.3f MiB, worker RSS %.3f MiB, fds %.2f, p99 %.3f ms\n",
         r->sup_rss_slope, r->worker_rss_slope, r->fds_slope, r->p99_slope);
}

static void print_result(const load_opts_t *lo, const wb_profile_result_t *r) {
  const wb_profile_t *p = &lo->prof;
  printf("%s on %d %s workers, capacity %.0f req/s%s: %llu ok, %llu failed, %llu never sent\n",
         wb_shape_name(p->shape), lo->cp.o.size, wp_transport_name(lo->cp.o.transport),
         r->capacity, p->capacity > 0 ? " (given)" : " (measured)", (unsigned long long)r->ok,
         (unsigned long long)r->failed, (unsigned long long)r->unsent);
  if (p->shape == WB_STRESS) print_stress(r);
  if (p->shape == WB_SPIKE) print_spike(p, r);
  if (p->shape == WB_SOAK) print_soak(r);
}

/* ---- results ------------------------------------------------------------- */

static json_t *config_json(const load_opts_t *lo) {
  const wb_profile_t *p = &lo->prof;
  return json_pack("{s:s, s:i, s:s, s:i, s:b, s:I, s:I, s:I, s:o}", "profile", wb_shape_name(p->shape),
                   "n", lo->cp.o.size, "transport", wp_transport_name(lo->cp.o.transport),
                   "max_inflight", lo->cp.o.max_inflight, "quick", lo->quick,
                   "cpu_us", (json_int_t)p->req.cpu_us, "sleep_us", (json_int_t)p->req.sleep_us,
                   "recycle", (json_int_t)lo->cp.o.max_requests, "call", wb_call_config(&lo->call));
}

/* Each figure as a metric (what bench/compare reads), the whole run under
 * "load". */
static int save(const load_opts_t *lo, const wb_profile_result_t *r, json_t *table) {
  const wb_profile_t *p = &lo->prof;
  json_t *doc = wb_results_new("wpool load", config_json(lo), wb_build_facts());
  if (!doc) return -1;
  size_t n;
  const wb_slo_metric_t *m = wb_shape_metrics(p->shape, &n);
  const char *tn = wp_transport_name(lo->cp.o.transport);
  for (size_t i = 0; i < n; i++) {
    double v = wb_profile_value(m[i].name, (void *)r);
    if (isnan(v)) continue;
    char id[128];
    snprintf(id, sizeof id, "load.%s.%s/%s/n=%d", wb_shape_name(p->shape), m[i].name, tn, lo->cp.o.size);
    char unit[16];
    snprintf(unit, sizeof unit, "%s%s", m[i].kind == WB_K_COUNT ? "count" : wb_slo_unit(m[i].kind),
             m[i].per_min ? "/min" : "");
    bool higher = m[i].kind == WB_K_RATE;
    wb_metric_add(doc, id, unit, higher ? "higher" : "lower",
                  json_pack("{s:s, s:i, s:s}", "transport", tn, "n", lo->cp.o.size, "profile",
                            wb_shape_name(p->shape)), &v, 1);
  }
  json_t *run = wb_profile_json(p, r);
  if (run) json_object_set(run, "thresholds", table);
  json_object_set_new(doc, "load", run ? run : json_null());
  int rc = wb_results_write(doc, lo->out);
  json_decref(doc);
  return rc;
}

/* ---- the command --------------------------------------------------------- */

/* The run on an up pool: figures, the table, the file. The exit code. */
static int run(uv_loop_t *loop, wp_pool_t *pool, const load_opts_t *lo) {
  wb_profile_result_t r;
  int err = wb_profile_run(loop, pool, &lo->prof, &r);
  int rc = WB_EXIT_OK;
  print_result(lo, &r);
  if (err && !wb_interrupted()) {
    char line[512] = "";
    if (r.stall.workers) wb_stall_describe(&r.stall, line, sizeof line);
    cli_err(CMD, "the run stopped: %s (%s)%s%s", wp_strerror(err), wp_errname(err),
            *line ? ": " : "", line);
    rc = WB_EXIT_RUNTIME;
  }
  json_t *table = NULL;
  wb_slo_t all = lo->prof.shape == WB_STRESS ? lo->fail : lo->slo;
  for (int i = 0; lo->prof.shape != WB_STRESS && i < lo->fail.n && all.n < WB_SLO_MAX; i++)
    all.r[all.n++] = lo->fail.r[i];
  printf("\n");
  int failed = wb_slo_eval(&all, wb_profile_value, &r, stdout, &table);
  if (failed) {
    printf("%d of %d thresholds failed\n", failed, all.n);
    rc = WB_EXIT_RUNTIME;
  }
  if (lo->out && save(lo, &r, table)) {
    cli_err(CMD, "cannot write %s", lo->out);
    rc = WB_EXIT_RUNTIME;
  }
  json_decref(table);
  wb_profile_result_free(&r);
  return rc;
}

int cmd_load(int argc, char **argv) {
  load_opts_t lo;
  memset(&lo, 0, sizeof lo);
  cli_pool_init(&lo.cp);
  char why[512];
  int rc = parse_args(argc, argv, &lo);
  if (rc) {
    if (rc < 0) usage(stderr);
    cli_pool_free(&lo.cp);
    return rc < 0 ? WB_EXIT_USAGE : WB_EXIT_OK;
  }
  if (wb_call_load(&lo.call, lo.cp.o.max_frame, why, sizeof why)) {
    cli_err(CMD, "%s", why);
    wb_call_free(&lo.call);
    cli_pool_free(&lo.cp);
    return WB_EXIT_USAGE;
  }
  /* settle() ran before the payloads were loaded: point at them now. */
  lo.prof.set = lo.call.payloads.items;
  lo.prof.nset = lo.call.payloads.n;
  if (cli_pool_apply(&lo.cp, CMD)) {
    wb_call_free(&lo.call);
    cli_pool_free(&lo.cp);
    return WB_EXIT_USAGE;
  }
  wb_interrupt_doing("a %s load on %d %s workers", wb_shape_name(lo.prof.shape), lo.cp.o.size,
                     wp_transport_name(lo.cp.o.transport));
  uv_loop_t loop;
  uv_loop_init(&loop);
  wp_pool_t *p;
  int err = cli_pool_up(&lo.cp, CMD, &loop, &p);
  if (err) {
    rc = WB_EXIT_RUNTIME;
  } else {
    rc = run(&loop, p, &lo);
    wb_pool_down(&loop, p);
  }
  if (uv_loop_close(&loop) != 0) {
    cli_err(CMD, "internal: handles left open on the loop");
    rc = WB_EXIT_RUNTIME;
  }
  wb_call_free(&lo.call);
  cli_pool_free(&lo.cp);
  return rc;
}
