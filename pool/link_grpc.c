/*
 * link_grpc.c — the gRPC transport: each worker serves wpool.v1.Worker/Call
 * on the address the pool gives it (a unix socket in a private directory,
 * or 127.0.0.1:0), still says Hello on stdout with the address it bound,
 * and is ready once the channel to it is READY. Calls go through
 * grpc_client.c, whose completions come back on the loop thread.
 *
 * Owns: the client, the socket directory, each slot's connection and
 * address (all in grpc_link_t, p->link_data). May call: dispatch.c (answers),
 * slot.c, link.c (reply decoding), proc.c, grpc_client.c. attach.c (attached
 * workers) shares its pool-wide part and calls through link_grpc.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "grpc_client.h"
#include "link_grpc.h"
#include "pool_internal.h"

typedef struct grpc_slot {
  wp_grpc_conn_t *conn;    /* this generation's channel */
  char *address;           /* from its Hello */
} grpc_slot_t;

typedef struct grpc_link {
  wp_grpc_client_t *client;
  bool closing;
  void (*closed)(wp_pool_t *p); /* the pool's close callback */
  char sockdir[64];        /* unix sockets' directory ("" for TCP) */
  grpc_slot_t slots[];     /* one per host, as p->slots */
} grpc_link_t;

static grpc_link_t *G(const wp_pool_t *p) { return p->link_data; }
static grpc_slot_t *GS(const wp_slot_t *s) {
  return &G(s->pool)->slots[s - s->pool->slots];
}

/* ---- the pool-wide part ---------------------------------------------------- */

int wpi_grpc_link_init(wp_pool_t *p) {
  grpc_link_t *g = calloc(1, sizeof *g + (size_t)p->nslots * sizeof g->slots[0]);
  p->link_data = g;
  return g ? 0 : WP_ENOMEM;
}

int wpi_grpc_link_open(wp_pool_t *p, bool sockdir) {
  grpc_link_t *g = G(p);
  if (sockdir) {
    snprintf(g->sockdir, sizeof g->sockdir, "/tmp/wpool-%d-XXXXXX", (int)getpid());
    if (!mkdtemp(g->sockdir)) {
      g->sockdir[0] = '\0';
      return WP_EIO;
    }
  }
  return wpi_grpc_client_new(p->loop, &g->client);
}

static int grpc_open(wp_pool_t *p) { return wpi_grpc_link_open(p, !p->opts.grpc_tcp); }

wp_grpc_client_t *wpi_grpc_link_client(const wp_pool_t *p) { return G(p)->client; }
wp_grpc_conn_t **wpi_grpc_link_conn(const wp_slot_t *s) { return &GS(s)->conn; }

static void on_client_closed(void *arg) {
  wp_pool_t *p = arg;
  grpc_link_t *g = G(p);
  g->client = NULL;
  g->closed(p);
}

void wpi_grpc_link_close(wp_pool_t *p, void (*done)(wp_pool_t *p)) {
  grpc_link_t *g = G(p);
  if (g->sockdir[0]) rmdir(g->sockdir);
  if (!g->client || g->closing) return;
  g->closing = true;
  g->closed = done;
  wpi_grpc_client_close(g->client, on_client_closed, p);
}

void wpi_grpc_link_free(wp_pool_t *p) {
  grpc_link_t *g = G(p);
  if (!g) return;
  for (int i = 0; i < p->nslots; i++) free(g->slots[i].address);
  free(g);
  p->link_data = NULL;
}

void wpi_grpc_link_flush(wp_pool_t *p) {
  if (G(p)->client) wpi_grpc_client_flush(G(p)->client);
}

/* ---- one worker's link -------------------------------------------------------- */

/* The address a slot's worker is told to listen on. */
static void listen_addr(wp_slot_t *s, char *buf, size_t len) {
  if (s->pool->opts.grpc_tcp) snprintf(buf, len, "127.0.0.1:0");
  else
    snprintf(buf, len, "unix:%s/w%d-%d.sock", G(s->pool)->sockdir, s->index,
             s->tl.generation);
}

static void grpc_args(wp_slot_t *s, char **argv, char *buf, size_t len) {
  if (s->pool->opts.grpc_no_listen_args) return;
  listen_addr(s, buf, len);
  argv[0] = "--transport";
  argv[1] = "grpc";
  argv[2] = "--listen";
  argv[3] = buf;
}

static void on_connected(void *arg, int err) {
  wp_slot_t *s = arg;
  if (s->state != SLOT_CONNECTING) return;
  if (err) wpi_slot_fail(s, err);
  else wpi_slot_ready(s);
}

static void grpc_hello(wp_slot_t *s, char *address) {
  grpc_slot_t *gs = GS(s);
  free(gs->address);
  gs->address = address;
  wpi_slot_connecting(s);
  uint64_t left = s->pool->opts.start_timeout_ns;
  int rc = wpi_grpc_conn_open(G(s->pool)->client, gs->address, left, on_connected, s,
                             &gs->conn);
  if (rc) wpi_slot_fail(s, rc);
}

/* The one teardown of a generation's channel: on failure, on exit, and when
 * a retiring worker has nothing left in flight. */
