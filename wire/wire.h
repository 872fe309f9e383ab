/*
 * wire.h — encoding and decoding every wpool message, in both directions,
 * as pure functions: bytes in, a verdict out, or a message in, bytes out.
 * No pool state, no I/O, no libuv.
 *
 * Owns: what a valid Hello, Request and Reply are on the wire (the message
 * bytes; frame.h owns the framing around them). The supervisor (pool/)
 * decodes Hellos and Replies and encodes Requests; the C workers (worker/)
 * do the opposite: wire_pool.c and wire_worker.c, so each side links only
 * its own half. The fuzz targets (tests/fuzz/) feed the decoders arbitrary
 * bytes.
 *
 * May call: frame.h, proto.h, the generated protobuf-c code, libc. It
 * includes frame.h and proto.h: one include gives a side the whole wire.
 */
#ifndef WPI_WIRE_H
#define WPI_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "frame.h"
#include "proto.h"
#include "wpool.pb-c.h"

/* What the decoders return: the caller turns them into its own errors. */
enum {
  WPI_OK = 0,
  WPI_EBAD = -1,   /* not the message expected, or not what the caller accepts */
  WPI_ENOMEM = -2,
};

/* ---- the supervisor reads: Hello, then Replies ------------------------- */

/* What a valid Hello told the pool. */
typedef struct wpi_hello {
  char *address;           /* gRPC address (malloc'd), NULL for a pipe worker */
  uint32_t version;        /* the worker's protocol version */
  /* The Call methods it lists (protocol 2): nmethods NUL-terminated names
   * back to back in one malloc'd block, NULL when it lists none. */
  char *methods;
  uint32_t nmethods;
} wpi_hello_t;

/* Decodes and checks a Hello for a pool of the given transport (grpc or
 * pipe): protocol version (1..WPI_PROTOCOL_VERSION), transport, and for
 * gRPC a non-empty address. WPI_OK with *out filled (the caller frees it
 * with wpi_hello_free), or WPI_EBAD (undecodable or not what the pool
 * expects) or WPI_ENOMEM, *out then empty. */
int wpi_parse_hello(const uint8_t *f, size_t len, bool grpc, wpi_hello_t *out);
void wpi_hello_free(wpi_hello_t *h);

/* What a Reply's status means to the caller of the request. */
enum {
  WPI_REPLY_OK = 0,             /* STATUS_OK */
  WPI_REPLY_UNKNOWN_METHOD = 1, /* STATUS_UNKNOWN_METHOD */
  WPI_REPLY_FAILED = 2,         /* any other status */
};

/* A decoded Reply. payload points into the decoded message: valid until
 * wpi_reply_msg_free. The message lies in the struct's own arena (no
 * malloc for a small one), so a decoded wpi_reply_msg_t is not copied. */
typedef struct wpi_reply_msg {
  uint64_t id;
  int outcome;             /* WPI_REPLY_* */
  int status;              /* the worker's Status, as sent */
  const char *error;       /* the worker's text, "" when none; in msg */
  const uint8_t *payload;
  size_t payload_len;
  void *msg;               /* the protobuf-c message that owns the bytes */
  char *error_heap;        /* compact: a long error's NUL-terminated copy */
  wpi_arena_t arena;       /* where msg was decoded */
} wpi_reply_msg_t;

/* WPI_OK, or WPI_EBAD if the bytes are not a Reply: a protobuf Reply, or
 * with compact (protocol 3) a compact one, whose payload then points into
 * f (valid while f is). Either way wpi_reply_msg_free ends it. */
int wpi_parse_reply(const uint8_t *f, size_t len, bool compact, wpi_reply_msg_t *out);
void wpi_reply_msg_free(wpi_reply_msg_t *m);

/* ---- the supervisor writes: Requests ------------------------------------ */

typedef enum { WPI_REQ_PING, WPI_REQ_WORK, WPI_REQ_CALL } wpi_req_kind_t;

/* A request as the supervisor describes it; the strings and bytes are the
 * caller's, read only while encoding. */
typedef struct wpi_request {
  uint64_t id;
  wpi_req_kind_t kind;
  const uint8_t *payload;  /* Ping's echo, Work's payload, Call's argument */
  size_t payload_len;
  const char *method;      /* Call */
  uint32_t cpu_us, sleep_us, reply_bytes; /* Work */
} wpi_request_t;

