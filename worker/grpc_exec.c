/*
 * grpc_exec.c — wk_grpc_serve for the lean build/wpool-worker: it replaces
 * this process with build/wpool-worker-grpc (same directory, same pid, same
 * configuration), the binary that carries the gRPC transport (grpc.c).
 *
 * Why two binaries: gRPC and its ~60 libraries cost every process that
 * loads them, gRPC or not (see the Makefile's measurements). The pipe
 * worker must not pay that at each start, so gRPC lives in its own binary
 * and `wpool-worker --transport grpc` still works through one exec.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "worker.h"

#define GRPC_BINARY "wpool-worker-grpc"

extern char **environ;

/* dir(/proc/self/exe)/wpool-worker-grpc into buf; 0 or -1. */
static int grpc_binary_path(char *buf, size_t cap) {
  ssize_t n = readlink("/proc/self/exe", buf, cap - 1);
  if (n <= 0) return -1;
  buf[n] = '\0';
  char *slash = strrchr(buf, '/');
  size_t dir = slash ? (size_t)(slash - buf) + 1 : 0;
  if (dir + sizeof GRPC_BINARY > cap) return -1;
  memcpy(buf + dir, GRPC_BINARY, sizeof GRPC_BINARY);
  return 0;
}

int wk_grpc_serve(const wk_config_t *cfg) {
  char path[PATH_MAX], delay[16], max_frame[16];
  if (grpc_binary_path(path, sizeof path) != 0) {
    fprintf(stderr, "wpool-worker: cannot locate %s\n", GRPC_BINARY);
    return 1;
  }
  snprintf(delay, sizeof delay, "%u", (unsigned)cfg->delay_us);
  snprintf(max_frame, sizeof max_frame, "%u", (unsigned)cfg->max_frame);
  char *argv[12];
  int i = 0;
  argv[i++] = GRPC_BINARY;
  argv[i++] = "--transport";
  argv[i++] = "grpc";
  if (cfg->listen) {
    argv[i++] = "--listen";
    argv[i++] = (char *)cfg->listen;
  }
  argv[i++] = "--delay-us";
  argv[i++] = delay;
  argv[i++] = "--max-frame";
  argv[i++] = max_frame;
  argv[i] = NULL;
  execve(path, argv, environ);
  fprintf(stderr, "wpool-worker: cannot exec %s: %s\n", path, strerror(errno));
  return 1;
}
