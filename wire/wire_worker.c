/*
 * wire_worker.c — the worker's side of the wire (see wire.h): encoding its
 * Hello and Replies, decoding the Requests it is sent. The supervisor's
 * side is wire_pool.c: each side links only its own.
 */
#include "wire.h"

#include "frame.h"
#include "proto.h"

/* ---- Hello ---------------------------------------------------------------- */

size_t wpi_hello_frame(const wpi_hello_info_t *info, uint8_t *buf, size_t cap) {
  Wpool__V1__Hello h = WPOOL__V1__HELLO__INIT;
  h.pid = info->pid;
  h.protocol_version = WPI_PROTOCOL_VERSION;
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
