/* load.c — see load.h. */
#include "load.h"

#include <stdlib.h>
#include <string.h>

typedef struct up_state {
  bool done;
  int err;
} up_state_t;

static void on_started(wp_pool_t *p, int err, void *arg) {
  (void)p;
  up_state_t *u = arg;
  u->done = true;
  u->err = err;
}

static void on_stopped(wp_pool_t *p, void *arg) {
  (void)p;
  *(bool *)arg = true;
}

void wb_pool_down(uv_loop_t *loop, wp_pool_t *p) {
  if (!p) return;
  bool stopped = false;
  wp_pool_stop(p, on_stopped, &stopped);
  while (!stopped && uv_run(loop, UV_RUN_ONCE)) {
  }
  wp_pool_free(p);
}

int wb_pool_up(uv_loop_t *loop, const wp_options_t *o, wp_pool_t **out) {
  *out = NULL;
  wp_pool_t *p;
  int rc = wp_pool_new(loop, o, &p);
  if (rc) return rc;
  up_state_t u = {0};
  rc = wp_pool_start(p, on_started, &u);
  while (rc == 0 && !u.done && uv_run(loop, UV_RUN_ONCE)) {
  }
  if (rc == 0) rc = u.done ? u.err : WP_EIO;
  if (rc) {
    wb_pool_down(loop, p);
    return rc;
  }
  *out = p;
  return 0;
}

void wb_start_summary(const wp_pool_t *p, uint64_t t0, wb_start_result_t *r) {
  memset(r, 0, sizeof *r);
  r->t0 = t0;
  int n = wp_pool_size(p);
  uint64_t first = UINT64_MAX, last = 0;
  double sum_ready = 0, sum_spawn = 0;
  for (int i = 0; i < n; i++) {
    wp_timeline_t tl;
    wp_pool_timeline(p, i, &tl);
    if (tl.ready < first) first = tl.ready;
    if (tl.ready > last) last = tl.ready;
    sum_ready += (double)(tl.ready - tl.spawn_asked);
    sum_spawn += (double)(tl.started - tl.spawn_asked);
  }
  r->all_ready_ms = (double)(last - t0) / 1e6;
  r->first_ready_ms = (double)(first - t0) / 1e6;
  r->mean_ready_ms = sum_ready / n / 1e6;
  r->mean_spawn_ms = sum_spawn / n / 1e6;
}

/* ---- closed loop ---------------------------------------------------------- */

typedef struct closed {
  uv_loop_t *loop;
  wp_pool_t *pool;
  const wb_load_t *l;
  wb_load_result_t *r;
  uint64_t answered;        /* including warm-up */
  uint64_t inflight;
  uint64_t t_start;         /* end of warm-up */
  uint64_t t_end_goal;      /* duration mode */
  bool stop_sending;
  int fatal;
  uint64_t issued;          /* requests handed to the pool, with warm-up */
} closed_t;

typedef struct token {
  closed_t *cl;
  uint64_t sent_at;
} token_t;

static bool want_more(closed_t *cl) {
  if (cl->stop_sending || cl->fatal) return false;
  const wb_load_t *l = cl->l;
  if (l->requests) return cl->issued < l->requests + l->warmup;
  if (cl->t_start && wp_now_ns() >= cl->t_end_goal) return false;
  return true;
}

static void on_reply(wp_pool_t *p, int err, const wp_reply_t *rep, void *arg);

static void send_one(closed_t *cl, token_t *t) {
  t->sent_at = wp_now_ns();
  int rc = wp_pool_call(cl->pool, &cl->l->req, on_reply, t);
  if (rc) {
    if (!cl->fatal) cl->fatal = rc;
    return;
  }
  cl->issued++;
  cl->inflight++;
}

static void begin_measuring(closed_t *cl) {
  cl->t_start = wp_now_ns();
  cl->t_end_goal = cl->t_start + cl->l->duration_ns;
}

static void on_reply(wp_pool_t *p, int err, const wp_reply_t *rep, void *arg) {
  (void)p;
  (void)rep;
  token_t *t = arg;
  closed_t *cl = t->cl;
  uint64_t now = wp_now_ns();
  cl->inflight--;
  cl->answered++;
  bool measuring = cl->t_start != 0;
  if (measuring) {
    cl->r->sent++;
    if (err) {
      cl->r->failed++;
      if (!cl->r->first_err) cl->r->first_err = err;
    } else {
      cl->r->ok++;
      wb_hist_record(cl->r->lat, now - t->sent_at);
    }
  }
  if (!measuring && cl->answered >= cl->l->warmup) begin_measuring(cl);
  if (err == WP_ESTOPPED || err == WP_EFAILED) cl->fatal = err;
  if (want_more(cl)) send_one(cl, t);
}

int wb_run_closed(uv_loop_t *loop, wp_pool_t *p, const wb_load_t *l,
                  wb_load_result_t *r) {
  if (l->concurrency < 1 || (!l->requests && !l->duration_ns)) return WP_EINVAL;
  memset(r, 0, sizeof *r);
  r->lat = wb_hist_new();
  token_t *tokens = calloc((size_t)l->concurrency, sizeof *tokens);
  if (!r->lat || !tokens) {
    free(tokens);
    return WP_ENOMEM;
  }
  closed_t cl = {.loop = loop, .pool = p, .l = l, .r = r};
  if (l->warmup == 0) begin_measuring(&cl);
  for (int i = 0; i < l->concurrency; i++) {
    tokens[i].cl = &cl;
    if (!want_more(&cl)) break;
    send_one(&cl, &tokens[i]);
  }
  while (cl.inflight > 0 && uv_run(loop, UV_RUN_ONCE)) {
  }
  uint64_t end = wp_now_ns();
  r->elapsed_s = cl.t_start ? (double)(end - cl.t_start) / 1e9 : 0;
  r->rps = r->elapsed_s > 0 ? (double)r->ok / r->elapsed_s : 0;
  free(tokens);
  return cl.fatal;
}