/* A Request ready to pack: the message and its parts, pointing into the
 * wpi_request_t it was made from; compact: the envelope and body size. */
typedef struct wpi_request_enc {
  Wpool__V1__Request msg;
  Wpool__V1__Ping ping;
  Wpool__V1__Work work;
  Wpool__V1__Call call;
  bool compact;
  size_t body;
} wpi_request_enc_t;

/* Builds the message for r in e, as a protobuf Request or (compact, for a
 * protocol 3 pipe worker) a compact one; returns its packed size. */
size_t wpi_request_prepare(wpi_request_enc_t *e, const wpi_request_t *r, bool compact);
/* Packs e into out, which holds the size wpi_request_prepare returned. */
void wpi_request_pack(const wpi_request_enc_t *e, uint8_t *out);

/* ---- the worker reads Requests and writes its Hello and Replies --------- */

/* Decodes a Request; NULL when the bytes are not one (or no memory). The
 * caller frees it with wpi_request_free. */
Wpool__V1__Request *wpi_request_decode(const uint8_t *f, size_t len);
void wpi_request_free(Wpool__V1__Request *r);
/* The same into arena a (wpi_arena_init'd by the call): a small Request
 * costs no malloc; wpi_request_release drops it and empties a. */
Wpool__V1__Request *wpi_request_decode_in(wpi_arena_t *a, const uint8_t *f, size_t len);
void wpi_request_release(wpi_arena_t *a, Wpool__V1__Request *r);

/* The Reply's packed size, and packing it into out (that many bytes). */
size_t wpi_reply_size(const Wpool__V1__Reply *r);
void wpi_reply_pack(const Wpool__V1__Reply *r, uint8_t *out);

/* ---- protocol 3 on the worker's side ---------------------------------- */

/* The protocol a pipe worker speaks, given the value of WPI_PROTOCOL_ENV
 * in its environment (NULL when unset): WPI_PROTOCOL_COMPACT when the
 * supervisor offers it, else WPI_PROTOCOL_PROTOBUF. */
uint32_t wpi_pipe_protocol(const char *offered);

/* A Request read from a frame, either framing: the message handlers take,
 * with its parts. A compact Ping's payload points into the frame (no
 * protobuf at all); a Work or Call body is unpacked into the arena. */
typedef struct wpi_request_in {
  Wpool__V1__Request msg;
  Wpool__V1__Ping ping;
  ProtobufCMessage *sub;   /* a compact Work or Call, in arena */
  Wpool__V1__Request *whole; /* a protobuf Request, in arena */
  wpi_arena_t arena;
} wpi_request_in_t;

/* Reads a Request from frame f: NULL when it is not one (garbage, a short
 * compact frame, an undecodable body). A compact tag that is no kind reads
 * as a Request with no kind, which handlers answer BAD_REQUEST, as for a
 * protobuf Request with none. wpi_request_in_done ends it. */
Wpool__V1__Request *wpi_request_read(wpi_request_in_t *in, const uint8_t *f, size_t len,
                                     bool compact);
void wpi_request_in_done(wpi_request_in_t *in);

/* The Reply's size in the given framing, and packing it (that many bytes):
 * compact, a status that is not OK carries its error text as the body. */
size_t wpi_reply_encoded_size(const Wpool__V1__Reply *r, bool compact);
void wpi_reply_encode(const Wpool__V1__Reply *r, bool compact, uint8_t *out);

/* What a worker says in its Hello. */
typedef struct wpi_hello_info {
  uint32_t pid;
  uint32_t version;        /* the protocol it speaks (wpi_pipe_protocol for pipe) */
  bool grpc;               /* the transport: gRPC or pipe */
  const char *address;     /* gRPC: the address to dial; NULL or "" for pipe */
  const char *const *methods;
  size_t nmethods;
} wpi_hello_info_t;

/* The Hello as one whole pipe frame (header included): returns the
 * frame's length, and writes it to buf only when it fits in cap (the
 * caller retries with a bigger buffer otherwise). */
size_t wpi_hello_frame(const wpi_hello_info_t *h, uint8_t *buf, size_t cap);

#endif
