/*
 * floor_spawn.c — the start-up floor: N bare posix_spawns of a trivial
 * child (tests/helpers/floor_child.c: libc only, writes one byte, waits for
 * stdin EOF), timed to each child's first byte, all at once or one by one.
 * That is what a pool start costs with no pool: exec, the dynamic loader,
 * one pipe round trip — and, all at once, N of them sharing the CPUs.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "floor.h"
#include "wpool.h"

/* Waits until every child has written its first byte (stamping t_byte as
 * each is read); 0, or -1 when one dies or stays silent for 10 s. */
static int await_all(fl_child_t *ch, int n, struct pollfd *pfd) {
  int pending = n;
  for (int i = 0; i < n; i++) pfd[i] = (struct pollfd){.fd = ch[i].out, .events = POLLIN};
  while (pending > 0) {
    int pr = poll(pfd, (nfds_t)n, 10000);
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) return -1;
    uint64_t now = wp_now_ns();
    for (int i = 0; i < n; i++) {
      if (!pfd[i].revents) continue;
      char b;
      if (read(ch[i].out, &b, 1) != 1) return -1;
      ch[i].t_byte = now;
      pfd[i].fd = -1; /* poll ignores negative fds */
      pending--;
    }
  }
  return 0;
}

static int spawn_all(const char *child, fl_child_t *ch, int n, bool sequential,
                     struct pollfd *pfd) {
  char *argv[] = {(char *)child, NULL};
  for (int i = 0; i < n; i++) {
    if (fl_child_spawn(argv, &ch[i]) != 0) return -1;
    if (sequential) {
      char b;
      if (fl_read_full(ch[i].out, &b, 1, 10000) != 0) return -1;
      ch[i].t_byte = wp_now_ns();
    }
  }
  return sequential ? 0 : await_all(ch, n, pfd);
}

static void summarise(const fl_child_t *ch, int n, uint64_t t0,
                      fl_spawn_result_t *r) {
  uint64_t first = UINT64_MAX, last = 0;
  double sum = 0;
  for (int i = 0; i < n; i++) {
    if (ch[i].t_byte < first) first = ch[i].t_byte;
    if (ch[i].t_byte > last) last = ch[i].t_byte;
    sum += (double)(ch[i].t_byte - ch[i].t_spawn);
  }
  r->all_ms = (double)(last - t0) / 1e6;
  r->first_ms = (double)(first - t0) / 1e6;
  r->mean_ms = sum / n / 1e6;
}

int fl_spawn(const char *child, int n, bool sequential, fl_spawn_result_t *r) {
  fl_child_t *ch = calloc((size_t)n, sizeof *ch);
  struct pollfd *pfd = calloc((size_t)n, sizeof *pfd);
  int rc = -1;
  if (ch && pfd) {
    for (int i = 0; i < n; i++) ch[i].in = ch[i].out = -1;
    uint64_t t0 = wp_now_ns();
    rc = spawn_all(child, ch, n, sequential, pfd);
    if (rc == 0) summarise(ch, n, t0, r);
    for (int i = 0; i < n; i++) fl_child_end(&ch[i]);
  }
  free(ch);
  free(pfd);
  return rc;
}
