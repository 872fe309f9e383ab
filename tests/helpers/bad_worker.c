/*
 * bad_worker.c — a pipe worker that misbehaves on purpose, for the
 * supervisor's failure tests. build/tests/bad_worker MODE [K]
 *
 *   exit-before-hello  exit 3 at once
 *   no-hello           never say anything, sleep until killed
 *   garbage-hello      write bytes that are not a Hello
 *   garbage            Hello, then answer the first request with garbage
 *   oversize           Hello, then answer with a header announcing 1 GiB
 *   wrong-id           Hello, then answer with an id nobody asked for
 *   hang               Hello, then read requests and never answer
 *   crash-after K      answer K requests, then abort()
 *   crash-loop         Hello, then exit 1 (every generation)
 *   ignore-eof         answer requests; on stdin EOF keep running (stop must kill)
 *   spawn-child        fork a sleeping grandchild, then serve normally
 *   first-exits PATH   the first worker to create PATH says Hello and exits 3;
 *                      the others say Hello 300 ms late, then serve
 *   print-before-hello write "Loading model...\n" on stdout, then Hello, serve
 *   crash-n PATH K     counts its starts in file PATH: the first K say Hello and
 *                      exit 1, later ones serve
 *   slow MS            serve, sleeping MS milliseconds before each reply
 *   stderr-exit        write two lines on stderr, exit 2 before any Hello
 *   v1                 serve as a protocol-1 worker: a Call is a request
 *                      without a kind to it (STATUS_BAD_REQUEST)
 * Every mode says protocol_version 1 in its Hello.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "wpool.pb-c.h"

static void write_all(const void *b, size_t n) {
  const char *p = b;
  while (n > 0) {
    ssize_t w = write(1, p, n);
    if (w <= 0) _exit(1);
    p += w;
    n -= (size_t)w;
  }
}

static void hello(void) {
  Wpool__V1__Hello h = WPOOL__V1__HELLO__INIT;
  h.pid = (uint32_t)getpid();
  h.protocol_version = 1;
  uint8_t buf[64];
  size_t n = wpool__v1__hello__pack(&h, buf + 4);
  wpi_frame_put_header(buf, (uint32_t)n);
  write_all(buf, 4 + n);
}

static void reply_status(uint64_t id, const ProtobufCBinaryData *payload,
                         Wpool__V1__Status status, const char *error) {
  Wpool__V1__Reply r = WPOOL__V1__REPLY__INIT;
  r.id = id;
  r.status = status;
  r.error = (char *)error;
  if (payload) r.payload = *payload;
  size_t n = wpool__v1__reply__get_packed_size(&r);
  uint8_t *buf = malloc(4 + n);
  wpi_frame_put_header(buf, (uint32_t)n);
  wpool__v1__reply__pack(&r, buf + 4);
  write_all(buf, 4 + n);
  free(buf);
}

static void reply(uint64_t id, const ProtobufCBinaryData *payload) {
  reply_status(id, payload, WPOOL__V1__STATUS__STATUS_OK, "");
}

/* Reads one request (blocking); NULL at EOF. */
static Wpool__V1__Request *next_request(wpi_frame_decoder_t *d) {
  for (;;) {
    const uint8_t *f;
    uint32_t len;
    if (wpi_frame_next(d, &f, &len) == WPI_FRAME_OK)
      return wpool__v1__request__unpack(NULL, len, f);
    uint8_t buf[65536];
    ssize_t n = read(0, buf, sizeof buf);
    if (n <= 0) return NULL;
    wpi_frame_feed(d, buf, (size_t)n);
  }
}

/* Adds one to the count kept in file path; returns the new count. */
static long bump_count(const char *path) {
  long n = 0;
  FILE *f = fopen(path, "r");
  if (f) {
    if (fscanf(f, "%ld", &n) != 1) n = 0;
    fclose(f);
  }
  f = fopen(path, "w");
  if (f) {
    fprintf(f, "%ld\n", ++n);
    fclose(f);
  }
  return n;
}

