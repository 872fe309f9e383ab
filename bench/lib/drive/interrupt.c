/* interrupt.c — see interrupt.h. */
#include "interrupt.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HELD 16
#define NSIG_WATCHED 3

static const int watched[NSIG_WATCHED] = {SIGINT, SIGTERM, SIGHUP};

static struct {
  char prog[64];
  char doing[192];
  wp_pool_t *held[MAX_HELD];
  int nheld;
  uv_signal_t sig[NSIG_WATCHED];
  bool watching;
  int signum;               /* the first signal received, 0 if none */
  int count;                /* signals received */
} g;

void wb_interrupt_name(const char *prog) {
  snprintf(g.prog, sizeof g.prog, "%s", prog);
}

void wb_interrupt_doing(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(g.doing, sizeof g.doing, fmt, ap);
  va_end(ap);
}

bool wb_interrupted(void) { return g.signum != 0; }

static const char *signame(int sig) {
  return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : sig == SIGHUP ? "SIGHUP" : "a signal";
}

/* Every held pool is stopped: the exit the shell expects of a program a
 * signal ended. */
static void finish_if_done(void) {
  if (g.signum && g.nheld == 0) exit(128 + g.signum);
}

static void forget(wp_pool_t *p) {
  for (int i = 0; i < g.nheld; i++)
    if (g.held[i] == p) {
      g.held[i] = g.held[--g.nheld];
      return;
    }
}

static void on_stopped(wp_pool_t *p, void *arg) {
  (void)arg;
  forget(p);
  finish_if_done();
}

static void on_signal(uv_signal_t *h, int signum) {
  (void)h;
  if (++g.count == 1) {
    g.signum = signum;
    fprintf(stderr, "%s: %s: interrupted %s; stopping the workers (%s again kills them now)\n",
            g.prog[0] ? g.prog : program_invocation_short_name, signame(signum),
            g.doing[0] ? g.doing : "the run", signame(signum));
    /* wp_pool_stop may call on_stopped at once, which shrinks held[]. */
    wp_pool_t *copy[MAX_HELD];
    int n = g.nheld;
    memcpy(copy, g.held, sizeof copy);
    for (int i = 0; i < n; i++) wp_pool_stop(copy[i], on_stopped, NULL);
    finish_if_done();
  } else if (g.count == 2) {
    for (int i = 0; i < g.nheld; i++) wp_pool_stop_now(g.held[i], NULL, NULL);
  }
}

static int watch(uv_loop_t *loop) {
  for (int i = 0; i < NSIG_WATCHED; i++) {
    if (uv_signal_init(loop, &g.sig[i]) != 0) return WP_EIO;
    uv_signal_start(&g.sig[i], on_signal, watched[i]);
    uv_unref((uv_handle_t *)&g.sig[i]); /* never what keeps a loop running */
  }
  g.watching = true;
  return 0;
}

int wb_interrupt_hold(uv_loop_t *loop, wp_pool_t *p) {
  if (g.nheld == MAX_HELD) return WP_ENOMEM;
  if (!g.watching) {
    int rc = watch(loop);
    if (rc) return rc;
  }
  g.held[g.nheld++] = p;
  return 0;
}

/* The last pool released: the signals get their default action back
 * (libuv restores it when a signal's last watcher goes), and the closes
 * run now so the caller can close its loop. */
void wb_interrupt_release(wp_pool_t *p) {
  forget(p);
  finish_if_done();
  if (g.nheld > 0 || !g.watching) return;
  uv_loop_t *loop = g.sig[0].loop;
  for (int i = 0; i < NSIG_WATCHED; i++) uv_close((uv_handle_t *)&g.sig[i], NULL);
  g.watching = false;
  uv_run(loop, UV_RUN_NOWAIT);
}
