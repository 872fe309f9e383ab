/*
 * cmd_start.c — `wpool start`: start a pool, print every worker's startup
 * timeline (spawn asked → process started → ready), the time until the
 * first and until all were ready, ping each worker once, stop.
 * --no-ping and --start-timeout serve bench/baseline's instruction counts
 * (scn_instructions.c): a start with nothing else in it, under valgrind,
 * where a worker takes ~50x its usual time to its Hello.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmdline.h"
#include "interrupt.h"
#include "load.h"
#include "run.h"

static const char *CMD = "start";

/* Methods shown per worker; a longer list is cut with its count. */
#define SHOW_METHODS 64

static void usage(FILE *f) {
  fprintf(f,
          "usage: wpool start -n N [options]\n"
          "Starts N workers, prints each one's timeline (ms since start), pings\n"
          "every worker once and stops the pool.\n" CLI_POOL_HELP
          "      --hold DUR         keep the started pool up this long before stopping\n"
          "      --no-ping          stop without pinging the workers\n"
          "      --start-timeout DUR  spawn → Hello limit per worker (default 10s)\n"
          "  -q, --quiet            only the summary line\n");
}

/* A method name as the worker sent it (UTF-8 passes through), with
 * control bytes escaped so a hostile name cannot break the table. */
static void put_name(const char *m) {
  for (const unsigned char *c = (const unsigned char *)m; *c; c++)
    if (*c < 0x20 || *c == 0x7f || *c == '\\') printf("\\x%02x", *c);
    else putchar(*c);
}

/* The slot's Call methods from its Hello, "-" when it lists none. */
static void print_methods(const wp_pool_t *p, int slot) {
  const char *names[SHOW_METHODS];
  int n = wp_pool_methods(p, slot, names, SHOW_METHODS);
  printf("  ");
  if (n <= 0) printf("-");
  for (int i = 0; i < n && i < SHOW_METHODS; i++) {
    if (i) printf(", ");
    put_name(names[i]);
  }
  if (n > SHOW_METHODS) printf(", ... (%d in all)", n);
  putchar('\n');
}

/* An attached worker's timeline is connect asked → channel up → Health
 * SERVING; a spawned one's spawn asked → process started → ready. */
static void print_timelines(const wp_pool_t *p, uint64_t t0, bool attached) {
  if (attached)
    printf("%5s %8s %10s %10s %10s %10s  %s\n", "slot", "pid", "connect_ms",
           "conn_up_ms", "healthy_ms", "conn→hlth", "methods");
  else
    printf("%5s %8s %10s %10s %10s %10s  %s\n", "slot", "pid", "spawn_ms",
           "started_ms", "ready_ms", "spawn→rdy", "methods");
  for (int i = 0; i < wp_pool_size(p); i++) {
    wp_timeline_t tl;
    wp_pool_timeline(p, i, &tl);
    printf("%5d %8d %10.3f %10.3f %10.3f %10.3f", i, tl.pid,
           (double)(tl.spawn_asked - t0) / 1e6, (double)(tl.started - t0) / 1e6,
           (double)(tl.ready - t0) / 1e6,
           (double)(tl.ready - tl.spawn_asked) / 1e6);
    print_methods(p, i);
  }
}

/* The ping's timeout when --timeout is not given. */
#define START_PING_TIMEOUT_NS 10000000000ull

typedef struct ping_each {
  int pending, ok;
  int first_err;
} ping_each_t;

static void on_pong(wp_pool_t *p, int err, const wp_reply_t *r, void *arg) {
  (void)p;
  (void)r;
  ping_each_t *pe = arg;
  pe->pending--;
  if (err) {
    if (!pe->first_err) pe->first_err = err;
  } else {
    pe->ok++;
  }
}

/* One ping per worker: with max_inflight 1 and N in flight, each request
 * lands on a different worker. --timeout bounds it, else 10 s. */
static int ping_each(uv_loop_t *loop, wp_pool_t *p, int n, uint64_t timeout_ns, int *ok) {
  ping_each_t pe = {0};
  wp_request_t req = {.kind = WP_REQ_PING, .payload = "ping", .payload_len = 4,
                      .timeout_ns = timeout_ns ? timeout_ns : START_PING_TIMEOUT_NS};
  for (int i = 0; i < n; i++) {
    int rc = wp_pool_call(p, &req, on_pong, &pe);
    if (rc) return rc;
    pe.pending++;
  }
  while (pe.pending > 0 && uv_run(loop, UV_RUN_ONCE)) {
  }
  *ok = pe.ok;
  return pe.first_err;
}


