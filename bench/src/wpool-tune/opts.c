/* opts.c — bench/tune's command line and the config object recording it. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "tune.h"

enum { OPT_WORKER = 1000, OPT_WORK, OPT_SLO, OPT_MAX, OPT_TRANSPORT, OPT_OUT,
       OPT_CHARTS, OPT_NOCHARTS, OPT_REPS, OPT_DURATION, OPT_WARMUP, OPT_PER_WORKER,
       OPT_PLATEAU, OPT_CPUS, OPT_CHECKOUT, OPT_CALL, OPT_PAYLOAD_FILE,
       OPT_PAYLOADS, OPT_CONNECT };

static void usage(FILE *f) {
  fprintf(f,
    "usage: bench/tune [--worker \"CMD ARGS\"] [--work cpu_us=500,sleep_us=0]\n"
    "                  [--slo-p99 5ms] [--max-size N] [--transport pipe|grpc]\n"
    "                  [--out FILE] [--charts|--no-charts]\n"
    "Sweeps pool sizes 1..N under a closed loop of K requests in flight per\n"
    "worker (pipelined to it), fits the Universal Scalability Law X(N) = λN / (1 + σ(N−1) + κN(N−1)),\n"
    "and recommends the smallest size reaching the throughput plateau within\n"
    "the P99 SLO.\n"
    "  --worker \"CMD ARGS\"  worker command (default build/wpool-worker)\n"
    "  --work SPEC         the request: cpu_us=U,sleep_us=U,reply_bytes=B\n"
    "                      (default cpu_us=500,sleep_us=0)\n"
    "  --call METHOD       tune for the worker's own method instead of --work\n"
    "  --payload-file F    its payload, or --payloads DIR|F.jsonl: a set, cycled\n"
    "  --slo-p99 DUR       P99 latency a recommended size must meet (default none)\n"
    "  --max-size N        largest pool size (default 4 x the CPUs usable)\n"
    "  --transport T       pipe (default) or grpc\n"
    "  --per-worker K      requests in flight per worker, pipelined (default 2)\n"
    "  --checkout          one request per worker at a time, the rest queued in\n"
    "                      the pool (default: pipelined to the workers)\n"
    "  --reps R            repetitions per size (default 5)\n"
    "  --duration DUR      per repetition (default 1s)\n"
    "  --warmup DUR        before each repetition, on its fresh pool (default 0.2s)\n"
    "  --plateau PCT       plateau = PCT %% of the best throughput (default 95)\n"
    "  --cpus LIST         pin the supervisor and workers, e.g. 0-1\n"
    "  --connect A[,A...]  sweep attached workers (running wpool-worker-grpc\n"
    "                      --standalone) instead of spawned ones: size n uses\n"
    "                      the first n targets (default --max-size: their count)\n"
    "  --out FILE          results file (default results/tune/<time>-<commit>.json\n"
    "                      and results/tune/latest.json)\n"
    "  --charts            then draw the file's charts (build/wpool-report, into\n"
    "                      charts/<name>/ beside it); bench/tune passes it\n"
    "  --no-charts         don't (the default; the last of the two counts)\n"
    "Exit: 0 ok, 1 a size failed or no size met the SLO, 2 usage.\n");
}

static int usage_error(const char *what, const char *arg) {
  fprintf(stderr, "tune: %s%s%s%s\n", what, arg ? " '" : "", arg ? arg : "", arg ? "'" : "");
  fprintf(stderr, "Run 'bench/tune --help' for the options.\n");
  return -1;
}

static int parse_work(const char *s, tune_opts_t *o) {
  return wb_parse_work(s, &o->cpu_us, &o->sleep_us, &o->reply_bytes);
}

static void defaults(tune_opts_t *o) {
  memset(o, 0, sizeof *o);
  o->transport = WP_TRANSPORT_PIPE;
  o->cpu_us = 500;
  o->per_worker = 2;
  o->reps = 5;
  o->duration_ns = 1000000000ull;
  o->warmup_ns = 200000000ull;
  o->plateau = 0.95;
}

/* One option; 0, or -1 after printing why. */
static int apply(tune_opts_t *o, int c, const char *arg) {
  uint64_t v;
  switch (c) {
  case OPT_WORKER:
    wb_argv_free(o->worker_argv);
    o->worker_argv = NULL;
    o->worker = arg;
    return wb_split_command(arg, &o->worker_argv) ? usage_error("--worker: cannot parse", arg) : 0;
  case OPT_WORK: return parse_work(arg, o) ? usage_error("--work: expected cpu_us=U,sleep_us=U,reply_bytes=B, got", arg) : 0;
  case OPT_SLO: return wb_parse_duration(arg, &o->slo_p99_ns) ? usage_error("--slo-p99: bad duration", arg) : 0;
  case OPT_MAX:
    if (wb_parse_uint(arg, 1, 1000, &v)) return usage_error("--max-size: expected 1..1000, got", arg);
    o->max_size = (int)v;
    return 0;
  case OPT_TRANSPORT: return wp_transport_parse(arg, &o->transport) ? usage_error("--transport must be pipe or grpc, got", arg) : 0;
  case OPT_OUT: o->out = arg; return 0;
  case OPT_CHARTS: o->charts = true; return 0;
  case OPT_NOCHARTS: o->charts = false; return 0;
  case OPT_REPS:
    if (wb_parse_uint(arg, 1, TUNE_MAX_REPS, &v)) return usage_error("--reps: expected 1..50, got", arg);
    o->reps = (int)v;
    return 0;
  case OPT_DURATION: return wb_parse_duration(arg, &o->duration_ns) || !o->duration_ns ? usage_error("--duration: bad duration", arg) : 0;
  case OPT_WARMUP: return wb_parse_duration(arg, &o->warmup_ns) ? usage_error("--warmup: bad duration", arg) : 0;
  case OPT_PER_WORKER:
    if (wb_parse_uint(arg, 1, 1000, &v)) return usage_error("--per-worker: expected 1..1000, got", arg);
    o->per_worker = (int)v;
    return 0;
  case OPT_PLATEAU:
    if (wb_parse_uint(arg, 50, 100, &v)) return usage_error("--plateau: expected 50..100, got", arg);
    o->plateau = (double)v / 100;
    return 0;
  case OPT_CHECKOUT: o->checkout = true; return 0;
  case OPT_CALL:
  case OPT_PAYLOAD_FILE:
  case OPT_PAYLOADS: {
    char why[512];
    return wb_call_opt(&o->call, c - OPT_CALL, arg, why, sizeof why) ? usage_error(why, NULL) : 0;
  }
  case OPT_CONNECT:
    o->nconnect = wb_split_list(arg, ',', &o->connect);
    return o->nconnect < 0 ? usage_error("--connect: expected ADDR[,ADDR...], got", arg) : 0;
  case OPT_CPUS:
    wb_cpus_parse(arg, &o->cpus);
    return o->cpus.n < 0 ? usage_error("--cpus: expected a list like 0-1, got", arg) : 0;
  default: return usage_error("unknown option", NULL);
  }
}

