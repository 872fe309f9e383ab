/*
 * wpw_knobs.c — a worker on the C SDK (wpw.h) whose methods misuse it the
 * way a user's might, for test_calls:
 *
 *   twice   replies with the payload, then again with the SDK's own reply
 *           buffer minus its first byte (the two overlap)
 *   grow    replies with twice the payload's bytes, payload repeated
 *
 *   build/tests/wpw_knobs [worker flags: --max-frame B, ...]
 */
#include <string.h>

#include "wpw.h"

static int twice(wpw_ctx_t *ctx, const uint8_t *in, size_t len, void *arg) {
  (void)arg;
  if (wpw_reply(ctx, in, len)) return -1;
  const uint8_t *first = wpw_reply_buf(ctx, len);
  return wpw_reply(ctx, first + (len > 0), len > 0 ? len - 1 : 0);
}

static int grow(wpw_ctx_t *ctx, const uint8_t *in, size_t len, void *arg) {
  (void)arg;
  uint8_t *out = wpw_reply_buf(ctx, 2 * len);
  if (!out) return -1;
  if (len) {
    memcpy(out, in, len);
    memcpy(out + len, in, len);
  }
  return 0;
}

int main(int argc, char **argv) {
  wpw_method("twice", twice, NULL);
  wpw_method("grow", grow, NULL);
  return wpw_run(argc, argv);
}
