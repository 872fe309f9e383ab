/*
 * opts.c — bench/baseline's command line: parsing, the default and
 * --quick presets, and the config object that records every choice.
 *
 * Options given explicitly always win over the preset (`--quick --reps 2`
 * is the quick subset with two repetitions).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "cmdline.h"

enum {
  OPT_QUICK = 1000, OPT_ONLY, OPT_LIST, OPT_TRANSPORTS, OPT_SIZES,
  OPT_STARTUP_SIZES, OPT_CONC, OPT_REPS, OPT_REQUESTS, OPT_WARMUP, OPT_WORKER,
  OPT_CPUS, OPT_OUT, OPT_CHARTS, OPT_NO_CHARTS, OPT_NO_BARE, OPT_CALL, OPT_PAYLOAD_FILE, OPT_PAYLOADS,
  OPT_SPAWN, OPT_CONNECT
};

static const struct option longopts[] = {
    {"quick", no_argument, 0, OPT_QUICK},
    {"only", required_argument, 0, OPT_ONLY},
    {"list", no_argument, 0, OPT_LIST},
    {"transports", required_argument, 0, OPT_TRANSPORTS},
    {"spawn", required_argument, 0, OPT_SPAWN},
    {"sizes", required_argument, 0, OPT_SIZES},
    {"startup-sizes", required_argument, 0, OPT_STARTUP_SIZES},
    {"concurrency", required_argument, 0, OPT_CONC},
    {"reps", required_argument, 0, OPT_REPS},
    {"requests", required_argument, 0, OPT_REQUESTS},
    {"warmup", required_argument, 0, OPT_WARMUP},
    {"worker", required_argument, 0, OPT_WORKER},
    {"cpus", required_argument, 0, OPT_CPUS},
    {"out", required_argument, 0, OPT_OUT},
    {"charts", no_argument, 0, OPT_CHARTS},
    {"no-charts", no_argument, 0, OPT_NO_CHARTS},
    {"no-bare-pool", no_argument, 0, OPT_NO_BARE},
    WB_CALL_LONGOPTS(OPT_CALL, OPT_PAYLOAD_FILE, OPT_PAYLOADS),
    {"connect", required_argument, 0, OPT_CONNECT},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0}};

static void usage(FILE *f) {
  fprintf(f,
    "usage: bench/baseline [options]\n"
    "Runs the benchmark suite (default about 5 min on 2 vCPUs), saves\n"
    "results/<UTC time>-<commit>.json and results/latest.json (or --out) and\n"
    "prints a summary; progress goes to stderr.\n"
    "  --quick               smoke subset, about 1.5 min (35 s: instructions)\n"
    "  --only LIST           scenarios to run, e.g. startup,floors (--list)\n"
    "  --list                list the scenarios and exit\n"
    "  --transports LIST     pipe,grpc (default both)\n"
    "  --spawn LIST          startup: exec,zygote (default exec; zygote: pipe\n"
    "                        workers forked from a template, and restart times)\n"
    "  --sizes LIST          pool sizes (default 1,2,4,8; quick 1,4); also\n"
    "                        startup's unless --startup-sizes is given\n"
    "  --startup-sizes LIST  startup sizes (default 1,2,4,8,16,32,100, gRPC\n"
    "                        up to 32; quick 1,8)\n"
    "  --concurrency LIST    requests in flight (default 1,10,50,100; quick 1,10)\n"
    "  --reps N              repetitions of every point (default startup 20,\n"
    "                        ping 8, memory 5; quick 5, 5, 3)\n"
    "  --requests N          answered requests per ping repetition\n"
    "                        (default 10000; quick 2000)\n"
    "  --warmup N            requests answered before each ping repetition,\n"
    "                        not measured (default 500; quick 200)\n"
    "  --worker \"CMD ARGS\"   worker command, as for wpool (default\n"
    "                        build/wpool-worker, gRPC build/wpool-worker-grpc)\n"
    "  --cpus LIST|all       pin the supervisor and its workers, e.g. 0 or 0-1;\n"
    "                        all: no pinning (default; --quick pins to the\n"
    "                        first allowed CPU, see results/README.md)\n"
    "  --out FILE            write the results to FILE instead of results/\n"
    "  --charts              then draw the file's charts (build/wpool-report,\n"
    "                        into charts/<name>/ beside it); bench/baseline\n"
    "                        passes it\n"
    "  --no-charts           don't (the default; the last of the two counts)\n"
    "  --no-bare-pool        skip the bare C pool run beside each pipe point\n"
    "                        (no floor.*/pool, no ping.*_per_bare; bench/ab\n"
    "                        passes it: a paired A/B needs no floor, and it\n"
    "                        doubled each round's time)\n"
    "  --call METHOD         the workload scenario: call the worker's METHOD\n"
    "                        (with --worker) on every size and transport\n"
    "  --payload-file FILE   its payload, or --payloads DIR|FILE.jsonl: a set,\n"
    "                        cycled (as for wpool ping)\n"
    "  --connect A[,A...]    the remote scenario: workers already running at\n"
    "                        these gRPC targets (wpool-worker-grpc --standalone)\n"
    "                        next to a local gRPC pool of as many (--only remote)\n"
    "  -h, --help\n"
    "Exit: 0 ok, 1 some point failed (the file is still written), 2 usage.\n");
}

