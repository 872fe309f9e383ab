/*
 * grpc_client.c — the supervisor's gRPC client; see grpc_client.h.
 *
 * Every operation handed to gRPC (a call's single batch, a connectivity
 * watch) carries an op_t as its tag. The drain thread turns each completion
 * into "op->ok = success; append op to the hand-off list" and wakes the
 * loop only when the list was empty, so one uv_async wake-up delivers every
 * completion that piled up meanwhile. The loop side counts the operations
 * it has outstanding (live_ops): the completion queue is shut down only when
 * that count is zero, so no gRPC object outlives grpc_shutdown.
 *
 * Owns: the completion queue, its drain thread, channels and calls. May
 * call: gRPC core, libuv, errors.c; nothing else in pool/ (link_grpc.c is
 * its only user).
 */
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>

#include "grpc_client.h"
#include "health.h"

#define DEFAULT_CONNECT_NS (10ull * 1000 * 1000 * 1000)

typedef enum { OP_CALL, OP_WATCH } op_kind_t;

/* A tag handed to gRPC. `next` links it into the hand-off list. */
typedef struct op {
  op_kind_t kind;
  int ok;
  uint64_t received;             /* when the drain thread got it (ns) */
  struct op *next;
} op_t;

typedef struct gcall {
  op_t op;                       /* first: the tag is the call */
  wp_grpc_conn_t *conn;
  struct gcall *prev, *next;     /* conn's pending calls */
  grpc_call *call;
  grpc_byte_buffer *send, *recv;
  grpc_metadata_array md_initial, md_trailing;
  grpc_status_code status;
  grpc_slice details;
  int cancel_err;                /* why we cancelled it, 0 if we did not */
  wp_grpc_done_cb done;
  void *arg;
} gcall_t;

struct wp_grpc_conn {
  op_t watch;                    /* first: the tag of the connectivity watch */
  wp_grpc_client_t *client;
  wp_grpc_conn_t *prev, *next;   /* client's conns, until freed */
  grpc_channel *ch;
  void *method;                  /* grpc_channel_register_call handle */
  void *health_method;           /* and Health/Check's */
  gcall_t *calls;
  size_t ncalls;
  int watching, closing;
  gpr_timespec connect_deadline;
  wp_grpc_ready_cb on_ready;
  void *ready_arg;
};

struct wp_grpc_client {
  uv_loop_t *loop;
  grpc_completion_queue *cq;
  uv_thread_t thread;
  uv_async_t async;
  uv_mutex_t mu;
  op_t *head, *tail;             /* mu: completions not yet run on the loop */
  int thread_done;               /* mu: the drain thread has finished */
  /* Loop thread only. */
  wp_grpc_conn_t *conns;
  size_t live_ops;               /* tags handed to gRPC and not yet back */
  int in_dispatch, closing, cq_shut, async_closing;
  uint64_t running_received;     /* the op being run: when it was received */
  int remote;                    /* wpi_grpc_client_remote was called */
  int keepalive_ms;              /* 0: none (local workers) */
  wp_grpc_closed_cb on_closed;
  void *closed_arg;
};

/* ---- drain thread ------------------------------------------------------ */

static void hand_off(wp_grpc_client_t *c, op_t *op, int ok) {
  op->ok = ok;
  op->received = wp_now_ns();
  op->next = NULL;
  uv_mutex_lock(&c->mu);
  int wake = c->head == NULL; /* else a wake-up is already on its way */
  if (c->tail) c->tail->next = op;
  else c->head = op;
  c->tail = op;
  uv_mutex_unlock(&c->mu);
  if (wake) uv_async_send(&c->async);
}

/* The only caller of grpc_completion_queue_next. At queue shutdown it also
 * tears gRPC down here, off the loop: grpc_shutdown joins gRPC's threads and
 * may take milliseconds. It must not touch c after its last uv_async_send
 * (the loop joins this thread before freeing c). */
static void drain_thread(void *arg) {
  wp_grpc_client_t *c = arg;
  grpc_completion_queue *cq = c->cq;
  for (;;) {
    grpc_event ev = grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    if (ev.type == GRPC_QUEUE_SHUTDOWN) break;
    if (ev.type == GRPC_OP_COMPLETE) hand_off(c, ev.tag, ev.success);
  }
  grpc_completion_queue_destroy(cq);
  grpc_shutdown();
  uv_mutex_lock(&c->mu);
  c->thread_done = 1;
  uv_mutex_unlock(&c->mu);
  uv_async_send(&c->async);
}

