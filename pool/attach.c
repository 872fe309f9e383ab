/*
 * attach.c — attached workers: slots that are addresses, not processes.
 * The workers run elsewhere (systemd, Kubernetes: wpool-worker-grpc
 * --standalone) and the pool connects to them (options.connect) instead of
 * spawning them. Calls travel exactly as over the gRPC transport (this
 * table shares link_grpc.c's client, channels and send); what differs is a
 * generation's beginning and end:
 *
 *   attach   a channel to the slot's target (gRPC retries a refused
 *            connect until start_timeout_ns), then grpc.health.v1
 *            Health/Check: SERVING makes the slot READY, anything else
 *            fails it (it reconnects after the restart backoff);
 *   lost     a call failing on a broken link (or unanswered keepalive
 *            pings) fails the slot with WP_ETRANSPORT (link_grpc.c): its
 *            calls fail named or are retried once, the slot reconnects;
 *   stop     the slot goes once its calls are answered, or at the stop
 *            grace, when what is left fails WP_ESTOPPED.
 *
 * There is no process: no pid, no pidfd, no signals. So that a generation
 * still ends the one way slot.c knows (every handle closed, "reaped"), its
 * one handle is a timer in the exit watch's place (s->exitw), opened here
 * and closed by teardown; the slot is DOWN when its close callback ran.
 *
 * Owns: the attached generation's start (connect, health check) and end.
 * May call: slot.c, proc.c (the handle count), link_grpc.c (through
 * link_grpc.h), grpc_client.c, wire/health.h; the pool above only through
 * its on_fail hook.
 */
#include <stdlib.h>

#include "health.h"
#include "link_grpc.h"

#define MS (1000000ull)

/* The target slot s connects to. */
static const char *target(const wp_slot_t *s) {
  const wp_options_t *o = &s->pool->opts;
  return o->connect[s->index % o->nconnect];
}

/* A health check's answer may come after its generation ended (the channel
 * was closed with the check pending): it names the generation it was for. */
typedef struct check {
  wp_slot_t *s;
  int generation;
} check_t;

static void on_health(void *arg, int err, const uint8_t *reply, size_t len) {
  check_t *ck = arg;
  wp_slot_t *s = ck->s;
  bool mine = s->tl.generation == ck->generation && s->state == SLOT_CONNECTING;
  free(ck);
  if (!mine) return;
  int st = err ? -1 : wpi_health_status(reply, len);
  if (st != WPI_HEALTH_SERVING) {
    wpi_slot_fail(s, err == WP_ETIMEDOUT ? WP_ESTART_TIMEOUT : WP_ETRANSPORT);
    return;
  }
  s->tl.hello = wp_now_ns();
  wpi_slot_ready(s);
}

/* What is left of the start timeout for the health check (1 ms at least). */
static uint64_t time_left(const wp_slot_t *s) {
  uint64_t budget = s->pool->opts.start_timeout_ns, spent = wp_now_ns() - s->tl.spawn_asked;
  if (!budget) return 0;
  return spent + MS < budget ? budget - spent : MS;
}

static void on_connected(void *arg, int err) {
  wp_slot_t *s = arg;
  if (s->state != SLOT_STARTING) return;
  if (err) {
    wpi_slot_fail(s, WP_ESTART_TIMEOUT); /* only the connect deadline ends it */
    return;
  }
  s->tl.started = wp_now_ns();
  wpi_slot_connecting(s);
  check_t *ck = malloc(sizeof *ck);
  int rc = WP_ENOMEM;
  if (ck) {
    *ck = (check_t){.s = s, .generation = s->tl.generation};
    rc = wpi_grpc_conn_check(*wpi_grpc_link_conn(s), time_left(s), on_health, ck);
  }
  if (rc) {
    free(ck);
    wpi_slot_fail(s, rc);
  }
}

static void on_presence_closed(uv_handle_t *h) { wpi_proc_handle_closed(h); }

/* The generation's one handle (see the header comment). */
static int open_presence(wp_slot_t *s) {
  if (uv_timer_init(s->pool->loop, &s->exitw.tick) != 0) return WP_EIO;
  s->exitw.tick.data = s;
  s->handles++;
  s->exitw_open = true;
  return 0;
}

static int attach_start(wp_slot_t *s) {
  s->reaped = true; /* no process: DOWN as soon as the handle is closed */
  int rc = open_presence(s);
  if (rc) return rc;
  return wpi_grpc_conn_open(wpi_grpc_link_client(s->pool), target(s),
                           s->pool->opts.start_timeout_ns, on_connected, s,
                           wpi_grpc_link_conn(s));
}

static void attach_teardown(wp_slot_t *s) {
  wpi_grpc_link_teardown(s);
  if (s->exitw_open) {
    s->exitw_open = false;
    uv_close((uv_handle_t *)&s->exitw.tick, on_presence_closed);
  }
}

/* The stop grace is over: what the worker still holds fails WP_ESTOPPED. */
static void on_stop_grace(uv_timer_t *t) {
  wp_slot_t *s = t->data;
  if (s->state != SLOT_CLOSING) return;
  attach_teardown(s);
  s->pool->on_fail(s, WP_ESTOPPED);
}

static void attach_stop(wp_slot_t *s) {
  if (s->inflight.len == 0) {
    attach_teardown(s);
    return;
  }
  if (!uv_is_active((uv_handle_t *)&s->timer))
    wpi_slot_timer(s, on_stop_grace, s->pool->opts.stop_grace_ns / MS);
}

static int attach_open(wp_pool_t *p) {
  int rc = wpi_grpc_link_open(p, false);
  if (rc == 0) wpi_grpc_client_remote(wpi_grpc_link_client(p), p->opts.connect_keepalive_ms);
  return rc;
}

const wp_link_ops_t wpi_link_attach = {
    .worker = "wpool-worker-grpc", /* never run: argv is refused */
    .fds_per_worker = 1,           /* its socket */
    .fds_extra = 32,               /* gRPC's own */
    .judges_late_overrun = true,
    .attached = true,
    .init = wpi_grpc_link_init,
    .open = attach_open,
    .close = wpi_grpc_link_close,
    .free = wpi_grpc_link_free,
    .send = wpi_grpc_link_send,
    .flush = wpi_grpc_link_flush,
    .teardown = attach_teardown,
    .attach = attach_start,
    .stop = attach_stop,
};
