/*
 * wpw.c — the C worker SDK's front (see wpw.h): the method registry, a
 * method's reply and error, the worker flags, and wpw_run.
 *
 * One worker process serves one request at a time, so the registry and the
 * one call context are plain globals, like the transports' server state.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"
#include "worker.h"
#include "wpw.h"
#include "zygote.h"

#define WPW_METHOD_MAX 255
#define DEFAULT_MAX_FRAME (16u * 1024u * 1024u)

/* Fixed tables, no malloc: every worker start runs this before its Hello,
 * and a first malloc (the arena's set-up) is a measurable part of a C
 * worker's exec → Hello. */
#define WPW_MAX_METHODS 64

typedef struct method {
  char name[WPW_METHOD_MAX + 1];
  wpw_method_fn fn;
  void *arg;
} method_t;

static method_t methods[WPW_MAX_METHODS];
static size_t nmethods;
static const char *names[WPW_MAX_METHODS]; /* for the Hello, in order */

struct wpw_ctx {
  const char *method;
  uint8_t *buf;            /* the result; grows to the largest one */
  size_t cap, len;
  char error[1024];
  int failed;
};

static wpw_ctx_t ctx;
static uint32_t max_frame = DEFAULT_MAX_FRAME; /* --max-frame: our replies fit it */

static method_t *find(const char *name) {
  for (size_t i = 0; i < nmethods; i++)
    if (strcmp(methods[i].name, name) == 0) return &methods[i];
  return NULL;
}

int wpw_method(const char *name, wpw_method_fn fn, void *arg) {
  size_t n = name ? strnlen(name, WPW_METHOD_MAX + 1) : 0;
  if (!fn || n == 0 || n > WPW_METHOD_MAX || find(name) || nmethods == WPW_MAX_METHODS)
    return -1;
  method_t *m = &methods[nmethods];
  memcpy(m->name, name, n + 1);
  m->fn = fn;
  m->arg = arg;
  names[nmethods++] = m->name;
  return 0;
}

const char *const *wk_method_names(size_t *n) {
  *n = nmethods;
  return names;
}

uint8_t *wpw_reply_buf(wpw_ctx_t *c, size_t len) {
  if (len > c->cap) {
    uint8_t *p = realloc(c->buf, len);
    if (!p) return NULL;
    c->buf = p;
    c->cap = len;
  }
  c->len = len;
  return c->buf ? c->buf : (uint8_t *)"";
}

int wpw_reply(wpw_ctx_t *c, const void *data, size_t len) {
  uint8_t *p = wpw_reply_buf(c, len);
  if (!p) return -1;
  if (len) memmove(p, data, len); /* data may be inside the last result */
  return 0;
}

int wpw_fail(wpw_ctx_t *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->error, sizeof c->error, fmt, ap);
  va_end(ap);
  c->failed = 1;
  return -1;
}

const char *wpw_method_name(const wpw_ctx_t *c) { return c->method; }

/* "a, b, c" into buf, cut short to fit. */
static void list_methods(char *buf, size_t cap) {
  size_t off = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < nmethods && off < cap; i++) {
    int n = snprintf(buf + off, cap - off, "%s%s", i ? ", " : "", methods[i].name);
    if (n < 0) break;
    off += (size_t)n;
  }
  if (nmethods == 0) snprintf(buf, cap, "(none)");
}

void wk_call(const Wpool__V1__Call *call, bool compact, Wpool__V1__Reply *reply) {
  method_t *m = find(call->method ? call->method : "");
  if (!m) {
    char have[512];
    list_methods(have, sizeof have);
    snprintf(ctx.error, sizeof ctx.error, "unknown method '%.255s'; this worker has: %s",
             call->method ? call->method : "", have);
    reply->status = WPOOL__V1__STATUS__STATUS_UNKNOWN_METHOD;
    reply->error = ctx.error;
    return;
  }
  ctx.method = m->name;
  ctx.len = 0;
  ctx.failed = 0;
  ctx.error[0] = '\0';
  int rc = m->fn(&ctx, call->payload.data, call->payload.len, m->arg);
  if (rc != 0 || ctx.failed) {
    if (!ctx.error[0]) snprintf(ctx.error, sizeof ctx.error, "method '%s' failed", m->name);
    reply->status = WPOOL__V1__STATUS__STATUS_WORKER_ERROR;
    reply->error = ctx.error;
    return;
  }
  reply->payload.data = ctx.len ? ctx.buf : NULL;
  reply->payload.len = ctx.len;
  /* A frame over the limit would be the supervisor's protocol error, and
   * the end of this worker: the method's error, as the Python SDK says. */
  size_t n = wpi_reply_encoded_size(reply, compact);
  if (n > max_frame) {
    snprintf(ctx.error, sizeof ctx.error, "method '%s': reply of %zu bytes is over --max-frame %u",
             m->name, n, (unsigned)max_frame);
    reply->payload.data = NULL;
    reply->payload.len = 0;
    reply->status = WPOOL__V1__STATUS__STATUS_WORKER_ERROR;
    reply->error = ctx.error;
  }
}

/* ---- flags and the main loop -------------------------------------------- */

