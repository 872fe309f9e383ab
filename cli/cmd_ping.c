/*
 * cmd_ping.c — `wpool ping`: by default a closed loop with exactly C
 * requests in flight; with --rate R an open loop at R requests/s whose
 * latencies run from each request's intended send time. Prints req/s and
 * the latency percentiles, labelled with the loop that produced them.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmdline.h"
#include "interrupt.h"
#include "load.h"

static const char *CMD = "ping";

/* Long-option ids of ping's own options without a letter. */
enum { OPT_CALL = OPT_SHARED_END, OPT_PAYLOAD_FILE, OPT_PAYLOADS };

static void usage(FILE *f) {
  fprintf(f,
          "usage: wpool ping -n N [-c C | --rate R] (--requests R | --duration DUR) [options]\n"
          "Closed loop (default): exactly C requests in flight, each reply sends the next.\n"
          "Open loop (--rate): R requests/s whatever the replies do; latency from each\n"
          "request's intended send time, so a stall is not hidden.\n"
          "  -c, --concurrency C    requests in flight (default 1)\n"
          "      --rate R           open loop at R requests/s\n"
          "      --max-outstanding K  open loop: requests in the pool at once (default 10000);\n"
          "                         later ones wait (counted as overflow), their clock running\n"
          "  -r, --requests R       stop after R answered requests\n"
          "  -d, --duration DUR     or run this long (e.g. 5s)\n"
          "      --payload BYTES    ping payload size (default 16)\n"
          "      --call METHOD      call the worker's method METHOD instead of Ping;\n"
          "                         also prints the pool's queue wait and service time\n"
          "      --payload-file F   with --call: the payload, file F whole\n"
          "      --payloads DIR|F.jsonl  with --call: a set, cycled: every file of DIR,\n"
          "                         or each line of F.jsonl (a JSON string or\n"
          "                         {\"payload\": string})\n"
          "      --warmup R         requests answered before measuring (default 1000;\n"
          "                         open loop: at most half a second of schedule)\n"
          CLI_POOL_HELP);
}

/* A positive rate in requests/s ("5000", "2.5e3"). 0 or -1. */
static int parse_rate(const char *s, double *out) {
  char *end;
  double v = strtod(s, &end);
  if (end == s || *end != '\0' || !(v > 0) || v > 1e8) return -1;
  *out = v;
  return 0;
}

static void print_pcts(const char *label, const wb_hist_t *h) {
  printf("%s p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n", label,
         wb_hist_percentile(h, 50) / 1e3, wb_hist_percentile(h, 90) / 1e3,
         wb_hist_percentile(h, 99) / 1e3, wb_hist_percentile(h, 99.9) / 1e3,
         wb_hist_max(h) / 1e3);
}

/* The pool's split of the latency (--call): queue wait and service time. */
static void print_split(const wb_hist_t *wait, const wb_hist_t *service) {
  if (!wait || !service) return;
  print_pcts("queue wait us (pool)", wait);
  print_pcts("service us (pool)   ", service);
}


static void print_result(const cli_pool_t *cp, int conc, const wb_load_result_t *r) {
  printf("%d %s workers, %d in flight (closed loop), at most %d per worker: "
         "%llu ok, %llu failed in %.3f s\n",
         cp->o.size, wp_transport_name(cp->o.transport), conc, cp->o.max_inflight,
         (unsigned long long)r->ok, (unsigned long long)r->failed, r->elapsed_s);
  printf("throughput  %.0f req/s\n", r->rps);
  print_pcts("latency us ", r->lat);
  print_split(r->wait, r->service);
}

static void print_open(const cli_pool_t *cp, const wb_open_result_t *r) {
  printf("%d %s workers, open loop, at most %d in flight per worker, target %.0f/s, "
         "achieved %.0f/s: %llu ok, %llu failed in %.3f s\n",
         cp->o.size, wp_transport_name(cp->o.transport), cp->o.max_inflight, r->target_rps,
         r->achieved_rps, (unsigned long long)r->ok,
         (unsigned long long)r->failed, r->elapsed_s);
  print_pcts("latency us (from intended send)", r->lat);
  print_pcts("service us (from actual send)  ", r->lat_sent);
  print_split(r->wait, r->service);
  if (r->overflow || r->unsent)
    printf("over the outstanding cap: %llu sent late, %llu never sent "
           "(the pool could not keep up; the percentiles understate)\n",
           (unsigned long long)r->overflow, (unsigned long long)r->unsent);
}

