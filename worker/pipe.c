/*
 * pipe.c — the worker's pipe transport: frames on stdin, frames on stdout.
 *
 * Reads as much as the pipe holds, answers every whole frame in it, and
 * writes all those replies with one write: a supervisor that pipelines
 * requests gets batched replies for free, one at a time costs nothing extra.
 *
 * The framing is chosen once, at the Hello: protocol 3's compact envelope
 * when the supervisor offers it (WPOOL_PROTOCOL, proto.h), else protobuf
 * Requests and Replies (wire.h reads and writes both).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wire.h"
#include "worker.h"

typedef struct outbuf {
  uint8_t *data;
  size_t len, cap;
} outbuf_t;

static int out_reserve(outbuf_t *o, size_t n) {
  if (o->len + n <= o->cap) return 0;
  size_t cap = o->cap ? o->cap : 65536;
  while (cap < o->len + n) cap *= 2;
  uint8_t *p = realloc(o->data, cap);
  if (!p) return -1;
  o->data = p;
  o->cap = cap;
  return 0;
}

static int out_reply(outbuf_t *o, const Wpool__V1__Reply *r, bool compact) {
  size_t n = wpi_reply_encoded_size(r, compact);
  if (n > UINT32_MAX || out_reserve(o, WPI_FRAME_HDR + n) != 0) return -1;
  wpi_frame_put_header(o->data + o->len, (uint32_t)n);
  wpi_reply_encode(r, compact, o->data + o->len + WPI_FRAME_HDR);
  o->len += WPI_FRAME_HDR + n;
  return 0;
}

/* Replies are batched into one write while they come quickly (pings), but
 * a reply that took longer than this to produce goes out at once: the
 * supervisor can hand this worker its next request while it works on the
 * ones still buffered, instead of waiting for the whole batch. */
#define FLUSH_AFTER_NS 50000u

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Handles every whole frame buffered in d, appending replies to o.
 * Returns 0 to go on, 1 on Shutdown, -1 on a protocol error (reason set),
 * -2 when writing an early flush failed (errno set). */
static int drain_frames(const wk_config_t *cfg, wpi_frame_decoder_t *d,
                        outbuf_t *o, bool compact, const char **why) {
  const uint8_t *f;
  uint32_t flen;
  int rc;
  uint64_t since = mono_ns();
  wpi_request_in_t in; /* each Request is read here: no malloc for a small one */
  while ((rc = wpi_frame_next(d, &f, &flen)) == WPI_FRAME_OK) {
    Wpool__V1__Request *req = wpi_request_read(&in, f, flen, compact);
    if (!req) {
      *why = "garbage frame (not a Request)";
      return -1;
    }
    wk_result_t res;
    wk_handle(cfg, req, &res);
    int err = out_reply(o, &res.reply, compact);
    wpi_request_in_done(&in);
    if (err) {
      *why = "out of memory building a reply";
      return -1;
    }
    if (res.shutdown) return 1;
    uint64_t now = mono_ns();
    if (now - since > FLUSH_AFTER_NS) {
      if (wk_write_all(STDOUT_FILENO, o->data, o->len) != 0) return -2;
      o->len = 0;
      since = now;
    }
  }
  if (rc == WPI_FRAME_EOVERSIZE) {
    *why = "frame larger than --max-frame";
    return -1;
  }
  return 0;
}

int wk_pipe_serve(const wk_config_t *given) {
  uint32_t version = wpi_pipe_protocol(getenv(WPI_PROTOCOL_ENV));
  /* The offer is this supervisor's to this process: a program a method
   * starts must not inherit it (under an older supervisor that passed it
   * through, a newer worker would say 3 and never start). */
  unsetenv(WPI_PROTOCOL_ENV);
  wk_config_t c = *given;
  const wk_config_t *cfg = &c;
  bool compact = c.compact = version == WPI_PROTOCOL_COMPACT;
  if (wk_write_hello(STDOUT_FILENO, cfg->transport, "", version) != 0) {
    fprintf(stderr, "%s: cannot write Hello: %s\n", cfg->prog, strerror(errno));
    return 1;
  }
  wpi_frame_decoder_t dec;
  wpi_frame_decoder_init(&dec, cfg->max_frame);
  outbuf_t out = {0};
  static uint8_t rbuf[256 * 1024];
  const char *why = NULL;
  int code = -1;
  while (code < 0) {
    ssize_t n = read(STDIN_FILENO, rbuf, sizeof rbuf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) { /* EOF: the supervisor is gone or done with us */
      if (n < 0) why = strerror(errno);
      else if (wpi_frame_pending(&dec) > 0) why = "stdin ended inside a frame (truncated frame)";
      code = why ? 1 : 0;
      break;
    }
    if (wpi_frame_feed(&dec, rbuf, (size_t)n) != 0) {
      why = "out of memory buffering input";
      code = 1;
      break;
    }
    out.len = 0;
    int st = drain_frames(cfg, &dec, &out, compact, &why);
    if (st == -2 || (out.len > 0 && wk_write_all(STDOUT_FILENO, out.data, out.len) != 0)) {
      code = errno == EPIPE ? 0 : 1; /* EPIPE: the supervisor went away */
      if (code) why = strerror(errno);
      break;
    }
    if (st > 0) code = 0;
    if (st < 0) code = 2;
  }
  if (why) fprintf(stderr, "%s[%d]: %s\n", cfg->prog, (int)getpid(), why);
  wpi_frame_decoder_free(&dec);
  free(out.data);
  return code;
}
