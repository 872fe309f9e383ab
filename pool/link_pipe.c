/*
 * link_pipe.c — the pipe transport: requests as frames on the worker's
 * stdin, replies as frames on its stdout (read by link.c after the Hello).
 * A worker is ready when its Hello is read.
 *
 * Owns: writing to a slot's stdin (wbuf: frames packed, written at once or,
 * corked, at the end of a read). May call: slot.c, link.c, frame.c.
 */
#include <stdlib.h>
#include <string.h>

#include "pool_internal.h"

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
    wpi_slot_fail(s, WP_EWORKER_EXITED);
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

/* Writes wbuf's frames at once: the pipe almost always has room, so no
 * write request is allocated, queued and completed on a later loop turn
 * (a third of the supervisor's work per ping at C=1). uv_try_write refuses
 * while earlier writes are queued, so frames stay in order; what it leaves
 * goes out through uv_write. A slot going down drops them: its calls are
 * failed or retried with it. */
static int push_pipe(wp_slot_t *s) {
  size_t total = s->wlen;
  s->wlen = 0;
  if (total == 0 || !s->in_open || s->state == SLOT_FAILING || s->state == SLOT_DOWN)
    return 0;
  uv_buf_t b = uv_buf_init((char *)s->wbuf, (unsigned)total);
  int done = uv_try_write((uv_stream_t *)&s->in, &b, 1);
  /* EAGAIN, and errors too: a broken pipe must fail the worker later, from
   * on_written, as uv_write reports it; failing it here would run other
   * calls' callbacks inside the wp_pool_call that sent this one. */
  if (done < 0) done = 0;
  return (size_t)done == total ? 0 : queue_rest(s, s->wbuf + done, total - (size_t)done);
}

/* Packs the frame behind any the slot holds. Outside a read's replies it
 * is written at once; inside (corked), the read's end writes all the
 * worker's frames in one write (link.c). */
static int send_pipe(wp_slot_t *s, wp_call_t *c, const wpi_request_enc_t *r,
                     size_t n) {
  (void)c;
  if (n > s->pool->opts.max_frame) return WP_EINVAL;
  size_t total = s->wlen + WPI_FRAME_HDR + n;
  if (total > s->wcap) {
    size_t cap = s->wcap ? s->wcap : 256;
    while (cap < total) cap *= 2;
    uint8_t *b = realloc(s->wbuf, cap);
    if (!b) return WP_ENOMEM;
    s->wbuf = b;
    s->wcap = cap;
  }
  wpi_frame_put_header(s->wbuf + s->wlen, (uint32_t)n);
  wpi_request_pack(r, s->wbuf + s->wlen + WPI_FRAME_HDR);
  s->wlen = total;
  wp_pool_t *p = s->pool;
  if (!p->corked) return push_pipe(s);
  if (!s->push_due) {
    s->push_due = true;
    s->push_next = p->push_head;
    p->push_head = s;
  }
  return 0;
}

static void hello_pipe(wp_slot_t *s, char *address) {
  free(address);
  wpi_slot_ready(s);
}

const wp_link_ops_t wpi_link_pipe = {
    .worker = "wpool-worker",
    .fds_per_worker = 3, /* stdin, stdout, pidfd */
    .fds_extra = 8,
    .replies_on_stdout = true,
    .start = wpi_link_start,
    .hello = hello_pipe,
    .send = send_pipe,
    .push = push_pipe,
    .drain = wpi_link_drain,
};