/* ---- calls ------------------------------------------------------------- */

static void gcall_free(gcall_t *gc) {
  if (gc->call) grpc_call_unref(gc->call);
  grpc_byte_buffer_destroy(gc->send);
  grpc_byte_buffer_destroy(gc->recv);
  grpc_metadata_array_destroy(&gc->md_initial);
  grpc_metadata_array_destroy(&gc->md_trailing);
  grpc_slice_unref(gc->details);
  free(gc);
}

static void gcall_unlink(gcall_t *gc) {
  wp_grpc_conn_t *k = gc->conn;
  if (gc->prev) gc->prev->next = gc->next;
  else k->calls = gc->next;
  if (gc->next) gc->next->prev = gc->prev;
  k->ncalls--;
}

/* Maps a finished call to the error its done callback gets; on success
 * *reply holds the whole Reply as one slice (the caller unrefs it). */
static int call_result(gcall_t *gc, grpc_slice *reply) {
  /* A call we cancelled reports why, even if its reply won the race: the
   * caller gave it up when it closed the conn or the client. */
  if (gc->cancel_err) return gc->cancel_err;
  if (gc->status == GRPC_STATUS_OK) {
    grpc_byte_buffer_reader rd;
    if (!gc->recv || !grpc_byte_buffer_reader_init(&rd, gc->recv)) return WP_EPROTO;
    *reply = grpc_byte_buffer_reader_readall(&rd);
    grpc_byte_buffer_reader_destroy(&rd);
    return 0;
  }
  if (gc->status == GRPC_STATUS_DEADLINE_EXCEEDED) return WP_ETIMEDOUT;
  return WP_ETRANSPORT;
}

/* Frees a drained conn. While the client closes, conns stay allocated (and
 * listed) until the client itself is freed, so a conn pointer the caller
 * still holds stays safe to pass to wpi_grpc_conn_close until on_closed. */
static void conn_release(wp_grpc_conn_t *k) {
  wp_grpc_client_t *c = k->client;
  if (c->closing) return;
  if (k->prev) k->prev->next = k->next;
  else c->conns = k->next;
  if (k->next) k->next->prev = k->prev;
  free(k);
}

/* A conn that was closed is freed when its last operation came back. */
static int conn_drained(const wp_grpc_conn_t *k) {
  return k->closing && k->ncalls == 0 && !k->watching;
}

static void on_call_done(gcall_t *gc) {
  wp_grpc_conn_t *k = gc->conn;
  gcall_unlink(gc);
  /* Freed before the callback: a conn already closed cannot be named by it. */
  if (conn_drained(k)) conn_release(k);
  grpc_slice reply = grpc_empty_slice();
  int err = call_result(gc, &reply);
  if (err) gc->done(gc->arg, err, NULL, 0);
  else gc->done(gc->arg, 0, GRPC_SLICE_START_PTR(reply), GRPC_SLICE_LENGTH(reply));
  grpc_slice_unref(reply);
  gcall_free(gc);
}

static gpr_timespec deadline_in(uint64_t ns) {
  if (ns == 0 || ns > (uint64_t)INT64_MAX) return gpr_inf_future(GPR_CLOCK_MONOTONIC);
  return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                      gpr_time_from_nanos((int64_t)ns, GPR_TIMESPAN));
}

/* The whole unary call in one batch: a single completion per call. */
static grpc_call_error start_batch(gcall_t *gc) {
  grpc_op ops[6];
  memset(ops, 0, sizeof ops);
  ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
  ops[1].op = GRPC_OP_SEND_MESSAGE;
  ops[1].data.send_message.send_message = gc->send;
  ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
  ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
  ops[3].data.recv_initial_metadata.recv_initial_metadata = &gc->md_initial;
  ops[4].op = GRPC_OP_RECV_MESSAGE;
  ops[4].data.recv_message.recv_message = &gc->recv;
  ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
  ops[5].data.recv_status_on_client.trailing_metadata = &gc->md_trailing;
  ops[5].data.recv_status_on_client.status = &gc->status;
  ops[5].data.recv_status_on_client.status_details = &gc->details;
  return grpc_call_start_batch(gc->call, ops, 6, &gc->op, NULL);
}

