/*
 * frame.h — the pipe framing: u32 big-endian length | payload, and
 * protocol 3's compact envelope inside it: u8 tag | u64 big-endian id |
 * body (proto/wpool.proto, "Protocol 3").
 *
 * Owns: encoding a frame header, and an incremental decoder that accepts
 * bytes in any split (one read may hold half a header or ten frames) and
 * hands out whole frames. Shared by the supervisor and the C worker so both
 * sides agree byte for byte (part of libwpwire).
 *
 * May call: libc only; knows nothing about protobuf or libuv.
 */
#ifndef WPI_FRAME_H
#define WPI_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define WPI_FRAME_HDR 4
/* Protocol 3: a frame's first bytes, before its body. */
#define WPI_COMPACT_HDR 9

/* Compact tags: a Request's kind is its Request.kind field number; a
 * Reply's tag is its Status value. */
enum {
  WPI_TAG_PING = 2,
  WPI_TAG_WORK = 3,
  WPI_TAG_SHUTDOWN = 4,
  WPI_TAG_CALL = 5,
};

/* Writes the 4-byte big-endian length header for a payload of len bytes. */
void wpi_frame_put_header(uint8_t hdr[WPI_FRAME_HDR], uint32_t len);

/* Writes a compact envelope (tag, id) at the start of a frame's bytes. */
void wpi_compact_put(uint8_t hdr[WPI_COMPACT_HDR], uint8_t tag, uint64_t id);
/* Reads one from a frame of len bytes: 0, or -1 when len < WPI_COMPACT_HDR. */
int wpi_compact_get(const uint8_t *f, size_t len, uint8_t *tag, uint64_t *id);

typedef struct wpi_frame_decoder {
  uint8_t *buf;      /* buffered bytes not yet handed out */
  size_t len;        /* bytes in buf */
  size_t cap;
  size_t off;        /* start of the first unconsumed byte */
  uint32_t max_frame;
  int error;         /* sticky: WPI_FRAME_EOVERSIZE once seen */
} wpi_frame_decoder_t;

enum {
  WPI_FRAME_OK = 0,        /* a frame was returned */
  WPI_FRAME_NEED = 1,      /* no whole frame buffered yet */
  WPI_FRAME_EOVERSIZE = -1,/* a header announced more than max_frame */
  WPI_FRAME_ENOMEM = -2,
};

void wpi_frame_decoder_init(wpi_frame_decoder_t *d, uint32_t max_frame);
void wpi_frame_decoder_free(wpi_frame_decoder_t *d);
/* Appends bytes read from the stream. 0 or WPI_FRAME_ENOMEM. */
int wpi_frame_feed(wpi_frame_decoder_t *d, const void *data, size_t n);
/* Returns the next whole frame (pointer into the decoder, valid until the
 * next feed/next call): WPI_FRAME_OK, WPI_FRAME_NEED or WPI_FRAME_EOVERSIZE. */
int wpi_frame_next(wpi_frame_decoder_t *d, const uint8_t **frame, uint32_t *len);
/* Bytes buffered but not yet a whole frame: non-zero at EOF means the
 * stream ended mid-frame (a truncated frame). */
size_t wpi_frame_pending(const wpi_frame_decoder_t *d);

#endif
