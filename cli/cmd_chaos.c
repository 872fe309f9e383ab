/*
 * cmd_chaos.c — `wpool chaos`: closed-loop ping load while a random ready
 * worker is SIGKILLed at a fixed interval. It checks the pool's promise
 * (every call answered exactly once, with a reply or a named error, even
 * when workers die under it) and measures recovery: kill → the slot's
 * replacement ready, from the slot's timeline.
 *
 *   sent      calls the pool accepted
 *   answered  replies
 *   failed    callbacks with an error, by WP_E* name
 *   hung      calls still unanswered after the load ended + --drain
 *   lost      sent − answered − failed once the pool has stopped: calls
 *             whose callback never ran at all
 * Exit 1, with one line saying why, if anything is lost, hung, answered
 * twice, a kill never recovered, the pool failed, or no kill happened at
 * all (then the run proved nothing).
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmdline.h"
#include "interrupt.h"
#include "load.h"
#include "run.h"
#include "stats.h"

static const char *CMD = "chaos";

#define NERR 64 /* -WP_E* codes counted by name */

static void usage(FILE *f) {
  fprintf(f,
          "usage: wpool chaos -n N [-c C] [--duration DUR] [--kill-every DUR] [options]\n"
          "Closed-loop ping load while a random ready worker is SIGKILLed every\n"
          "interval; prints sent, answered, failed (by error name), hung, lost and\n"
          "recovery time (kill -> replacement ready). Exit 1 if anything is lost or hung,\n"
          "or no worker was killed.\n"
          "  -c, --concurrency C    requests in flight (default 100)\n"
          "  -d, --duration DUR     how long to load and kill (default 10s)\n"
          "      --kill-every DUR   SIGKILL interval (default 200ms)\n"
          "      --idempotent       mark requests idempotent: retried once elsewhere\n"
          "      --drain DUR        wait for outstanding calls after the load (default 5s)\n"
          "      --seed N           victim choice (default: from the clock)\n"
          CLI_POOL_HELP);
}

typedef struct chaos chaos_t;

typedef struct token {
  chaos_t *ch;
  bool busy;              /* a call is outstanding on this token */
} token_t;

typedef struct kill_rec {
  bool pending;           /* killed, replacement not ready yet */
  int gen;                /* the slot's generation when killed */
  uint64_t at;            /* when the signal was sent */
} kill_rec_t;

struct chaos {
  uv_loop_t *loop;
  wp_pool_t *pool;
  wp_request_t req;
  token_t *tokens;
  int conc;
  bool loading;           /* send a new call after each answer */
  uint64_t sent, answered, failed, dups, outstanding;
  uint64_t by_err[NERR], refused_by_err[NERR], refused;
  uint64_t kills;
  uint64_t kill_errors;   /* wp_pool_signal refused a chosen victim */
  uint64_t no_victim;     /* ticks that found no ready worker to kill */
  kill_rec_t *slots;
  double *recovery_ms;    /* one per recovered kill: kill → ready */
  double *delay_ms;       /* of which kill → replacement spawn asked */
  double *start_ms;       /* and spawn asked → ready */
  size_t nrecovered;
  uint64_t rng;
  uv_timer_t kill_timer, end_timer;
  bool ended;
  wp_stats_t st;          /* the pool's counters when the load ended */
};

static void count_err(uint64_t *by, int err) {
  int i = -err;
  by[i > 0 && i < NERR ? i : 0]++;
}

/* ---- load ----------------------------------------------------------------- */

static void on_reply(wp_pool_t *p, int err, const wp_reply_t *r, void *arg);

static void send_one(chaos_t *ch, token_t *t) {
  int rc = wp_pool_call(ch->pool, &ch->req, on_reply, t);
  if (rc) { /* refused at once: the token idles until the next kill tick */
    ch->refused++;
    count_err(ch->refused_by_err, rc);
    return;
  }
  t->busy = true;
  ch->sent++;
  ch->outstanding++;
}

static void on_reply(wp_pool_t *p, int err, const wp_reply_t *r, void *arg) {
  (void)p;
  (void)r;
  token_t *t = arg;
  chaos_t *ch = t->ch;
  if (!t->busy) { /* a second callback for one call */
    ch->dups++;
    return;
  }
  t->busy = false;
  ch->outstanding--;
  if (err) {
    ch->failed++;
    count_err(ch->by_err, err);
  } else {
    ch->answered++;
  }
  if (ch->loading) send_one(ch, t);
}

static void refill(chaos_t *ch) {
  for (int i = 0; ch->loading && i < ch->conc; i++)
    if (!ch->tokens[i].busy) send_one(ch, &ch->tokens[i]);
}

/* ---- kills and recovery ------------------------------------------------------ */

