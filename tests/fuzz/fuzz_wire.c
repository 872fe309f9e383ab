/*
 * fuzz_wire.c — libFuzzer target for what the pool reads from a worker's
 * stdout, decoded as link.c does it: frames (wire/frame.c), the first one
 * a Hello (wpi_parse_hello), every later one a Reply (wpi_parse_reply),
 * compact (protocol 3) when the Hello was a pipe worker's saying 3.
 *
 * Input: byte 0 picks the pool's transport (bit 0) and the feed size,
 * bytes 1-2 the max frame size, the rest is the stream. Checks: a Hello
 * accepted for gRPC carries a non-empty address; a Reply's payload lies
 * inside the decoded message; nothing leaks (ASan's leak check).
 */
#include <stdlib.h>
#include <string.h>

#include "feed.h"
#include "frame.h"
#include "proto.h"
#include "wire.h"

static void on_frame(const uint8_t *f, uint32_t len, bool grpc, size_t *k, bool *compact) {
  if ((*k)++ == 0) {
    wpi_hello_t h;
    int rc = wpi_parse_hello(f, len, grpc, &h);
    *compact = rc == 0 && !grpc && h.version >= WPI_PROTOCOL_COMPACT;
    if (rc == 0 && (h.version < 1 || h.version > WPI_PROTOCOL_VERSION)) abort();
    if (rc == 0 && grpc && (!h.address || !*h.address)) abort();
    if (rc == 0 && !grpc && h.address) abort();
    if (rc != 0 && (h.address || h.methods)) abort();
    if (rc == 0 && (h.nmethods == 0) != (h.methods == NULL)) abort();
    wpi_hello_free(&h);
    return;
  }
  wpi_reply_msg_t r;
  if (wpi_parse_reply(f, len, *compact, &r) != 0) {
    if (r.msg || r.error_heap) abort();
    return;
  }
  if (*compact && (r.payload < f || r.payload + r.payload_len > f + len)) abort();
  if (r.outcome != WPI_REPLY_OK && r.outcome != WPI_REPLY_FAILED &&
      r.outcome != WPI_REPLY_UNKNOWN_METHOD)
    abort();
  if (!r.error || (r.outcome == WPI_REPLY_OK) != (r.status == 0)) abort();
  if ((r.outcome == WPI_REPLY_UNKNOWN_METHOD) !=
      (r.status == WPOOL__V1__STATUS__STATUS_UNKNOWN_METHOD))
    abort();
  (void)strlen(r.error);
  if (r.payload_len && !r.payload) abort();
  volatile uint8_t sum = 0; /* touch every payload byte: ASan checks bounds */
  for (size_t i = 0; i < r.payload_len; i++) sum += r.payload[i];
  wpi_reply_msg_free(&r);
}

/* Which frame of the stream this is, and the framing its Hello chose. */
typedef struct stream {
  size_t k;
  bool compact;
} stream_t;

static void on_stream_frame(const uint8_t *f, uint32_t len, bool grpc, void *ctx) {
  stream_t *st = ctx;
  on_frame(f, len, grpc, &st->k, &st->compact);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  stream_t st = {0};
  fuzz_feed(data, size, on_stream_frame, &st);
  return 0;
}
