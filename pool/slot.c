/*
 * slot.c — one owner of a slot's state. Every transition of a worker host
 * happens here, and slot_set keeps the ready count, the available list and
 * the slot's timer in step with the state:
 *
 *   DOWN → STARTING → (CONNECTING →) READY → CLOSING → DOWN
 *          any of STARTING…CLOSING → FAILING → DOWN
 *
 * READY is the only state counted ready and the only one in the available
 * list. CLOSING is a worker asked to go (the pool stops, or it retires after
 * a recycle): its stdin is closed, its replies are still taken. FAILING is
 * a generation that failed: killed, its output ignored, its calls failed or
 * retried. A slot is DOWN again only when its process is reaped and every
 * handle of its generation is closed (proc.c's on_gone); only then may it
 * restart or the pool finish stopping.
 *
 * A slot's role (ROLE_*, see pool_internal.h) says which twin serves; its
 * changes are recycle.c's policy, the host's states are here.
 *
 * Owns: wp_slot_t's state, its generation's setup (spawn, handles) and
 * teardown, the available list. May call: proc.c, stderr.c, fault.c,
 * frame.c; the transport only through p->link, the pool above only through
 * its hooks (p->on_ready, p->on_fail, p->on_down).
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pool_internal.h"

#define MS (1000000ull)

uint64_t wpi_rand(wp_pool_t *p) {
  p->rng ^= p->rng << 13;
  p->rng ^= p->rng >> 7;
  p->rng ^= p->rng << 17;
  return p->rng;
}

/* ---- the available list: slots with spare capacity -------------------- */

static bool slot_has_room(const wp_slot_t *s) {
  return s->state == SLOT_READY && !s->suspect &&
         s->inflight.len < (size_t)s->pool->opts.max_inflight;
}

void wpi_slot_avail_insert(wp_slot_t *s, bool front) {
  wp_pool_t *p = s->pool;
  if (s->in_avail || !slot_has_room(s)) return;
  s->in_avail = true;
  if (front) {
    s->avail_next = p->avail_head;
    p->avail_head = s;
    if (!p->avail_tail) p->avail_tail = s;
    return;
  }
  s->avail_next = NULL;
  if (p->avail_tail) p->avail_tail->avail_next = s;
  else p->avail_head = s;
  p->avail_tail = s;
}

void wpi_slot_avail_remove(wp_slot_t *s) {
  wp_pool_t *p = s->pool;
  if (!s->in_avail) return;
  wp_slot_t **pp = &p->avail_head, *prev = NULL;
  while (*pp && *pp != s) {
    prev = *pp;
    pp = &(*pp)->avail_next;
  }
  if (*pp) *pp = s->avail_next;
  if (p->avail_tail == s) p->avail_tail = prev;
  s->in_avail = false;
  s->avail_next = NULL;
}

wp_slot_t *wpi_slot_avail_pop(wp_pool_t *p) {
  while (p->avail_head) {
    wp_slot_t *s = p->avail_head;
    p->avail_head = s->avail_next;
    if (!p->avail_head) p->avail_tail = NULL;
    s->in_avail = false;
    s->avail_next = NULL;
    if (slot_has_room(s)) return s;
  }
  return NULL;
}

/* ---- the one transition -------------------------------------------------- */

/* "Leave the slot's timer as it runs": a retiring worker keeps a link
 * grace that was already counting. */
static void timer_keep(uv_timer_t *t) { (void)t; }

/* Moves s to state `to`: leaving READY it stops counting as ready and
 * leaves the available list, entering READY it joins both; its timer is
 * then armed with cb after ms, stopped (cb NULL) or kept (timer_keep). */
static void slot_set(wp_slot_t *s, slot_state_t to, uv_timer_cb cb, uint64_t ms) {
  wp_pool_t *p = s->pool;
  bool was = s->state == SLOT_READY, is = to == SLOT_READY;
  s->state = to;
  if (was && !is) p->ready_count--;
  if (is && !was) p->ready_count++;
  if (is && !s->suspect) wpi_slot_avail_insert(s, false);
  else wpi_slot_avail_remove(s);
  if (cb == timer_keep) return;
  if (cb) uv_timer_start(&s->timer, cb, ms, 0);
  else uv_timer_stop(&s->timer);
}

