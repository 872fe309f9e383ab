/* test_negotiate.c — protocol 3 is used only when both sides speak it:
 * the real C worker (<build>/wpool-worker) is started by hand, as the pool
 * starts it, with and without WPOOL_PROTOCOL in its environment, and
 * spoken to in the framing its Hello announced. A worker that got the
 * framing wrong would answer garbage or nothing (the reads are bounded, so
 * a hang fails the test). Whether the pool picks the framing by the Hello
 * is tests/pool's: every pool suite runs the C worker on protocol 3, and
 * bad_worker, which says 1, on protobuf envelopes. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "testutil.h"
#include "wire.h"

extern char **environ;

typedef struct child {
  pid_t pid;
  int in, out; /* its stdin (we write), its stdout (we read) */
  wpi_frame_decoder_t dec;
} child_t;

/* Starts the worker with environ minus any WPOOL_PROTOCOL, plus `offer`
 * (a "WPOOL_PROTOCOL=..." string) when not NULL. */
static void start(child_t *c, const char *offer) {
  char bin[512];
  snprintf(bin, sizeof bin, "%s/wpool-worker", tu_build());
  size_t n = 0;
  while (environ[n]) n++;
  char **env = calloc(n + 2, sizeof *env);
  assert_non_null(env);
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (strncmp(environ[i], WPI_PROTOCOL_ENV "=", sizeof WPI_PROTOCOL_ENV) != 0)
      env[k++] = environ[i];
  if (offer) env[k++] = (char *)offer;
  int to[2], from[2];
  assert_int_equal(pipe(to), 0);
  assert_int_equal(pipe(from), 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, to[0], 0);
  posix_spawn_file_actions_adddup2(&fa, from[1], 1);
  posix_spawn_file_actions_addclose(&fa, to[1]);
  posix_spawn_file_actions_addclose(&fa, from[0]);
  char *argv[] = {bin, NULL};
  assert_int_equal(posix_spawn(&c->pid, bin, &fa, NULL, argv, env), 0);
  posix_spawn_file_actions_destroy(&fa);
  free(env);
  close(to[0]);
  close(from[1]);
  c->in = to[1];
  c->out = from[0];
  wpi_frame_decoder_init(&c->dec, 1u << 20);
}

/* The next whole frame from the worker, waiting at most 5 s for it. */
static void next_frame(child_t *c, const uint8_t **f, uint32_t *len) {
  while (wpi_frame_next(&c->dec, f, len) != WPI_FRAME_OK) {
    struct pollfd p = {.fd = c->out, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 5000), 1);
    uint8_t buf[4096];
    ssize_t n = read(c->out, buf, sizeof buf);
    assert_true(n > 0);
    assert_int_equal(wpi_frame_feed(&c->dec, buf, (size_t)n), 0);
  }
}

static void send_frame(child_t *c, const uint8_t *body, size_t n) {
  uint8_t hdr[WPI_FRAME_HDR];
  wpi_frame_put_header(hdr, (uint32_t)n);
  assert_int_equal(write(c->in, hdr, sizeof hdr), (ssize_t)sizeof hdr);
  assert_int_equal(write(c->in, body, n), (ssize_t)n);
}

/* Closes its stdin (the supervisor is gone) and reaps it: it must exit 0. */
static void finish(child_t *c) {
  close(c->in);
  int st;
  assert_int_equal(waitpid(c->pid, &st, 0), c->pid);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  close(c->out);
  wpi_frame_decoder_free(&c->dec);
}

/* Starts the worker, reads its Hello: the version it announced. */
static uint32_t hello_version(child_t *c, const char *offer) {
  start(c, offer);
  const uint8_t *f;
  uint32_t len;
  next_frame(c, &f, &len);
  wpi_hello_t h;
  assert_int_equal(wpi_parse_hello(f, len, false, &h), WPI_OK);
  uint32_t v = h.version;
  wpi_hello_free(&h);
  return v;
}

/* A ping and a request with no kind, each in the framing of `compact`:
 * the echo comes back, and BAD_REQUEST for the second, ids matched. */
static void converse(child_t *c, bool compact) {
  wpi_request_t r = {.id = 41, .kind = WPI_REQ_PING, .payload = (const uint8_t *)"abc",
                     .payload_len = 3};
  wpi_request_enc_t e;
  uint8_t buf[64];
  size_t n = wpi_request_prepare(&e, &r, compact);
  wpi_request_pack(&e, buf);
  send_frame(c, buf, n);
  const uint8_t *f;
  uint32_t len;
  next_frame(c, &f, &len);
  wpi_reply_msg_t m;
  assert_int_equal(wpi_parse_reply(f, len, compact, &m), WPI_OK);
  assert_int_equal(m.id, 41);
  assert_int_equal(m.outcome, WPI_REPLY_OK);
  assert_int_equal(m.payload_len, 3);
  assert_memory_equal(m.payload, "abc", 3);
  wpi_reply_msg_free(&m);

  if (compact) {
    wpi_compact_put(buf, 77, 42); /* a tag that is no kind */
    n = WPI_COMPACT_HDR;
  } else {
    const uint8_t none[] = {0x08, 42}; /* Request{id: 42}, no kind */
    memcpy(buf, none, n = sizeof none);
  }
  send_frame(c, buf, n);
  next_frame(c, &f, &len);
  assert_int_equal(wpi_parse_reply(f, len, compact, &m), WPI_OK);
  assert_int_equal(m.id, 42);
  assert_int_equal(m.status, WPOOL__V1__STATUS__STATUS_BAD_REQUEST);
  assert_true(strlen(m.error) > 0);
  wpi_reply_msg_free(&m);
}

static void offered_3_speaks_compact(void **state) {
  (void)state;
  child_t c;
  assert_int_equal(hello_version(&c, WPI_PROTOCOL_ENV "=3"), WPI_PROTOCOL_COMPACT);
  converse(&c, true);
  finish(&c);
}

static void not_offered_speaks_protobuf(void **state) {
  (void)state;
  const char *offers[] = {NULL, WPI_PROTOCOL_ENV "=2", WPI_PROTOCOL_ENV "=junk"};
  for (size_t i = 0; i < sizeof offers / sizeof *offers; i++) {
    child_t c;
    assert_int_equal(hello_version(&c, offers[i]), 2);
    converse(&c, false);
    finish(&c);
  }
}

/* A compact frame shorter than its envelope is a protocol error: the
 * worker says so and exits 2, as for a garbage protobuf frame. */
static void short_compact_frame_ends_the_worker(void **state) {
  (void)state;
  child_t c;
  assert_int_equal(hello_version(&c, WPI_PROTOCOL_ENV "=3"), WPI_PROTOCOL_COMPACT);
  const uint8_t shortf[] = {2, 0, 0};
  send_frame(&c, shortf, sizeof shortf);
  int st;
  assert_int_equal(waitpid(c.pid, &st, 0), c.pid);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 2);
  close(c.in);
  close(c.out);
  wpi_frame_decoder_free(&c.dec);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(offered_3_speaks_compact),
      cmocka_unit_test(not_offered_speaks_protobuf),
      cmocka_unit_test(short_compact_frame_ends_the_worker),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
