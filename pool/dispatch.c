/*
 * dispatch.c — calls: the FIFO queue, checkout of a worker with spare
 * capacity, deadlines, and completing every call exactly once.
 *
 * A call is owned by the pool from wp_pool_call until its callback ran AND
 * no transport still refers to it (a gRPC call in the completion queue);
 * wpi_call_complete runs the callback once, wpi_call_release frees.
 *
 * Owns: the queue, the deadline heap, a call's life. May call: link.c (send,
 * drain: the request/response pair, the one two-way dependency in pool/),
 * recycle.c (a worker's request limit), slot.c (checkout from the available
 * list, failing or draining a slot); the transport's own file only through
 * p->link.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sanitizer/asan_interface.h> /* no-op macros without ASan */

#include "pool_internal.h"

/* ---- call lists ------------------------------------------------------ */

void wpi_call_list_push(call_list_t *l, wp_call_t *c) {
  c->next = NULL;
  c->prev = l->tail;
  if (l->tail) l->tail->next = c;
  else l->head = c;
  l->tail = c;
  l->len++;
}

void wpi_call_list_push_front(call_list_t *l, wp_call_t *c) {
  c->prev = NULL;
  c->next = l->head;
  if (l->head) l->head->prev = c;
  else l->tail = c;
  l->head = c;
  l->len++;
}

void wpi_call_list_remove(call_list_t *l, wp_call_t *c) {
  if (c->prev) c->prev->next = c->next;
  else l->head = c->next;
  if (c->next) c->next->prev = c->prev;
  else l->tail = c->prev;
  c->prev = c->next = NULL;
  l->len--;
}

/* ---- deadline heap: one uv timer for every call's deadline ------------ */

static void heap_swap(wp_pool_t *p, size_t a, size_t b) {
  wp_call_t *t = p->heap[a];
  p->heap[a] = p->heap[b];
  p->heap[b] = t;
  p->heap[a]->heap_idx = a;
  p->heap[b]->heap_idx = b;
}

static void heap_up(wp_pool_t *p, size_t i) {
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (p->heap[parent]->deadline <= p->heap[i]->deadline) break;
    heap_swap(p, parent, i);
    i = parent;
  }
}

static void heap_down(wp_pool_t *p, size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < p->heap_len && p->heap[l]->deadline < p->heap[m]->deadline) m = l;
    if (r < p->heap_len && p->heap[r]->deadline < p->heap[m]->deadline) m = r;
    if (m == i) return;
    heap_swap(p, i, m);
    i = m;
  }
}

static void deadline_arm(wp_pool_t *p);

static int deadline_add(wp_call_t *c) {
  wp_pool_t *p = c->pool;
  if (p->heap_len == p->heap_cap) {
    size_t cap = p->heap_cap ? p->heap_cap * 2 : 256;
    wp_call_t **h = realloc(p->heap, cap * sizeof *h);
    if (!h) return WP_ENOMEM;
    p->heap = h;
    p->heap_cap = cap;
  }
  c->heap_idx = p->heap_len;
  p->heap[p->heap_len++] = c;
  heap_up(p, c->heap_idx);
  if (c->heap_idx == 0) deadline_arm(p);
  return 0;
}

void wpi_deadline_remove(wp_call_t *c) {
  wp_pool_t *p = c->pool;
  size_t i = c->heap_idx;
  if (i == SIZE_MAX) return;
  c->heap_idx = SIZE_MAX;
  p->heap_len--;
  if (i == p->heap_len) return;
  p->heap[i] = p->heap[p->heap_len];
  p->heap[i]->heap_idx = i;
  heap_up(p, i);
  heap_down(p, p->heap[i]->heap_idx);
}

/* Stalls shorter than this pass for timer and scheduling delay. */
#define LATE_SLACK_NS (100ull * 1000 * 1000)

bool wpi_overrun_seen_late(const wp_call_t *c, uint64_t seen) {
  uint64_t slack = c->timeout / 4 > LATE_SLACK_NS ? c->timeout / 4 : LATE_SLACK_NS;
  return seen > c->dispatched + c->timeout + slack;
}

/* The worker holds c past its limit. A pipe worker is killed: its pipe
 * was just read (drain_late), so it really still holds the request. A
 * gRPC worker's reply may still sit in gRPC's buffers when the supervisor
 * was stalled, so a limit judged late is left to gRPC's own deadline,
 * whose completion (received on time or not) judges it in link_grpc.c. */
static void overran(wp_call_t *c, uint64_t now) {
  if (c->pool->link->judges_late_overrun && wpi_overrun_seen_late(c, now)) return;
  wpi_slot_overran(c->slot);
}