/* A run's exit code (a failed answer fails the run, a warm-up one too) and
 * the one line a failed run ends with. A stall names the worker that held
 * the unanswered requests; failures are counted in the measured part and
 * in the warm-up apart (a pool that gives up during the warm-up fails no
 * measured request), and a fatal error that is not the first failure is
 * named too. */
static int run_exit(int err, const wb_stall_t *st, uint64_t failed,
                    int first, uint64_t wfailed, int wfirst, const char *text) {
  char line[768];
  if (!err && failed) err = first;
  if (!err && wfailed) err = wfirst;
  if (!err) return WB_EXIT_OK;
  if (wb_interrupted()) return WB_EXIT_RUNTIME;
  if (st->workers) {
    wb_stall_describe(st, line, sizeof line);
    cli_err(CMD, "%s; the run stopped", line);
    return WB_EXIT_RUNTIME;
  }
  if (!failed && !wfailed) {
    cli_err(CMD, "the run stopped: %s (%s)", wp_strerror(err), wp_errname(err));
    return WB_EXIT_RUNTIME;
  }
  int f = wfirst ? wfirst : first;
  /* The worker's own words (--call: an unknown method, a failing one). */
  int n = snprintf(line, sizeof line, "%llu measured requests failed, %llu during warm-up; first: %s (%s)%s%.300s",
                   (unsigned long long)failed, (unsigned long long)wfailed,
                   wp_strerror(f), wp_errname(f), *text ? ": " : "", text);
  if (err != f && n > 0 && (size_t)n < sizeof line)
    snprintf(line + n, sizeof line - (size_t)n, "; the run stopped: %s (%s)",
             wp_strerror(err), wp_errname(err));
  cli_err(CMD, "%s", line);
  return WB_EXIT_RUNTIME;
}

/* The open-loop run of `wpool ping --rate`; the exit code. */
static int run_open(uv_loop_t *loop, wp_pool_t *p, const cli_pool_t *cp,
                    const wb_open_t *o) {
  wb_open_result_t r;
  int err = wb_run_open(loop, p, o, &r);
  if (r.lat && r.lat_sent) print_open(cp, &r);
  wb_hist_free(r.lat);
  wb_hist_free(r.lat_sent);
  wb_hist_free(r.wait);
  wb_hist_free(r.service);
  return run_exit(err, &r.stall, r.failed, r.first_err, r.warmup_failed, r.warmup_first_err,
                  r.first_text);
}

/* The closed-loop run of `wpool ping -c`; the exit code. */
static int run_closed(uv_loop_t *loop, wp_pool_t *p, const cli_pool_t *cp,
                      const wb_load_t *l) {
  wb_load_result_t r;
  int err = wb_run_closed(loop, p, l, &r);
  if (r.lat) print_result(cp, l->concurrency, &r);
  wb_hist_free(r.lat);
  wb_hist_free(r.wait);
  wb_hist_free(r.service);
  return run_exit(err, &r.stall, r.failed, r.first_err, r.warmup_failed, r.warmup_first_err,
                  r.first_text);
}

