/* test_wire.c — the wire library's messages, both sides meeting: what the
 * worker encodes (Hello, Reply) the pool decodes, and what the pool encodes
 * (Request) the worker decodes, in protobuf envelopes and in protocol 3's
 * compact ones. The framing itself is test_frame.c's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "wire.h"

/* Encodes a Hello frame and returns its body (after the header). */
static const uint8_t *hello_body(const wpi_hello_info_t *h, uint8_t *buf, size_t cap,
                                 size_t *len) {
  size_t n = wpi_hello_frame(h, buf, cap);
  assert_true(n <= cap);
  uint32_t announced = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 |
                       (uint32_t)buf[2] << 8 | buf[3];
  assert_int_equal(announced, n - WPI_FRAME_HDR);
  *len = n - WPI_FRAME_HDR;
  return buf + WPI_FRAME_HDR;
}

static void pipe_hello_round_trip(void **state) {
  (void)state;
  const char *const names[] = {"echo", "sha256"};
  wpi_hello_info_t info = {.pid = 42, .version = WPI_PROTOCOL_VERSION, .methods = names,
                           .nmethods = 2};
  uint8_t buf[256];
  size_t len;
  const uint8_t *f = hello_body(&info, buf, sizeof buf, &len);
  wpi_hello_t h;
  assert_int_equal(wpi_parse_hello(f, len, false, &h), WPI_OK);
  assert_int_equal(h.version, WPI_PROTOCOL_VERSION);
  assert_null(h.address);
  assert_int_equal(h.nmethods, 2);
  assert_memory_equal(h.methods, "echo\0sha256", sizeof "echo\0sha256");
  wpi_hello_free(&h);
  /* A pipe worker's Hello is not what a gRPC pool accepts. */
  assert_int_equal(wpi_parse_hello(f, len, true, &h), WPI_EBAD);
  assert_null(h.address);
  assert_null(h.methods);
}

static void grpc_hello_needs_an_address(void **state) {
  (void)state;
  wpi_hello_info_t info = {.pid = 1, .version = 2, .grpc = true, .address = "unix:/tmp/w.sock"};
  uint8_t buf[256];
  size_t len;
  const uint8_t *f = hello_body(&info, buf, sizeof buf, &len);
  wpi_hello_t h;
  assert_int_equal(wpi_parse_hello(f, len, true, &h), WPI_OK);
  assert_string_equal(h.address, "unix:/tmp/w.sock");
  assert_int_equal(h.version, 2);
  assert_int_equal(h.nmethods, 0);
  assert_null(h.methods);
  wpi_hello_free(&h);
  info.address = NULL;
  f = hello_body(&info, buf, sizeof buf, &len);
  assert_int_equal(wpi_parse_hello(f, len, true, &h), WPI_EBAD);
}

/* Too small a buffer: the length is returned, nothing is written. */
static void hello_frame_reports_its_size(void **state) {
  (void)state;
  wpi_hello_info_t info = {.pid = 7, .version = 2};
  uint8_t small[4] = {0xaa, 0xaa, 0xaa, 0xaa}, big[64];
  size_t need = wpi_hello_frame(&info, small, sizeof small);
  assert_true(need > sizeof small);
  for (size_t i = 0; i < sizeof small; i++) assert_int_equal(small[i], 0xaa);
  assert_int_equal(wpi_hello_frame(&info, big, sizeof big), need);
}

/* A request packed as the pool does and read as the worker does: the
 * frame stays alive while the message is looked at (a compact Ping's
 * payload points into it). */
typedef struct trip {
  uint8_t *buf;
  wpi_request_in_t in;
  Wpool__V1__Request *got;
} trip_t;

static void request_round_trip(const wpi_request_t *r, bool compact, trip_t *t) {
  wpi_request_enc_t e;
  size_t n = wpi_request_prepare(&e, r, compact);
  t->buf = malloc(n ? n : 1);
  assert_non_null(t->buf);
  wpi_request_pack(&e, t->buf);
  t->got = wpi_request_read(&t->in, t->buf, n, compact);
  assert_non_null(t->got);
  assert_int_equal(t->got->id, r->id);
}

static void trip_done(trip_t *t) {
  wpi_request_in_done(&t->in);
  free(t->buf);
}

