/*
 * feed.h — what the message fuzz targets (fuzz_wire, fuzz_request) share:
 * their input's control bytes and feeding the rest through the frame
 * decoder in chunks, each whole frame to the target's on_frame.
 *
 * Input: byte 0 bit 0 is the target's own flag, bits 1-7 the feed size
 * minus one; bytes 1-2 the max frame size (big-endian); the rest the stream.
 */
#ifndef WPI_FUZZ_FEED_H
#define WPI_FUZZ_FEED_H

#include <stdbool.h>
#include <stdlib.h>

#include "frame.h"

typedef void (*fuzz_frame_fn)(const uint8_t *f, uint32_t len, bool flag, void *ctx);

static inline void fuzz_feed(const uint8_t *data, size_t size, fuzz_frame_fn on_frame, void *ctx) {
  if (size < 3) return;
  bool flag = data[0] & 1;
  size_t step = 1 + (data[0] >> 1);
  uint32_t max = (uint32_t)data[1] << 8 | data[2];
  wpi_frame_decoder_t d;
  wpi_frame_decoder_init(&d, max);
  for (size_t off = 3; off < size; off += step) {
    size_t chunk = size - off < step ? size - off : step;
    if (wpi_frame_feed(&d, data + off, chunk) != 0) abort();
    const uint8_t *f;
    uint32_t len;
    int rc;
    while ((rc = wpi_frame_next(&d, &f, &len)) == WPI_FRAME_OK) on_frame(f, len, flag, ctx);
    if (rc == WPI_FRAME_EOVERSIZE) break;
  }
  wpi_frame_decoder_free(&d);
}

#endif