int cmd_ping(int argc, char **argv) {
  static const struct option longopts[] = {
      CLI_POOL_LONGOPTS,
      {"concurrency", required_argument, 0, 'c'},
      {"requests", required_argument, 0, 'r'},
      {"duration", required_argument, 0, 'd'},
      {"payload", required_argument, 0, 'P'},
      {"warmup", required_argument, 0, 'W'},
      {"rate", required_argument, 0, 'R'},
      {"max-outstanding", required_argument, 0, 'M'},
      WB_CALL_LONGOPTS(OPT_CALL, OPT_PAYLOAD_FILE, OPT_PAYLOADS),
      {0, 0, 0, 0}};
  cli_pool_t cp;
  cli_pool_init(&cp);
  wb_load_t l = {.concurrency = 1, .warmup = 1000, .req = {.kind = WP_REQ_PING}};
  uint64_t v, payload = 16, max_out = 0;
  double rate = 0;
  wb_call_t call = {0};
  char why[512];
  bool conc_given = false, warmup_given = false;
  int c, rc = WB_EXIT_OK;
  while ((c = getopt_long(argc, argv, "n:c:r:d:h", longopts, NULL)) != -1) {
    int h = cli_pool_opt(&cp, CMD, c, optarg);
    if (h < 0) goto usage_err;
    if (h > 0) continue;
    switch (c) {
    case 'h': usage(stdout); cli_pool_free(&cp); return WB_EXIT_OK;
    case 'c': if (wb_parse_uint(optarg, 1, 1000000, &v)) goto bad; l.concurrency = (int)v; conc_given = true; break;
    case 'R': if (parse_rate(optarg, &rate)) goto bad; break;
    case 'M': if (wb_parse_uint(optarg, 1, 100000000, &max_out)) goto bad; break;
    case 'r': if (wb_parse_uint(optarg, 1, UINT64_MAX, &l.requests)) goto bad; break;
    case 'd': if (wb_parse_duration(optarg, &l.duration_ns) || !l.duration_ns) goto bad; break;
    case 'P': if (wb_parse_size(optarg, &payload) || payload > WP_DEFAULT_MAX_FRAME - 64) goto bad; break;
    case 'W': if (wb_parse_uint(optarg, 0, UINT64_MAX, &l.warmup)) goto bad; warmup_given = true; break;
    case OPT_CALL:
    case OPT_PAYLOAD_FILE:
    case OPT_PAYLOADS:
      if (wb_call_opt(&call, c - OPT_CALL, optarg, why, sizeof why)) {
        cli_err(CMD, "%s", why);
        goto usage_err;
      }
      break;
    default: goto usage_err;
    }
  }
  if (optind != argc) {
    cli_err(CMD, "unexpected argument '%s'", argv[optind]);
    goto usage_err;
  }
  if (!l.requests == !l.duration_ns) {
    cli_err(CMD, "give exactly one of --requests or --duration");
    goto usage_err;
  }
  if (rate > 0 && conc_given) {
    cli_err(CMD, "--rate (open loop) and -c (closed loop) exclude each other");
    goto usage_err;
  }
  /* A bad payload is bad input: one line, exit 2, no usage text. */
  if (wb_call_load(&call, cp.o.max_frame, why, sizeof why)) {
    cli_err(CMD, "%s", why);
    cli_pool_free(&cp);
    return WB_EXIT_USAGE;
  }
  l.set = call.payloads.items;
  l.nset = call.payloads.n;
  if (call.method) {
    l.req.kind = WP_REQ_CALL;
    l.req.method = call.method;
    l.split = true;
  }
  if (cli_pool_apply(&cp, CMD)) {
    wb_call_free(&call);
    goto usage_err;
  }
  cli_pool_fit_inflight(&cp, l.concurrency);
  /* An explicit --timeout ends a stalled request (the pool kills its
   * worker); without one the load's stall bound does. */
  if (cp.o.request_timeout_ns) l.stall_ns = WB_STALL_OFF;
  wb_interrupt_doing("a ping load on %d %s workers", cp.o.size,
                     wp_transport_name(cp.o.transport));

  char *buf = malloc(payload ? payload : 1);
  memset(buf, 'p', payload);
  l.req.payload = buf;
  l.req.payload_len = payload;
  uv_loop_t loop;
  uv_loop_init(&loop);
  wp_pool_t *p;
  int err = cli_pool_up(&cp, CMD, &loop, &p);
  if (err) {
    rc = WB_EXIT_RUNTIME;
  } else {
    if (rate > 0) {
      /* Open loop warm-up: the default 1000 requests, but at most half a
       * second of schedule (1000 at 100/s would be 10 s). */
      uint64_t half_s = (uint64_t)(rate / 2) + 1;
      wb_open_t o = {.rate = rate, .requests = l.requests, .duration_ns = l.duration_ns,
                     .warmup = warmup_given || l.warmup < half_s ? l.warmup : half_s,
                     .max_outstanding = max_out, .req = l.req, .stall_ns = l.stall_ns,
                     .set = l.set, .nset = l.nset, .split = l.split};
      rc = run_open(&loop, p, &cp, &o);
    } else {
      rc = run_closed(&loop, p, &cp, &l);
    }
    wb_pool_down(&loop, p);
  }
  if (uv_loop_close(&loop) != 0) {
    cli_err(CMD, "internal: handles left open on the loop");
    rc = WB_EXIT_RUNTIME;
  }
  free(buf);
  wb_call_free(&call);
  cli_pool_free(&cp);
  return rc;
bad:
  cli_err(CMD, "bad value '%s' for -%c", optarg, c);
usage_err:
  usage(stderr);
  cli_pool_free(&cp);
  return WB_EXIT_USAGE;
}