static void requests_in(bool compact) {
  const uint8_t pl[] = "payload";
  trip_t t;
  wpi_request_t r = {.id = 9, .kind = WPI_REQ_PING, .payload = pl, .payload_len = 7};
  request_round_trip(&r, compact, &t);
  assert_int_equal(t.got->kind_case, WPOOL__V1__REQUEST__KIND_PING);
  assert_int_equal(t.got->ping->payload.len, 7);
  assert_memory_equal(t.got->ping->payload.data, pl, 7);
  trip_done(&t);

  r = (wpi_request_t){.id = 10, .kind = WPI_REQ_WORK, .cpu_us = 5, .sleep_us = 6,
                      .reply_bytes = 7, .payload = pl, .payload_len = 3};
  request_round_trip(&r, compact, &t);
  assert_int_equal(t.got->kind_case, WPOOL__V1__REQUEST__KIND_WORK);
  assert_int_equal(t.got->work->cpu_us, 5);
  assert_int_equal(t.got->work->sleep_us, 6);
  assert_int_equal(t.got->work->reply_bytes, 7);
  assert_int_equal(t.got->work->payload.len, 3);
  trip_done(&t);

  r = (wpi_request_t){.id = UINT64_MAX, .kind = WPI_REQ_CALL, .method = "sha256",
                      .payload = pl, .payload_len = 7};
  request_round_trip(&r, compact, &t);
  assert_int_equal(t.got->kind_case, WPOOL__V1__REQUEST__KIND_CALL);
  assert_string_equal(t.got->call->method, "sha256");
  assert_memory_equal(t.got->call->payload.data, pl, 7);
  trip_done(&t);

  r = (wpi_request_t){.id = 12, .kind = WPI_REQ_PING}; /* an empty payload */
  request_round_trip(&r, compact, &t);
  assert_int_equal(t.got->kind_case, WPOOL__V1__REQUEST__KIND_PING);
  assert_int_equal(t.got->ping->payload.len, 0);
  trip_done(&t);
}

static void requests_round_trip(void **state) {
  (void)state;
  requests_in(false);
  requests_in(true);
  /* The malloc'ing decoder reads the same bytes. */
  const uint8_t pl[] = "xy";
  wpi_request_t r = {.id = 3, .kind = WPI_REQ_PING, .payload = pl, .payload_len = 2};
  wpi_request_enc_t e;
  uint8_t buf[64];
  size_t n = wpi_request_prepare(&e, &r, false);
  wpi_request_pack(&e, buf);
  Wpool__V1__Request *got = wpi_request_decode(buf, n);
  assert_non_null(got);
  assert_memory_equal(got->ping->payload.data, "xy", 2);
  wpi_request_free(got);
}

/* Packs a Reply as the worker does and parses it as the pool does. A
 * compact Reply carries the payload when OK, else the error text. */
static void reply_in(Wpool__V1__Status st, const char *error, int outcome, bool compact) {
  Wpool__V1__Reply r = WPOOL__V1__REPLY__INIT;
  r.id = 77;
  r.status = st;
  r.error = (char *)error;
  r.payload.data = (uint8_t *)"abc";
  r.payload.len = 3;
  uint8_t buf[128];
  size_t n = wpi_reply_encoded_size(&r, compact);
  assert_true(n <= sizeof buf);
  wpi_reply_encode(&r, compact, buf);
  wpi_reply_msg_t m;
  assert_int_equal(wpi_parse_reply(buf, n, compact, &m), WPI_OK);
  assert_int_equal(m.id, 77);
  assert_int_equal(m.status, (int)st);
  assert_int_equal(m.outcome, outcome);
  assert_string_equal(m.error, outcome == WPI_REPLY_OK && compact ? "" : error);
  size_t want = compact && outcome != WPI_REPLY_OK ? 0 : 3;
  assert_int_equal(m.payload_len, want);
  if (want) assert_memory_equal(m.payload, "abc", 3);
  wpi_reply_msg_free(&m);
  assert_null(m.msg);
}

static void reply_with(Wpool__V1__Status st, const char *error, int outcome) {
  reply_in(st, error, outcome, false);
  reply_in(st, error, outcome, true);
}

static void replies_round_trip(void **state) {
  (void)state;
  reply_with(WPOOL__V1__STATUS__STATUS_OK, "", WPI_REPLY_OK);
  reply_with(WPOOL__V1__STATUS__STATUS_UNKNOWN_METHOD, "no such method", WPI_REPLY_UNKNOWN_METHOD);
  reply_with(WPOOL__V1__STATUS__STATUS_WORKER_ERROR, "it failed", WPI_REPLY_FAILED);
  reply_with(WPOOL__V1__STATUS__STATUS_BAD_REQUEST, "bad", WPI_REPLY_FAILED);
}

