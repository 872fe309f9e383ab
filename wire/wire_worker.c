/*
 * wire_worker.c — the worker's side of the wire (see wire.h): encoding its
 * Hello and Replies, decoding the Requests it is sent. The supervisor's
 * side is wire_pool.c: each side links only its own.
 */
#include "wire.h"

#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "proto.h"

/* ---- Hello ---------------------------------------------------------------- */

size_t wpi_hello_frame(const wpi_hello_info_t *info, uint8_t *buf, size_t cap) {
  Wpool__V1__Hello h = WPOOL__V1__HELLO__INIT;
  h.pid = info->pid;
  h.protocol_version = info->version;
  h.transport = info->grpc ? WPOOL__V1__TRANSPORT__TRANSPORT_GRPC
                           : WPOOL__V1__TRANSPORT__TRANSPORT_PIPE;
  h.address = (char *)(info->address ? info->address : "");
  h.methods = (char **)info->methods;
  h.n_methods = info->nmethods;
  size_t n = wpool__v1__hello__get_packed_size(&h);
  if (WPI_FRAME_HDR + n <= cap) {
    wpi_frame_put_header(buf, (uint32_t)n);
    wpool__v1__hello__pack(&h, buf + WPI_FRAME_HDR);
  }
  return WPI_FRAME_HDR + n;
}

/* ---- Reply ---------------------------------------------------------------- */

size_t wpi_reply_size(const Wpool__V1__Reply *r) {
  return wpool__v1__reply__get_packed_size(r);
}

void wpi_reply_pack(const Wpool__V1__Reply *r, uint8_t *out) {
  wpool__v1__reply__pack(r, out);
}

/* ---- Request -------------------------------------------------------------- */

Wpool__V1__Request *wpi_request_decode(const uint8_t *f, size_t len) {
  return wpool__v1__request__unpack(NULL, len, f);
}

void wpi_request_free(Wpool__V1__Request *r) {
  wpool__v1__request__free_unpacked(r, NULL);
}

Wpool__V1__Request *wpi_request_decode_in(wpi_arena_t *a, const uint8_t *f, size_t len) {
  wpi_arena_init(a);
  return wpool__v1__request__unpack(&a->pa, len, f);
}

void wpi_request_release(wpi_arena_t *a, Wpool__V1__Request *r) {
  wpi_arena_release(a, (ProtobufCMessage *)r);
}

/* ---- protocol 3 ------------------------------------------------------------ */

uint32_t wpi_pipe_protocol(const char *offered) {
  return offered && atoi(offered) >= WPI_PROTOCOL_COMPACT ? WPI_PROTOCOL_COMPACT
                                                         : WPI_PROTOCOL_PROTOBUF;
}

/* A compact Request: the envelope gives id and kind; a Ping's payload is
 * the body itself, a Work or Call body is that message. */
static Wpool__V1__Request *read_compact(wpi_request_in_t *in, const uint8_t *f, size_t len) {
  Wpool__V1__Request *m = &in->msg;
  uint8_t tag;
  wpool__v1__request__init(m);
  if (wpi_compact_get(f, len, &tag, &m->id) != 0) return NULL;
  const uint8_t *body = f + WPI_COMPACT_HDR;
  size_t n = len - WPI_COMPACT_HDR;
  switch (tag) {
  case WPI_TAG_PING:
    wpool__v1__ping__init(&in->ping);
    in->ping.payload = (ProtobufCBinaryData){n, (uint8_t *)body};
    m->ping = &in->ping;
    break;
  case WPI_TAG_WORK:
    wpi_arena_init(&in->arena);
    if (!(m->work = wpool__v1__work__unpack(&in->arena.pa, n, body))) return NULL;
    in->sub = &m->work->base;
    break;
  case WPI_TAG_CALL:
    wpi_arena_init(&in->arena);
    if (!(m->call = wpool__v1__call__unpack(&in->arena.pa, n, body))) return NULL;
    in->sub = &m->call->base;
    break;
  case WPI_TAG_SHUTDOWN:
    m->shutdown = NULL; /* handlers look at kind_case only */
    break;
  default:
    return m; /* no kind: BAD_REQUEST, as a protobuf Request without one */
  }
  m->kind_case = (Wpool__V1__Request__KindCase)tag;
  return m;
}

Wpool__V1__Request *wpi_request_read(wpi_request_in_t *in, const uint8_t *f, size_t len,
                                     bool compact) {
  in->sub = NULL;
  in->whole = NULL;
  if (!compact) return in->whole = wpi_request_decode_in(&in->arena, f, len);
  return read_compact(in, f, len); /* the arena only for a Work or Call */
}

void wpi_request_in_done(wpi_request_in_t *in) {
  if (in->whole || in->sub)
    wpi_arena_release(&in->arena, in->whole ? &in->whole->base : in->sub);
  in->whole = NULL;
  in->sub = NULL;
}

/* A compact Reply's body: the payload, or the error text. */
static void reply_body(const Wpool__V1__Reply *r, const uint8_t **b, size_t *n) {
  bool ok = r->status == WPOOL__V1__STATUS__STATUS_OK;
  *b = ok ? r->payload.data : (const uint8_t *)r->error;
  *n = ok ? r->payload.len : r->error ? strlen(r->error) : 0;
}

size_t wpi_reply_encoded_size(const Wpool__V1__Reply *r, bool compact) {
  if (!compact) return wpi_reply_size(r);
  const uint8_t *b;
  size_t n;
  reply_body(r, &b, &n);
  return WPI_COMPACT_HDR + n;
}

void wpi_reply_encode(const Wpool__V1__Reply *r, bool compact, uint8_t *out) {
  if (!compact) {
    wpi_reply_pack(r, out);
    return;
  }
  const uint8_t *b;
  size_t n;
  reply_body(r, &b, &n);
  /* A status the tag cannot hold must not wrap to OK (0). */
  uint8_t tag = (unsigned)r->status <= UINT8_MAX ? (uint8_t)r->status
                                                 : WPOOL__V1__STATUS__STATUS_WORKER_ERROR;
  wpi_compact_put(out, tag, r->id);
  if (n) memcpy(out + WPI_COMPACT_HDR, b, n);
}
