/*
 * cli.h — what the wpool subcommands share: the pool options every one of
 * them takes (-n, --mode, --transport, --listen, --worker, --cpus,
 * --max-inflight, --timeout, --spawn), starting the pool, usage errors (exit 2) and runtime
 * failures (exit 1).
 *
 * cli/ is the wpool command (build/wpool), not a benchmark: each cmd_*.c
 * owns one subcommand. May call: libwpool (wpool.h) and the bench
 * libraries — drive/ (load, profile, interrupt, proc, run, build), results/
 * (wpool load --out) and stat/ (hist, stats, cmdline); nothing in bench/src.
 */
#ifndef WPOOL_CLI_H
#define WPOOL_CLI_H

#include <getopt.h>
#include <stdbool.h>

#include "cmdline.h"
#include "proc.h"
#include "wpool.h"

/* Long-option ids for the shared pool options (beyond single letters). */
enum {
  OPT_MODE = 1000, OPT_TRANSPORT, OPT_LISTEN, OPT_WORKER, OPT_CPUS,
  OPT_MAX_INFLIGHT, OPT_TIMEOUT, OPT_SPAWN, OPT_CONNECT, OPT_SHARED_END
};

#define CLI_POOL_LONGOPTS                                            \
  {"size", required_argument, 0, 'n'},                               \
  {"mode", required_argument, 0, OPT_MODE},                          \
  {"transport", required_argument, 0, OPT_TRANSPORT},                \
  {"listen", required_argument, 0, OPT_LISTEN},                      \
  {"worker", required_argument, 0, OPT_WORKER},                      \
  {"cpus", required_argument, 0, OPT_CPUS},                          \
  {"max-inflight", required_argument, 0, OPT_MAX_INFLIGHT},          \
  {"timeout", required_argument, 0, OPT_TIMEOUT},                    \
  {"spawn", required_argument, 0, OPT_SPAWN},                        \
  {"connect", required_argument, 0, OPT_CONNECT},                    \
  {"help", no_argument, 0, 'h'}

#define CLI_POOL_HELP                                                         \
  "  -n, --size N           workers in the pool (default 1)\n"               \
  "      --mode M           concurrent (default) or sequential start\n"      \
  "      --transport T      pipe (default) or grpc\n"                         \
  "      --listen L         gRPC listen style: unix (default) or tcp\n"      \
  "      --worker \"CMD ARGS\" worker command (default build/wpool-worker)\n"  \
  "      --cpus LIST        pin supervisor and workers, e.g. 0 or 0-1\n"      \
  "      --max-inflight K   requests in flight per worker (default 1; ping and\n" \
  "                         chaos default to ceil(C/N))\n"                 \
  "      --timeout DUR      per-request timeout, e.g. 5s (default none: a load\n" \
  "                         ends when a worker holds a request longer than\n" \
  "                         2 s and 50x the slowest answer)\n"            \
  "      --spawn S          exec (default) or zygote: workers forked from one\n" \
  "                         template that ran the command once\n"          \
  "      --connect A[,A...] attach to running gRPC workers (wpool-worker-grpc\n" \
  "                         --standalone) at these targets instead of\n"    \
  "                         spawning: one slot each (-n N: slot i -> A[i %% k])\n"

typedef struct cli_pool {
  wp_options_t o;
  char **argv;      /* owned worker command, or NULL */
  char **connect;   /* owned --connect targets, or NULL */
  wb_cpus_t cpus;
  bool inflight_given;  /* --max-inflight typed: never adapted */
} cli_pool_t;

void cli_pool_init(cli_pool_t *c);
void cli_pool_free(cli_pool_t *c);
/* Handles one shared option: 1 handled, 0 not ours, -1 bad value (printed). */
int cli_pool_opt(cli_pool_t *c, const char *cmd, int opt, const char *arg);
/* Applies --cpus to this process and names it for interrupt.h ("wpool
 * CMD"). 0, or -1 (printed). */
int cli_pool_apply(cli_pool_t *c, const char *cmd);
/* Starts the pool on loop (wb_pool_up_why); when it does not start, one
 * line naming the worker that failed it, or the error. 0 or a WP_E*. */
int cli_pool_up(const cli_pool_t *c, const char *cmd, uv_loop_t *loop, wp_pool_t **p);
/* Pipelining is what lets C in flight exceed the pool size: without
 * --max-inflight, ceil(C / N) per worker. What the user typed stands. */
void cli_pool_fit_inflight(cli_pool_t *c, int concurrency);

/* One clear line on stderr: "wpool CMD: ..." */
void cli_err(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

int cmd_start(int argc, char **argv);
int cmd_ping(int argc, char **argv);
int cmd_chaos(int argc, char **argv);
int cmd_load(int argc, char **argv);

#endif
