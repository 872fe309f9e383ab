/*
 * link.c — talking to one worker: reading its stdout (the Hello, then pipe
 * replies), encoding requests, and the glue to grpc_client.c.
 *
 * Both transports share the stdout reader: the first frame is always the
 * Hello, so readiness has one mechanism. After the Hello a gRPC worker has
 * nothing more to say on stdout; anything but EOF there is a protocol error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pool_internal.h"
#include "wire.h"

#define READ_CHUNK (64 * 1024)

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)hint;
  wp_slot_t *s = h->data;
  if (!s->rbuf) s->rbuf = malloc(READ_CHUNK);
  buf->base = (char *)s->rbuf;
  buf->len = s->rbuf ? READ_CHUNK : 0;
}

static int handle_hello(wp_slot_t *s, const uint8_t *f, uint32_t len) {
  uint64_t now = wp_now_ns();
  wpi_hello_t h;
  int rc = wpi_parse_hello(f, len, s->pool->opts.transport == WP_TRANSPORT_GRPC, &h);
  /* not a Hello: tl.hello stays 0, as it never came */
  if (rc) return rc == WPI_ENOMEM ? WP_ENOMEM : WP_EPROTO;
  s->tl.hello = now;
  s->proto_version = h.version;
  free(s->methods); /* NULL already: wp_slot_spawn freed the last generation's */
  s->methods = h.methods;
  s->nmethods = h.nmethods;
  wp_slot_on_hello(s, h.address); /* takes address */
  return 0;
}

/* Finds the in-flight call a reply answers. Pipe workers answer in order,
 * so the head matches at once; the walk covers workers that do not. */
static wp_call_t *find_inflight(wp_slot_t *s, uint64_t id) {
  for (wp_call_t *c = s->inflight.head; c; c = c->next)
    if (c->id == id) return c;
  return NULL;
}

/* Completes the call that reply bytes answer; WP_EPROTO when they do not
 * decode or answer nothing we asked. */
static int deliver_reply(wp_slot_t *s, wp_call_t *c, const uint8_t *f,
                         size_t len) {
  wpi_reply_msg_t r;
  if (wpi_parse_reply(f, len, &r) != 0) return WP_EPROTO;
  if (!c) c = find_inflight(s, r.id);
  if (!c || c->id != r.id) {
    wpi_reply_msg_free(&r);
    return WP_EPROTO;
  }
  wp_slot_detach(s, c);
  s->served++;
  wp_reply_t rep = {.payload = r.payload, .payload_len = r.payload_len,
                    .slot = s->index, .status = r.status, .error = r.error};
  char why[320];
  int err = r.outcome == WPI_REPLY_OK               ? 0
            : r.outcome == WPI_REPLY_UNKNOWN_METHOD ? WP_EUNKNOWN_METHOD
                                                    : WP_EREMOTE;
  if (c->req.kind == WP_REQ_CALL && s->proto_version < 2 &&
      r.status == WP_STATUS_BAD_REQUEST) {
    /* The rule in proto/wpool.proto: to an older worker a Call is a
     * Request without a kind. Say so, not just "bad request". */
    snprintf(why, sizeof why,
             "worker speaks wpool protocol %u, which has no Call (it answered: %.200s)",
             (unsigned)s->proto_version, r.error);
    rep.error = why;
    err = WP_EUNKNOWN_METHOD;
  }
  wp_call_answer(c, err, &rep);
  wp_call_release(c);
  wpi_reply_msg_free(&r);
  return 0;
}

static int handle_frame(wp_slot_t *s, const uint8_t *f, uint32_t len) {
  if (!s->tl.hello) return handle_hello(s, f, len);
  if (s->pool->opts.transport != WP_TRANSPORT_PIPE) return WP_EPROTO;
  return deliver_reply(s, NULL, f, len);
}