/* kill_on_timeout: the caller has its WP_ETIMEDOUT; the worker is judged
 * on its own time with the request (dispatch + timeout), so queueing delay
 * never gets a healthy worker killed. The call stays in the heap under
 * that second key until the worker answers or overruns. */
static void overrun_watch(wp_call_t *c, uint64_t now) {
  if (!c->pool->opts.kill_on_timeout) return;
  uint64_t limit = c->dispatched + c->timeout;
  if (limit <= now) {
    overran(c, now);
    return;
  }
  c->deadline = limit;
  c->overrun_check = true;
  if (deadline_add(c) != 0) c->overrun_check = false;
}

static void overrun_unwatch(wp_call_t *c) {
  if (!c->overrun_check) return;
  c->overrun_check = false;
  wpi_deadline_remove(c);
}

/* Marks the slots holding a call whose deadline (the caller's, or the
 * worker's overrun limit) has passed: heap entries at or below now form a
 * subtree at the root. */
static void mark_late(wp_pool_t *p, size_t i, uint64_t now, bool *any) {
  if (i >= p->heap_len || p->heap[i]->deadline > now) return;
  wp_slot_t *s = p->heap[i]->slot;
  if (s && s->state != SLOT_FAILING) *any = s->drain_due = true;
  mark_late(p, 2 * i + 1, now, any);
  mark_late(p, 2 * i + 2, now, any);
}

/* A supervisor that was late — its loop thread blocked, or the process
 * stopped (SIGSTOP) past a timeout — finds deadlines passed whose replies
 * already wait: in the workers' pipes, or (gRPC) handed over by the
 * completion-queue thread; timers run before I/O in a loop turn. Those
 * replies are taken first, so a worker that answered is neither killed
 * (kill_on_timeout) nor its caller told WP_ETIMEDOUT; only a worker that
 * still holds the request is. True if anything was read. */
static bool drain_late(wp_pool_t *p, uint64_t now) {
  bool any = false;
  mark_late(p, 0, now, &any);
  if (!any) return false;
  if (p->link->flush) p->link->flush(p);
  for (int i = 0; i < p->nslots; i++) {
    wp_slot_t *s = &p->slots[i];
    if (!s->drain_due) continue;
    s->drain_due = false;
    if (s->state != SLOT_FAILING && s->out_open && p->link->replies_on_stdout)
      wpi_link_drain(s);
  }
  return true;
}

static void on_deadline(uv_timer_t *t) {
  wp_pool_t *p = t->data;
  uint64_t now = wp_now_ns();
  bool drained = drain_late(p, now);
  while (p->heap_len > 0 && p->heap[0]->deadline <= now) {
    wp_call_t *c = p->heap[0];
    wpi_deadline_remove(c);
    if (c->overrun_check) { /* still on its worker (detach unwatches) */
      c->overrun_check = false;
      overran(c, now);
    } else if (!c->slot) { /* still queued */
      wpi_call_list_remove(&p->queue, c);
      wpi_call_complete(c, WP_ETIMEDOUT, NULL, 0, -1);
      wpi_call_release(c);
    } else {
      /* In flight: answer the caller now. The worker still owes a reply;
       * the call stays on the slot (counting against its capacity) until
       * that reply or the worker's end releases it. */
      wpi_call_complete(c, WP_ETIMEDOUT, NULL, 0, c->slot->index);
      overrun_watch(c, now);
    }
  }
  deadline_arm(p);
  /* The replies read above freed workers no read event will announce. */
  if (drained) wpi_dispatch(p);
}

static void deadline_arm(wp_pool_t *p) {
  if (p->heap_len == 0) {
    uv_timer_stop(&p->deadline_timer);
    return;
  }
  /* The delay is computed from our clock, and libuv adds it to its cached
   * one: refresh that, or after the caller blocked the loop thread the
   * timer fires early and only re-arms. */
  uv_update_time(p->loop);
  uint64_t now = wp_now_ns(), d = p->heap[0]->deadline;
  uint64_t ms = d > now ? (d - now + 999999) / 1000000 : 0;
  uv_timer_start(&p->deadline_timer, on_deadline, ms, 0);
}

int wpi_deadline_init(wp_pool_t *p) {
  int rc = uv_timer_init(p->loop, &p->deadline_timer);
  if (rc) return WP_EIO;
  p->deadline_timer.data = p;
  p->pool_handles++;
  return 0;
}

/* ---- completion -------------------------------------------------------- */

static void complete(wp_call_t *c, int err, const wp_reply_t *r) {
  if (c->completed) return;
  c->completed = true;
  wpi_deadline_remove(c);
  wp_pool_t *p = c->pool;
  if (err) p->stats.errors++;
  else p->stats.replies++;
  c->cb(p, err, r, c->arg);
}

