/*
 * main.c — build/wpool, the command-line face of libwpool.
 *
 *   wpool start -n N [--mode concurrent|sequential] [--transport pipe|grpc] ...
 *   wpool ping  -n N -c C (--requests R | --duration S) [--payload BYTES] ...
 *   wpool chaos -n N -c C --duration S --kill-every DUR [--idempotent] ...
 *   wpool load  --profile stress|spike|soak -n N [--slo SPEC] [--fail-on SPEC] ...
 *
 * Exit codes: 0 ok, 1 runtime failure (one clear line), 2 usage error.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: wpool <command> [options]   (wpool --version: libwpool's version)\n"
          "commands:\n"
          "  start   start a pool, show each worker's startup timeline, ping each, stop\n"
          "  ping    closed-loop ping load: req/s and latency percentiles\n"
          "  chaos   ping load while workers are SIGKILLed: lost/hung calls, recovery time\n"
          "  load    a load shape (stress, spike, soak) with thresholds that set the exit code\n"
          "Run 'wpool <command> --help' for a command's options.\n"
          "Exit codes: 0 ok, 1 runtime failure, 2 usage error.\n");
}

int main(int argc, char **argv) {
  /* A worker that dies mid-write must not kill the supervisor. */
  signal(SIGPIPE, SIG_IGN);
  if (argc < 2) {
    fprintf(stderr, "wpool: no command given\n");
    usage(stderr);
    return WB_EXIT_USAGE;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
    usage(stdout);
    return WB_EXIT_OK;
  }
  if (strcmp(cmd, "--version") == 0) {
    printf("wpool %s\n", wp_version());
    return WB_EXIT_OK;
  }
  if (strcmp(cmd, "start") == 0) return cmd_start(argc - 1, argv + 1);
  if (strcmp(cmd, "ping") == 0) return cmd_ping(argc - 1, argv + 1);
  if (strcmp(cmd, "chaos") == 0) return cmd_chaos(argc - 1, argv + 1);
  if (strcmp(cmd, "load") == 0) return cmd_load(argc - 1, argv + 1);
  fprintf(stderr, "wpool: unknown command '%s'\n", cmd);
  usage(stderr);
  return WB_EXIT_USAGE;
}