static int conn_start(wp_grpc_conn_t *k, void *method, const uint8_t *req, size_t len,
                      uint64_t timeout_ns, wp_grpc_done_cb done, void *arg) {
  if (!k || !done || (!req && len)) return WP_EINVAL;
  wp_grpc_client_t *c = k->client;
  if (k->closing || c->closing) return WP_ESTOPPED;
  gcall_t *gc = calloc(1, sizeof *gc);
  if (!gc) return WP_ENOMEM;
  gc->op.kind = OP_CALL;
  gc->conn = k;
  gc->done = done;
  gc->arg = arg;
  gc->details = grpc_empty_slice();
  grpc_metadata_array_init(&gc->md_initial);
  grpc_metadata_array_init(&gc->md_trailing);
  grpc_slice s = grpc_slice_from_copied_buffer((const char *)req, len);
  gc->send = grpc_raw_byte_buffer_create(&s, 1);
  grpc_slice_unref(s); /* the byte buffer holds its own ref */
  gc->call = grpc_channel_create_registered_call(
      k->ch, NULL, GRPC_PROPAGATE_DEFAULTS, c->cq, method,
      deadline_in(timeout_ns), NULL);
  if (!gc->call || start_batch(gc) != GRPC_CALL_OK) {
    gcall_free(gc);
    return WP_ETRANSPORT;
  }
  gc->next = k->calls;
  if (k->calls) k->calls->prev = gc;
  k->calls = gc;
  k->ncalls++;
  c->live_ops++;
  return 0;
}

int wpi_grpc_conn_call(wp_grpc_conn_t *k, const uint8_t *req, size_t len,
                      uint64_t timeout_ns, wp_grpc_done_cb done, void *arg) {
  return conn_start(k, k ? k->method : NULL, req, len, timeout_ns, done, arg);
}

int wpi_grpc_conn_check(wp_grpc_conn_t *k, uint64_t timeout_ns, wp_grpc_done_cb done,
                       void *arg) {
  uint8_t req[16];
  size_t n = wpi_health_request_pack(req, sizeof req);
  return conn_start(k, k ? k->health_method : NULL, req, n, timeout_ns, done, arg);
}

size_t wpi_grpc_conn_pending(const wp_grpc_conn_t *k) { return k ? k->ncalls : 0; }

/* ---- conns ------------------------------------------------------------- */

static void watch(wp_grpc_conn_t *k, grpc_connectivity_state last) {
  k->watching = 1;
  k->client->live_ops++;
  grpc_channel_watch_connectivity_state(k->ch, last, k->connect_deadline,
                                        k->client->cq, &k->watch);
}

static void ready(wp_grpc_conn_t *k, int err) {
  wp_grpc_ready_cb cb = k->on_ready;
  k->on_ready = NULL;
  if (cb) cb(k->ready_arg, err);
}

/* A connectivity change (ok) or the connect deadline (!ok). */
static void on_watch(wp_grpc_conn_t *k, int ok) {
  k->watching = 0;
  if (k->closing) {
    if (conn_drained(k)) conn_release(k);
    return;
  }
  grpc_connectivity_state st = grpc_channel_check_connectivity_state(k->ch, 1);
  if (st == GRPC_CHANNEL_READY) ready(k, 0);
  else if (!ok || st == GRPC_CHANNEL_SHUTDOWN ||
           (st == GRPC_CHANNEL_TRANSIENT_FAILURE && !k->client->remote))
    ready(k, WP_ETRANSPORT);
  else watch(k, st);
}

/* Channel args, why each:
 * - unlimited receive size: the pool enforces its own max_frame;
 * - no retries: the pool owns the retry policy, and gRPC's retry buffer
 *   would copy every request for nothing;
 * - a local subchannel pool: each worker's connection belongs to its own
 *   channel, so a restarted worker reusing a socket path never shares one
 *   with the conn being closed;
 * - keepalive (remote workers only): a link that went down sends no RST,
 *   so without pings a call on it would wait for its deadline, or forever.
 *   A ping every keepalive_ms, unanswered for as long, ends the
 *   connection and fails its calls (UNAVAILABLE); pings also go while no
 *   call is pending, so an idle worker's loss is seen too;
 * - remote: a refused connect is retried after 100 ms, then backing off to
 *   1 s (gRPC's default starts at 1 s and grows to 120 s): a worker that
 *   comes up, or whose link comes back, is found within about a second;
 *   and round_robin over what the target resolves to, so a name with many
 *   addresses (a Kubernetes headless Service) spreads a slot's calls over
 *   them rather than all on the first (pick_first, the default). */