int cmd_start(int argc, char **argv) {
  static const struct option longopts[] = {
      CLI_POOL_LONGOPTS, {"hold", required_argument, 0, 'H'},
      {"no-ping", no_argument, 0, 'P'}, {"start-timeout", required_argument, 0, 'T'},
      {"quiet", no_argument, 0, 'q'}, {0, 0, 0, 0}};
  cli_pool_t cp;
  cli_pool_init(&cp);
  uint64_t hold = 0;
  int quiet = 0, ping = 1, c, rc = WB_EXIT_OK;
  while ((c = getopt_long(argc, argv, "n:qh", longopts, NULL)) != -1) {
    int h = cli_pool_opt(&cp, CMD, c, optarg);
    if (h < 0) goto usage_err;
    if (h > 0) continue;
    if (c == 'h') { usage(stdout); cli_pool_free(&cp); return WB_EXIT_OK; }
    else if (c == 'q') quiet = 1;
    else if (c == 'H') { if (wb_parse_duration(optarg, &hold)) { cli_err(CMD, "bad --hold"); goto usage_err; } }
    else if (c == 'P') ping = 0;
    else if (c == 'T') { if (wb_parse_duration(optarg, &cp.o.start_timeout_ns) || !cp.o.start_timeout_ns) { cli_err(CMD, "bad --start-timeout '%s'", optarg); goto usage_err; } }
    else goto usage_err;
  }
  if (optind != argc) {
    cli_err(CMD, "unexpected argument '%s'", argv[optind]);
    goto usage_err;
  }
  if (cli_pool_apply(&cp, CMD)) goto usage_err;
  wb_interrupt_doing("starting %d workers", cp.o.size);

  uv_loop_t loop;
  uv_loop_init(&loop);
  wp_pool_t *p;
  uint64_t t0 = wp_now_ns();
  int err = cli_pool_up(&cp, CMD, &loop, &p);
  if (err) {
    rc = WB_EXIT_RUNTIME;
  } else {
    wb_start_result_t sr;
    wb_start_summary(p, t0, &sr);
    bool attached = cp.o.nconnect > 0;
    if (!quiet) print_timelines(p, t0, attached);
    printf("%d %s workers (%s start): first ready %.3f ms, all ready %.3f ms, "
           "mean %s %.3f ms\n",
           cp.o.size, attached ? "attached grpc" : wp_transport_name(cp.o.transport),
           wp_mode_name(cp.o.mode), sr.first_ready_ms, sr.all_ready_ms,
           attached ? "connect→healthy" : "spawn→ready", sr.mean_ready_ms);
    wp_timeline_t zt;
    if (wp_pool_template(p, &zt) == 0 && zt.ready)
      printf("zygote template (pid %d): started %.3f ms, ready %.3f ms\n", zt.pid,
             (double)(zt.started - t0) / 1e6, (double)(zt.ready - t0) / 1e6);
    int ok = 0;
    if (ping) {
      wb_interrupt_doing("pinging %d workers", cp.o.size);
      err = ping_each(&loop, p, cp.o.size, cp.o.request_timeout_ns, &ok);
    }
    if (err && !wb_interrupted()) {
      cli_err(CMD, "ping failed (%d of %d workers answered): %s (%s)", ok, cp.o.size,
              wp_strerror(err), wp_errname(err));
      rc = WB_EXIT_RUNTIME;
    } else if (!quiet && ping) {
      printf("pinged all %d workers\n", cp.o.size);
    }
    if (hold) {
      wb_interrupt_doing("holding %d workers (--hold)", cp.o.size);
      fflush(stdout);
      /* The loop keeps running, so the pool still supervises (a worker
       * killed meanwhile is restarted). */
      wb_run_until(&loop, &(wb_until_t){.deadline_ns = wp_now_ns() + hold});
    }
    wb_pool_down(&loop, p);
  }
  if (uv_loop_close(&loop) != 0) {
    cli_err(CMD, "internal: handles left open on the loop");
    rc = WB_EXIT_RUNTIME;
  }
  cli_pool_free(&cp);
  return rc;
usage_err:
  usage(stderr);
  cli_pool_free(&cp);
  return WB_EXIT_USAGE;
}
