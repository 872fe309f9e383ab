/*
 * grpc.c — the worker's gRPC transport: serves wpool.v1.Worker/Call on a
 * unix socket or loopback TCP with the gRPC C core API.
 *
 * One thread owns the server's completion queue and answers every call
 * inline with wk_handle(), exactly like the pipe transport: a worker does
 * one job at a time, and the supervisor pipelines calls to hide the round
 * trip. A Work stops between slices once its call's deadline has passed
 * (the client has cancelled it): an abandoned call must not hold up the
 * ones queued behind it. NSLOTS registered-call requests stay armed, so up to NSLOTS calls
 * are accepted at once without waiting for a re-arm; one generic request
 * answers unknown methods with UNIMPLEMENTED instead of leaving them hanging.
 *
 * It also serves the standard health check (grpc.health.v1.Health/Check):
 * SERVING until the shutdown begins, NOT_SERVING after; a pool asks it
 * before it sends an attached worker any request.
 *
 * A second thread only reads stdin: at EOF (the supervisor is gone or done
 * with us) it starts the server's shutdown. A --standalone worker (started
 * by systemd or Kubernetes) has no supervisor on stdin and writes no Hello:
 * SIGTERM or SIGINT start the same graceful shutdown (drain, then exit 0). gRPC core calls are
 * thread-safe; the one race — the main thread destroying the server while
 * the stdin thread is still inside shutdown — is closed by shut_mu.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>

#include "health.h"
#include "wire.h"
#include "worker.h"

#define NSLOTS 32
#define NHEALTH 2             /* armed health checks: they are rare */
#define UNIX_PREFIX "unix:"

typedef enum { TAG_RPC, TAG_HEALTH, TAG_GENERIC, TAG_SHUTDOWN } tag_kind_t;

/* One armed request; its address is the tag of every event about it. */
typedef struct slot {
  tag_kind_t kind;
  int replying;                /* 0: request armed, 1: reply batch started */
  int cancelled;               /* RECV_CLOSE_ON_SERVER output */
  int shutdown_after;          /* a Shutdown request: stop once replied */
  grpc_call *call;
  gpr_timespec deadline;
  grpc_call_details details;   /* generic slot only */
  grpc_metadata_array md;
  grpc_byte_buffer *req, *rep;
} slot_t;

typedef struct server {
  const wk_config_t *cfg;
  grpc_server *srv;
  grpc_completion_queue *cq;
  void *method;
  void *health_method;
  slot_t slots[NSLOTS];
  slot_t health[NHEALTH];
  slot_t generic;
  tag_kind_t shutdown_tag;
  atomic_int shutting_down;    /* set once, by whoever starts the shutdown */
  pthread_mutex_t shut_mu;     /* held across shutdown_and_notify+cancel */
  int shutdown_done;
  char listen[256];            /* what we bind */
  char bound[280];             /* what the Hello announces */
  const char *sock_path;       /* unix socket to unlink on exit, or NULL */
} server_t;

static server_t g_server = {.shut_mu = PTHREAD_MUTEX_INITIALIZER};

/* SIGTERM/SIGINT in a standalone worker: the serving loop sees it within
 * its 100 ms wake-up and starts the graceful shutdown (a handler may not
 * call gRPC). */
static volatile sig_atomic_t g_stop_signal;
static void on_stop_signal(int sig) { g_stop_signal = sig; }

/* How long calls already accepted may take to finish once shutdown began,
 * before they are cancelled. The supervisor's stop grace (SIGTERM, then
 * SIGKILL) bounds it from the outside too. */
#define SHUTDOWN_GRACE_MS 2000

/* Starts an orderly shutdown once, from any thread: no new calls; the
 * in-progress ones finish (graceful) or are cancelled at once; the
 * shutdown tag is posted when all are gone. Graceful is what stdin EOF
 * asks for: the supervisor is stopping and still wants in-flight replies. */