/* Feeds bytes from the worker's stdout and handles every whole frame. */
static void consume(wp_slot_t *s, const uint8_t *data, size_t n) {
  if (!s->tl.hello) wp_fault_stdout(s, data, n);
  if (wpi_frame_feed(&s->dec, data, n) != 0) {
    wp_slot_fail(s, WP_ENOMEM);
    return;
  }
  const uint8_t *f;
  uint32_t len;
  int rc;
  /* s->failed stops parsing once a frame made the slot fail. */
  while (!s->failed && (rc = wpi_frame_next(&s->dec, &f, &len)) == WPI_FRAME_OK) {
    int err = handle_frame(s, f, len);
    if (err) {
      s->pool->stats.protocol_errors++;
      wp_slot_fail(s, err);
      return;
    }
  }
  if (!s->failed && rc == WPI_FRAME_EOVERSIZE) {
    s->pool->stats.protocol_errors++;
    wp_slot_fail(s, WP_EPROTO);
  }
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf) {
  (void)buf;
  wp_slot_t *s = st->data;
  if (n == 0 || s->failed) return;
  if (n < 0) { /* EOF or error: the worker is gone or going */
    if (s->state == SLOT_CLOSING) wp_slot_out_eof(s); /* a clean stop */
    else wp_slot_fail(s, s->tl.hello ? WP_EWORKER_EXITED : WP_EHELLO);
    return;
  }
  consume(s, s->rbuf, (size_t)n);
  wp_dispatch(s->pool);
}

void wp_link_drain(wp_slot_t *s) {
  uv_os_fd_t fd;
  if (uv_fileno((uv_handle_t *)&s->out, &fd) != 0) return;
  uint8_t buf[16384];
  ssize_t n;
  while (!s->failed && (n = read(fd, buf, sizeof buf)) > 0)
    consume(s, buf, (size_t)n);
}

int wp_link_start_reading(wp_slot_t *s) {
  return uv_read_start((uv_stream_t *)&s->out, on_alloc, on_read) ? WP_EIO : 0;
}

/* ---- sending ----------------------------------------------------------- */

/* The Request for c, ready to pack (wire.h); returns its packed size. */
static size_t prepare_request(const wp_call_t *c, wpi_request_enc_t *e) {
  const wp_request_t *q = &c->req;
  wpi_request_t r = {
      .id = c->id,
      .kind = q->kind == WP_REQ_CALL   ? WPI_REQ_CALL
              : q->kind == WP_REQ_WORK ? WPI_REQ_WORK
                                       : WPI_REQ_PING,
      .payload = q->payload,
      .payload_len = q->payload_len,
      .method = q->method,
      .cpu_us = q->cpu_us,
      .sleep_us = q->sleep_us,
      .reply_bytes = q->reply_bytes,
  };
  return wpi_request_prepare(e, &r);
}

/* A write request and its frame, freed together when libuv is done. */
typedef struct pipe_write {
  uv_write_t req;
  uint8_t data[];
} pipe_write_t;

static void on_written(uv_write_t *w, int status) {
  wp_slot_t *s = w->data;
  free(w);
  /* EPIPE & co: the worker is gone; its exit path fails the calls. */
  if (status < 0 && status != UV_ECANCELED && s->state == SLOT_READY)
    wp_slot_fail(s, WP_EWORKER_EXITED);
}

/* Queues what uv_try_write could not write, in a request of its own. */
static int queue_rest(wp_slot_t *s, const uint8_t *data, size_t n) {
  pipe_write_t *w = malloc(sizeof *w + n);
  if (!w) return WP_ENOMEM;
  memcpy(w->data, data, n);
  w->req.data = s;
  uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)n);
  if (uv_write(&w->req, (uv_stream_t *)&s->in, &b, 1, on_written) != 0) {
    free(w);
    return WP_EWORKER_EXITED;
  }
  return 0;
}

/* Packs the frame into the slot's buffer and writes it at once: the pipe
 * almost always has room, so no write request is allocated, queued and
 * completed on a later loop turn (a third of the supervisor's work per
 * ping at C=1). uv_try_write refuses while earlier writes are queued, so
 * frames stay in order; what it leaves goes out through uv_write. */
