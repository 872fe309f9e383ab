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
#include <string.h>
#include <unistd.h>

#include "baseline.h"
#include "results.h"
#include "stall.h"

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

/* A scenario reports a failed point by its WP_E* code; when a worker that
 * stopped answering ended the point, "; " and which one (slot, pid) follow
 * the text, on the line and in failures[]. */
static void add_stall(char *msg, size_t len) {
  char stall[512];
  size_t n = strlen(msg);
  if (n + 2 < len && wb_stall_take(stall, sizeof stall))
    snprintf(msg + n, len - n, "; %s", stall);
}

void bl_fail(wb_ctx_t *c, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  add_stall(msg, sizeof msg);
  c->failures++;
  wb_failure_add(c->doc, c->scenario, NULL, NULL, msg);
  say_failure(c, "%s", msg);
}

void bl_fail_point(wb_ctx_t *c, int err, const char *pointfmt, ...) {
  char point[256], why[768];
  va_list ap;
  va_start(ap, pointfmt);
  vsnprintf(point, sizeof point, pointfmt, ap);
  va_end(ap);
  snprintf(why, sizeof why, "%s", wp_strerror(err));
  add_stall(why, sizeof why);
  c->failures++;
  wb_failure_add(c->doc, c->scenario, point, wp_errname(err), why);
  const char *more = why + strlen(wp_strerror(err)); /* "; <the stall>" or "" */
  say_failure(c, "%s: %s (%s)%s", point, wp_strerror(err), wp_errname(err), more);
}

void bl_status_end(void) {
  if (live) fputs("\r\033[K", stderr);
  live = 0;
  fflush(stderr);
}