void wpi_call_complete(wp_call_t *c, int err, const uint8_t *payload,
                      size_t len, int slot) {
  /* Never NULL, even when empty: callers may memcpy it unconditionally. */
  wp_reply_t r = {.payload = payload ? payload : (const uint8_t *)"",
                  .payload_len = len, .slot = slot, .error = "",
                  .queued = c->submitted, .sent = c->dispatched,
                  .answered = wp_now_ns()};
  complete(c, err, err ? NULL : &r);
}

static void count_times(wp_stats_t *st, const wp_reply_t *r) {
  uint64_t wait = r->sent - r->queued, service = r->answered - r->sent;
  st->answered++;
  st->queue_wait_ns_sum += wait;
  st->service_ns_sum += service;
  if (wait > st->queue_wait_ns_max) st->queue_wait_ns_max = wait;
  if (service > st->service_ns_max) st->service_ns_max = service;
}

void wpi_call_answer(wp_call_t *c, int err, wp_reply_t *r) {
  if (c->completed) return; /* timed out already: its times are not counted */
  r->queued = c->submitted;
  r->sent = c->dispatched;
  r->answered = wp_now_ns();
  if (!r->payload) r->payload = (const uint8_t *)"";
  if (!r->error) r->error = "";
  count_times(&c->pool->stats, r);
  complete(c, err, r);
}

/* Released calls are kept for the next wp_pool_call, up to this many: a
 * closed loop then never calls malloc or free for its calls (make profile:
 * calloc and free were ~200 of the supervisor's ~3,600 instructions per
 * request). A spare call is poisoned for ASan while it waits, so a use
 * after release is still caught (make check runs this same path). */
#define SPARE_CALLS 1024

/* All of a spare call but its link to the next: LeakSanitizer does not
 * follow pointers kept in poisoned memory, so a poisoned chain read as a
 * leak at an exit that leaves the pool allocated (wpool ping on SIGTERM). */
static void poison_spare(wp_call_t *c) {
  char *b = (char *)c, *n = (char *)&c->next;
  ASAN_POISON_MEMORY_REGION(b, (size_t)(n - b));
  ASAN_POISON_MEMORY_REGION(n + sizeof c->next, sizeof *c - (size_t)(n - b) - sizeof c->next);
}

static wp_call_t *call_new(wp_pool_t *p) {
  wp_call_t *c = p->spare;
  if (!c) return calloc(1, sizeof *c);
  ASAN_UNPOISON_MEMORY_REGION(c, sizeof *c);
  p->spare = c->next;
  p->nspare--;
  memset(c, 0, sizeof *c);
  return c;
}

/* Frees a call once its callback ran and no transport refers to it. */
void wpi_call_release(wp_call_t *c) {
  if (!c->completed || c->transport_refs != 0 || c->slot) return;
  wp_pool_t *p = c->pool;
  if (p->nspare >= SPARE_CALLS) {
    free(c);
    return;
  }
  c->next = p->spare;
  p->spare = c;
  p->nspare++;
  poison_spare(c);
}

void wpi_calls_free(wp_pool_t *p) {
  wp_call_t *c;
  while ((c = p->spare) != NULL) {
    ASAN_UNPOISON_MEMORY_REGION(c, sizeof *c);
    p->spare = c->next;
    free(c);
  }
  p->nspare = 0;
}

/* ---- checkout ------------------------------------------------------------ */

/* Moves queued calls onto workers while both exist. A slot with room left
 * goes back to the tail, so pipelined load spreads evenly. `now` is the
 * pass's time, every call's `dispatched` (0: read at its first send): one
 * clock read a pass, not one a call (make profile: ~45 instructions a
 * request) — a pass's sends are microseconds apart (written, or corked
 * to the read's end), and wp_pool_call passes the time it just read. What
 * can take longer inside a pass (a failing slot's callbacks, a recycled
 * worker's spawn) makes the next send read the clock again. */
static void dispatch_at(wp_pool_t *p, uint64_t now) {
  while (p->queue.head && p->state == POOL_RUNNING) {
    wp_slot_t *s = wpi_slot_avail_pop(p);
    if (!s) return;
    wp_call_t *c = p->queue.head;
    wpi_call_list_remove(&p->queue, c);
    c->slot = s;
    wpi_call_list_push(&s->inflight, c);
    if (!now) now = wp_now_ns();
    /* A call a callback queued inside this pass came after its start. */
    c->dispatched = now > c->submitted ? now : c->submitted;
    int rc = wpi_link_send(s, c);
    if (rc) {
      /* The link is broken: c goes back to the front of the line (its
       * callback must not run inside the wp_pool_call that queued it) and
       * the slot goes down. */
      wpi_call_list_remove(&s->inflight, c);
      c->slot = NULL;
      wpi_call_list_push_front(&p->queue, c);
      wpi_slot_fail(s, rc);
      now = 0; /* failing ran callbacks: time has passed */
      continue;
    }
    if (++s->sent == s->max_requests) {
      wpi_slot_recycle(s);
      now = 0; /* it spawned a worker: time has passed */
    }
    wpi_slot_avail_insert(s, false);
  }
}