static void list_scenarios(void) {
  for (size_t i = 0; i < bl_nscenarios; i++)
    printf("%-12s %s\n", bl_scenarios[i]->name, bl_scenarios[i]->what);
}

static int usage_error(const char *fmt, const char *arg) {
  fputs("baseline: ", stderr);
  fprintf(stderr, fmt, arg);
  fputs(" (see --help)\n", stderr);
  return -1;
}

/* "1,2,4" → l, each in [min, max]; 0 or -1. */
static int parse_list(const char *s, uint64_t min, uint64_t max, bl_list_t *l) {
  char *copy = strdup(s), *save = NULL;
  l->n = 0;
  int rc = copy ? 0 : -1;
  for (char *tok = copy ? strtok_r(copy, ",", &save) : NULL; tok && rc == 0;
       tok = strtok_r(NULL, ",", &save)) {
    uint64_t v;
    if (l->n == BL_MAX_LIST || wb_parse_uint(tok, min, max, &v)) rc = -1;
    else l->v[l->n++] = (int)v;
  }
  free(copy);
  return rc == 0 && l->n > 0 ? 0 : -1;
}

/* "A" or "A,B" (two different values), each through one(tok, &v): how
 * many, or -1. */
static int parse_two(const char *s, int (*one)(const char *, int *), int out[2]) {
  char *copy = strdup(s), *save = NULL;
  int rc = copy ? 0 : -1, n = 0;
  for (char *tok = copy ? strtok_r(copy, ",", &save) : NULL; tok && rc == 0;
       tok = strtok_r(NULL, ",", &save)) {
    int v;
    if (one(tok, &v) || n == 2 || (n == 1 && out[0] == v)) rc = -1;
    else out[n++] = v;
  }
  free(copy);
  return rc == 0 && n > 0 ? n : -1;
}

static int one_transport(const char *tok, int *v) {
  wp_transport_t t;
  int rc = wp_transport_parse(tok, &t);
  *v = (int)t;
  return rc;
}

static int one_spawn(const char *tok, int *v) {
  wp_spawn_t sp;
  int rc = wp_spawn_parse(tok, &sp);
  *v = (int)sp;
  return rc;
}

static int parse_transports(const char *s, bl_opts_t *o) {
  int v[2], n = parse_two(s, one_transport, v);
  for (int i = 0; i < n; i++) o->transports[i] = (wp_transport_t)v[i];
  o->ntransports = n > 0 ? n : 0;
  return n > 0 ? 0 : -1;
}