static grpc_channel *channel_create(const char *addr, int remote, int keepalive_ms) {
  grpc_arg a[11];
  memset(a, 0, sizeof a);
  for (int i = 0; i < 11; i++) a[i].type = GRPC_ARG_INTEGER;
  a[0].key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
  a[0].value.integer = -1;
  a[1].key = GRPC_ARG_ENABLE_RETRIES;
  a[1].value.integer = 0;
  a[2].key = GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL;
  a[2].value.integer = 1;
  a[3].key = GRPC_ARG_KEEPALIVE_TIME_MS;
  a[3].value.integer = keepalive_ms;
  a[4].key = GRPC_ARG_KEEPALIVE_TIMEOUT_MS;
  a[4].value.integer = keepalive_ms;
  a[5].key = GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS;
  a[5].value.integer = 1;
  a[6].key = GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA;
  a[6].value.integer = 0; /* unlimited */
  size_t n = 3;
  if (keepalive_ms > 0) n = 7;
  if (remote) {
    a[n].key = GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS;
    a[n++].value.integer = 100;
    a[n].key = GRPC_ARG_MIN_RECONNECT_BACKOFF_MS;
    a[n++].value.integer = 100;
    a[n].key = GRPC_ARG_MAX_RECONNECT_BACKOFF_MS;
    a[n++].value.integer = 1000;
    a[n].type = GRPC_ARG_STRING;
    a[n].key = GRPC_ARG_LB_POLICY_NAME;
    a[n++].value.string = "round_robin";
  }
  grpc_channel_args args = {n, a};
  grpc_channel_credentials *cr = grpc_insecure_credentials_create();
  grpc_channel *ch = grpc_channel_create(addr, cr, &args);
  grpc_channel_credentials_release(cr);
  return ch;
}

int wpi_grpc_conn_open(wp_grpc_client_t *c, const char *addr,
                      uint64_t connect_timeout_ns, wp_grpc_ready_cb on_ready,
                      void *arg, wp_grpc_conn_t **out) {
  if (!c || !addr || !*addr || !out) return WP_EINVAL;
  if (c->closing) return WP_ESTOPPED;
  wp_grpc_conn_t *k = calloc(1, sizeof *k);
  if (!k) return WP_ENOMEM;
  k->watch.kind = OP_WATCH;
  k->client = c;
  k->on_ready = on_ready;
  k->ready_arg = arg;
  k->ch = channel_create(addr, c->remote, c->keepalive_ms);
  k->method = grpc_channel_register_call(k->ch, WPI_GRPC_METHOD, NULL, NULL);
  k->health_method = grpc_channel_register_call(k->ch, WPI_HEALTH_CHECK_METHOD, NULL, NULL);
  k->connect_deadline = deadline_in(connect_timeout_ns ? connect_timeout_ns : DEFAULT_CONNECT_NS);
  /* Start connecting now; if it is READY already, watching "IDLE" fires at
   * once, so on_ready still runs from the loop and never in here. */
  grpc_connectivity_state st = grpc_channel_check_connectivity_state(k->ch, 1);
  watch(k, st == GRPC_CHANNEL_READY ? GRPC_CHANNEL_IDLE : st);
  k->next = c->conns;
  if (c->conns) c->conns->prev = k;
  c->conns = k;
  *out = k;
  return 0;
}

/* Cancels k's calls (their done gets err), destroys the channel at once
 * (pending calls and the watch hold their own references to it, and the
 * destroy makes the watch fire), and frees k when nothing is pending. */
static void conn_shut(wp_grpc_conn_t *k, int err) {
  k->closing = 1;
  k->on_ready = NULL;
  for (gcall_t *gc = k->calls; gc; gc = gc->next) {
    if (!gc->cancel_err) gc->cancel_err = err;
    grpc_call_cancel(gc->call, NULL);
  }
  grpc_channel_destroy(k->ch);
  k->ch = NULL;
  if (conn_drained(k)) conn_release(k);
}

static void maybe_finish(wp_grpc_client_t *c);

