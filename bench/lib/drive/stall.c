/* stall.c — see stall.h. */
#include "stall.h"

#include <stdio.h>
#include <string.h>

#define STALL_MIN_NS 2000000000ull
#define STALL_FACTOR 50u
#define STALL_TICK_MS 100

void wb_stall_describe(const wb_stall_t *s, char *buf, size_t len) {
  int n = snprintf(buf, len, "%llu request%s got no answer: worker slot %d (pid %d) held %llu of them "
                   "for more than %.1f s",
                   (unsigned long long)s->unanswered, s->unanswered == 1 ? "" : "s", s->slot,
                   s->pid, (unsigned long long)s->held, (double)s->bound_ns / 1e9);
  if (s->workers > 1 && n > 0 && (size_t)n < len)
    snprintf(buf + n, len - (size_t)n, " (%d other worker%s stalled too)", s->workers - 1,
             s->workers == 2 ? "" : "s");
}

static wb_stall_t last_stall; /* wb_stall_note's; workers 0: none */

void wb_stall_note(const wb_stall_t *s) { last_stall = *s; }

bool wb_stall_take(char *buf, size_t len) {
  if (len) buf[0] = '\0';
  if (!last_stall.workers) return false;
  wb_stall_describe(&last_stall, buf, len);
  memset(&last_stall, 0, sizeof last_stall);
  return true;
}

static uint64_t bound_for(const wb_guard_t *g, int held) {
  if (g->bound_ns) return g->bound_ns;
  uint64_t b = STALL_MIN_NS, seen = g->slowest * STALL_FACTOR,
           work = g->work_ns * (uint64_t)held * STALL_FACTOR;
  if (seen > b) b = seen;
  return work > b ? work : b;
}

/* A slot whose oldest request is older than its bound is stalled. */
static void check_slot(wb_guard_t *g, int i, uint64_t now) {
  uint64_t oldest;
  int pid;
  int held = wp_pool_slot_inflight(g->pool, i, &oldest, &pid);
  if (held == 0 || oldest == 0) return;
  uint64_t bound = bound_for(g, held);
  if (now < oldest + bound) return;
  wb_stall_t *s = g->out;
  if (s->workers++ == 0) {
    s->slot = i;
    s->pid = pid;
    s->bound_ns = bound;
    s->held = (uint64_t)held;
  }
}

static void on_tick(uv_timer_t *t) {
  wb_guard_t *g = t->data;
  uint64_t now = wp_now_ns();
  for (int i = 0; i < wp_pool_size(g->pool); i++) check_slot(g, i, now);
  if (g->out->workers && !g->fired) {
    g->fired = true;
    uv_timer_stop(t);
    g->on_fire(g->arg);
  }
}

void wb_guard_start(wb_guard_t *g, uv_loop_t *loop, wp_pool_t *p, uint64_t bound_ns,
                    const wp_request_t *req, wb_stall_t *out,
                    void (*on_fire)(void *arg), void *arg) {
  memset(g, 0, sizeof *g);
  memset(out, 0, sizeof *out);
  memset(&last_stall, 0, sizeof last_stall); /* a new loop: an untaken stall is stale */
  if (bound_ns == WB_STALL_OFF) return;
  g->pool = p;
  g->bound_ns = bound_ns;
  g->work_ns = req->kind == WP_REQ_WORK ? ((uint64_t)req->cpu_us + req->sleep_us) * 1000u : 0;
  g->out = out;
  g->on_fire = on_fire;
  g->arg = arg;
  uv_timer_init(loop, &g->timer);
  g->timer.data = g;
  uv_timer_start(&g->timer, on_tick, STALL_TICK_MS, STALL_TICK_MS);
  /* The loops end when the pool runs dry; the guard must not keep them up. */
  uv_unref((uv_handle_t *)&g->timer);
  g->armed = true;
}

void wb_guard_answer(wb_guard_t *g, uint64_t latency_ns) {
  if (latency_ns > g->slowest) g->slowest = latency_ns;
}

static void on_closed(uv_handle_t *h) { ((wb_guard_t *)h->data)->closed = true; }

void wb_guard_close(wb_guard_t *g, uv_loop_t *loop) {
  if (!g->armed) return;
  uv_close((uv_handle_t *)&g->timer, on_closed);
  while (!g->closed) uv_run(loop, UV_RUN_NOWAIT);
  g->armed = false;
}