static void begin_shutdown(server_t *s, int graceful) {
  if (atomic_exchange(&s->shutting_down, 1)) return;
  pthread_mutex_lock(&s->shut_mu);
  grpc_server_shutdown_and_notify(s->srv, s->cq, &s->shutdown_tag);
  if (!graceful) grpc_server_cancel_all_calls(s->srv);
  pthread_mutex_unlock(&s->shut_mu);
}

/* The grace is over: whatever is still running is cancelled. */
static void cancel_remaining(server_t *s) {
  pthread_mutex_lock(&s->shut_mu);
  grpc_server_cancel_all_calls(s->srv);
  pthread_mutex_unlock(&s->shut_mu);
}

static void dispatch(server_t *s, grpc_event ev);

/* Runs the completion queue until the shutdown tag: forever while
 * serving, then at most SHUTDOWN_GRACE_MS more before cancelling. */
static void serve_until_shutdown(server_t *s) {
  gpr_timespec cancel_at = gpr_inf_future(GPR_CLOCK_MONOTONIC);
  int cancelled = 0;
  while (!s->shutdown_done) {
    if (atomic_load(&s->shutting_down) && !cancelled &&
        gpr_time_cmp(cancel_at, gpr_inf_future(GPR_CLOCK_MONOTONIC)) == 0)
      cancel_at = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                               gpr_time_from_millis(SHUTDOWN_GRACE_MS, GPR_TIMESPAN));
    /* Wake up at least every 100 ms so a shutdown begun on the stdin
     * thread starts its grace clock promptly. */
    gpr_timespec wake = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                     gpr_time_from_millis(100, GPR_TIMESPAN));
    grpc_event ev = grpc_completion_queue_next(s->cq, wake, NULL);
    if (g_stop_signal) begin_shutdown(s, 1);
    if (ev.type != GRPC_QUEUE_TIMEOUT) dispatch(s, ev);
    if (!cancelled && gpr_time_cmp(gpr_now(GPR_CLOCK_MONOTONIC), cancel_at) >= 0) {
      cancel_remaining(s);
      cancelled = 1;
    }
  }
}

static void *stdin_watch(void *arg) {
  char buf[4096];
  for (;;) {
    ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
    if (n == 0 || (n < 0 && errno != EINTR)) break;
  }
  begin_shutdown(arg, 1);
  return NULL;
}

/* Releases everything a finished (or never matched) call holds. */
static void slot_reset(slot_t *sl) {
  if (sl->call) grpc_call_unref(sl->call);
  sl->call = NULL;
  grpc_byte_buffer_destroy(sl->req);
  grpc_byte_buffer_destroy(sl->rep);
  sl->req = sl->rep = NULL;
  grpc_metadata_array_destroy(&sl->md);
  grpc_metadata_array_init(&sl->md);
  if (sl->kind == TAG_GENERIC) {
    grpc_call_details_destroy(&sl->details);
    grpc_call_details_init(&sl->details);
  }
  sl->replying = sl->cancelled = sl->shutdown_after = 0;
}

static void slot_arm(server_t *s, slot_t *sl) {
  grpc_call_error e;
  if (sl->kind == TAG_GENERIC)
    e = grpc_server_request_call(s->srv, &sl->call, &sl->details, &sl->md,
                                 s->cq, s->cq, sl);
  else
    e = grpc_server_request_registered_call(s->srv,
                                            sl->kind == TAG_HEALTH ? s->health_method
                                                                   : s->method,
                                            &sl->call,
                                            &sl->deadline, &sl->md, &sl->req,
                                            s->cq, s->cq, sl);
  if (e != GRPC_CALL_OK)
    fprintf(stderr, "wpool-worker[%d]: cannot arm a gRPC request (%d)\n",
            (int)getpid(), (int)e);
}

/* Frees a slot's call and re-arms it unless the server is going away; a
 * Shutdown request starts the shutdown here, once its reply went out. */
static void slot_finish(server_t *s, slot_t *sl, int rearm) {
  int stop = sl->shutdown_after;
  slot_reset(sl);
  if (stop) begin_shutdown(s, 1);
  if (rearm && !atomic_load(&s->shutting_down)) slot_arm(s, sl);
}