static const ProtobufCBinaryData *echo_of(const Wpool__V1__Request *r) {
  if (r->kind_case == WPOOL__V1__REQUEST__KIND_PING) return &r->ping->payload;
  if (r->kind_case == WPOOL__V1__REQUEST__KIND_WORK) return &r->work->payload;
  return NULL;
}

static long slow_ms; /* slow MS: sleep before each reply */

/* Serves normally; crash_after >= 0 aborts after that many replies. */
static int serve(long crash_after, int ignore_eof) {
  wpi_frame_decoder_t d;
  wpi_frame_decoder_init(&d, 1u << 24);
  long served = 0;
  Wpool__V1__Request *r;
  while ((r = next_request(&d)) != NULL) {
    if (crash_after >= 0 && served >= crash_after) abort();
    if (slow_ms) usleep((useconds_t)slow_ms * 1000);
    if (r->kind_case == WPOOL__V1__REQUEST__KIND_CALL) /* what version 1 did */
      reply_status(r->id, NULL, WPOOL__V1__STATUS__STATUS_BAD_REQUEST, "request has no kind");
    else
      reply(r->id, echo_of(r));
    wpool__v1__request__free_unpacked(r, NULL);
    served++;
  }
  wpi_frame_decoder_free(&d);
  while (ignore_eof) pause();
  return 0;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  signal(SIGPIPE, SIG_IGN);
  if (!strcmp(mode, "exit-before-hello")) return 3;
  if (!strcmp(mode, "stderr-exit")) {
    fprintf(stderr, "bad_worker: loading weights\n");
    fprintf(stderr, "bad_worker: no such file: model.bin\n");
    return 2;
  }
  if (!strcmp(mode, "no-hello")) {
    for (;;) pause();
  }
  if (!strcmp(mode, "garbage-hello")) {
    write_all("\0\0\0\x05\xff\xff\xff\xff\xff", 9);
    for (;;) pause();
  }
  if (!strcmp(mode, "first-exits")) {
    int fd = open(argc > 2 ? argv[2] : "", O_CREAT | O_EXCL | O_WRONLY, 0600);
    if (fd >= 0) {
      close(fd);
      hello();
      return 3;
    }
    usleep(300000);
    hello();
    return serve(-1, 0);
  }
  if (!strcmp(mode, "crash-n")) {
    hello();
    return bump_count(argc > 2 ? argv[2] : "") <= (argc > 3 ? atol(argv[3]) : 0)
               ? 1
               : serve(-1, 0);
  }
  if (!strcmp(mode, "print-before-hello")) {
    write_all("Loading model...\n", 17);
    hello();
    return serve(-1, 0);
  }
  hello();
  if (!strcmp(mode, "crash-loop")) return 1;
  if (!strcmp(mode, "crash-after")) return serve(argc > 2 ? atol(argv[2]) : 0, 0);
  if (!strcmp(mode, "slow")) {
    slow_ms = argc > 2 ? atol(argv[2]) : 0;
    return serve(-1, 0);
  }
  if (!strcmp(mode, "ignore-eof")) {
    signal(SIGTERM, SIG_IGN);
    return serve(-1, 1);
  }
  if (!strcmp(mode, "v1")) return serve(-1, 0);
  if (!strcmp(mode, "spawn-child")) {
    if (fork() == 0) {
      close(0);
      close(1);
      for (;;) pause();
    }
    return serve(-1, 0);
  }
  wpi_frame_decoder_t d;
  wpi_frame_decoder_init(&d, 1u << 24);
  Wpool__V1__Request *r = next_request(&d);
  if (!r) return 0;
  if (!strcmp(mode, "garbage")) write_all("\0\0\0\x04\xff\xff\xff\xff", 8);
  else if (!strcmp(mode, "oversize")) write_all("\x40\0\0\0", 4);
  else if (!strcmp(mode, "wrong-id")) reply(r->id + 1000, NULL);
  /* hang (and the rest): keep the request, answer nothing */
  for (;;) pause();
}
