/*
 * util.c — what every scenario builds the same way: the pool options of a
 * point and the suite's placement as a string. Process facts (resident
 * memory, CPUs, the programs built beside this one) are drive/proc.h's.
 */
#include <stdio.h>

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

void bl_placement(const bl_opts_t *o, char *buf, size_t cap) {
  size_t len = (size_t)snprintf(buf, cap, "%s", o->cpus.n ? "cpus " : "unpinned");
  for (int i = 0; i < o->cpus.n && len < cap; i++)
    len += (size_t)snprintf(buf + len, cap - len, "%s%d", i ? "," : "", o->cpus.cpu[i]);
}