void wpi_grpc_conn_close(wp_grpc_conn_t *k) {
  if (!k || k->closing) return;
  wp_grpc_client_t *c = k->client;
  conn_shut(k, WP_ETRANSPORT);
  maybe_finish(c);
}

/* ---- client ------------------------------------------------------------ */

/* Once closing and nothing is outstanding, shut the queue down: the drain
 * thread then sees GRPC_QUEUE_SHUTDOWN, shuts gRPC down and exits. Never
 * from inside on_async's loop: the op being run may still hold a call. */
static void maybe_finish(wp_grpc_client_t *c) {
  if (c->in_dispatch || !c->closing || c->live_ops > 0 || c->cq_shut) return;
  c->cq_shut = 1;
  grpc_completion_queue_shutdown(c->cq);
}

static void on_async_closed(uv_handle_t *h) {
  wp_grpc_client_t *c = h->data;
  wp_grpc_closed_cb cb = c->on_closed;
  void *arg = c->closed_arg;
  while (c->conns) { /* all drained: live_ops reached 0 */
    wp_grpc_conn_t *k = c->conns;
    c->conns = k->next;
    free(k);
  }
  uv_mutex_destroy(&c->mu);
  free(c);
  if (cb) cb(arg);
}

static void run_op(op_t *op) {
  if (op->kind == OP_CALL) on_call_done((gcall_t *)op);
  else on_watch((wp_grpc_conn_t *)op, op->ok);
}

/* Runs every completion handed over so far; whether the drain thread is
 * done. */
static int run_handed_off(wp_grpc_client_t *c) {
  uv_mutex_lock(&c->mu);
  op_t *list = c->head;
  c->head = c->tail = NULL;
  int done = c->thread_done;
  uv_mutex_unlock(&c->mu);
  c->in_dispatch = 1;
  while (list) {
    op_t *op = list;
    list = op->next;
    c->live_ops--;
    c->running_received = op->received;
    run_op(op);
  }
  c->in_dispatch = 0;
  maybe_finish(c);
  return done;
}

uint64_t wpi_grpc_client_received(const wp_grpc_client_t *c) {
  return c->running_received;
}

void wpi_grpc_client_flush(wp_grpc_client_t *c) {
  if (!c->in_dispatch && !c->async_closing) run_handed_off(c);
}

static void on_async(uv_async_t *h) {
  wp_grpc_client_t *c = h->data;
  int done = run_handed_off(c);
  if (done && !c->async_closing) {
    c->async_closing = 1;
    uv_thread_join(&c->thread);
    uv_close((uv_handle_t *)&c->async, on_async_closed);
  }
}

int wpi_grpc_client_new(uv_loop_t *loop, wp_grpc_client_t **out) {
  if (!loop || !out) return WP_EINVAL;
  wp_grpc_client_t *c = calloc(1, sizeof *c);
  if (!c) return WP_ENOMEM;
  c->loop = loop;
  if (uv_mutex_init(&c->mu) != 0) {
    free(c);
    return WP_ENOMEM;
  }
  if (uv_async_init(loop, &c->async, on_async) != 0) {
    uv_mutex_destroy(&c->mu);
    free(c);
    return WP_ENOMEM;
  }
  c->async.data = c;
  grpc_init();
  c->cq = grpc_completion_queue_create_for_next(NULL);
  if (uv_thread_create(&c->thread, drain_thread, c) != 0) {
    grpc_completion_queue_shutdown(c->cq);
    grpc_completion_queue_destroy(c->cq);
    grpc_shutdown();
    c->async_closing = 1;
    uv_close((uv_handle_t *)&c->async, on_async_closed); /* frees c */
    return WP_ENOMEM;
  }
  *out = c;
  return 0;
}

void wpi_grpc_client_remote(wp_grpc_client_t *c, int keepalive_ms) {
  c->remote = 1;
  c->keepalive_ms = keepalive_ms;
}

void wpi_grpc_client_close(wp_grpc_client_t *c, wp_grpc_closed_cb on_closed,
                          void *arg) {
  if (!c || c->closing) return;
  c->closing = 1;
  c->on_closed = on_closed;
  c->closed_arg = arg;
  for (wp_grpc_conn_t *k = c->conns; k; k = k->next)
    if (!k->closing) conn_shut(k, WP_ESTOPPED);
  maybe_finish(c);
}
