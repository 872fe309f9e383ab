/*
 * main.c — wpool-worker: the reference worker, for both transports.
 *
 *   wpool-worker [--transport pipe|grpc] [--listen unix:PATH|127.0.0.1:PORT]
 *                [--delay-us N] [--max-frame BYTES]
 *
 * --delay-us N is a test knob: N µs of busy time added to every reply, so a
 * benchmark can prove it notices a slowdown. Exit codes: 0 on stdin EOF or
 * Shutdown; 1 on an I/O or gRPC failure; 2 on a protocol error or bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker.h"
#include "wpool.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: wpool-worker [--transport pipe|grpc] [--listen ADDR]\n"
          "                    [--delay-us N] [--max-frame BYTES]\n"
          "  --transport    pipe (frames on stdin/stdout, default) or grpc\n"
          "  --listen       gRPC address: unix:PATH or 127.0.0.1:PORT (0 = any);\n"
          "                 default unix:/tmp/wpool-worker-<pid>.sock\n"
          "  --delay-us N   add N microseconds of busy time to every reply (test knob)\n"
          "  --max-frame B  largest frame accepted (default 16 MiB)\n");
}

static int parse_u32(const char *s, uint32_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *s == '\0' || *end != '\0' || v > UINT32_MAX) return -1;
  *out = (uint32_t)v;
  return 0;
}

int main(int argc, char **argv) {
  wk_config_t cfg = {.transport = WPOOL__V1__TRANSPORT__TRANSPORT_PIPE,
                     .max_frame = WP_DEFAULT_MAX_FRAME};
  static const struct option opts[] = {
      {"transport", required_argument, 0, 't'},
      {"listen", required_argument, 0, 'l'},
      {"delay-us", required_argument, 0, 'd'},
      {"max-frame", required_argument, 0, 'm'},
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case 't':
      if (strcmp(optarg, "pipe") == 0) cfg.transport = WPOOL__V1__TRANSPORT__TRANSPORT_PIPE;
      else if (strcmp(optarg, "grpc") == 0) cfg.transport = WPOOL__V1__TRANSPORT__TRANSPORT_GRPC;
      else { fprintf(stderr, "wpool-worker: unknown transport '%s'\n", optarg); return 2; }
      break;
    case 'l': cfg.listen = optarg; break;
    case 'd':
      if (parse_u32(optarg, &cfg.delay_us)) { fprintf(stderr, "wpool-worker: bad --delay-us\n"); return 2; }
      break;
    case 'm':
      if (parse_u32(optarg, &cfg.max_frame) || cfg.max_frame == 0) { fprintf(stderr, "wpool-worker: bad --max-frame\n"); return 2; }
      break;
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return 2;
    }
  }
  if (optind != argc) { usage(stderr); return 2; }
  wk_die_with_parent();
  /* A supervisor that vanished must not kill us with SIGPIPE mid-write:
   * we see EPIPE and exit 0 instead. */
  signal(SIGPIPE, SIG_IGN);
  if (cfg.transport == WPOOL__V1__TRANSPORT__TRANSPORT_GRPC) return wk_grpc_serve(&cfg);
  return wk_pipe_serve(&cfg);
}
