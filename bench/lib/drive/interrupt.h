/*
 * interrupt.h — what SIGINT, SIGTERM and SIGHUP do to a program while it
 * holds a pool: the pool's normal stop (stdin EOF → grace → SIGTERM →
 * SIGKILL to each worker's group), one line on stderr saying what was
 * interrupted, then exit 128 + the signal (130, 143, 129). A second signal
 * skips the grace (wp_pool_stop_now). Without this a worker that ignores
 * stdin EOF would outlive its supervisor.
 *
 * Owns: the set of pools held now (wb_pool_up adds, wb_pool_down removes,
 * see load.h) and the signal watchers on their loop. The watchers exist
 * only while a pool is held and never keep the loop alive; outside that the
 * signals keep their default action (there is nothing to clean up).
 *
 * May call: libuv and libwpool (wp_pool_stop, wp_pool_stop_now).
 */
#ifndef WB_INTERRUPT_H
#define WB_INTERRUPT_H

#include <stdbool.h>

#include "wpool.h"

/* The name the line starts with, e.g. "wpool ping" (default: the program). */
void wb_interrupt_name(const char *prog);
/* What the program is doing, for the line: "interrupted <doing>". */
void wb_interrupt_doing(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A signal came: the pools are stopping and the program exits when they
 * are down. What fails meanwhile (WP_ESTOPPED) is the signal's doing, not
 * worth a line of its own. */
bool wb_interrupted(void);
/* p (running on loop) is held: a signal now stops it. 0 or WP_E*. */
int wb_interrupt_hold(uv_loop_t *loop, wp_pool_t *p);
/* p is stopped and about to be freed (after a signal: exits here). */
void wb_interrupt_release(wp_pool_t *p);

#endif