static const char *prog_name(const char *argv0) {
  const char *slash = argv0 ? strrchr(argv0, '/') : NULL;
  return slash ? slash + 1 : argv0 ? argv0 : "wpool-worker";
}

static void usage(FILE *f, const char *prog) {
  fprintf(f,
          "usage: %s [--transport pipe|grpc] [--listen ADDR]\n"
          "       %*s [--delay-us N] [--max-frame BYTES] [--standalone]\n"
          "  --transport    pipe (frames on stdin/stdout, default) or grpc\n"
          "  --listen       gRPC address: unix:PATH or 127.0.0.1:PORT (0 = any);\n"
          "                 or tcp:HOST:PORT; default unix:/tmp/wpool-worker-<pid>.sock\n"
          "  --standalone   gRPC worker started by systemd/Kubernetes, not by a pool:\n"
          "                 no Hello, stdin and parent not watched; SIGTERM drains, exits 0\n"
          "  --delay-us N   add N microseconds of busy time to every reply (test knob)\n"
          "  --max-frame B  largest frame accepted (default 16 MiB)\n",
          prog, (int)strlen(prog), "");
}

static int parse_u32(const char *s, uint32_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *s == '\0' || *end != '\0' || v > UINT32_MAX) return -1;
  *out = (uint32_t)v;
  return 0;
}

/* 0 to serve, else the exit code + 1 (so --help's 0 is told apart). */
static int parse_flags(int argc, char **argv, wk_config_t *cfg) {
  const char *prog = prog_name(argv[0]);
  static const struct option opts[] = {
      {"transport", required_argument, 0, 't'},
      {"listen", required_argument, 0, 'l'},
      {"delay-us", required_argument, 0, 'd'},
      {"max-frame", required_argument, 0, 'm'},
      {"standalone", no_argument, 0, 's'},
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case 't':
      if (strcmp(optarg, "pipe") == 0) cfg->transport = WPOOL__V1__TRANSPORT__TRANSPORT_PIPE;
      else if (strcmp(optarg, "grpc") == 0) cfg->transport = WPOOL__V1__TRANSPORT__TRANSPORT_GRPC;
      else { fprintf(stderr, "%s: unknown transport '%s'\n", prog, optarg); return 3; }
      break;
    case 'l': cfg->listen = optarg; break;
    case 'd':
      if (parse_u32(optarg, &cfg->delay_us)) { fprintf(stderr, "%s: bad --delay-us\n", prog); return 3; }
      break;
    case 'm':
      if (parse_u32(optarg, &cfg->max_frame) || cfg->max_frame == 0) { fprintf(stderr, "%s: bad --max-frame\n", prog); return 3; }
      break;
    case 's': cfg->standalone = 1; break;
    case 'h': usage(stdout, prog); return 1;
    default: usage(stderr, prog); return 3;
    }
  }
  if (optind != argc) { usage(stderr, prog); return 3; }
  if (cfg->standalone && cfg->transport != WPOOL__V1__TRANSPORT__TRANSPORT_GRPC) {
    fprintf(stderr, "%s: --standalone needs --transport grpc\n", prog);
    return 3;
  }
  return 0;
}

/* The template's loop (worker/zygote.c); in each forked child, the
 * command's flags plus the pool's per-worker ones into cfg. 0 to serve,
 * else the exit code + 1. */
static int zygote_child(int argc, char **argv, int sock, wk_config_t *cfg) {
  static char args[WPI_ZYG_ARGS_MAX];
  static char *av[64];
  size_t nargs = 0;
  int code;
  if (!wk_zygote_run(sock, &code, args, &nargs)) return code + 1;
  int n = 0;
  for (int i = 0; i < argc && n < 48; i++) av[n++] = argv[i];
  for (size_t off = 0; off < nargs && n < 63; off += strlen(args + off) + 1)
    av[n++] = args + off;
  av[n] = NULL;
  optind = 0; /* getopt again, from the start */
  return parse_flags(n, av, cfg);
}

int wpw_run(int argc, char **argv) {
  wk_config_t cfg = {.transport = WPOOL__V1__TRANSPORT__TRANSPORT_PIPE,
                     .max_frame = DEFAULT_MAX_FRAME};
  int rc = parse_flags(argc, argv, &cfg);
  if (rc) return rc - 1;
  cfg.prog = prog_name(argv[0]);
  max_frame = cfg.max_frame;
  /* A standalone worker's parent is a shell or systemd, not a pool. */
  if (!cfg.standalone) wk_die_with_parent();
  /* A supervisor that vanished must not kill us with SIGPIPE mid-write:
   * we see EPIPE and exit 0 instead. */
  signal(SIGPIPE, SIG_IGN);
  /* Started as the pool's zygote template: everything above ran once;
   * each child returns here and serves as an exec'd worker would. */
  const char *zyg = getenv(WPI_ZYG_ENV);
  if (zyg && *zyg) {
    rc = zygote_child(argc, argv, atoi(zyg), &cfg);
    if (rc) return rc - 1;
  }
  if (cfg.transport == WPOOL__V1__TRANSPORT__TRANSPORT_GRPC) return wk_grpc_serve(&cfg);
  return wk_pipe_serve(&cfg);
}
