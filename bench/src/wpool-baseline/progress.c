/*
 * progress.c — what the suite says on stderr while it runs.
 *
 * On a terminal one live line is rewritten in place ("\r" + erase), so a
 * five-minute run stays one line; into a file or a pipe (CI logs) every
 * finished point is one plain line and the per-repetition chatter is
 * dropped. Failures are always their own line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "baseline.h"

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

void bl_fail(wb_ctx_t *c, const char *fmt, ...) {
  c->failures++;
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

void bl_status_end(void) {
  if (live) fputs("\r\033[K", stderr);
  live = 0;
  fflush(stderr);
}
