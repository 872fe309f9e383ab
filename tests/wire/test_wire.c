/* test_wire.c — the wire library's messages, both sides meeting: what the
 * worker encodes (Hello, Reply) the pool decodes, and what the pool encodes
 * (Request) the worker decodes. The framing itself is test_frame.c's. */
#include <setjmp.h>
#include <stdarg.h>
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
  wpi_hello_info_t info = {.pid = 42, .methods = names, .nmethods = 2};
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
  wpi_hello_info_t info = {.pid = 1, .grpc = true, .address = "unix:/tmp/w.sock"};
  uint8_t buf[256];
  size_t len;
  const uint8_t *f = hello_body(&info, buf, sizeof buf, &len);
  wpi_hello_t h;
  assert_int_equal(wpi_parse_hello(f, len, true, &h), WPI_OK);
  assert_string_equal(h.address, "unix:/tmp/w.sock");
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
  wpi_hello_info_t info = {.pid = 7};
  uint8_t small[4] = {0xaa, 0xaa, 0xaa, 0xaa}, big[64];
  size_t need = wpi_hello_frame(&info, small, sizeof small);
  assert_true(need > sizeof small);
  for (size_t i = 0; i < sizeof small; i++) assert_int_equal(small[i], 0xaa);
  assert_int_equal(wpi_hello_frame(&info, big, sizeof big), need);
}

/* Packs r as the pool does and decodes it as the worker does. */
static Wpool__V1__Request *request_round_trip(const wpi_request_t *r) {
  wpi_request_enc_t e;
  size_t n = wpi_request_prepare(&e, r);
  uint8_t *buf = malloc(n ? n : 1);
  assert_non_null(buf);
  wpi_request_pack(&e, buf);
  Wpool__V1__Request *got = wpi_request_decode(buf, n);
  free(buf);
  assert_non_null(got);
  assert_int_equal(got->id, r->id);
  return got;
}

static void requests_round_trip(void **state) {
  (void)state;
  const uint8_t pl[] = "payload";
  wpi_request_t r = {.id = 9, .kind = WPI_REQ_PING, .payload = pl, .payload_len = 7};
  Wpool__V1__Request *got = request_round_trip(&r);
  assert_int_equal(got->kind_case, WPOOL__V1__REQUEST__KIND_PING);
  assert_int_equal(got->ping->payload.len, 7);
  assert_memory_equal(got->ping->payload.data, pl, 7);
  wpi_request_free(got);

  r = (wpi_request_t){.id = 10, .kind = WPI_REQ_WORK, .cpu_us = 5, .sleep_us = 6,
                      .reply_bytes = 7, .payload = pl, .payload_len = 3};
  got = request_round_trip(&r);
  assert_int_equal(got->kind_case, WPOOL__V1__REQUEST__KIND_WORK);
  assert_int_equal(got->work->cpu_us, 5);
  assert_int_equal(got->work->sleep_us, 6);
  assert_int_equal(got->work->reply_bytes, 7);
  assert_int_equal(got->work->payload.len, 3);
  wpi_request_free(got);

  r = (wpi_request_t){.id = 11, .kind = WPI_REQ_CALL, .method = "sha256",
                      .payload = pl, .payload_len = 7};
  got = request_round_trip(&r);
  assert_int_equal(got->kind_case, WPOOL__V1__REQUEST__KIND_CALL);
  assert_string_equal(got->call->method, "sha256");
  assert_memory_equal(got->call->payload.data, pl, 7);
  wpi_request_free(got);
}

/* Packs a Reply as the worker does and parses it as the pool does. */
static void reply_with(Wpool__V1__Status st, const char *error, int outcome) {
  Wpool__V1__Reply r = WPOOL__V1__REPLY__INIT;
  r.id = 77;
  r.status = st;
  r.error = (char *)error;
  r.payload.data = (uint8_t *)"abc";
  r.payload.len = 3;
  uint8_t buf[128];
  size_t n = wpi_reply_size(&r);
  assert_true(n <= sizeof buf);
  wpi_reply_pack(&r, buf);
  wpi_reply_msg_t m;
  assert_int_equal(wpi_parse_reply(buf, n, &m), WPI_OK);
  assert_int_equal(m.id, 77);
  assert_int_equal(m.status, (int)st);
  assert_int_equal(m.outcome, outcome);
  assert_string_equal(m.error, error);
  assert_int_equal(m.payload_len, 3);
  assert_memory_equal(m.payload, "abc", 3);
  wpi_reply_msg_free(&m);
  assert_null(m.msg);
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
    size_t n = wpi_request_prepare(&e, &r);
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
  assert_int_equal(wpi_parse_reply(buf, n, &m), WPI_OK);
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
  assert_int_equal(wpi_parse_reply(junk, sizeof junk, &m), WPI_EBAD);
  assert_null(m.msg);
  assert_null(wpi_request_decode(junk, sizeof junk));
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
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
