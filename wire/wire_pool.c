/*
 * wire_pool.c — the supervisor's side of the wire (see wire.h): decoding
 * the Hello and Replies a worker sends, encoding the Requests it is sent.
 * The worker's side is wire_worker.c: each side links only its own.
 */
#include "wire.h"

#include <stdlib.h>
#include <string.h>

#include "proto.h"

/* The compact tags are the proto's numbers (frame.h): a change to either
 * must not slip past the other. */
_Static_assert((int)WPI_TAG_PING == (int)WPOOL__V1__REQUEST__KIND_PING &&
                   (int)WPI_TAG_WORK == (int)WPOOL__V1__REQUEST__KIND_WORK &&
                   (int)WPI_TAG_SHUTDOWN == (int)WPOOL__V1__REQUEST__KIND_SHUTDOWN &&
                   (int)WPI_TAG_CALL == (int)WPOOL__V1__REQUEST__KIND_CALL,
               "compact tags are Request.kind's field numbers");

/* ---- Hello ---------------------------------------------------------------- */

/* The names packed back to back, each NUL-terminated: one allocation the
 * slot keeps for as long as its worker lives. */
static int pack_methods(char **names, size_t n, wpi_hello_t *out) {
  size_t total = 0;
  for (size_t i = 0; i < n; i++) total += strlen(names[i]) + 1;
  if (n == 0) return WPI_OK;
  if (!(out->methods = malloc(total))) return WPI_ENOMEM;
  char *w = out->methods;
  for (size_t i = 0; i < n; i++) w = stpcpy(w, names[i]) + 1;
  out->nmethods = (uint32_t)n;
  return WPI_OK;
}

int wpi_parse_hello(const uint8_t *f, size_t len, bool grpc, wpi_hello_t *out) {
  memset(out, 0, sizeof *out);
  Wpool__V1__Hello *h = wpool__v1__hello__unpack(NULL, len, f);
  if (!h) return WPI_EBAD;
  int rc = WPI_OK;
  if (h->protocol_version < 1 || h->protocol_version > WPI_PROTOCOL_VERSION ||
      (int)h->transport != (grpc ? WPOOL__V1__TRANSPORT__TRANSPORT_GRPC
                                 : WPOOL__V1__TRANSPORT__TRANSPORT_PIPE) ||
      (grpc && (!h->address || !*h->address)))
    rc = WPI_EBAD;
  else if (grpc && !(out->address = strdup(h->address)))
    rc = WPI_ENOMEM;
  if (rc == WPI_OK) rc = pack_methods(h->methods, h->n_methods, out);
  if (rc == WPI_OK) out->version = h->protocol_version;
  else wpi_hello_free(out);
  wpool__v1__hello__free_unpacked(h, NULL);
  return rc;
}

void wpi_hello_free(wpi_hello_t *h) {
  free(h->address);
  free(h->methods);
  memset(h, 0, sizeof *h);
}

/* ---- Reply ---------------------------------------------------------------- */

static int reply_outcome(uint32_t status) {
  return status == WPOOL__V1__STATUS__STATUS_OK               ? WPI_REPLY_OK
         : status == WPOOL__V1__STATUS__STATUS_UNKNOWN_METHOD ? WPI_REPLY_UNKNOWN_METHOD
                                                             : WPI_REPLY_FAILED;
}

/* Protocol 3: status | id | body, the body the payload or the error text.
 * The text gets its NUL in the arena's buffer (or, longer, on the heap). */
static int parse_compact(const uint8_t *f, size_t len, wpi_reply_msg_t *out) {
  uint8_t tag;
  if (wpi_compact_get(f, len, &tag, &out->id) != 0) return WPI_EBAD;
  const uint8_t *body = f + WPI_COMPACT_HDR;
  size_t n = len - WPI_COMPACT_HDR;
  out->status = tag;
  out->outcome = reply_outcome(tag);
  out->error = "";
  out->payload = body;
  out->payload_len = 0;
  if (out->outcome == WPI_REPLY_OK) {
    out->payload_len = n;
    return WPI_OK;
  }
  char *text = n < sizeof out->arena.buf ? (char *)out->arena.buf : malloc(n + 1);
  if (!text) return WPI_ENOMEM;
  if (text != (char *)out->arena.buf) out->error_heap = text;
  memcpy(text, body, n);
  text[n] = '\0';
  out->error = text;
  return WPI_OK;
}

