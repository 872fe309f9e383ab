/*
 * wire.h — decoding what a worker tells the supervisor (its Hello, its
 * Replies) as pure functions: bytes in, a verdict out, no pool state, no
 * I/O. link.c uses them on every frame; the fuzz targets
 * (tests/fuzz/) feed them arbitrary bytes.
 */
#ifndef WP_WIRE_H
#define WP_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* What a valid Hello told the pool. */
typedef struct wp_hello {
  char *address;           /* gRPC address (malloc'd), NULL for a pipe worker */
  uint32_t version;        /* the worker's protocol version */
  /* The Call methods it lists (protocol 2): nmethods NUL-terminated names
   * back to back in one malloc'd block, NULL when it lists none. */
  char *methods;
  uint32_t nmethods;
} wp_hello_t;

/* Decodes and checks a Hello for a pool of the given transport
 * (WP_TRANSPORT_*): protocol version (1..WP_PROTOCOL_VERSION), transport,
 * and for gRPC a non-empty address. 0 with *out filled (the caller frees
 * it with wp_hello_free), or WP_EPROTO (undecodable or not what the pool
 * expects) or WP_ENOMEM, *out then empty. */
int wp_parse_hello(const uint8_t *f, size_t len, int transport, wp_hello_t *out);
void wp_hello_free(wp_hello_t *h);

/* A decoded Reply. payload points into the decoded message: valid until
 * wp_reply_msg_free. */
typedef struct wp_reply_msg {
  uint64_t id;
  int err;                 /* 0 (STATUS_OK), WP_EUNKNOWN_METHOD
                            * (STATUS_UNKNOWN_METHOD) or WP_EREMOTE (any
                            * other status) */
  int status;              /* the worker's Status, as sent */
  const char *error;       /* the worker's text, "" when none; in msg */
  const uint8_t *payload;
  size_t payload_len;
  void *msg;               /* the protobuf-c message that owns the bytes */
} wp_reply_msg_t;

/* 0, or WP_EPROTO if the bytes are not a Reply. */
int wp_parse_reply(const uint8_t *f, size_t len, wp_reply_msg_t *out);
void wp_reply_msg_free(wp_reply_msg_t *m);

#endif
