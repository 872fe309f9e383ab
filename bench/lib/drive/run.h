/*
 * run.h — running the caller's loop until something is true or a deadline
 * passes, for code that waits on a pool without a callback of its own to
 * end the wait (a restart to show, a drain, a pool held up for a time).
 *
 * Owns: the wait and the wake timer that keeps the loop turning, so the
 * deadline is seen even when nothing else happens on the loop. May call:
 * libuv and wp_now_ns (libwpool) only.
 */
#ifndef WB_RUN_H
#define WB_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#define WB_RUN_FOREVER UINT64_MAX

typedef struct wb_until {
  bool (*done)(void *arg);  /* checked before each turn; NULL: never done */
  void *arg;
  uint64_t deadline_ns;     /* a wp_now_ns() time, or WB_RUN_FOREVER */
  uint64_t wake_ms;         /* the loop turns at least this often; 0: 10 ms */
  void (*tick)(void *arg);  /* called at each wake, when set */
} wb_until_t;

/* Runs loop (UV_RUN_ONCE) until u->done(u->arg) or the deadline; then the
 * wake timer is closed (its close runs before return). Returns whether
 * done. */
bool wb_run_until(uv_loop_t *loop, const wb_until_t *u);

/* The common case: until *flag or ns from now. Returns *flag. */
bool wb_run_until_flag(uv_loop_t *loop, const bool *flag, uint64_t ns);

#endif
