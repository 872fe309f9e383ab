/*
 * frame.h — the pipe framing: u32 big-endian length | payload.
 *
 * Owns: encoding a frame header, and an incremental decoder that accepts
 * bytes in any split (one read may hold half a header or ten frames) and
 * hands out whole frames. Shared by the supervisor and the C worker so both
 * sides agree byte for byte. Knows nothing about protobuf or libuv.
 */
#ifndef WP_FRAME_H
#define WP_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define WP_FRAME_HDR 4

/* Writes the 4-byte big-endian length header for a payload of len bytes. */
void wp_frame_put_header(uint8_t hdr[WP_FRAME_HDR], uint32_t len);

typedef struct wp_frame_decoder {
  uint8_t *buf;      /* buffered bytes not yet handed out */
  size_t len;        /* bytes in buf */
  size_t cap;
  size_t off;        /* start of the first unconsumed byte */
  uint32_t max_frame;
  int error;         /* sticky: WP_FRAME_EOVERSIZE once seen */
} wp_frame_decoder_t;

enum {
  WP_FRAME_OK = 0,        /* a frame was returned */
  WP_FRAME_NEED = 1,      /* no whole frame buffered yet */
  WP_FRAME_EOVERSIZE = -1,/* a header announced more than max_frame */
  WP_FRAME_ENOMEM = -2,
};

void wp_frame_decoder_init(wp_frame_decoder_t *d, uint32_t max_frame);
void wp_frame_decoder_free(wp_frame_decoder_t *d);
/* Appends bytes read from the stream. 0 or WP_FRAME_ENOMEM. */
int wp_frame_feed(wp_frame_decoder_t *d, const void *data, size_t n);
/* Returns the next whole frame (pointer into the decoder, valid until the
 * next feed/next call): WP_FRAME_OK, WP_FRAME_NEED or WP_FRAME_EOVERSIZE. */
int wp_frame_next(wp_frame_decoder_t *d, const uint8_t **frame, uint32_t *len);
/* Bytes buffered but not yet a whole frame: non-zero at EOF means the
 * stream ended mid-frame (a truncated frame). */
size_t wp_frame_pending(const wp_frame_decoder_t *d);

#endif
