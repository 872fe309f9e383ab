/*
 * fuzz_request.c — libFuzzer target for what a C pipe worker reads from
 * its stdin, decoded as worker/pipe.c does it: frames (wire/frame.c), each
 * a Request (wpi_request_read) in the framing the worker chose, then the
 * Reply it would write (wpi_reply_encode) for an echo of it.
 *
 * Input: byte 0 picks the framing (bit 0: compact, protocol 3) and the
 * feed size (bits 1-7), bytes 1-2 the max frame size, the rest is the
 * stream. Checks: a Request read has a kind the handlers know or none;
 * its payload lies inside the frame (compact Ping) or its message; the
 * encoded Reply is exactly the size announced; nothing leaks.
 */
#include <stdlib.h>
#include <string.h>

#include "feed.h"
#include "frame.h"
#include "wire.h"

static void touch(const uint8_t *p, size_t n) {
  volatile uint8_t sum = 0; /* every byte read: ASan checks the bounds */
  for (size_t i = 0; i < n; i++) sum += p[i];
}

static void on_frame(const uint8_t *f, uint32_t len, bool compact) {
  wpi_request_in_t in;
  Wpool__V1__Request *q = wpi_request_read(&in, f, len, compact);
  if (!q) return;
  Wpool__V1__Reply r = WPOOL__V1__REPLY__INIT;
  r.id = q->id;
  switch (q->kind_case) {
  case WPOOL__V1__REQUEST__KIND_PING:
    if (compact && (q->ping->payload.data < f ||
                    q->ping->payload.data + q->ping->payload.len > f + len))
      abort();
    touch(q->ping->payload.data, q->ping->payload.len);
    r.payload = q->ping->payload;
    break;
  case WPOOL__V1__REQUEST__KIND_WORK: touch(q->work->payload.data, q->work->payload.len); break;
  case WPOOL__V1__REQUEST__KIND_CALL:
    (void)strlen(q->call->method);
    touch(q->call->payload.data, q->call->payload.len);
    break;
  case WPOOL__V1__REQUEST__KIND_SHUTDOWN:
  case WPOOL__V1__REQUEST__KIND__NOT_SET: r.status = WPOOL__V1__STATUS__STATUS_BAD_REQUEST; break;
  default: abort(); /* a kind the handlers do not know */
  }
  if (r.status) r.error = "bad";
  size_t n = wpi_reply_encoded_size(&r, compact);
  uint8_t *out = malloc(n + 1);
  if (!out) abort();
  out[n] = 0xa5; /* a canary: the encoder writes exactly n bytes */
  wpi_reply_encode(&r, compact, out);
  if (out[n] != 0xa5) abort();
  free(out);
  wpi_request_in_done(&in);
}

static void on_any_frame(const uint8_t *f, uint32_t len, bool compact, void *ctx) {
  (void)ctx;
  on_frame(f, len, compact);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_feed(data, size, on_any_frame, NULL);
  return 0;
}