static int parse_spawns(const char *s, bl_opts_t *o) {
  int v[2], n = parse_two(s, one_spawn, v);
  for (int i = 0; i < n; i++) o->spawns[i] = (wp_spawn_t)v[i];
  o->nspawns = n > 0 ? n : 0;
  return n > 0 ? 0 : -1;
}

static int parse_only(const char *s, bl_opts_t *o) {
  char *copy = strdup(s), *save = NULL;
  int rc = copy ? 0 : -1;
  o->only = 0;
  for (char *tok = copy ? strtok_r(copy, ",", &save) : NULL; tok && rc == 0;
       tok = strtok_r(NULL, ",", &save)) {
    int i = bl_scenario_find(tok);
    if (i < 0) rc = usage_error("--only: no scenario '%s'", tok);
    else o->only |= 1u << i;
  }
  free(copy);
  if (rc == 0 && !o->only) rc = usage_error("--only: no scenario in '%s'", s);
  return rc;
}

static void set_list(bl_list_t *l, const int *v, int n) {
  l->n = n;
  memcpy(l->v, v, sizeof *v * (size_t)n);
}

/* --quick's placement: the first CPU this process may run on. Unpinned on
 * a 2-vCPU VM, where each wake-up lands (same vCPU or the other one) and
 * what the other vCPU's exit from idle costs that minute, medians of one
 * build moved up to 75 % between two runs and a pipelined ping 190 % (16
 * runs, bench/compare --noise); on one CPU, half that or less, so a smoke
 * comparison can be sharper (results/README.md, "Noise"). */
static void pin_first_cpu(bl_opts_t *o) {
  int cpu = wb_cpus_first();
  if (cpu < 0) return;
  o->cpus.cpu[0] = cpu;
  o->cpus.n = 1;
}

/* Fills whatever the command line left unset from the preset. */
static void apply_presets(bl_opts_t *o, int reps, bool startup_sizes_set,
                          bool warmup_set) {
  static const int sizes[] = {1, 2, 4, 8}, qsizes[] = {1, 4};
  static const int ssizes[] = {1, 2, 4, 8, 16, 32, 100}, qssizes[] = {1, 8};
  static const int conc[] = {1, 10, 50, 100}, qconc[] = {1, 10};
  if (!o->ntransports) {
    o->transports[0] = WP_TRANSPORT_PIPE;
    o->transports[1] = WP_TRANSPORT_GRPC;
    o->ntransports = 2;
  }
  if (!o->nspawns) o->nspawns = 1; /* exec */
  if (!startup_sizes_set && o->sizes.n) {
    o->startup_sizes = o->sizes; /* --sizes alone sets both */
  } else if (!startup_sizes_set) {
    if (o->quick) set_list(&o->startup_sizes, qssizes, 2);
    else set_list(&o->startup_sizes, ssizes, 7);
    /* 100 gRPC workers would cost a minute of the 5: pipe shows the trend. */
    if (!o->quick) o->startup_grpc_max = 32;
  }
  if (!o->sizes.n) {
    if (o->quick) set_list(&o->sizes, qsizes, 2);
    else set_list(&o->sizes, sizes, 4);
  }
  if (!o->conc.n) {
    if (o->quick) set_list(&o->conc, qconc, 2);
    else set_list(&o->conc, conc, 4);
  }
  /* Defaults sized to about 5 min here with every scenario: 20 start-ups
   * a point are cheap and tame their long tail; 8 ping runs a point give
   * the U test room to call a 20 % change significant (5 a side only just:
   * the smallest two-sided p is then 0.008, with no overlap at all). */
  o->startup_reps = reps ? reps : o->quick ? 5 : 20;
  o->ping_reps = reps ? reps : o->quick ? 5 : 8;
  o->mem_reps = reps ? reps : o->quick ? 3 : 5;
  if (!o->requests) o->requests = o->quick ? 2000 : 10000;
  if (!warmup_set) o->warmup = o->quick ? 200 : 500;
  if (!o->only) {
    o->only = (uint32_t)((1u << bl_nscenarios) - 1);
    /* The workload is the user's call: only when one is given. */
    if (!o->call.method) o->only &= ~(1u << bl_scenario_find("workload"));
    for (size_t i = 0; i < bl_nscenarios; i++)
      if (bl_scenario_opt_in(i)) o->only &= ~(1u << i);
  }
  if (o->quick && !o->cpus_set) pin_first_cpu(o);
}

