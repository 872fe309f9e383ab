/*
 * floor_grpc.c — the gRPC transport's floor: unary calls of the worker's
 * method (WPI_GRPC_METHOD) with gRPC C core on ONE thread — a completion
 * queue driven by grpc_completion_queue_next, C calls in flight, each
 * completion starting the next — over one channel to one wpool-worker-grpc
 * on a unix socket. No libuv, no hand-off thread, no dispatch: what any C
 * client pays for the same call.
 *
 * The request is serialized once; each call wraps the same slice in a new
 * byte buffer (a send_message op consumes its buffer). The reply is not
 * parsed: status OK and a message are what is checked.
 */
#include <grpc/byte_buffer.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "floor.h"
#include "frame.h"
#include "grpc_client.h"
#include "wpool.h"

#define CALL_DEADLINE_S 30

typedef struct fcall {
  grpc_call *call;
  grpc_byte_buffer *send, *recv;
  grpc_metadata_array md_initial, md_trailing;
  grpc_status_code status;
  grpc_slice details;
  uint64_t sent;
} fcall_t;

struct fl_grpc {
  fl_child_t ch;
  char dir[64];          /* mkdtemp'd directory holding the socket */
  char sock[128];
  grpc_channel *chan;
  grpc_completion_queue *cq;
  void *method;
  grpc_slice req;
  fcall_t *calls;
  int ncalls;
};

static gpr_timespec deadline(void) {
  return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                      gpr_time_from_seconds(CALL_DEADLINE_S, GPR_TIMESPAN));
}

/* Spawns the worker listening on unix:dir/w.sock and waits for its Hello
 * frame (its body is not needed: we chose the address). */
static int start_worker(fl_grpc_t *g, const char *worker, char *why, size_t wl) {
  snprintf(g->dir, sizeof g->dir, "/tmp/wpool-floor-XXXXXX");
  if (!mkdtemp(g->dir)) return snprintf(why, wl, "mkdtemp failed"), -1;
  snprintf(g->sock, sizeof g->sock, "unix:%s/w.sock", g->dir);
  char *argv[] = {(char *)worker, "--transport", "grpc", "--listen", g->sock, NULL};
  if (fl_child_spawn(argv, &g->ch) != 0)
    return snprintf(why, wl, "cannot spawn %s", worker), -1;
  uint8_t hdr[WPI_FRAME_HDR], body[512];
  if (fl_read_full(g->ch.out, hdr, sizeof hdr, 10000) != 0)
    return snprintf(why, wl, "%s sent no Hello", worker), -1;
  uint32_t len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
  if (len > sizeof body || fl_read_full(g->ch.out, body, len, 10000) != 0)
    return snprintf(why, wl, "%s sent a bad Hello", worker), -1;
  return 0;
}

int fl_grpc_open(const char *worker, const void *req, size_t len,
                 fl_grpc_t **out, char *why, size_t whylen) {
  fl_grpc_t *g = calloc(1, sizeof *g);
  if (!g) return snprintf(why, whylen, "out of memory"), -1;
  g->ch.in = g->ch.out = -1;
  if (start_worker(g, worker, why, whylen) != 0) {
    fl_grpc_close(g);
    return -1;
  }
  grpc_init();
  grpc_channel_credentials *cr = grpc_insecure_credentials_create();
  g->chan = grpc_channel_create(g->sock, cr, NULL);
  grpc_channel_credentials_release(cr);
  g->cq = grpc_completion_queue_create_for_next(NULL);
  g->method = grpc_channel_register_call(g->chan, WPI_GRPC_METHOD, NULL, NULL);
  g->req = grpc_slice_from_copied_buffer(req, len);
  *out = g;
  return 0;
}

static void drain_and_destroy_cq(grpc_completion_queue *cq) {
  grpc_completion_queue_shutdown(cq);
  while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
         GRPC_QUEUE_SHUTDOWN) {
  }
  grpc_completion_queue_destroy(cq);
}

void fl_grpc_close(fl_grpc_t *g) {
  if (!g) return;
  if (g->chan) {
    grpc_channel_destroy(g->chan);
    drain_and_destroy_cq(g->cq);
    grpc_slice_unref(g->req);
    grpc_shutdown();
  }
  fl_child_end(&g->ch);
  if (g->dir[0]) {
    char path[128];
    snprintf(path, sizeof path, "%s/w.sock", g->dir);
    unlink(path);
    rmdir(g->dir);
  }
  free(g->calls);
  free(g);
}

