/* run.c — see run.h. */
#include "run.h"

#include "wpool.h"

static void on_wake(uv_timer_t *t) {
  const wb_until_t *u = t->data;
  if (u->tick) u->tick(u->arg);
}

static bool is_done(const wb_until_t *u) { return u->done && u->done(u->arg); }

bool wb_run_until(uv_loop_t *loop, const wb_until_t *u) {
  uv_timer_t wake;
  uint64_t every = u->wake_ms ? u->wake_ms : 10;
  uv_timer_init(loop, &wake);
  wake.data = (void *)u;
  uv_timer_start(&wake, on_wake, every, every);
  while (!is_done(u) && wp_now_ns() < u->deadline_ns) uv_run(loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&wake, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
  return is_done(u);
}

static bool flag_set(void *arg) { return *(const bool *)arg; }

bool wb_run_until_flag(uv_loop_t *loop, const bool *flag, uint64_t ns) {
  wb_until_t u = {.done = flag_set, .arg = (void *)flag, .deadline_ns = wp_now_ns() + ns};
  return wb_run_until(loop, &u);
}