/* One option; 0 ok, 1 exit 0 (help printed), -1 usage error. */
static int one_opt(bl_opts_t *o, int c, const char *arg, int *reps,
                   bool *ssizes_set, bool *warmup_set) {
  uint64_t v;
  switch (c) {
  case 'h': usage(stdout); return 1;
  case OPT_LIST: list_scenarios(); return 1;
  case OPT_QUICK: o->quick = true; return 0;
  case OPT_CHARTS: o->charts = true; return 0;
  case OPT_NO_CHARTS: o->charts = false; return 0;
  case OPT_NO_BARE: o->no_bare_pool = true; return 0;
  case OPT_ONLY: return parse_only(arg, o); /* names the bad scenario */
  case OPT_TRANSPORTS:
    return parse_transports(arg, o) ? usage_error("--transports: expected pipe, grpc or pipe,grpc, got '%s'", arg) : 0;
  case OPT_SPAWN:
    return parse_spawns(arg, o) ? usage_error("--spawn: expected exec, zygote or exec,zygote, got '%s'", arg) : 0;
  case OPT_SIZES:
    return parse_list(arg, 1, 1000, &o->sizes) ? usage_error("--sizes: expected a list like 1,2,4, got '%s'", arg) : 0;
  case OPT_STARTUP_SIZES:
    *ssizes_set = true;
    return parse_list(arg, 1, 1000, &o->startup_sizes) ? usage_error("--startup-sizes: expected a list like 1,8, got '%s'", arg) : 0;
  case OPT_CONC:
    return parse_list(arg, 1, 1000, &o->conc) ? usage_error("--concurrency: expected a list like 1,10 (each 1..1000), got '%s'", arg) : 0;
  case OPT_REPS:
    if (wb_parse_uint(arg, 1, 1000, &v)) return usage_error("--reps: expected 1..1000, got '%s'", arg);
    *reps = (int)v;
    return 0;
  case OPT_REQUESTS:
    return wb_parse_uint(arg, 1, UINT64_C(1) << 40, &o->requests) ? usage_error("--requests: expected a positive count, got '%s'", arg) : 0;
  case OPT_WARMUP:
    *warmup_set = true;
    return wb_parse_uint(arg, 0, UINT64_C(1) << 40, &o->warmup) ? usage_error("--warmup: expected a count, got '%s'", arg) : 0;
  case OPT_WORKER:
    wb_argv_free(o->worker_argv);
    o->worker_argv = NULL;
    o->worker = arg;
    return wb_split_command(arg, &o->worker_argv) ? usage_error("--worker: cannot parse '%s'", arg) : 0;
  case OPT_CPUS:
    o->cpus_set = true;
    if (strcmp(arg, "all") == 0) return o->cpus.n = 0, 0;
    wb_cpus_parse(arg, &o->cpus);
    return o->cpus.n < 0 ? usage_error("--cpus: expected a list like 0 or 0-1, got '%s'", arg) : 0;
  case OPT_OUT: o->out = arg; return 0;
  case OPT_CONNECT:
    o->nconnect = wb_split_list(arg, ',', &o->connect);
    return o->nconnect < 0 ? usage_error("--connect: expected ADDR[,ADDR...], got '%s'", arg) : 0;
  case OPT_CALL:
  case OPT_PAYLOAD_FILE:
  case OPT_PAYLOADS: {
    char why[512];
    return wb_call_opt(&o->call, c - OPT_CALL, arg, why, sizeof why) ? usage_error("%s", why) : 0;
  }
  default: return usage_error("%s", "unknown option");
  }
}