static int send_pipe(wp_slot_t *s, const wpi_request_enc_t *r, size_t n) {
  if (n > s->pool->opts.max_frame) return WP_EINVAL;
  size_t total = WPI_FRAME_HDR + n;
  if (total > s->wcap) {
    uint8_t *b = realloc(s->wbuf, total);
    if (!b) return WP_ENOMEM;
    s->wbuf = b;
    s->wcap = total;
  }
  wpi_frame_put_header(s->wbuf, (uint32_t)n);
  wpi_request_pack(r, s->wbuf + WPI_FRAME_HDR);
  uv_buf_t b = uv_buf_init((char *)s->wbuf, (unsigned)total);
  int done = uv_try_write((uv_stream_t *)&s->in, &b, 1);
  /* EAGAIN, and errors too: a broken pipe must fail the worker later, from
   * on_written, as uv_write reports it; failing it here would run other
   * calls' callbacks inside the wp_pool_call that sent this one. */
  if (done < 0) done = 0;
  return (size_t)done == total ? 0 : queue_rest(s, s->wbuf + done, total - (size_t)done);
}

/* Has the worker's process exited (still unreaped)? Tells a call that
 * failed because the worker died from one whose connection broke. */
static bool process_gone(const wp_slot_t *s) {
  if (s->reaped) return true;
  siginfo_t si;
  memset(&si, 0, sizeof si);
  return waitid(P_PID, (id_t)s->tl.pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
         si.si_pid != 0;
}

/* A gRPC call ended in err: answer it, and judge the worker. */
static void grpc_call_failed(wp_slot_t *s, wp_call_t *c, int err) {
  wp_pool_t *p = s->pool;
  if (err == WP_ETIMEDOUT || err == WP_ESTOPPED || p->state != POOL_RUNNING) {
    /* The gRPC deadline is the worker's whole budget from dispatch: it
     * overran (see kill_on_timeout) — unless gRPC itself saw the deadline
     * only long after it passed: the supervisor was stalled (SIGSTOP),
     * and the reply may have been waiting unread. Or the pool is stopping. */
    bool kill = err == WP_ETIMEDOUT && p->opts.kill_on_timeout &&
                !wp_overrun_seen_late(c, wp_grpc_client_received(p->grpc));
    wp_slot_detach(s, c);
    wp_call_complete(c, p->state == POOL_RUNNING ? err : WP_ESTOPPED, NULL, 0,
                     s->index);
    wp_call_release(c);
    if (kill) wp_slot_overran(s);
    return;
  }
  /* A broken connection or a reply that does not decode: this worker's
   * link cannot be trusted, as with a pipe protocol error. The slot fails,
   * and its calls — this one too — fail with a named error or are retried
   * once when idempotent. */
  if (err == WP_EPROTO) {
    p->stats.protocol_errors++;
    wp_slot_fail(s, err);
  } else if (process_gone(s)) {
    wp_slot_fail(s, WP_EWORKER_EXITED);
  } else {
    wp_slot_suspect(s);
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
    wp_call_release(c);
    return;
  }
  wp_pool_t *p = s->pool;
  int rc = err ? err : deliver_reply(s, c, reply, len);
  if (rc) grpc_call_failed(s, c, rc);
  wp_dispatch(p);
}

static int send_grpc(wp_slot_t *s, wp_call_t *c, const wpi_request_enc_t *r,
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
    rc = wp_grpc_conn_call(s->conn, buf, n, c->timeout, on_grpc_done, a);
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

int wp_link_send(wp_slot_t *s, wp_call_t *c) {
  wpi_request_enc_t r;
  size_t n = prepare_request(c, &r);
  if (s->pool->opts.transport == WP_TRANSPORT_GRPC) return send_grpc(s, c, &r, n);
  return send_pipe(s, &r, n);
}
