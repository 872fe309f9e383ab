/*
 * cmd_ping.c — `wpool ping`: a closed loop with exactly C requests in
 * flight; prints req/s and the latency percentiles.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmdline.h"
#include "load.h"

static const char *CMD = "ping";

static void usage(FILE *f) {
  fprintf(f,
          "usage: wpool ping -n N -c C (--requests R | --duration DUR) [options]\n"
          "Closed loop: exactly C requests in flight, each reply sends the next.\n"
          "  -c, --concurrency C    requests in flight (default 1)\n"
          "  -r, --requests R       stop after R answered requests\n"
          "  -d, --duration DUR     or run this long (e.g. 5s)\n"
          "      --payload BYTES    ping payload size (default 16)\n"
          "      --warmup R         requests answered before measuring (default 1000)\n"
          CLI_POOL_HELP);
}

static void print_result(const cli_pool_t *cp, int conc, const wb_load_result_t *r) {
  const wb_hist_t *h = r->lat;
  printf("%d %s workers, %d in flight (closed loop): %llu ok, %llu failed in %.3f s\n",
         cp->o.size, wp_transport_name(cp->o.transport), conc,
         (unsigned long long)r->ok, (unsigned long long)r->failed, r->elapsed_s);
  printf("throughput  %.0f req/s\n", r->rps);
  printf("latency us  p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n",
         wb_hist_percentile(h, 50) / 1e3, wb_hist_percentile(h, 90) / 1e3,
         wb_hist_percentile(h, 99) / 1e3, wb_hist_percentile(h, 99.9) / 1e3,
         wb_hist_max(h) / 1e3);
}

int cmd_ping(int argc, char **argv) {
  static const struct option longopts[] = {
      CLI_POOL_LONGOPTS,
      {"concurrency", required_argument, 0, 'c'},
      {"requests", required_argument, 0, 'r'},
      {"duration", required_argument, 0, 'd'},
      {"payload", required_argument, 0, 'P'},
      {"warmup", required_argument, 0, 'W'},
      {0, 0, 0, 0}};
  cli_pool_t cp;
  cli_pool_init(&cp);
  wb_load_t l = {.concurrency = 1, .warmup = 1000, .req = {.kind = WP_REQ_PING}};
  uint64_t v, payload = 16;
  int c, rc = EXIT_OK;
  while ((c = getopt_long(argc, argv, "n:c:r:d:h", longopts, NULL)) != -1) {
    int h = cli_pool_opt(&cp, CMD, c, optarg);
    if (h < 0) goto usage_err;
    if (h > 0) continue;
    switch (c) {
    case 'h': usage(stdout); cli_pool_free(&cp); return EXIT_OK;
    case 'c': if (wb_parse_uint(optarg, 1, 1000000, &v)) goto bad; l.concurrency = (int)v; break;
    case 'r': if (wb_parse_uint(optarg, 1, UINT64_MAX, &l.requests)) goto bad; break;
    case 'd': if (wb_parse_duration(optarg, &l.duration_ns) || !l.duration_ns) goto bad; break;
    case 'P': if (wb_parse_size(optarg, &payload) || payload > WP_DEFAULT_MAX_FRAME - 64) goto bad; break;
    case 'W': if (wb_parse_uint(optarg, 0, UINT64_MAX, &l.warmup)) goto bad; break;
    default: goto usage_err;
    }
  }
  if (optind != argc) goto usage_err;
  if (!l.requests == !l.duration_ns) {
    cli_err(CMD, "give exactly one of --requests or --duration");
    goto usage_err;
  }
  if (cli_pool_apply(&cp, CMD)) goto usage_err;
  /* Pipelining is what lets C exceed the pool size. */
  if (cp.o.max_inflight == 1 && l.concurrency > cp.o.size)
    cp.o.max_inflight = (l.concurrency + cp.o.size - 1) / cp.o.size;

  char *buf = malloc(payload ? payload : 1);
  memset(buf, 'p', payload);
  l.req.payload = buf;
  l.req.payload_len = payload;
  uv_loop_t loop;
  uv_loop_init(&loop);
  wp_pool_t *p;
  int err = wb_pool_up(&loop, &cp.o, &p);
  if (err) {
    cli_err(CMD, "pool did not start: %s (%s)", wp_strerror(err), wp_errname(err));
    rc = EXIT_RUNTIME;
  } else {
    wb_load_result_t r;
    err = wb_run_closed(&loop, p, &l, &r);
    if (!err && r.failed) err = r.first_err;
    if (r.lat) print_result(&cp, l.concurrency, &r);
    if (err) {
      cli_err(CMD, "%llu requests failed, first: %s (%s)",
              (unsigned long long)r.failed, wp_strerror(err), wp_errname(err));
      rc = EXIT_RUNTIME;
    }
    wb_hist_free(r.lat);
    wb_pool_down(&loop, p);
  }
  if (uv_loop_close(&loop) != 0) {
    cli_err(CMD, "internal: handles left open on the loop");
    rc = EXIT_RUNTIME;
  }
  free(buf);
  cli_pool_free(&cp);
  return rc;
bad:
  cli_err(CMD, "bad value '%s' for -%c", optarg, c);
usage_err:
  usage(stderr);
  cli_pool_free(&cp);
  return EXIT_USAGE;
}