void wpi_grpc_link_teardown(wp_slot_t *s) {
  grpc_slot_t *gs = GS(s);
  if (!gs->conn) return;
  wpi_grpc_conn_close(gs->conn);
  gs->conn = NULL;
}

/* A killed worker cannot remove its own socket. */
static void grpc_down(wp_slot_t *s) {
  wp_pool_t *p = s->pool;
  if (p->opts.grpc_tcp || !G(p)->sockdir[0]) return;
  char path[sizeof G(p)->sockdir + 64];
  snprintf(path, sizeof path, "%s/w%d-%d.sock", G(p)->sockdir, s->index,
           s->tl.generation);
  unlink(path);
}

/* ---- calls --------------------------------------------------------------------- */

/* A gRPC call ended in err: answer it, and judge the worker. */
static void grpc_call_failed(wp_slot_t *s, wp_call_t *c, int err) {
  wp_pool_t *p = s->pool;
  if (err == WP_ETIMEDOUT || err == WP_ESTOPPED || p->state != POOL_RUNNING) {
    /* The gRPC deadline is the worker's whole budget from dispatch: it
     * overran (see kill_on_timeout) — unless gRPC itself saw the deadline
     * only long after it passed: the supervisor was stalled (SIGSTOP),
     * and the reply may have been waiting unread. Or the pool is stopping. */
    bool kill = err == WP_ETIMEDOUT && p->opts.kill_on_timeout &&
                !wpi_overrun_seen_late(c, wpi_grpc_client_received(G(p)->client));
    wpi_slot_detach(s, c);
    wpi_call_complete(c, p->state == POOL_RUNNING ? err : WP_ESTOPPED, NULL, 0,
                     s->index);
    wpi_call_release(c);
    if (kill) wpi_slot_overran(s);
    return;
  }
  /* A broken connection or a reply that does not decode: this worker's
   * link cannot be trusted, as with a pipe protocol error. The slot fails,
   * and its calls — this one too — fail with a named error or are retried
   * once when idempotent. */
  if (err == WP_EPROTO) {
    p->stats.protocol_errors++;
    wpi_slot_fail(s, err);
  } else if (p->link->attached) { /* no process to wait for: the link broke */
    wpi_slot_fail(s, WP_ETRANSPORT);
  } else if (wpi_proc_gone(s)) {
    wpi_slot_fail(s, WP_EWORKER_EXITED);
  } else {
    wpi_slot_suspect(s);
  }
}

/* What a gRPC call carries: which send of the call it is. An idempotent
 * call can be retried on another worker while the cancelled first send is
 * still on its way back; that late completion must not touch the retry. */
typedef struct grpc_attempt {
  wp_call_t *c;
  uint32_t n;
} grpc_attempt_t;

static void on_grpc_done(void *arg, int err, const uint8_t *reply, size_t len) {
  grpc_attempt_t *a = arg;
  wp_call_t *c = a->c;
  bool stale = a->n != c->attempts;
  free(a);
  c->transport_refs--;
  wp_slot_t *s = c->slot;
  if (!s || stale) { /* the slot already failed it, or it was retried */
    wpi_call_release(c);
    return;
  }
  wp_pool_t *p = s->pool;
  int rc = err ? err : wpi_link_reply(s, c, reply, len);
  if (rc) grpc_call_failed(s, c, rc);
  /* An attached worker asked to stop goes once its last call is answered. */
  if (p->link->stop && s->state == SLOT_CLOSING && s->inflight.len == 0) p->link->stop(s);
  wpi_dispatch(p);
}

int wpi_grpc_link_send(wp_slot_t *s, wp_call_t *c, const wpi_request_enc_t *r,
                       size_t n) {
  uint8_t small[512], *buf = n <= sizeof small ? small : malloc(n);
  if (!buf) return WP_ENOMEM;
  wpi_request_pack(r, buf);
  /* The worker's budget: the whole timeout from now (dispatch). The caller
   * is answered at its own deadline by the pool's timer. */
  grpc_attempt_t *a = malloc(sizeof *a);
  int rc = WP_ENOMEM;
  if (a) {
    *a = (grpc_attempt_t){.c = c, .n = c->attempts + 1};
    rc = wpi_grpc_conn_call(GS(s)->conn, buf, n, c->timeout, on_grpc_done, a);
  }
  if (buf != small) free(buf);
  if (rc == 0) {
    c->attempts++;
    c->transport_refs++;
  } else {
    free(a);
  }
  return rc;
}

const wp_link_ops_t wpi_link_grpc = {
    .worker = "wpool-worker-grpc",
    .fds_per_worker = 4, /* stdin, stdout, pidfd, socket */
    .fds_extra = 32,     /* gRPC's own */
    .judges_late_overrun = true,
    .init = wpi_grpc_link_init,
    .open = grpc_open,
    .close = wpi_grpc_link_close,
    .free = wpi_grpc_link_free,
    .args = grpc_args,
    .start = wpi_link_start,
    .hello = grpc_hello,
    .send = wpi_grpc_link_send,
    .drain = wpi_link_drain,
    .flush = wpi_grpc_link_flush,
    .teardown = wpi_grpc_link_teardown,
    .down = grpc_down,
};
