/*
 * wire.h — decoding what a worker tells the supervisor (its Hello, its
 * Replies) as pure functions: bytes in, a verdict out, no pool state, no
 * I/O. link.c uses them on every frame; the fuzz targets
 * (tests/fuzz/) feed them arbitrary bytes.
 */
#ifndef WPI_WIRE_H
#define WPI_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* What a valid Hello told the pool. */
typedef struct wpi_hello {
  char *address;           /* gRPC address (malloc'd), NULL for a pipe worker */
  uint32_t version;        /* the worker's protocol version */
  /* The Call methods it lists (protocol 2): nmethods NUL-terminated names
   * back to back in one malloc'd block, NULL when it lists none. */
  char *methods;
  uint32_t nmethods;
} wpi_hello_t;

/* Decodes and checks a Hello for a pool of the given transport
 * (WP_TRANSPORT_*): protocol version (1..WP_PROTOCOL_VERSION), transport,
 * and for gRPC a non-empty address. 0 with *out filled (the caller frees
 * it with wpi_hello_free), or WP_EPROTO (undecodable or not what the pool
 * expects) or WP_ENOMEM, *out then empty. */
int wpi_parse_hello(const uint8_t *f, size_t len, int transport, wpi_hello_t *out);
void wpi_hello_free(wpi_hello_t *h);

/* A decoded Reply. payload points into the decoded message: valid until
 * wpi_reply_msg_free. */
typedef struct wpi_reply_msg {
  uint64_t id;
  int err;                 /* 0 (STATUS_OK), WP_EUNKNOWN_METHOD
                            * (STATUS_UNKNOWN_METHOD) or WP_EREMOTE (any
                            * other status) */
  int status;              /* the worker's Status, as sent */
  const char *error;       /* the worker's text, "" when none; in msg */
  const uint8_t *payload;
  size_t payload_len;
  void *msg;               /* the protobuf-c message that owns the bytes */
} wpi_reply_msg_t;

/* 0, or WP_EPROTO if the bytes are not a Reply. */
int wpi_parse_reply(const uint8_t *f, size_t len, wpi_reply_msg_t *out);
void wpi_reply_msg_free(wpi_reply_msg_t *m);

#endif
