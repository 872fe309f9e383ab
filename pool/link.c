/*
 * link.c — what both transports share: reading a worker's stdout (its Hello
 * first, then, on the pipe transport, its replies), matching a reply to its
 * call, and encoding a request before the transport sends it.
 *
 * Both transports read the Hello from stdout, so readiness has one
 * mechanism; what a Hello leads to (ready at once, or a connection first)
 * is the transport's hello op. After the Hello a gRPC worker has nothing
 * more to say on stdout; anything but EOF there is a protocol error.
 *
 * Owns: a slot's stdout reader (dec, rbuf), the request encoding, and
 * corking: the sends made while one read's replies are handled wait in
 * pool->push_head and leave together at its end (wpi_link_push_all).
 * May call: dispatch.c (answers), slot.c (Hello, failure), fault.c, frame.c,
 * wire.c; the transport's own file only through p->link.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
  s->compact = h.version >= WPI_PROTOCOL_COMPACT && s->pool->link->replies_on_stdout;
  free(s->methods); /* NULL already: wpi_slot_spawn freed the last generation's */
  s->methods = h.methods;
  s->nmethods = h.nmethods;
  if (s->state != SLOT_STARTING) { /* stopped while it started: too late */
    free(h.address);
    return 0;
  }
  s->pool->link->hello(s, h.address); /* takes address */
  return 0;
}

/* Finds the in-flight call a reply answers. Pipe workers answer in order,
 * so the head matches at once; the walk covers workers that do not. */
static wp_call_t *find_inflight(wp_slot_t *s, uint64_t id) {
  for (wp_call_t *c = s->inflight.head; c; c = c->next)
    if (c->id == id) return c;
  return NULL;
}

/* A reply's bytes complete its call (see pool_internal.h). */
int wpi_link_reply(wp_slot_t *s, wp_call_t *c, const uint8_t *f, size_t len) {
  wpi_reply_msg_t r;
  int rc = wpi_parse_reply(f, len, s->compact, &r);
  if (rc) return rc == WPI_ENOMEM ? WP_ENOMEM : WP_EPROTO; /* ours, not the worker's */
  if (!c) c = find_inflight(s, r.id);
  if (!c || c->id != r.id) {
    wpi_reply_msg_free(&r);
    return WP_EPROTO;
  }
  wpi_slot_detach(s, c);
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
  wpi_call_answer(c, err, &rep);
  wpi_call_release(c);
  wpi_reply_msg_free(&r);
  return 0;
}

static int handle_frame(wp_slot_t *s, const uint8_t *f, uint32_t len) {
  if (!s->tl.hello) return handle_hello(s, f, len);
  if (!s->pool->link->replies_on_stdout) return WP_EPROTO;
  return wpi_link_reply(s, NULL, f, len);
}

/* Feeds bytes from the worker's stdout and handles every whole frame. */
static void consume(wp_slot_t *s, const uint8_t *data, size_t n) {
  if (!s->tl.hello) wpi_fault_stdout(s, data, n);
  if (wpi_frame_feed(&s->dec, data, n) != 0) {
    wpi_slot_fail(s, WP_ENOMEM);
    return;
  }
  const uint8_t *f;
  uint32_t len;
  int rc;
  /* Parsing stops once a frame made the slot fail. */
  while (s->state != SLOT_FAILING && (rc = wpi_frame_next(&s->dec, &f, &len)) == WPI_FRAME_OK) {
    int err = handle_frame(s, f, len);
    if (err) {
      s->pool->stats.protocol_errors++;
      wpi_slot_fail(s, err);
      return;
    }
  }
  if (s->state != SLOT_FAILING && rc == WPI_FRAME_EOVERSIZE) {
    s->pool->stats.protocol_errors++;
    wpi_slot_fail(s, WP_EPROTO);
  }
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf) {
  (void)buf;
  wp_slot_t *s = st->data;
  if (n == 0 || s->state == SLOT_FAILING) return;
  if (n < 0) { /* EOF or error: the worker is gone or going */
    if (s->state == SLOT_CLOSING) wpi_slot_out_eof(s); /* a clean stop */
    else wpi_slot_fail(s, s->tl.hello ? WP_EWORKER_EXITED : WP_EHELLO);
    return;
  }
  /* Corked: each reply's callback may send the next request (a closed
   * loop does); their frames go out together at the end, one write per
   * worker, instead of a write each (make profile: at n=8 c=100 the
   * supervisor made 1.1 syscalls per request, nearly all of them these). */
  wp_pool_t *p = s->pool;
  p->corked++;
  consume(s, s->rbuf, (size_t)n);
  wpi_dispatch(p);
  p->corked--;
  if (!p->corked) wpi_link_push_all(p);
}

void wpi_link_push(wp_slot_t *s) {
  if (!s->push_due) return;
  s->push_due = false;
  wp_pool_t *p = s->pool;
  for (wp_slot_t **l = &p->push_head; *l; l = &(*l)->push_next)
    if (*l == s) {
      *l = s->push_next;
      break;
    }
  if (p->link->push) p->link->push(s); /* errors: the slot is going anyway */
}

void wpi_link_push_all(wp_pool_t *p) {
  wp_slot_t *s;
  while ((s = p->push_head) != NULL) {
    p->push_head = s->push_next;
    s->push_due = false;
    int err = p->link->push ? p->link->push(s) : 0;
    /* Its calls are on it (inflight): failing it fails or retries them,
     * once each, as for a worker that died with them. */
    if (err) wpi_slot_fail(s, err);
  }
}

void wpi_link_drain(wp_slot_t *s) {
  uv_os_fd_t fd;
  if (uv_fileno((uv_handle_t *)&s->out, &fd) != 0) return;
  uint8_t buf[16384];
  ssize_t n;
  while (s->state != SLOT_FAILING && (n = read(fd, buf, sizeof buf)) > 0)
    consume(s, buf, (size_t)n);
}

int wpi_link_start(wp_slot_t *s) {
  return uv_read_start((uv_stream_t *)&s->out, on_alloc, on_read) ? WP_EIO : 0;
}

/* ---- sending ----------------------------------------------------------- */

/* The Request for c, ready to pack (wire.h) in the framing the worker
 * speaks; returns its packed size. */
static size_t prepare_request(const wp_call_t *c, bool compact, wpi_request_enc_t *e) {
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
  return wpi_request_prepare(e, &r, compact);
}

int wpi_link_send(wp_slot_t *s, wp_call_t *c) {
  wpi_request_enc_t r;
  size_t n = prepare_request(c, s->compact, &r);
  return s->pool->link->send(s, c, &r, n);
}