void wpi_slot_timer(wp_slot_t *s, uv_timer_cb cb, uint64_t ms) {
  slot_set(s, s->state, cb, ms);
}

/* ---- setting up ------------------------------------------------------------ */

static void slot_exited(wp_slot_t *s);
static void slot_down(wp_slot_t *s);

void wpi_slots_init(wp_pool_t *p) {
  int size = p->opts.size;
  for (int i = 0; i < p->nslots; i++) {
    wp_slot_t *s = &p->slots[i];
    s->pool = p;
    s->index = i % size;
    s->pidfd = -1;
    s->backoff_ns = p->opts.restart_base_ns;
    s->twin = &p->slots[(i + size) % p->nslots];
    s->role = i < size ? ROLE_CURRENT : ROLE_SPARE;
  }
  p->on_exit = slot_exited;
  p->on_gone = slot_down;
  p->on_spawn_fail = wpi_slot_fail;
}

void wpi_slot_free(wp_slot_t *s) {
  wpi_frame_decoder_free(&s->dec);
  free(s->rbuf);
  free(s->wbuf);
  free(s->methods);
}

/* A generation's recycling limit: max_requests plus 0..jitter, so workers
 * started together are not all recycled together (gunicorn's reason). */
static uint64_t requests_limit(wp_pool_t *p) {
  const wp_options_t *o = &p->opts;
  if (!o->max_requests) return 0;
  return o->max_requests + (o->max_requests_jitter
                                ? wpi_rand(p) % (o->max_requests_jitter + 1)
                                : 0);
}

static int open_pipes(wp_slot_t *s, const wp_proc_t *pr) {
  uv_loop_t *loop = s->pool->loop;
  uv_pipe_init(loop, &s->in, 0);
  uv_pipe_init(loop, &s->out, 0);
  s->in.data = s->out.data = s;
  s->handles += 2;
  s->in_open = s->out_open = true;
  int rc1 = uv_pipe_open(&s->in, pr->fd_in);
  int rc2 = uv_pipe_open(&s->out, pr->fd_out);
  int rc3 = pr->fd_err >= 0 ? wpi_stderr_open(s, pr->fd_err) : 0;
  if (rc1) close(pr->fd_in);
  if (rc2) close(pr->fd_out);
  return rc1 || rc2 || rc3 ? WP_EIO : 0;
}

static void on_start_timeout(uv_timer_t *t) {
  wp_slot_t *s = t->data;
  if (s->state != SLOT_STARTING && s->state != SLOT_CONNECTING) return;
  wpi_zygote_abandon(s); /* a zygote ask not answered yet: no pid to kill */
  wpi_slot_fail(s, WP_ESTART_TIMEOUT);
}

/* Resets what a generation keeps, for the next one. */
static void new_generation(wp_slot_t *s) {
  wp_pool_t *p = s->pool;
  /* Generations count per logical slot, across both twins: the newest is
   * the one the timeline accessor shows, and gRPC socket names stay unique. */
  int gen = s->tl.generation > s->twin->tl.generation ? s->tl.generation
                                                      : s->twin->tl.generation;
  s->tl.generation = gen + 1;
  s->tl.spawn_asked = wp_now_ns();
  s->tl.started = s->tl.hello = s->tl.ready = 0;
  s->tl.pid = 0;
  s->reaped = false;
  s->zyg_asked = false;
  s->fail_err = 0;
  s->served = 0;
  s->sent = 0;
  s->recycle_due = false;
  s->suspect = false;
  s->overran = false;
  s->head_len = 0;
  s->max_requests = requests_limit(p);
  free(s->methods);
  s->methods = NULL;
  s->nmethods = 0;
  s->proto_version = 0; /* this generation says its own in its Hello */
  s->compact = false;
  wpi_frame_decoder_free(&s->dec);
  wpi_frame_decoder_init(&s->dec, p->opts.max_frame);
}

/* An attached slot's generation: a connection, no process (attach.c). */
static int slot_attach(wp_slot_t *s) {
  wp_pool_t *p = s->pool;
  slot_set(s, SLOT_STARTING, p->opts.start_timeout_ns ? on_start_timeout : NULL,
           p->opts.start_timeout_ns / MS);
  int rc = p->link->attach(s);
  if (rc) wpi_slot_fail(s, rc);
  return 0;
}

