/*
 * stall_worker.c — a pipe worker that echoes every request at once except
 * one: before answering its K-th request it sleeps MS milliseconds, once.
 * The open-loop tests use it to prove a stall shows in the percentiles.
 *
 *   build/tests/stall_worker K MS
 *
 * Exits 0 at stdin EOF (the supervisor is done with it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"
#include "wpool.pb-c.h"
#include "write_all.h"

/* Packs msg (a Hello or a Reply) into one frame and writes it. */
static int send_frame(const ProtobufCMessage *msg) {
  size_t n = protobuf_c_message_get_packed_size(msg);
  uint8_t *buf = malloc(WPI_FRAME_HDR + n);
  if (!buf) return -1;
  wpi_frame_put_header(buf, (uint32_t)n);
  protobuf_c_message_pack(msg, buf + WPI_FRAME_HDR);
  int rc = write_all(buf, WPI_FRAME_HDR + n);
  free(buf);
  return rc;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

/* Answers one request: its payload echoed (Ping or Work), same id. */
static int answer(const Wpool__V1__Request *r) {
  Wpool__V1__Reply rep = WPOOL__V1__REPLY__INIT;
  rep.id = r->id;
  if (r->kind_case == WPOOL__V1__REQUEST__KIND_PING) rep.payload = r->ping->payload;
  if (r->kind_case == WPOOL__V1__REQUEST__KIND_WORK) rep.payload = r->work->payload;
  return send_frame(&rep.base);
}

/* Handles every whole frame buffered; -1 on a write error or garbage. */
static int drain(wpi_frame_decoder_t *d, long stall_at, long ms, long *seen) {
  const uint8_t *f;
  uint32_t len;
  while (wpi_frame_next(d, &f, &len) == WPI_FRAME_OK) {
    Wpool__V1__Request *r = wpool__v1__request__unpack(NULL, len, f);
    if (!r) return -1;
    if (++*seen == stall_at) sleep_ms(ms);
    int rc = answer(r);
    wpool__v1__request__free_unpacked(r, NULL);
    if (rc) return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: stall_worker K MS\n");
    return 2;
  }
  long stall_at = atol(argv[1]), ms = atol(argv[2]), seen = 0;
  Wpool__V1__Hello h = WPOOL__V1__HELLO__INIT;
  h.pid = (uint32_t)getpid();
  h.protocol_version = 1;
  if (send_frame(&h.base)) return 1;
  wpi_frame_decoder_t d;
  wpi_frame_decoder_init(&d, 1u << 24);
  uint8_t buf[65536];
  ssize_t n;
  int rc = 0;
  while (rc == 0 && (n = read(STDIN_FILENO, buf, sizeof buf)) > 0) {
    wpi_frame_feed(&d, buf, (size_t)n);
    rc = drain(&d, stall_at, ms, &seen);
  }
  wpi_frame_decoder_free(&d);
  return rc ? 1 : 0;
}
