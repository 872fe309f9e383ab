/* cli.c — the shared pool options of the wpool subcommands. */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cmdline.h"
#include "interrupt.h"
#include "load.h"

void cli_err(const char *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "wpool %s: ", cmd);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

void cli_pool_init(cli_pool_t *c) {
  memset(c, 0, sizeof *c);
  wp_options_init(&c->o);
  /* A worker that dies at start is then told with its last stderr line. */
  c->o.capture_stderr = 1;
}

void cli_pool_free(cli_pool_t *c) {
  wb_argv_free(c->argv);
  wb_argv_free(c->connect);
}

/* --connect A,B,C: attached workers instead of spawned ones (a pool of
 * both is refused: wpool.h). The command, stderr capture and spawning's
 * options do not apply. */
static int connect_opt(cli_pool_t *c, const char *cmd, const char *arg) {
  int n = wb_split_list(arg, ',', &c->connect);
  if (n < 0) return cli_err(cmd, "--connect: expected ADDR[,ADDR...], got '%s'", arg), -1;
  c->o.connect = (const char *const *)c->connect;
  c->o.nconnect = n;
  c->o.capture_stderr = 0;
  c->o.transport = WP_TRANSPORT_GRPC; /* what the calls travel on, in headers */
  if (c->o.size == 1) c->o.size = n;
  return 1;
}

int cli_pool_opt(cli_pool_t *c, const char *cmd, int opt, const char *arg) {
  uint64_t v;
  switch (opt) {
  case 'n':
    if (wb_parse_uint(arg, 1, 100000, &v)) goto bad;
    c->o.size = (int)v;
    return 1;
  case OPT_MODE:
    return wp_mode_parse(arg, &c->o.mode) ? (cli_err(cmd, "--mode must be concurrent or sequential"), -1) : 1;
  case OPT_TRANSPORT:
    return wp_transport_parse(arg, &c->o.transport) ? (cli_err(cmd, "--transport must be pipe or grpc"), -1) : 1;
  case OPT_LISTEN:
    if (strcmp(arg, "unix") == 0) c->o.grpc_tcp = 0;
    else if (strcmp(arg, "tcp") == 0) c->o.grpc_tcp = 1;
    else return cli_err(cmd, "--listen must be unix or tcp"), -1;
    return 1;
  case OPT_WORKER:
    wb_argv_free(c->argv);
    c->argv = NULL;
    if (wb_split_command(arg, &c->argv)) return cli_err(cmd, "--worker: cannot parse '%s'", arg), -1;
    c->o.argv = c->argv;
    return 1;
  case OPT_CPUS:
    wb_cpus_parse(arg, &c->cpus);
    if (c->cpus.n < 0) return cli_err(cmd, "--cpus: expected a list like 0 or 0-1, got '%s'", arg), -1;
    return 1;
  case OPT_MAX_INFLIGHT:
    if (wb_parse_uint(arg, 1, 100000, &v)) goto bad;
    c->o.max_inflight = (int)v;
    c->inflight_given = true;
    return 1;
  case OPT_TIMEOUT:
    if (wb_parse_duration(arg, &c->o.request_timeout_ns)) goto bad;
    return 1;
  case OPT_SPAWN:
    return wp_spawn_parse(arg, &c->o.spawn) ? (cli_err(cmd, "--spawn must be exec or zygote"), -1) : 1;
  case OPT_CONNECT:
    return connect_opt(c, cmd, arg);
  default:
    return 0;
  }
bad:
  cli_err(cmd, "bad value '%s'", arg);
  return -1;
}

/* A pool holds ~3 descriptors per worker (4 for gRPC): a large pool needs
 * more than the usual soft limit of 1024. Raise the soft limit to the hard
 * one, as Go does for every program; the pool itself fails a start that
 * still does not fit with WP_ENOFILES. */
static void raise_nofile(const wp_options_t *o) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  rlim_t need = (rlim_t)o->size * 4 + 64;
  if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need || rl.rlim_cur >= rl.rlim_max)
    return;
  rl.rlim_cur = rl.rlim_max;
  (void)setrlimit(RLIMIT_NOFILE, &rl);
}

void cli_pool_fit_inflight(cli_pool_t *c, int concurrency) {
  if (!c->inflight_given && concurrency > c->o.size)
    c->o.max_inflight = (concurrency + c->o.size - 1) / c->o.size;
}

int cli_pool_up(const cli_pool_t *c, const char *cmd, uv_loop_t *loop, wp_pool_t **p) {
  char why[768]; /* which worker failed the start, and how */
  int err = wb_pool_up_why(loop, &c->o, p, why, sizeof why);
  if (err)
    cli_err(cmd, "pool did not start: %s (%s)", why[0] ? why : wp_strerror(err),
            wp_errname(err));
  return err;
}

int cli_pool_apply(cli_pool_t *c, const char *cmd) {
  char name[64];
  snprintf(name, sizeof name, "wpool %s", cmd);
  wb_interrupt_name(name);
  raise_nofile(&c->o);
  if (c->cpus.n == 0) return 0;
  /* Workers inherit the supervisor's affinity at spawn. */
  if (wb_cpus_pin(&c->cpus) != 0) {
    cli_err(cmd, "--cpus: cannot pin to those CPUs");
    return -1;
  }
  return 0;
}
