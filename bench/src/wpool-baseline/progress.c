/*
 * progress.c — what the suite says on stderr while it runs.
 *
 * On a terminal one live line is rewritten in place ("\r" + erase), so a
 * five-minute run stays one line; into a file or a pipe (CI logs) every
 * finished point is one plain line and the per-repetition chatter is
 * dropped. Failures are always their own line, and are recorded in the
 * results document's failures[] (results.h) as well.
 */
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "baseline.h"
#include "results.h"

static int tty = -1;
static int live; /* a live line is on screen */

static bool on_tty(void) {
  if (tty < 0) tty = isatty(STDERR_FILENO);
  return tty;
}

static void line(wb_ctx_t *c, bool keep, const char *fmt, va_list ap) {
  double t = (double)(wp_now_ns() - c->t_start) / 1e9;
  if (on_tty()) fputs("\r\033[K", stderr);
  fprintf(stderr, "[%3.0fs] %-10s ", t, c->scenario ? c->scenario : "");
  vfprintf(stderr, fmt, ap);
  if (keep || !on_tty()) fputc('\n', stderr);
  live = on_tty() && !keep;
  fflush(stderr);
}

void bl_status(wb_ctx_t *c, const char *fmt, ...) {
  if (!on_tty()) return;
  va_list ap;
  va_start(ap, fmt);
  line(c, false, fmt, ap);
  va_end(ap);
}

void bl_done(wb_ctx_t *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  line(c, false, fmt, ap);
  va_end(ap);
}

static void say_failure(wb_ctx_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void say_failure(wb_ctx_t *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  line(c, true, fmt, ap);
  va_end(ap);
}

void bl_note(wb_ctx_t *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  line(c, true, fmt, ap);
  va_end(ap);
}

void bl_fail(wb_ctx_t *c, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  c->failures++;
  wb_failure_add(c->doc, c->scenario, NULL, NULL, msg);
  say_failure(c, "%s", msg);
}

void bl_fail_point(wb_ctx_t *c, int err, const char *pointfmt, ...) {
  char point[256];
  va_list ap;
  va_start(ap, pointfmt);
  vsnprintf(point, sizeof point, pointfmt, ap);
  va_end(ap);
  c->failures++;
  wb_failure_add(c->doc, c->scenario, point, wp_errname(err), wp_strerror(err));
  say_failure(c, "%s: %s (%s)", point, wp_strerror(err), wp_errname(err));
}

void bl_status_end(void) {
  if (live) fputs("\r\033[K", stderr);
  live = 0;
  fflush(stderr);
}