int wpi_parse_reply(const uint8_t *f, size_t len, bool compact, wpi_reply_msg_t *out) {
  /* Field by field: a memset would clear the arena's kilobyte per reply. */
  out->msg = NULL;
  out->error_heap = NULL;
  if (compact) return parse_compact(f, len, out); /* no allocator needed */
  wpi_arena_init(&out->arena);
  Wpool__V1__Reply *r = wpool__v1__reply__unpack(&out->arena.pa, len, f);
  if (!r) return WPI_EBAD;
  out->id = r->id;
  out->status = (int)r->status;
  out->outcome = reply_outcome(r->status);
  out->error = r->error ? r->error : "";
  out->payload = r->payload.data;
  out->payload_len = r->payload.len;
  out->msg = r;
  return WPI_OK;
}

void wpi_reply_msg_free(wpi_reply_msg_t *m) {
  if (m->msg) wpi_arena_release(&m->arena, m->msg);
  free(m->error_heap);
  m->error_heap = NULL;
  m->msg = NULL;
}

/* ---- Request -------------------------------------------------------------- */

/* The compact body's size: a Ping's payload as it is, a Work or Call as
 * its protobuf message. */
static size_t compact_body(const wpi_request_enc_t *e) {
  switch (e->msg.kind_case) {
  case WPOOL__V1__REQUEST__KIND_WORK: return wpool__v1__work__get_packed_size(&e->work);
  case WPOOL__V1__REQUEST__KIND_CALL: return wpool__v1__call__get_packed_size(&e->call);
  default: return e->ping.payload.len;
  }
}

size_t wpi_request_prepare(wpi_request_enc_t *e, const wpi_request_t *r, bool compact) {
  Wpool__V1__Request *m = &e->msg;
  wpool__v1__request__init(m);
  m->id = r->id;
  ProtobufCBinaryData pl = {r->payload_len, (uint8_t *)r->payload};
  switch (r->kind) {
  case WPI_REQ_CALL:
    wpool__v1__call__init(&e->call);
    e->call.method = (char *)r->method;
    e->call.payload = pl;
    m->kind_case = WPOOL__V1__REQUEST__KIND_CALL;
    m->call = &e->call;
    break;
  case WPI_REQ_WORK:
    wpool__v1__work__init(&e->work);
    e->work.cpu_us = r->cpu_us;
    e->work.sleep_us = r->sleep_us;
    e->work.reply_bytes = r->reply_bytes;
    e->work.payload = pl;
    m->kind_case = WPOOL__V1__REQUEST__KIND_WORK;
    m->work = &e->work;
    break;
  case WPI_REQ_PING:
    wpool__v1__ping__init(&e->ping);
    e->ping.payload = pl;
    m->kind_case = WPOOL__V1__REQUEST__KIND_PING;
    m->ping = &e->ping;
    break;
  }
  e->compact = compact;
  if (!compact) return wpool__v1__request__get_packed_size(m);
  e->body = compact_body(e);
  return WPI_COMPACT_HDR + e->body;
}

void wpi_request_pack(const wpi_request_enc_t *e, uint8_t *out) {
  if (!e->compact) {
    wpool__v1__request__pack(&e->msg, out);
    return;
  }
  /* The kind's field number is its tag (frame.h). */
  wpi_compact_put(out, (uint8_t)e->msg.kind_case, e->msg.id);
  out += WPI_COMPACT_HDR;
  switch (e->msg.kind_case) {
  case WPOOL__V1__REQUEST__KIND_WORK: wpool__v1__work__pack(&e->work, out); break;
  case WPOOL__V1__REQUEST__KIND_CALL: wpool__v1__call__pack(&e->call, out); break;
  default:
    if (e->body) memcpy(out, e->ping.payload.data, e->body);
    break;
  }
}
