/* test_frame.c — the pipe framing codec and message decoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "frame.h"
#include "wpool.pb-c.h"

/* Encodes a Request{id, ping{payload}} as a whole frame into buf. */
static size_t encode_ping(uint8_t *buf, uint64_t id, const char *payload) {
  Wpool__V1__Ping ping = WPOOL__V1__PING__INIT;
  ping.payload.data = (uint8_t *)payload;
  ping.payload.len = strlen(payload);
  Wpool__V1__Request r = WPOOL__V1__REQUEST__INIT;
  r.id = id;
  r.kind_case = WPOOL__V1__REQUEST__KIND_PING;
  r.ping = &ping;
  size_t n = wpool__v1__request__pack(&r, buf + WPI_FRAME_HDR);
  wpi_frame_put_header(buf, (uint32_t)n);
  return n + WPI_FRAME_HDR;
}

static void header_is_big_endian(void **state) {
  (void)state;
  uint8_t h[4];
  wpi_frame_put_header(h, 0x01020304u);
  assert_int_equal(h[0], 1);
  assert_int_equal(h[1], 2);
  assert_int_equal(h[2], 3);
  assert_int_equal(h[3], 4);
}

static void round_trip(void **state) {
  (void)state;
  uint8_t buf[256];
  size_t n = encode_ping(buf, 42, "hello");
  wpi_frame_decoder_t d;
  wpi_frame_decoder_init(&d, 1024);
  assert_int_equal(wpi_frame_feed(&d, buf, n), 0);
  const uint8_t *f;
  uint32_t len;
  assert_int_equal(wpi_frame_next(&d, &f, &len), WPI_FRAME_OK);
  Wpool__V1__Request *r = wpool__v1__request__unpack(NULL, len, f);
  assert_non_null(r);
  assert_int_equal(r->id, 42);
  assert_int_equal(r->kind_case, WPOOL__V1__REQUEST__KIND_PING);
  assert_memory_equal(r->ping->payload.data, "hello", 5);
  wpool__v1__request__free_unpacked(r, NULL);
  assert_int_equal(wpi_frame_next(&d, &f, &len), WPI_FRAME_NEED);
  assert_int_equal(wpi_frame_pending(&d), 0);
  wpi_frame_decoder_free(&d);
}

/* Three frames fed one byte at a time come out whole, in order. */
static void split_across_reads(void **state) {
  (void)state;
  uint8_t buf[512];
  size_t n = 0;
  for (int i = 0; i < 3; i++) n += encode_ping(buf + n, (uint64_t)i + 1, "abcdefgh");
  wpi_frame_decoder_t d;
  wpi_frame_decoder_init(&d, 1024);
  int got = 0;
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(wpi_frame_feed(&d, buf + i, 1), 0);
    const uint8_t *f;
    uint32_t len;
    while (wpi_frame_next(&d, &f, &len) == WPI_FRAME_OK) {
      Wpool__V1__Request *r = wpool__v1__request__unpack(NULL, len, f);
      assert_non_null(r);
      assert_int_equal(r->id, (uint64_t)++got);
      wpool__v1__request__free_unpacked(r, NULL);
    }
  }
  assert_int_equal(got, 3);
  wpi_frame_decoder_free(&d);
}

/* Many frames in one read, bigger than the initial buffer. */
static void many_in_one_read(void **state) {
  (void)state;
  size_t cap = 1000 * 40;
  uint8_t *buf = malloc(cap);
  size_t n = 0;
  for (int i = 0; i < 1000; i++) n += encode_ping(buf + n, (uint64_t)i, "0123456789");
  wpi_frame_decoder_t d;
  wpi_frame_decoder_init(&d, 1024);
  assert_int_equal(wpi_frame_feed(&d, buf, n), 0);
  const uint8_t *f;
  uint32_t len;
  int got = 0;
  while (wpi_frame_next(&d, &f, &len) == WPI_FRAME_OK) got++;
  assert_int_equal(got, 1000);
  wpi_frame_decoder_free(&d);
  free(buf);
}

static void truncated_frame_is_pending(void **state) {
  (void)state;
  uint8_t buf[256];
  size_t n = encode_ping(buf, 7, "truncated");
  wpi_frame_decoder_t d;
  wpi_frame_decoder_init(&d, 1024);
  wpi_frame_feed(&d, buf, n - 3);
  const uint8_t *f;
  uint32_t len;
  assert_int_equal(wpi_frame_next(&d, &f, &len), WPI_FRAME_NEED);
  /* At EOF this is what tells "truncated" from "clean end". */
  assert_int_equal(wpi_frame_pending(&d), n - 3);
  wpi_frame_decoder_free(&d);
}

static void oversized_frame_is_an_error(void **state) {
  (void)state;
  wpi_frame_decoder_t d;
  wpi_frame_decoder_init(&d, 1024);
  uint8_t h[4];
  wpi_frame_put_header(h, 1025);
  wpi_frame_feed(&d, h, 4);
  const uint8_t *f;
  uint32_t len;
  assert_int_equal(wpi_frame_next(&d, &f, &len), WPI_FRAME_EOVERSIZE);
  /* Sticky: the stream cannot be resynchronised. */
  assert_int_equal(wpi_frame_next(&d, &f, &len), WPI_FRAME_EOVERSIZE);
  wpi_frame_decoder_free(&d);
}

static void exactly_max_is_accepted(void **state) {
  (void)state;
  wpi_frame_decoder_t d;
  wpi_frame_decoder_init(&d, 16);
  uint8_t buf[20] = {0};
  wpi_frame_put_header(buf, 16);
  wpi_frame_feed(&d, buf, sizeof buf);
  const uint8_t *f;
  uint32_t len;
  assert_int_equal(wpi_frame_next(&d, &f, &len), WPI_FRAME_OK);
  assert_int_equal(len, 16);
  wpi_frame_decoder_free(&d);
}

/* A well-framed payload that is not protobuf fails to decode. */
static void garbage_does_not_decode(void **state) {
  (void)state;
  const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0xff};
  assert_null(wpool__v1__request__unpack(NULL, sizeof junk, junk));
  assert_null(wpool__v1__reply__unpack(NULL, sizeof junk, junk));
  assert_null(wpool__v1__hello__unpack(NULL, sizeof junk, junk));
}

static void zero_length_frame(void **state) {
  (void)state;
  wpi_frame_decoder_t d;
  wpi_frame_decoder_init(&d, 16);
  uint8_t h[4] = {0};
  wpi_frame_feed(&d, h, 4);
  const uint8_t *f;
  uint32_t len = 99;
  assert_int_equal(wpi_frame_next(&d, &f, &len), WPI_FRAME_OK);
  assert_int_equal(len, 0);
  wpi_frame_decoder_free(&d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(header_is_big_endian),
      cmocka_unit_test(round_trip),
      cmocka_unit_test(split_across_reads),
      cmocka_unit_test(many_in_one_read),
      cmocka_unit_test(truncated_frame_is_pending),
      cmocka_unit_test(oversized_frame_is_an_error),
      cmocka_unit_test(exactly_max_is_accepted),
      cmocka_unit_test(garbage_does_not_decode),
      cmocka_unit_test(zero_length_frame),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