int wpi_slot_spawn(wp_slot_t *s) {
  wp_pool_t *p = s->pool;
  new_generation(s);
  if (p->link->attached) return slot_attach(s);
  char buf[128]; /* the transport's arguments live on this stack frame */
  if (p->link->args) p->link->args(s, p->argv + p->argc, buf, sizeof buf);
  wp_proc_t pr;
  int rc = p->zyg ? wpi_zygote_spawn(s, p->opts.capture_stderr != 0, &pr)
                  : wpi_spawn(p->argv, p->opts.cpus, p->opts.ncpus,
                              p->opts.capture_stderr != 0, &pr);
  p->argv[p->argc] = NULL;
  if (rc) {
    s->fail_err = rc;
    wpi_fault_record(s, rc);
    return rc;
  }
  s->tl.started = pr.pid ? wp_now_ns() : 0; /* zygote: once forked */
  s->tl.pid = pr.pid;
  s->pidfd = pr.pidfd;
  slot_set(s, SLOT_STARTING, p->opts.start_timeout_ns ? on_start_timeout : NULL,
           p->opts.start_timeout_ns / MS);
  rc = open_pipes(s, &pr);
  /* The exit watch starts even if a pipe failed: the slot only goes DOWN
   * once the process is reaped. */
  int wrc = wpi_proc_watch(s);
  if (rc == 0) rc = wrc;
  if (rc == 0) rc = p->link->start(s);
  if (rc == 0) return 0;
  if (wrc) wpi_proc_reap_now(s); /* nothing will tell us it exited */
  wpi_slot_fail(s, rc);
  return 0;
}

void wpi_slot_launch(wp_slot_t *s) {
  if (wpi_slot_spawn(s)) slot_down(s);
}

/* ---- up -------------------------------------------------------------------- */

void wpi_slot_connecting(wp_slot_t *s) {
  slot_set(s, SLOT_CONNECTING, timer_keep, 0); /* the start timeout runs on */
}

void wpi_slot_ready(wp_slot_t *s) {
  s->tl.ready = wp_now_ns();
  slot_set(s, SLOT_READY, NULL, 0);
  s->pool->on_ready(s);
}

/* ---- going down -------------------------------------------------------------- */

static void close_pipes(wp_slot_t *s) {
  wpi_proc_close((uv_handle_t *)&s->in, &s->in_open);
  wpi_proc_close((uv_handle_t *)&s->out, &s->out_open);
  wpi_stderr_close(s);
}

/* What the calls still on a closing worker get when it goes: the pool is
 * stopping (WP_ESTOPPED), or a retiring worker died while it drained. */
static int closing_err(const wp_slot_t *s) {
  return s->pool->state == POOL_STOPPING || s->pool->state == POOL_STOPPED
             ? WP_ESTOPPED
             : WP_EWORKER_EXITED;
}

static void link_teardown(wp_slot_t *s) {
  if (s->pool->link->teardown) s->pool->link->teardown(s);
}

/* Ends a slot's generation: stops serving, answers its calls, kills its
 * process group, closes its pipes. slot_down runs once it is reaped and
 * every handle is closed. While the pool starts, any slot's failure, even
 * after its Hello, fails the start (pool.c's on_fail): slots restart only
 * in a running pool, so a start that waited for this one would never end. */
void wpi_slot_fail(wp_slot_t *s, int err) {
  if (s->state == SLOT_FAILING || s->state == SLOT_DOWN) return;
  slot_set(s, SLOT_FAILING, NULL, 0);
  s->fail_err = err;
  wpi_stderr_close(s); /* its last words, before they are recorded */
  wpi_fault_record(s, err);
  link_teardown(s);
  wpi_proc_signal_group(s, SIGKILL);
  close_pipes(s);
  s->pool->on_fail(s, err);
}

/* kill_on_timeout: a worker that held one request longer than the
 * request's whole timeout is hung or far too slow; the caller already has
 * WP_ETIMEDOUT, and the worker holds capacity for an unknown time. It is
 * ended like a crash (restarted with backoff, counted for intensity); its
 * other in-flight calls fail with WP_EWORKER_EXITED or are retried once
 * when idempotent. */