/* Decoding into an arena: a small message lies in it, a large payload
 * spills to malloc and is freed on release (ASan and valgrind see a leak
 * or a double free); the same arena serves the next message clean, and a
 * Reply's decodes the same way. */
static void arena_decodes_small_and_large(void **state) {
  (void)state;
  static uint8_t big[3 * WPI_ARENA_BYTES];
  memset(big, 'b', sizeof big);
  const size_t lens[] = {7, sizeof big, 5};
  wpi_arena_t a;
  for (size_t i = 0; i < 3; i++) {
    wpi_request_t r = {.id = 20 + i, .kind = WPI_REQ_CALL, .method = "echo",
                       .payload = big, .payload_len = lens[i]};
    wpi_request_enc_t e;
    size_t n = wpi_request_prepare(&e, &r, false);
    uint8_t *buf = malloc(n);
    assert_non_null(buf);
    wpi_request_pack(&e, buf);
    Wpool__V1__Request *got = wpi_request_decode_in(&a, buf, n);
    memset(buf, 0, n); /* the message must not point into the frame */
    free(buf);
    assert_non_null(got);
    assert_int_equal(got->id, 20 + i);
    assert_string_equal(got->call->method, "echo");
    assert_int_equal(got->call->payload.len, lens[i]);
    assert_memory_equal(got->call->payload.data, big, lens[i]);
    assert_int_equal(a.spilled > 0, lens[i] > WPI_ARENA_BYTES);
    wpi_request_release(&a, got);
    assert_int_equal(a.used, 0);
  }
  Wpool__V1__Reply r = WPOOL__V1__REPLY__INIT;
  r.id = 5;
  r.payload.data = big;
  r.payload.len = sizeof big;
  size_t n = wpi_reply_size(&r);
  uint8_t *buf = malloc(n);
  assert_non_null(buf);
  wpi_reply_pack(&r, buf);
  wpi_reply_msg_t m;
  assert_int_equal(wpi_parse_reply(buf, n, false, &m), WPI_OK);
  free(buf);
  assert_int_equal(m.payload_len, sizeof big);
  assert_memory_equal(m.payload, big, sizeof big);
  wpi_reply_msg_free(&m);
  wpi_arena_t g;
  const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0xff};
  assert_null(wpi_request_decode_in(&g, junk, sizeof junk));
}

static void garbage_is_no_message(void **state) {
  (void)state;
  const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0xff};
  wpi_hello_t h;
  assert_int_equal(wpi_parse_hello(junk, sizeof junk, false, &h), WPI_EBAD);
  wpi_reply_msg_t m;
  assert_int_equal(wpi_parse_reply(junk, sizeof junk, false, &m), WPI_EBAD);
  assert_null(m.msg);
  assert_null(wpi_request_decode(junk, sizeof junk));
}

/* Protocol 3's envelope, byte for byte as proto/wpool.proto states it:
 * u8 tag (the kind's field number) | u64 big-endian id | body. */
static void compact_request_bytes(void **state) {
  (void)state;
  wpi_request_t r = {.id = 0x0102030405060708u, .kind = WPI_REQ_PING,
                     .payload = (const uint8_t *)"hi", .payload_len = 2};
  wpi_request_enc_t e;
  uint8_t buf[32];
  assert_int_equal(wpi_request_prepare(&e, &r, true), 11);
  wpi_request_pack(&e, buf);
  const uint8_t want[] = {2, 1, 2, 3, 4, 5, 6, 7, 8, 'h', 'i'};
  assert_memory_equal(buf, want, sizeof want);
  /* A Work's body is its protobuf Work message, nothing else. */
  r = (wpi_request_t){.id = 1, .kind = WPI_REQ_WORK, .cpu_us = 300};
  size_t n = wpi_request_prepare(&e, &r, true);
  wpi_request_pack(&e, buf);
  assert_int_equal(buf[0], WPI_TAG_WORK);
  Wpool__V1__Work *w = wpool__v1__work__unpack(NULL, n - WPI_COMPACT_HDR, buf + WPI_COMPACT_HDR);
  assert_non_null(w);
  assert_int_equal(w->cpu_us, 300);
  wpool__v1__work__free_unpacked(w, NULL);
}

/* What is not a compact message: a frame shorter than the envelope, a
 * Work or Call body that does not decode. A tag that names no kind reads
 * as a Request without one (the worker answers BAD_REQUEST), and Shutdown
 * as Shutdown. */
