/*
 * grpc_exec.c — wk_grpc_serve for a lean worker binary (build/wpool-worker,
 * the examples): it replaces this process with "<this binary>-grpc" (same
 * directory, same pid, same configuration), the same program built with
 * the gRPC transport (grpc.c) — e.g. build/wpool-worker-grpc.
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

#define GRPC_SUFFIX "-grpc"

extern char **environ;

/* /proc/self/exe + "-grpc" into buf; 0 or -1. */
static int grpc_binary_path(char *buf, size_t cap) {
  ssize_t n = readlink("/proc/self/exe", buf, cap - 1);
  if (n <= 0 || (size_t)n + sizeof GRPC_SUFFIX > cap) return -1;
  memcpy(buf + n, GRPC_SUFFIX, sizeof GRPC_SUFFIX);
  return 0;
}

int wk_grpc_serve(const wk_config_t *cfg) {
  char path[PATH_MAX], delay[16], max_frame[16];
  if (grpc_binary_path(path, sizeof path) != 0) {
    fprintf(stderr, "%s: cannot locate its %s binary\n", cfg->prog, GRPC_SUFFIX);
    return 1;
  }
  snprintf(delay, sizeof delay, "%u", (unsigned)cfg->delay_us);
  snprintf(max_frame, sizeof max_frame, "%u", (unsigned)cfg->max_frame);
  char *argv[12];
  int i = 0;
  argv[i++] = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
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
  fprintf(stderr, "%s: cannot exec %s: %s\n", cfg->prog, path, strerror(errno));
  return 1;
}