/* Releases a finished call; whether it succeeded. */
static bool call_finish(fcall_t *fc, int success) {
  bool ok = success && fc->status == GRPC_STATUS_OK && fc->recv != NULL;
  if (fc->call) grpc_call_unref(fc->call);
  grpc_byte_buffer_destroy(fc->send);
  grpc_byte_buffer_destroy(fc->recv);
  grpc_metadata_array_destroy(&fc->md_initial);
  grpc_metadata_array_destroy(&fc->md_trailing);
  grpc_slice_unref(fc->details);
  fc->call = NULL;
  return ok;
}

static int call_start(fl_grpc_t *g, fcall_t *fc) {
  memset(fc, 0, sizeof *fc);
  grpc_metadata_array_init(&fc->md_initial);
  grpc_metadata_array_init(&fc->md_trailing);
  fc->details = grpc_empty_slice();
  fc->send = grpc_raw_byte_buffer_create(&g->req, 1);
  fc->call = grpc_channel_create_registered_call(
      g->chan, NULL, GRPC_PROPAGATE_DEFAULTS, g->cq, g->method, deadline(), NULL);
  grpc_op ops[6];
  memset(ops, 0, sizeof ops);
  /* The first calls may race the connection: wait instead of failing. */
  ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
  ops[0].flags = GRPC_INITIAL_METADATA_WAIT_FOR_READY;
  ops[1].op = GRPC_OP_SEND_MESSAGE;
  ops[1].data.send_message.send_message = fc->send;
  ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
  ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
  ops[3].data.recv_initial_metadata.recv_initial_metadata = &fc->md_initial;
  ops[4].op = GRPC_OP_RECV_MESSAGE;
  ops[4].data.recv_message.recv_message = &fc->recv;
  ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
  ops[5].data.recv_status_on_client.trailing_metadata = &fc->md_trailing;
  ops[5].data.recv_status_on_client.status = &fc->status;
  ops[5].data.recv_status_on_client.status_details = &fc->details;
  fc->sent = wp_now_ns();
  if (fc->call && grpc_call_start_batch(fc->call, ops, 6, fc, NULL) == GRPC_CALL_OK)
    return 0;
  call_finish(fc, 0);
  return -1;
}

static int alloc_calls(fl_grpc_t *g, int conc) {
  if (g->ncalls >= conc) return 0;
  free(g->calls);
  g->calls = calloc((size_t)conc, sizeof *g->calls);
  g->ncalls = g->calls ? conc : 0;
  return g->calls ? 0 : -1;
}

int fl_grpc_run(fl_grpc_t *g, const fl_load_t *l, wb_hist_t *lat, double *rps) {
  if (l->conc < 1 || alloc_calls(g, l->conc) != 0) return -1;
  uint64_t total = l->requests + l->warmup, issued = 0, answered = 0, inflight = 0;
  uint64_t t_start = l->warmup ? 0 : wp_now_ns();
  bool failed = false;
  for (int i = 0; i < l->conc && issued < total; i++, issued++, inflight++)
    if (call_start(g, &g->calls[i]) != 0) return -1; /* nothing in flight yet */
  while (inflight > 0) {
    grpc_event ev = grpc_completion_queue_next(g->cq, deadline(), NULL);
    if (ev.type != GRPC_OP_COMPLETE) return -1; /* a call hung past its deadline */
    uint64_t now = wp_now_ns();
    fcall_t *fc = ev.tag;
    inflight--;
    answered++;
    uint64_t sent = fc->sent;
    if (!call_finish(fc, ev.success)) failed = true;
    if (t_start) wb_hist_record(lat, now - sent);
    else if (answered >= l->warmup) t_start = now;
    if (!failed && issued < total) {
      if (call_start(g, fc) != 0) failed = true;
      else issued++, inflight++;
    }
  }
  double el = (double)(wp_now_ns() - t_start) / 1e9;
  *rps = el > 0 ? (double)l->requests / el : 0;
  return failed ? -1 : 0;
}
