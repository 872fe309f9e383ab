/*
 * busy_pool.c — a supervisor whose workers are all busy: starts a pool of
 * N workers, hands each a Work that sleeps 30 s (so none reads its stdin),
 * prints "pid P" per worker and then "busy", and runs until killed. The
 * orphan test SIGKILLs it: only PR_SET_PDEATHSIG can end those workers
 * then, since none of them will see stdin EOF for 30 s.
 *
 *   build/tests/busy_pool pipe|grpc|zygote|zygote-grpc N [WORKER ARGS...]
 *
 * zygote: the pipe transport with spawn = zygote (zygote-grpc: gRPC); the
 * template's pid is printed as one more "pid" line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wpool.h"

static void on_started(wp_pool_t *p, int err, void *arg) {
  (void)p;
  *(int *)arg = err ? err : 1;
}

static void on_reply(wp_pool_t *p, int err, const wp_reply_t *r, void *arg) {
  (void)p;
  (void)r;
  (void)arg;
  fprintf(stderr, "busy_pool: a Work ended early: %s\n", wp_strerror(err));
}

static void on_busy(uv_timer_t *t) {
  wp_pool_t *p = t->data;
  int pids[256];
  int n = wp_pool_pids(p, pids, 256);
  for (int i = 0; i < n; i++) printf("pid %d\n", pids[i]);
  wp_timeline_t zt;
  if (wp_pool_template(p, &zt) == 0) printf("pid %d\n", zt.pid);
  printf("busy\n");
  fflush(stdout);
}

int main(int argc, char **argv) {
  wp_options_t o;
  wp_options_init(&o);
  const char *tr = argc > 1 ? argv[1] : "";
  if (strncmp(tr, "zygote", 6) == 0) { /* zygote, zygote-grpc */
    o.spawn = WP_SPAWN_ZYGOTE;
    tr = tr[6] == '-' ? tr + 7 : "pipe";
  }
  if (argc < 3 || wp_transport_parse(tr, &o.transport) || atoi(argv[2]) < 1 ||
      atoi(argv[2]) > 256) {
    fprintf(stderr, "usage: busy_pool pipe|grpc|zygote|zygote-grpc N [WORKER ARGS...]\n");
    return 2;
  }
  o.size = atoi(argv[2]);
  if (argc > 3) o.argv = argv + 3;
  uv_loop_t loop;
  uv_loop_init(&loop);
  wp_pool_t *p;
  int started = 0;
  if (wp_pool_new(&loop, &o, &p) || wp_pool_start(p, on_started, &started)) return 1;
  while (!started && uv_run(&loop, UV_RUN_ONCE)) {
  }
  if (started != 1) {
    fprintf(stderr, "busy_pool: start failed: %s\n", wp_strerror(started));
    return 1;
  }
  wp_request_t req = {.kind = WP_REQ_WORK, .sleep_us = 30000000};
  for (int i = 0; i < o.size; i++)
    if (wp_pool_call(p, &req, on_reply, NULL)) return 1;
  /* Long enough for every Work to be read and begun. */
  uv_timer_t t;
  uv_timer_init(&loop, &t);
  t.data = p;
  uv_timer_start(&t, on_busy, 200, 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  return 0;
}