static uint64_t rnd(chaos_t *ch) {
  ch->rng ^= ch->rng << 13;
  ch->rng ^= ch->rng >> 7;
  ch->rng ^= ch->rng << 17;
  return ch->rng;
}

/* A killed slot has recovered once a newer generation is ready: its
 * timeline's ready time ends the recovery. */
static void harvest(chaos_t *ch) {
  for (int i = 0; i < wp_pool_size(ch->pool); i++) {
    kill_rec_t *k = &ch->slots[i];
    wp_timeline_t tl;
    if (!k->pending || wp_pool_timeline(ch->pool, i, &tl) != 0) continue;
    if (tl.generation <= k->gen || !tl.ready || !wp_pool_slot_ready(ch->pool, i))
      continue;
    k->pending = false;
    ch->delay_ms[ch->nrecovered] = (double)(tl.spawn_asked - k->at) / 1e6;
    ch->start_ms[ch->nrecovered] = (double)(tl.ready - tl.spawn_asked) / 1e6;
    ch->recovery_ms[ch->nrecovered++] = (double)(tl.ready - k->at) / 1e6;
  }
}

/* Picks a random slot that is ready and not waiting to recover. */
static int pick_victim(chaos_t *ch) {
  int n = wp_pool_size(ch->pool), start = (int)(rnd(ch) % (uint64_t)n);
  for (int j = 0; j < n; j++) {
    int i = (start + j) % n;
    if (!ch->slots[i].pending && wp_pool_slot_ready(ch->pool, i)) return i;
  }
  return -1;
}

static void on_kill(uv_timer_t *t) {
  chaos_t *ch = t->data;
  harvest(ch);
  refill(ch);
  int i = pick_victim(ch);
  if (i < 0) {
    ch->no_victim++;
    return;
  }
  wp_timeline_t tl;
  wp_pool_timeline(ch->pool, i, &tl);
  uint64_t now = wp_now_ns();
  if (wp_pool_signal(ch->pool, i, SIGKILL) != 0) {
    ch->kill_errors++;
    return;
  }
  ch->slots[i] = (kill_rec_t){.pending = true, .gen = tl.generation, .at = now};
  ch->kills++;
}

static void on_end(uv_timer_t *t) {
  chaos_t *ch = t->data;
  ch->loading = false;
  ch->ended = true;
  uv_timer_stop(&ch->kill_timer);
}

/* ---- run ------------------------------------------------------------------- */

static void on_tick(void *arg) { harvest(arg); }

static bool ended(void *arg) { return ((chaos_t *)arg)->ended; }
static bool drained(void *arg) { return ((chaos_t *)arg)->outstanding == 0; }

/* Runs the loop until cond or the deadline; a 10 ms timer keeps it turning
 * (and harvests recoveries). */
static void run_until(chaos_t *ch, bool (*cond)(void *), uint64_t deadline) {
  wb_until_t u = {.done = cond, .arg = ch, .deadline_ns = deadline, .wake_ms = 10,
                  .tick = on_tick};
  wb_run_until(ch->loop, &u);
}

typedef struct chaos_opts {
  uint64_t duration, kill_every, drain, seed;
  int conc, idempotent;
} chaos_opts_t;

/* Load and kills for the duration, then the drain; returns hung. */
static uint64_t run(chaos_t *ch, const chaos_opts_t *co) {
  uv_timer_init(ch->loop, &ch->kill_timer);
  uv_timer_init(ch->loop, &ch->end_timer);
  ch->kill_timer.data = ch->end_timer.data = ch;
  ch->loading = true;
  refill(ch);
  uint64_t every = co->kill_every / 1000000 ? co->kill_every / 1000000 : 1;
  uv_timer_start(&ch->kill_timer, on_kill, every, every);
  uv_timer_start(&ch->end_timer, on_end, co->duration / 1000000, 0);
  run_until(ch, ended, UINT64_MAX);
  run_until(ch, drained, wp_now_ns() + co->drain);
  uint64_t hung = ch->outstanding;
  /* Replacements for the last kills may still be starting. */
  uint64_t end = wp_now_ns() + 2000000000ull;
  while (wp_now_ns() < end && ch->nrecovered < ch->kills) {
    harvest(ch);
    uv_run(ch->loop, UV_RUN_NOWAIT);
  }
  uv_close((uv_handle_t *)&ch->kill_timer, NULL);
  uv_close((uv_handle_t *)&ch->end_timer, NULL);
  return hung;
}

static void print_errs(const char *what, const uint64_t *by) {
  printf("  %s:", what);
  for (int i = 0; i < NERR; i++)
    if (by[i]) printf(" %s %llu", i ? wp_errname(-i) : "other", (unsigned long long)by[i]);
  printf("\n");
}

static void print_p50_max(const char *what, const double *x, size_t n) {
  wb_stats_t st;
  wb_stats_summary(x, n, &st);
  printf("%-50s p50 %8.2f ms  max %8.2f ms\n", what, st.median, st.max);
}

