/*
 * fuzz_frame.c — libFuzzer target for the pipe frame decoder (wire/frame.c).
 *
 * Input: byte 0 picks how the stream is split into feeds (a worker's
 * stdout arrives in arbitrary reads), bytes 1-2 the max frame size, the
 * rest is the stream. The decoder's frames are checked against a plain
 * reference parse of the same bytes: same frames, in order, same sizes;
 * an oversized header stops both; never a frame above the maximum.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The reference: offset of frame k's payload in s, or -1 past the last
 * whole frame; -2 when frame k's header is oversized. */
static long ref_frame(const uint8_t *s, size_t n, uint32_t max, size_t k, uint32_t *len) {
  size_t off = 0;
  for (size_t i = 0;; i++) {
    if (n - off < WPI_FRAME_HDR) return -1;
    uint32_t l = be32(s + off);
    if (l > max) return -2;
    if (n - off - WPI_FRAME_HDR < l) return -1;
    if (i == k) {
      *len = l;
      return (long)(off + WPI_FRAME_HDR);
    }
    off += WPI_FRAME_HDR + l;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 3) return 0;
  uint8_t split = data[0];
  uint32_t max = (uint32_t)data[1] << 8 | data[2];
  const uint8_t *s = data + 3;
  size_t n = size - 3;
  wpi_frame_decoder_t d;
  wpi_frame_decoder_init(&d, max);
  size_t fed = 0, k = 0, step = 1 + split % 13;
  int rc = WPI_FRAME_NEED;
  while (fed < n) {
    size_t chunk = n - fed < step ? n - fed : step;
    if (wpi_frame_feed(&d, s + fed, chunk) != 0) abort();
    fed += chunk;
    step = 1 + (step * 7 + split) % 97;
    const uint8_t *f;
    uint32_t len;
    while ((rc = wpi_frame_next(&d, &f, &len)) == WPI_FRAME_OK) {
      uint32_t rlen = 0;
      long roff = ref_frame(s, fed, max, k++, &rlen);
      if (roff < 0 || rlen != len || len > max || memcmp(f, s + roff, len) != 0) abort();
    }
    if (rc == WPI_FRAME_EOVERSIZE) break;
  }
  uint32_t rlen;
  long next = ref_frame(s, fed, max, k, &rlen);
  if ((rc == WPI_FRAME_EOVERSIZE) != (next == -2)) abort();
  if (rc == WPI_FRAME_NEED && next != -1) abort();
  wpi_frame_decoder_free(&d);
  return 0;
}