/* Copies the request into one contiguous slice (usually just a ref). */
static Wpool__V1__Request *unpack_request(grpc_byte_buffer *bb) {
  grpc_byte_buffer_reader rd;
  if (!bb || !grpc_byte_buffer_reader_init(&rd, bb)) return NULL;
  grpc_slice all = grpc_byte_buffer_reader_readall(&rd);
  grpc_byte_buffer_reader_destroy(&rd);
  Wpool__V1__Request *req =
      wpi_request_decode(GRPC_SLICE_START_PTR(all), GRPC_SLICE_LENGTH(all));
  grpc_slice_unref(all);
  return req;
}

/* The call's deadline (as the client sent it) has passed. */
static int deadline_passed(void *arg) {
  const slot_t *sl = arg;
  gpr_timespec now = gpr_now(sl->deadline.clock_type);
  return gpr_time_cmp(now, sl->deadline) >= 0;
}

/* Runs the request and packs its Reply straight into a grpc slice.
 * Returns the gRPC status to send: OK, INVALID_ARGUMENT for bytes that
 * are not a Request, or DEADLINE_EXCEEDED with no message for a Work
 * stopped at its deadline -- the client's own deadline may not have fired
 * yet on a busy host, and a reply would then read as a success. */
static grpc_status_code build_reply(server_t *s, slot_t *sl) {
  Wpool__V1__Request *req = unpack_request(sl->req);
  if (!req) return GRPC_STATUS_INVALID_ARGUMENT;
  wk_result_t res;
  wk_handle_until(s->cfg, req, &res, deadline_passed, sl);
  if (res.cancelled) {
    wpi_request_free(req);
    return GRPC_STATUS_DEADLINE_EXCEEDED;
  }
  size_t n = wpi_reply_size(&res.reply);
  grpc_slice out = grpc_slice_malloc(n);
  wpi_reply_pack(&res.reply, GRPC_SLICE_START_PTR(out));
  sl->rep = grpc_raw_byte_buffer_create(&out, 1);
  grpc_slice_unref(out); /* the byte buffer took its own ref */
  sl->shutdown_after = res.shutdown;
  wpi_request_free(req);
  return GRPC_STATUS_OK;
}

/* Health/Check: the whole server ("") and the Worker service serve until
 * the shutdown begins; any other service name is NOT_FOUND, as the
 * protocol says. */
static grpc_status_code build_health(server_t *s, slot_t *sl) {
  grpc_byte_buffer_reader rd;
  if (!sl->req || !grpc_byte_buffer_reader_init(&rd, sl->req))
    return GRPC_STATUS_INVALID_ARGUMENT;
  grpc_slice all = grpc_byte_buffer_reader_readall(&rd);
  grpc_byte_buffer_reader_destroy(&rd);
  char service[128];
  int rc = wpi_health_service(GRPC_SLICE_START_PTR(all), GRPC_SLICE_LENGTH(all),
                              service, sizeof service);
  grpc_slice_unref(all);
  if (rc) return GRPC_STATUS_INVALID_ARGUMENT;
  if (service[0] && strcmp(service, "wpool.v1.Worker") != 0) return GRPC_STATUS_NOT_FOUND;
  int st = atomic_load(&s->shutting_down) ? WPI_HEALTH_NOT_SERVING : WPI_HEALTH_SERVING;
  uint8_t buf[16];
  size_t n = wpi_health_response_pack(st, buf, sizeof buf);
  grpc_slice out = grpc_slice_from_copied_buffer((const char *)buf, n);
  sl->rep = grpc_raw_byte_buffer_create(&out, 1);
  grpc_slice_unref(out);
  return GRPC_STATUS_OK;
}

/* Answers a matched call: the reply (or a bare status) plus the close, in
 * one batch. */