void wpi_slot_overran(wp_slot_t *s) {
  if (s->state == SLOT_FAILING || s->state == SLOT_DOWN) return;
  s->pool->stats.timeout_kills++;
  s->overran = true;
  /* An attached worker is not killed: its connection is dropped. */
  wpi_slot_fail(s, s->pool->link->attached ? WP_ETRANSPORT : WP_EWORKER_EXITED);
}

static void on_link_grace(uv_timer_t *t) {
  wp_slot_t *s = t->data;
  wpi_slot_fail(s, WP_ETRANSPORT);
}

/* A transport's call failed with a broken link while waitpid does not yet
 * see the worker exit. Usually it is dying: the kernel closes a process's
 * sockets just before its exit becomes visible. So the slot takes no new
 * work and waits a moment: the exit path then names the calls' error
 * WP_EWORKER_EXITED; a process still there after the grace means the link
 * itself broke (WP_ETRANSPORT). Its calls stay in flight until then, to be
 * failed or retried together. */
void wpi_slot_suspect(wp_slot_t *s) {
  if (s->suspect || s->state == SLOT_FAILING || s->state == SLOT_DOWN) return;
  s->suspect = true;
  slot_set(s, s->state, on_link_grace, 100);
}

static void close_stdin(wp_slot_t *s) {
  wpi_link_push(s); /* frames a corked send packed go before the EOF */
  wpi_proc_close((uv_handle_t *)&s->in, &s->in_open);
}

/* Asks one slot to leave: EOF on its stdin (its in-flight pipe replies may
 * still arrive during the pool's stop grace). A failing one goes anyway. */
void wpi_slot_stop(wp_slot_t *s) {
  if (s->state == SLOT_DOWN || s->state == SLOT_FAILING) {
    uv_timer_stop(&s->timer);
    return;
  }
  slot_set(s, SLOT_CLOSING, NULL, 0);
  close_stdin(s);
  if (s->pool->link->stop) s->pool->link->stop(s); /* attached: no stdin */
}

void wpi_slot_retire(wp_slot_t *s) {
  slot_set(s, SLOT_CLOSING, timer_keep, 0);
  if (s->inflight.len == 0) wpi_slot_drained(s);
}

static void on_retire_grace(uv_timer_t *t) {
  wpi_proc_signal_group(t->data, SIGKILL);
}

/* Nothing pending on its link: close that before the worker goes, then
 * stdin EOF, and SIGKILL stop_grace_ns later if it lingers. */
void wpi_slot_drained(wp_slot_t *s) {
  link_teardown(s);
  close_stdin(s);
  slot_set(s, SLOT_CLOSING, on_retire_grace, s->pool->opts.stop_grace_ns / MS);
}

void wpi_slot_out_eof(wp_slot_t *s) {
  wpi_proc_close((uv_handle_t *)&s->out, &s->out_open);
  s->pool->on_fail(s, closing_err(s));
}

/* proc.c reaped the worker: its generation ends. */
static void slot_exited(wp_slot_t *s) {
  wpi_fault_exited(s);
  s->pool->stats.worker_exits++;
  /* Replies it wrote just before exiting are still in the pipe: take them
   * before declaring the rest lost. */
  if (s->out_open && s->state != SLOT_FAILING) s->pool->link->drain(s);
  if (s->state == SLOT_CLOSING) { /* a clean stop or retirement */
    close_pipes(s);
    link_teardown(s);
    s->pool->on_fail(s, closing_err(s));
  } else {
    wpi_slot_fail(s, s->tl.hello ? WP_EWORKER_EXITED : WP_EHELLO);
  }
  wpi_proc_unwatch(s);
}

/* Reaped, every handle closed: the generation is over. */
static void slot_down(wp_slot_t *s) {
  /* Whatever this generation armed (start timeout, retire grace) must not
   * fire on the next one. */
  slot_set(s, SLOT_DOWN, NULL, 0);
  if (s->pool->link->down) s->pool->link->down(s);
  s->pool->on_down(s);
}