/* Recovery, and the two parts it is made of: the restart backoff (base
 * doubling while a slot keeps dying young) and the worker's start. */
static void print_recovery(const chaos_t *ch) {
  if (ch->nrecovered == 0) {
    printf("recovery    none measured\n");
    return;
  }
  print_p50_max("recovery    kill -> replacement ready", ch->recovery_ms, ch->nrecovered);
  print_p50_max("  of which  kill -> respawn (exit seen + backoff)", ch->delay_ms, ch->nrecovered);
  print_p50_max("            respawn -> ready (worker start)", ch->start_ms, ch->nrecovered);
}

static void print_report(const chaos_t *ch, const cli_pool_t *cp, const chaos_opts_t *co,
                         uint64_t hung, uint64_t lost) {
  const wp_options_t *o = &cp->o;
  printf("chaos: %d %s workers, %d in flight (at most %d per worker), %.1f s, a SIGKILL every "
         "%.0f ms, %s requests\n",
         o->size, wp_transport_name(o->transport), co->conc, o->max_inflight,
         (double)co->duration / 1e9,
         (double)co->kill_every / 1e6, co->idempotent ? "idempotent" : "non-idempotent");
  printf("sent        %llu\n", (unsigned long long)ch->sent);
  printf("answered    %llu\n", (unsigned long long)ch->answered);
  printf("failed      %llu\n", (unsigned long long)ch->failed);
  if (ch->failed) print_errs("by error", ch->by_err);
  if (ch->refused) {
    printf("refused     %llu (wp_pool_call returned an error)\n", (unsigned long long)ch->refused);
    print_errs("by error", ch->refused_by_err);
  }
  printf("lost        %llu\n", (unsigned long long)lost);
  printf("hung        %llu\n", (unsigned long long)hung);
  printf("duplicates  %llu\n", (unsigned long long)ch->dups);
  printf("kills       %llu (recovered %zu; %llu refused, %llu ticks found no ready worker)\n",
         (unsigned long long)ch->kills, ch->nrecovered, (unsigned long long)ch->kill_errors,
         (unsigned long long)ch->no_victim);
  print_recovery(ch);
  printf("pool        restarts %llu, worker exits %llu, protocol errors %llu\n",
         (unsigned long long)ch->st.restarts, (unsigned long long)ch->st.worker_exits,
         (unsigned long long)ch->st.protocol_errors);
}

static int parse(int argc, char **argv, cli_pool_t *cp, chaos_opts_t *co) {
  static const struct option longopts[] = {
      CLI_POOL_LONGOPTS,
      {"concurrency", required_argument, 0, 'c'},
      {"duration", required_argument, 0, 'd'},
      {"kill-every", required_argument, 0, 'K'},
      {"idempotent", no_argument, 0, 'I'},
      {"drain", required_argument, 0, 'D'},
      {"seed", required_argument, 0, 'S'},
      {0, 0, 0, 0}};
  uint64_t v;
  int c;
  while ((c = getopt_long(argc, argv, "n:c:d:h", longopts, NULL)) != -1) {
    int h = cli_pool_opt(cp, CMD, c, optarg);
    if (h < 0) return WB_EXIT_USAGE;
    if (h > 0) continue;
    switch (c) {
    case 'h': usage(stdout); return -1;
    case 'c': if (wb_parse_uint(optarg, 1, 1000000, &v)) goto bad; co->conc = (int)v; break;
    case 'd': if (wb_parse_duration(optarg, &co->duration) || !co->duration) goto bad; break;
    case 'K': if (wb_parse_duration(optarg, &co->kill_every) || !co->kill_every) goto bad; break;
    case 'I': co->idempotent = 1; break;
    case 'D': if (wb_parse_duration(optarg, &co->drain)) goto bad; break;
    case 'S': if (wb_parse_uint(optarg, 1, UINT64_MAX, &co->seed)) goto bad; break;
    default: return WB_EXIT_USAGE;
    }
  }
  if (optind == argc && cp->o.nconnect) {
    cli_err(CMD, "--connect: chaos kills its workers, and attached ones are not ours to kill");
    return WB_EXIT_USAGE;
  }
  if (optind == argc) return 0;
  cli_err(CMD, "unexpected argument '%s'", argv[optind]);
  return WB_EXIT_USAGE;
bad:
  cli_err(CMD, "bad value '%s' for -%c", optarg, c);
  return WB_EXIT_USAGE;
}

/* Chaos kills are not the workers' fault: the restart intensity must
 * allow them (every kill in a window, twice over), or the pool would
 * rightly give up and the run would measure that instead. */