static void start_reply(server_t *s, slot_t *sl) {
  grpc_status_code st = GRPC_STATUS_UNIMPLEMENTED;
  if (sl->kind == TAG_RPC) st = build_reply(s, sl);
  else if (sl->kind == TAG_HEALTH) st = build_health(s, sl);
  grpc_op ops[4];
  memset(ops, 0, sizeof ops);
  size_t n = 0;
  ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
  if (sl->rep) {
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n++].data.send_message.send_message = sl->rep;
  }
  ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
  ops[n++].data.send_status_from_server.status = st;
  ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
  ops[n++].data.recv_close_on_server.cancelled = &sl->cancelled;
  sl->replying = 1;
  if (grpc_call_start_batch(sl->call, ops, n, sl, NULL) != GRPC_CALL_OK) {
    /* Nothing was started: finish the slot as if the batch had ended. */
    slot_finish(s, sl, 1);
  }
}

/* One event about a slot: a matched request (or its failure because the
 * server is shutting down), or the end of a reply batch. */
static void on_slot_event(server_t *s, slot_t *sl, int ok) {
  if (!sl->replying && ok && !atomic_load(&s->shutting_down)) {
    start_reply(s, sl);
    return;
  }
  /* A failed request means the server is going away: do not re-arm. */
  slot_finish(s, sl, ok);
}

static void dispatch(server_t *s, grpc_event ev) {
  if (ev.type != GRPC_OP_COMPLETE) return;
  tag_kind_t *kind = ev.tag;
  if (*kind == TAG_SHUTDOWN) s->shutdown_done = 1;
  else on_slot_event(s, (slot_t *)ev.tag, ev.success);
}

/* Unlinks a stale socket left by an earlier worker; never a regular file. */
static void unlink_socket(const char *path) {
  struct stat st;
  if (path && lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) unlink(path);
}

/* Fills s->listen (the default unix socket when cfg->listen is NULL) and
 * s->sock_path. "tcp:HOST:PORT" is taken for HOST:PORT (gRPC's own form). */
static int pick_listen(server_t *s) {
  const char *l = s->cfg->listen;
  if (l && strncmp(l, "tcp:", 4) == 0) l += 4;
  int n = l ? snprintf(s->listen, sizeof s->listen, "%s", l)
            : snprintf(s->listen, sizeof s->listen,
                       UNIX_PREFIX "/tmp/wpool-worker-%d.sock", (int)getpid());
  if (n < 0 || (size_t)n >= sizeof s->listen) return -1;
  if (strncmp(s->listen, UNIX_PREFIX, strlen(UNIX_PREFIX)) == 0)
    s->sock_path = s->listen + strlen(UNIX_PREFIX);
  return 0;
}

/* The address the supervisor must dial: the unix path as given, or the
 * TCP host with the port the kernel actually bound (for ":0"). */
static void make_bound(server_t *s, int port) {
  if (s->sock_path) {
    snprintf(s->bound, sizeof s->bound, "%s", s->listen);
    return;
  }
  const char *colon = strrchr(s->listen, ':');
  int host_len = colon ? (int)(colon - s->listen) : (int)strlen(s->listen);
  snprintf(s->bound, sizeof s->bound, "%.*s:%d", host_len, s->listen, port);
}

/* Channel args, why each: the largest request; and keepalive pings from
 * the pool every second (it finds a dead link by them, see
 * grpc_client.c) must not count as abuse: gRPC's defaults answer pings
 * more often than every 5 minutes with GOAWAY. */
