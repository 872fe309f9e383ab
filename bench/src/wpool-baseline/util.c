/*
 * util.c — small facts scenarios need about processes: the pool options of
 * a point, a process's resident memory, the programs built beside this one.
 */
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "baseline.h"
#include "load.h"

void bl_pool_options(const wb_ctx_t *c, wp_transport_t t, int size,
                     wp_options_t *o) {
  wp_options_init(o);
  o->argv = c->opt->worker_argv;
  o->transport = t;
  o->size = size;
  o->restart = 0;
}

int bl_pool_up(wb_ctx_t *c, const wp_options_t *o, wp_pool_t **out) {
  uv_update_time(c->loop);
  return wb_pool_up(c->loop, o, out);
}

void bl_pool_down(wb_ctx_t *c, wp_pool_t *p) {
  uv_update_time(c->loop); /* the stop grace period too */
  wb_pool_down(c->loop, p);
}

long long bl_rss_bytes(int pid) {
  char path[64], line[256];
  if (pid) snprintf(path, sizeof path, "/proc/%d/status", pid);
  else snprintf(path, sizeof path, "/proc/self/status");
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  long long kib = -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %lld kB", &kib) == 1) break;
  fclose(f);
  return kib < 0 ? -1 : kib * 1024;
}

void bl_placement(const bl_opts_t *o, char *buf, size_t cap) {
  size_t len = (size_t)snprintf(buf, cap, "%s", o->ncpus ? "cpus " : "unpinned");
  for (int i = 0; i < o->ncpus && len < cap; i++)
    len += (size_t)snprintf(buf + len, cap - len, "%s%d", i ? "," : "", o->cpus[i]);
}

int bl_first_cpu(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return -1;
  for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
    if (CPU_ISSET(cpu, &set)) return cpu;
  return -1;
}