static void tune_options(cli_pool_t *cp, const chaos_opts_t *co) {
  wp_options_t *o = &cp->o;
  cli_pool_fit_inflight(cp, co->conc);
  if (o->restart_max == 0) {
    uint64_t per_window = o->restart_window_ns / co->kill_every + 1;
    o->restart_max = (int)(2 * per_window) + 5 * o->size;
  }
}

/* Appends one reason to the verdict line. */
static void because(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void because(char *buf, size_t len, const char *fmt, ...) {
  size_t n = strlen(buf);
  if (n && n + 2 < len) {
    strcat(buf, "; ");
    n += 2;
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf + n, len - n, fmt, ap);
  va_end(ap);
}

/* The exit code, and one line with every reason for a failure. */
static int verdict(const chaos_t *ch, const chaos_opts_t *co, uint64_t hung, uint64_t lost) {
  char why[512] = "";
  if (lost) because(why, sizeof why, "%llu calls lost (callback never ran)", (unsigned long long)lost);
  if (hung)
    because(why, sizeof why, "%llu calls hung (no answer %.1f s after the load)",
            (unsigned long long)hung, (double)co->drain / 1e9);
  if (ch->dups) because(why, sizeof why, "%llu calls answered twice", (unsigned long long)ch->dups);
  if (ch->nrecovered < ch->kills)
    because(why, sizeof why, "%llu of %llu kills never recovered",
            (unsigned long long)(ch->kills - ch->nrecovered), (unsigned long long)ch->kills);
  if (ch->refused_by_err[-WP_EFAILED])
    because(why, sizeof why, "the pool failed (restart intensity exceeded)");
  /* Without a kill the run tested nothing: passing it would be vacuous. */
  if (ch->kills == 0)
    because(why, sizeof why, "no worker was killed (%llu kills refused, %llu ticks found no "
            "ready worker): nothing was tested", (unsigned long long)ch->kill_errors,
            (unsigned long long)ch->no_victim);
  if (!why[0]) return WB_EXIT_OK;
  if (!wb_interrupted()) cli_err(CMD, "%s", why);
  return WB_EXIT_RUNTIME;
}

static int chaos_main(uv_loop_t *loop, cli_pool_t *cp, const chaos_opts_t *co) {
  wp_pool_t *p;
  wb_interrupt_doing("a chaos run on %d workers", cp->o.size);
  int err = wb_pool_up(loop, &cp->o, &p);
  if (err) {
    cli_err(CMD, "pool did not start: %s (%s)", wp_strerror(err), wp_errname(err));
    return WB_EXIT_RUNTIME;
  }
  chaos_t ch = {.loop = loop, .pool = p, .conc = co->conc,
                .req = {.kind = WP_REQ_PING, .payload = "chaos", .payload_len = 5,
                        .idempotent = co->idempotent},
                .rng = co->seed ? co->seed : wp_now_ns() | 1};
  ch.tokens = calloc((size_t)co->conc, sizeof *ch.tokens);
  ch.slots = calloc((size_t)cp->o.size, sizeof *ch.slots);
  size_t maxk = co->duration / co->kill_every + 2;
  ch.recovery_ms = calloc(maxk, sizeof(double));
  ch.delay_ms = calloc(maxk, sizeof(double));
  ch.start_ms = calloc(maxk, sizeof(double));
  for (int i = 0; i < co->conc; i++) ch.tokens[i].ch = &ch;
  uint64_t hung = run(&ch, co);
  wp_pool_stats(p, &ch.st);
  wb_pool_down(loop, p); /* answers whatever is still outstanding */
  uint64_t lost = ch.sent - ch.answered - ch.failed;
  print_report(&ch, cp, co, hung, lost);
  int rc = verdict(&ch, co, hung, lost);
  free(ch.tokens);
  free(ch.slots);
  free(ch.recovery_ms);
  free(ch.delay_ms);
  free(ch.start_ms);
  return rc;
}

int cmd_chaos(int argc, char **argv) {
  cli_pool_t cp;
  cli_pool_init(&cp);
  chaos_opts_t co = {.duration = 10000000000ull, .kill_every = 200000000ull,
                     .drain = 5000000000ull, .conc = 100};
  int rc = parse(argc, argv, &cp, &co);
  if (rc == 0 && cli_pool_apply(&cp, CMD)) rc = WB_EXIT_USAGE;
  if (rc != 0) {
    if (rc > 0) usage(stderr);
    cli_pool_free(&cp);
    return rc > 0 ? rc : WB_EXIT_OK;
  }
  tune_options(&cp, &co);
  uv_loop_t loop;
  uv_loop_init(&loop);
  rc = chaos_main(&loop, &cp, &co);
  if (uv_loop_close(&loop) != 0) {
    cli_err(CMD, "internal: handles left open on the loop");
    rc = WB_EXIT_RUNTIME;
  }
  cli_pool_free(&cp);
  return rc;
}