/* --call's payloads, read now: a bad file is a usage error (exit 2) before
 * anything runs. Without --payload-file/--payloads the payload is empty. */
static int load_workload(bl_opts_t *o) {
  bool wanted = o->only & (1u << bl_scenario_find("workload"));
  if (wanted && !o->call.method) return usage_error("%s", "--only workload needs --call METHOD");
  char why[512];
  return wb_call_load(&o->call, WP_DEFAULT_MAX_FRAME, why, sizeof why) ? usage_error("%s", why) : 0;
}

int bl_opts_parse(int argc, char **argv, bl_opts_t *o) {
  memset(o, 0, sizeof *o);
  o->charts = false;
  o->payload = 16;
  o->startup_grpc_max = 1000;
  int reps = 0, c;
  bool ssizes_set = false, warmup_set = false;
  opterr = 0; /* our own one-line messages */
  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    if (c == '?') {
      const char *bad = argv[optind - 1];
      return usage_error("unknown option or missing value: '%s'", bad);
    }
    int rc = one_opt(o, c, optarg, &reps, &ssizes_set, &warmup_set);
    if (rc) return rc;
  }
  if (optind != argc) return usage_error("unexpected argument '%s'", argv[optind]);
  apply_presets(o, reps, ssizes_set, warmup_set);
  if ((o->only & (1u << bl_scenario_find("remote"))) && !o->nconnect)
    return usage_error("%s", "--only remote needs --connect ADDR[,ADDR...]");
  return load_workload(o);
}

void bl_opts_free(bl_opts_t *o) {
  wb_argv_free(o->worker_argv);
  o->worker_argv = NULL;
  wb_argv_free(o->connect);
  o->connect = NULL;
  wb_call_free(&o->call);
}

static json_t *list_json(const int *v, int n) {
  json_t *a = json_array();
  for (int i = 0; i < n; i++) json_array_append_new(a, json_integer(v[i]));
  return a;
}

/* --connect's targets, or null. */
static json_t *connect_json(const bl_opts_t *o) {
  if (!o->nconnect) return json_null();
  json_t *a = json_array();
  for (int i = 0; i < o->nconnect; i++) json_array_append_new(a, json_string(o->connect[i]));
  return a;
}

json_t *bl_opts_config(const bl_opts_t *o) {
  json_t *tr = json_array(), *only = json_array(), *sp = json_array();
  for (int i = 0; i < o->ntransports; i++)
    json_array_append_new(tr, json_string(wp_transport_name(o->transports[i])));
  for (int i = 0; i < o->nspawns; i++)
    json_array_append_new(sp, json_string(wp_spawn_name(o->spawns[i])));
  for (size_t i = 0; i < bl_nscenarios; i++)
    if (o->only & (1u << i)) json_array_append_new(only, json_string(bl_scenarios[i]->name));
  return json_pack(
      "{s:b, s:o, s:o, s:o, s:o, s:i, s:o, s:{s:i, s:i, s:i}, s:I, s:I, s:i,"
      " s:s?, s:o, s:s?, s:b, s:b, s:o, s:o, s:o}",
      "quick", o->quick, "only", only, "transports", tr,
      "sizes", list_json(o->sizes.v, o->sizes.n),
      "startup_sizes", list_json(o->startup_sizes.v, o->startup_sizes.n),
      "startup_grpc_max_n", o->startup_grpc_max,
      "concurrency", list_json(o->conc.v, o->conc.n),
      "reps", "startup", o->startup_reps, "ping", o->ping_reps, "memory", o->mem_reps,
      "requests", (json_int_t)o->requests, "warmup", (json_int_t)o->warmup,
      "payload_bytes", (int)o->payload, "worker", o->worker,
      "cpus", o->cpus.n ? list_json(o->cpus.cpu, o->cpus.n) : json_null(),
      "out", o->out, "charts", o->charts, "bare_pool", !o->no_bare_pool,
      "call", wb_call_config(&o->call), "spawn", sp,
      "connect", connect_json(o));
}
