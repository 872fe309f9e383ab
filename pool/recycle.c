/*
 * recycle.c — replacing healthy workers on purpose: after max_requests
 * (plus jitter) requests, or when a worker's RSS exceeds max_rss_bytes.
 *
 * Why twins: every logical slot has two process hosts. The replacement
 * (SUCCESSOR) is started in the free twin while the old worker keeps
 * serving, so capacity never dips; once the successor is READY it becomes
 * CURRENT and the old worker RETIRES: no new requests, it answers the ones
 * it holds, and only then gets stdin EOF (SIGKILL stop_grace_ns later if it
 * lingers). A recycle therefore neither fails nor loses a request. The
 * price: a worker serves a few requests past its limit (for as long as its
 * successor takes to start), and a slot whose previous worker is still
 * draining waits for it before recycling again.
 *
 * Owns: the policy — when to recycle, and the roles' changes (ROLE_*). The
 * hosts' states change only through slot.c. May call: slot.c.
 */
#include <stdio.h>
#include <unistd.h>

#include "pool_internal.h"

static void successor_start(wp_slot_t *s) {
  wp_slot_t *t = s->twin;
  wp_pool_t *p = s->pool;
  if (!s->recycle_due || s->role != ROLE_CURRENT || s->state != SLOT_READY ||
      t->role != ROLE_SPARE || t->state != SLOT_DOWN ||
      p->state != POOL_RUNNING)
    return; /* retried when the twin is down again */
  t->role = ROLE_SUCCESSOR;
  p->stats.recycles++;
  wpi_slot_launch(t);
}

void wpi_slot_recycle(wp_slot_t *s) {
  if (s->role != ROLE_CURRENT || s->recycle_due) return;
  s->recycle_due = true;
  successor_start(s);
}

void wpi_recycle_promote(wp_slot_t *s) {
  wp_slot_t *old = s->twin;
  s->role = ROLE_CURRENT;
  old->role = ROLE_RETIRING;
  old->recycle_due = false;
  /* An old worker already failing (not READY) ends on its own; its
   * slot_down finds it RETIRING and does not restart it. */
  if (old->state == SLOT_READY) wpi_slot_retire(old);
}

bool wpi_recycle_on_down(wp_slot_t *s) {
  wp_slot_t *t = s->twin;
  switch (s->role) {
  case ROLE_RETIRING:
    s->role = ROLE_SPARE;
    successor_start(t); /* a recycle that waited for this host */
    return true;
  case ROLE_CURRENT:
    if (t->role != ROLE_SUCCESSOR) return false;
    /* Died while its replacement was on the way: that one takes over
     * (it restarts with backoff if it was itself down). */
    t->role = ROLE_CURRENT;
    s->role = ROLE_SPARE;
    s->recycle_due = false;
    return true;
  case ROLE_SUCCESSOR:
    return false; /* try the replacement again after a backoff */
  case ROLE_SPARE:
  default:
    return true;
  }
}

/* ---- RSS ------------------------------------------------------------------ */

/* Resident set of pid in bytes from /proc/PID/statm (its second field, in
 * pages); 0 if unreadable (the process just went away). */
static uint64_t rss_bytes(int pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/statm", pid);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  unsigned long long size, resident;
  int n = fscanf(f, "%llu %llu", &size, &resident);
  fclose(f);
  return n == 2 ? (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
}

static void on_rss_timer(uv_timer_t *t) {
  wp_pool_t *p = t->data;
  if (p->state != POOL_RUNNING) return;
  for (int i = 0; i < p->nslots; i++) {
    wp_slot_t *s = &p->slots[i];
    if (s->role != ROLE_CURRENT || s->state != SLOT_READY || s->recycle_due) continue;
    if (rss_bytes(s->tl.pid) > p->opts.max_rss_bytes) {
      p->stats.rss_recycles++;
      wpi_slot_recycle(s);
    }
  }
}

void wpi_recycle_watch(wp_pool_t *p) {
  if (!p->opts.max_rss_bytes) return;
  uint64_t ms = p->opts.rss_check_interval_ns / 1000000;
  if (ms == 0) ms = 1;
  uv_timer_start(&p->rss_timer, on_rss_timer, ms, ms);
}