int tune_opts_parse(int argc, char **argv, tune_opts_t *o) {
  static const struct option longopts[] = {
      {"worker", required_argument, 0, OPT_WORKER}, {"work", required_argument, 0, OPT_WORK},
      {"slo-p99", required_argument, 0, OPT_SLO}, {"max-size", required_argument, 0, OPT_MAX},
      {"transport", required_argument, 0, OPT_TRANSPORT}, {"out", required_argument, 0, OPT_OUT},
      {"charts", no_argument, 0, OPT_CHARTS}, {"no-charts", no_argument, 0, OPT_NOCHARTS}, {"reps", required_argument, 0, OPT_REPS},
      {"duration", required_argument, 0, OPT_DURATION}, {"warmup", required_argument, 0, OPT_WARMUP},
      {"per-worker", required_argument, 0, OPT_PER_WORKER},
      {"plateau", required_argument, 0, OPT_PLATEAU}, {"cpus", required_argument, 0, OPT_CPUS},
      {"checkout", no_argument, 0, OPT_CHECKOUT}, {"connect", required_argument, 0, OPT_CONNECT},
      WB_CALL_LONGOPTS(OPT_CALL, OPT_PAYLOAD_FILE, OPT_PAYLOADS),
      {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
  defaults(o);
  int c;
  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    if (c == 'h') {
      usage(stdout);
      return 1;
    }
    if (c == '?' || apply(o, c, optarg) != 0) return c == '?' ? usage_error("bad option", NULL) : -1;
  }
  if (optind != argc) return usage_error("unexpected argument", argv[optind]);
  if (o->nconnect) o->transport = WP_TRANSPORT_GRPC; /* attached workers speak gRPC */
  if (!o->max_size && o->nconnect) o->max_size = o->nconnect;
  if (!o->max_size) o->max_size = 4 * (o->cpus.n ? o->cpus.n : wb_cpus_usable());
  char why[512];
  return wb_call_load(&o->call, WP_DEFAULT_MAX_FRAME, why, sizeof why) ? usage_error(why, NULL) : 0;
}

void tune_opts_free(tune_opts_t *o) {
  wb_argv_free(o->worker_argv);
  o->worker_argv = NULL;
  wb_argv_free(o->connect);
  o->connect = NULL;
  wb_call_free(&o->call);
}

json_t *tune_opts_config(const tune_opts_t *o) {
  json_t *cpus = json_array();
  for (int i = 0; i < o->cpus.n; i++) json_array_append_new(cpus, json_integer(o->cpus.cpu[i]));
  json_t *cfg = json_pack(
      "{s:s?, s:s, s:{s:i, s:i, s:i}, s:i, s:i, s:s, s:i, s:f, s:f, s:f, s:o}",
      "worker", o->worker, "transport", wp_transport_name(o->transport),
      "work", "cpu_us", (int)o->cpu_us, "sleep_us", (int)o->sleep_us,
      "reply_bytes", (int)o->reply_bytes, "max_size", o->max_size,
      "inflight_per_worker", o->per_worker, "dispatch", o->checkout ? "checkout" : "pipelined",
      "reps", o->reps,
      "duration_s", (double)o->duration_ns / 1e9, "warmup_s", (double)o->warmup_ns / 1e9,
      "plateau", o->plateau, "slo_p99_ms",
      o->slo_p99_ns ? json_real((double)o->slo_p99_ns / 1e6) : json_null());
  if (cfg && o->cpus.n) json_object_set(cfg, "cpus", cpus);
  if (cfg && o->call.method) json_object_set_new(cfg, "call", wb_call_config(&o->call));
  json_decref(cpus);
  return cfg;
}