static int server_start(server_t *s) {
  grpc_arg args[4];
  memset(args, 0, sizeof args);
  for (int i = 0; i < 4; i++) args[i].type = GRPC_ARG_INTEGER;
  args[0].key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
  args[0].value.integer = s->cfg->max_frame > INT32_MAX ? INT32_MAX : (int)s->cfg->max_frame;
  args[1].key = GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS;
  args[1].value.integer = 200;
  args[2].key = GRPC_ARG_HTTP2_MAX_PING_STRIKES;
  args[2].value.integer = 0; /* unlimited */
  args[3].key = GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS;
  args[3].value.integer = 1;
  grpc_channel_args cargs = {4, args};
  s->cq = grpc_completion_queue_create_for_next(NULL);
  s->srv = grpc_server_create(&cargs, NULL);
  grpc_server_register_completion_queue(s->srv, s->cq, NULL);
  s->method = grpc_server_register_method(
      s->srv, WPI_GRPC_METHOD, NULL, GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
  s->health_method = grpc_server_register_method(
      s->srv, WPI_HEALTH_CHECK_METHOD, NULL, GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
  if (!s->method || !s->health_method) return -1;
  unlink_socket(s->sock_path);
  grpc_server_credentials *creds = grpc_insecure_server_credentials_create();
  int port = grpc_server_add_http2_port(s->srv, s->listen, creds);
  grpc_server_credentials_release(creds);
  if (port <= 0) return -1;
  make_bound(s, port);
  grpc_server_start(s->srv);
  return 0;
}

static void arm_all(server_t *s) {
  for (int i = 0; i < NSLOTS; i++) {
    s->slots[i].kind = TAG_RPC;
    grpc_metadata_array_init(&s->slots[i].md);
    slot_arm(s, &s->slots[i]);
  }
  for (int i = 0; i < NHEALTH; i++) {
    s->health[i].kind = TAG_HEALTH;
    grpc_metadata_array_init(&s->health[i].md);
    slot_arm(s, &s->health[i]);
  }
  s->generic.kind = TAG_GENERIC;
  grpc_metadata_array_init(&s->generic.md);
  grpc_call_details_init(&s->generic.details);
  slot_arm(s, &s->generic);
}

/* Destroys the server once its shutdown tag arrived, then drains the
 * queue so every call still held is unreffed before grpc_shutdown. */
static void server_teardown(server_t *s) {
  if (s->srv) {
    pthread_mutex_lock(&s->shut_mu); /* the stdin thread is out of shutdown */
    pthread_mutex_unlock(&s->shut_mu);
    grpc_server_destroy(s->srv);
  }
  grpc_completion_queue_shutdown(s->cq);
  grpc_event ev;
  do {
    ev = grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    dispatch(s, ev);
  } while (ev.type != GRPC_QUEUE_SHUTDOWN);
  grpc_completion_queue_destroy(s->cq);
  grpc_shutdown();
  unlink_socket(s->sock_path);
}

/* Started by systemd or Kubernetes: says where it serves (on stderr: no
 * Hello, nobody reads stdout), serves until SIGTERM or SIGINT, drains the
 * calls it holds (SHUTDOWN_GRACE_MS at most) and exits 0. */
static int serve_standalone(server_t *s) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  fprintf(stderr, "%s[%d]: serving on %s (standalone)\n", s->cfg->prog, (int)getpid(),
          s->bound);
  serve_until_shutdown(s);
  server_teardown(s);
  if (g_stop_signal)
    fprintf(stderr, "%s[%d]: %s: drained, exiting\n", s->cfg->prog, (int)getpid(),
            strsignal(g_stop_signal));
  return 0;
}

int wk_grpc_serve(const wk_config_t *cfg) {
  server_t *s = &g_server;
  s->cfg = cfg;
  s->shutdown_tag = TAG_SHUTDOWN;
  if (pick_listen(s) != 0) {
    fprintf(stderr, "%s: --listen address too long\n", cfg->prog);
    return 2;
  }
  grpc_init();
  if (server_start(s) != 0) {
    fprintf(stderr, "%s[%d]: cannot listen on %s\n", cfg->prog, (int)getpid(), s->listen);
    server_teardown(s); /* never started: no shutdown needed */
    return 1;
  }
  arm_all(s);
  if (cfg->standalone) return serve_standalone(s);
  int code = 0;
  pthread_t th;
  if (wk_write_hello(STDOUT_FILENO, cfg->transport, s->bound, WPI_PROTOCOL_PROTOBUF) != 0) {
    if (errno != EPIPE) code = 1; /* EPIPE: the supervisor already left */
    begin_shutdown(s, 0);
  } else if (pthread_create(&th, NULL, stdin_watch, s) != 0) {
    code = 1;
    begin_shutdown(s, 0);
  } else {
    pthread_detach(th); /* it may stay blocked in read(0) until we exit */
  }
  serve_until_shutdown(s);
  server_teardown(s);
  return code;
}