static void compact_bad_frames(void **state) {
  (void)state;
  wpi_request_in_t in;
  const uint8_t shortf[] = {2, 0, 0, 0};
  assert_null(wpi_request_read(&in, shortf, sizeof shortf, true));
  wpi_reply_msg_t m;
  assert_int_equal(wpi_parse_reply(shortf, sizeof shortf, true, &m), WPI_EBAD);
  wpi_reply_msg_free(&m);
  uint8_t f[16] = {0};
  wpi_compact_put(f, WPI_TAG_WORK, 5);
  memset(f + WPI_COMPACT_HDR, 0xff, 7);
  assert_null(wpi_request_read(&in, f, sizeof f, true));
  wpi_compact_put(f, WPI_TAG_CALL, 5);
  assert_null(wpi_request_read(&in, f, sizeof f, true));
  wpi_compact_put(f, 99, 6);
  Wpool__V1__Request *q = wpi_request_read(&in, f, sizeof f, true);
  assert_non_null(q);
  assert_int_equal(q->id, 6);
  assert_int_equal(q->kind_case, WPOOL__V1__REQUEST__KIND__NOT_SET);
  wpi_request_in_done(&in);
  wpi_compact_put(f, WPI_TAG_SHUTDOWN, 7);
  q = wpi_request_read(&in, f, WPI_COMPACT_HDR, true);
  assert_non_null(q);
  assert_int_equal(q->kind_case, WPOOL__V1__REQUEST__KIND_SHUTDOWN);
  wpi_request_in_done(&in);
}

/* An error text longer than the arena's buffer gets its NUL on the heap
 * (ASan and valgrind see it leak if wpi_reply_msg_free did not free it);
 * a large Call body spills from the arena and is freed the same way. */
static void compact_long_error_and_body(void **state) {
  (void)state;
  static char text[3 * WPI_ARENA_BYTES];
  memset(text, 'e', sizeof text - 1);
  Wpool__V1__Reply r = WPOOL__V1__REPLY__INIT;
  r.id = 8;
  r.status = WPOOL__V1__STATUS__STATUS_WORKER_ERROR;
  r.error = text;
  size_t n = wpi_reply_encoded_size(&r, true);
  assert_int_equal(n, WPI_COMPACT_HDR + sizeof text - 1);
  uint8_t *buf = malloc(n);
  assert_non_null(buf);
  wpi_reply_encode(&r, true, buf);
  wpi_reply_msg_t m;
  assert_int_equal(wpi_parse_reply(buf, n, true, &m), WPI_OK);
  memset(buf, 0, n); /* the text must not point into the frame */
  free(buf);
  assert_string_equal(m.error, text);
  assert_non_null(m.error_heap);
  wpi_reply_msg_free(&m);

  wpi_request_t q = {.id = 4, .kind = WPI_REQ_CALL, .method = "echo",
                     .payload = (const uint8_t *)text, .payload_len = sizeof text};
  trip_t t;
  request_round_trip(&q, true, &t);
  assert_true(t.in.arena.spilled > 0);
  assert_memory_equal(t.got->call->payload.data, text, sizeof text);
  trip_done(&t);
}

/* A pipe worker speaks protocol 3 only when the supervisor offers it. */
static void pipe_protocol_follows_the_offer(void **state) {
  (void)state;
  assert_int_equal(wpi_pipe_protocol(NULL), 2);
  assert_int_equal(wpi_pipe_protocol(""), 2);
  assert_int_equal(wpi_pipe_protocol("2"), 2);
  assert_int_equal(wpi_pipe_protocol("x"), 2);
  assert_int_equal(wpi_pipe_protocol("3"), WPI_PROTOCOL_COMPACT);
  assert_int_equal(wpi_pipe_protocol("9"), WPI_PROTOCOL_COMPACT);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(pipe_hello_round_trip),
      cmocka_unit_test(grpc_hello_needs_an_address),
      cmocka_unit_test(hello_frame_reports_its_size),
      cmocka_unit_test(requests_round_trip),
      cmocka_unit_test(replies_round_trip),
      cmocka_unit_test(arena_decodes_small_and_large),
      cmocka_unit_test(garbage_is_no_message),
      cmocka_unit_test(compact_request_bytes),
      cmocka_unit_test(compact_bad_frames),
      cmocka_unit_test(compact_long_error_and_body),
      cmocka_unit_test(pipe_protocol_follows_the_offer),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