void wpi_dispatch(wp_pool_t *p) { dispatch_at(p, 0); }

/* Takes an answered (or abandoned) call off its worker, which then has
 * room for the next one. It goes to the front of the line: the worker that
 * answered last is the one still warm (its pages in cache, gRPC's threads
 * not yet parked), so below full load a few hot workers serve and the
 * rest stay idle, as a LIFO free list does in connection pools. With four
 * workers at one request in flight, round robin cost 27 % of the rate on
 * one CPU (pipe 171k vs 235k req/s with one worker) and 23 % unpinned
 * (gRPC 8.6k vs 11.2k). */
void wpi_slot_detach(wp_slot_t *s, wp_call_t *c) {
  wpi_call_list_remove(&s->inflight, c);
  c->slot = NULL;
  overrun_unwatch(c);
  wpi_slot_avail_insert(s, true);
  if (s->role == ROLE_RETIRING && s->state == SLOT_CLOSING && s->inflight.len == 0)
    wpi_slot_drained(s);
}

/* ---- failure paths ------------------------------------------------------ */

static void on_kick(uv_timer_t *t) { wpi_dispatch(t->data); }

void wpi_dispatch_soon(wp_pool_t *p) {
  if (p->state == POOL_RUNNING) uv_timer_start(&p->kick_timer, on_kick, 0, 0);
}

void wpi_slot_fail_inflight(wp_slot_t *s, int err) {
  wp_pool_t *p = s->pool;
  wp_call_t *c;
  while ((c = s->inflight.head) != NULL) {
    wpi_call_list_remove(&s->inflight, c);
    c->slot = NULL;
    overrun_unwatch(c);
    bool retry = !c->completed && c->req.idempotent && c->retries == 0 &&
                 p->state == POOL_RUNNING;
    if (retry) {
      /* At the front: it was already first in line once. */
      c->retries++;
      wpi_call_list_push_front(&p->queue, c);
      /* Another worker may be idle right now: don't wait for an unrelated
       * event (or this slot's restart) to send it. */
      wpi_dispatch_soon(p);
      continue;
    }
    wpi_call_complete(c, err, NULL, 0, s->index);
    wpi_call_release(c);
  }
}

void wpi_fail_queue(wp_pool_t *p, int err) {
  wp_call_t *c;
  while ((c = p->queue.head) != NULL) {
    wpi_call_list_remove(&p->queue, c);
    wpi_call_complete(c, err, NULL, 0, -1);
    wpi_call_release(c);
  }
}

/* ---- the public entry --------------------------------------------------- */

int wp_pool_call(wp_pool_t *p, const wp_request_t *req, wp_reply_cb cb,
                 void *arg) {
  if (!p || !req || !cb) return WP_EINVAL;
  size_t mlen = 0;
  if (req->kind == WP_REQ_CALL) {
    mlen = req->method ? strnlen(req->method, WP_METHOD_MAX + 1) : 0;
    if (mlen == 0 || mlen > WP_METHOD_MAX) return WP_EINVAL;
  } else if (req->kind != WP_REQ_PING && req->kind != WP_REQ_WORK) {
    return WP_EINVAL;
  }
  /* Refused here, not at send: a frame the link cannot carry would be read
   * as a broken link and take every worker down in turn. */
  if (req->payload_len > p->opts.max_frame - WP_REQ_ENVELOPE - mlen)
    return WP_EINVAL;
  if (p->state == POOL_FAILED) return WP_EFAILED;
  if (p->state != POOL_RUNNING && p->state != POOL_STARTING) return WP_ESTOPPED;
  if (p->queue.len >= p->opts.queue_limit) {
    p->stats.errors++;
    return WP_EQUEUE_FULL;
  }
  wp_call_t *c = call_new(p);
  if (!c) return WP_ENOMEM;
  c->pool = p;
  c->id = ++p->next_id;
  c->req = *req;
  c->cb = cb;
  c->arg = arg;
  c->heap_idx = SIZE_MAX;
  c->submitted = wp_now_ns();
  uint64_t tmo = req->timeout_ns ? req->timeout_ns : p->opts.request_timeout_ns;
  c->timeout = tmo;
  if (tmo) {
    c->deadline = c->submitted + tmo;
    if (deadline_add(c) != 0) {
      free(c);
      return WP_ENOMEM;
    }
  }
  p->stats.calls++;
  wpi_call_list_push(&p->queue, c);
  dispatch_at(p, c->submitted);
  return 0;
}
