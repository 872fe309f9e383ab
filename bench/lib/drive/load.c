/* load.c — see load.h: a pool brought up and down for a run, its cost
 * window, and the closed loop (the open loop is openloop.c's). */
#include "load.h"

#include "answers.h"
#include "interrupt.h"

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

static void pool_stop(uv_loop_t *loop, wp_pool_t *p) {
  bool stopped = false;
  wp_pool_stop(p, on_stopped, &stopped);
  while (!stopped && uv_run(loop, UV_RUN_ONCE)) {
  }
}

void wb_pool_down(uv_loop_t *loop, wp_pool_t *p) {
  if (!p) return;
  pool_stop(loop, p);
  wb_interrupt_release(p);
  wp_pool_free(p);
}

int wb_pool_up_why(uv_loop_t *loop, const wp_options_t *o, wp_pool_t **out,
                   char *why, size_t len) {
  *out = NULL;
  if (len) why[0] = '\0';
  wp_pool_t *p;
  int rc = wp_pool_new(loop, o, &p);
  if (rc) return rc;
  rc = wb_interrupt_hold(loop, p);
  if (rc) {
    wp_pool_free(p);
    return rc;
  }
  up_state_t u = {0};
  rc = wp_pool_start(p, on_started, &u);
  while (rc == 0 && !u.done && uv_run(loop, UV_RUN_ONCE)) {
  }
  /* The start callback always runs; a loop that ran out of work first is
   * the library's bug, not an I/O error of some worker. */
  if (rc == 0) rc = u.done ? u.err : WP_EINTERNAL;
  if (rc) {
    pool_stop(loop, p);
    if (len) wp_pool_last_error(p, -1, why, len);
    wb_interrupt_release(p);
    wp_pool_free(p);
    return rc;
  }
  *out = p;
  return 0;
}

int wb_pool_up(uv_loop_t *loop, const wp_options_t *o, wp_pool_t **out) {
  return wb_pool_up_why(loop, o, out, NULL, 0);
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

/* ---- cost counters of a pool's process tree ------------------------------ */

/* The live workers' pids (retiring ones included) into a malloc'ed array. */
static int *pool_pids(const wp_pool_t *p, int *n) {
  int cap = 2 * wp_pool_size(p) + 1;
  int *pids = malloc((size_t)cap * sizeof *pids);
  *n = pids ? wp_pool_pids(p, pids, cap) : 0;
  return pids;
}

wb_costs_t *wb_pool_costs_begin(const wp_pool_t *p, bool syscalls) {
  int n;
  int *pids = pool_pids(p, &n);
  wb_costs_t *w = pids ? wb_costs_begin(pids, n, syscalls) : NULL;
  free(pids);
  return w;
}

int wb_pool_workers_cpu_ns(const wp_pool_t *p, uint64_t *ns) {
  int n, rc = 0;
  int *pids = pool_pids(p, &n);
  *ns = 0;
  if (!pids) return -1;
  for (int i = 0; i < n && rc == 0; i++) {
    uint64_t one;
    rc = wb_costs_proc_cpu_ns(pids[i], &one);
    *ns += one;
  }
  free(pids);
  return rc;
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
  bool stalled;             /* the guard fired: stop waiting */
  bool left;                /* returned with requests outstanding */
  int fatal;
  uint64_t issued;          /* requests handed to the pool, with warm-up */
  wb_costs_t *sysw;         /* count_syscalls: the open window, or NULL */
  uint64_t sys_from;        /* answered when it opened */
  wb_guard_t guard;
  counts_t counts;
  struct token *tokens;
} closed_t;

typedef struct token {
  closed_t *cl;
} token_t;

static void closed_free(void *arg) {
  closed_t *cl = arg;
  free(cl->tokens);
  free(cl);
}

static bool want_more(closed_t *cl) {
  if (cl->stop_sending || cl->fatal) return false;
  const wb_load_t *l = cl->l;
  if (l->requests) return cl->issued < l->requests + l->warmup;
  if (cl->t_start && wp_now_ns() >= cl->t_end_goal) return false;
  return true;
}

static void on_reply(wp_pool_t *p, int err, const wp_reply_t *rep, void *arg);

/* Closes the syscall window (count_syscalls), if open, into the result. */
static void sys_close(closed_t *cl) {
  if (!cl->sysw) return;
  wb_cost_t k;
  int gone = wb_costs_end(cl->sysw, &k);
  cl->sysw = NULL;
  cl->r->sys_answered = cl->answered - cl->sys_from;
  cl->r->sys = k;
  cl->r->sys_ok = !gone && k.syscalls && cl->r->sys_answered > 0;
}

static void send_one(closed_t *cl, token_t *t) {
  const wb_load_t *l = cl->l;
  wp_request_t req = request_at(&l->req, l->set, l->nset, cl->issued);
  int rc = wp_pool_call(cl->pool, &req, on_reply, t);
  if (rc) {
    if (!cl->fatal) cl->fatal = rc;
    return;
  }
  cl->issued++;
  cl->inflight++;
  if (cl->sysw && l->requests && cl->issued == l->requests + l->warmup) sys_close(cl);
}

static void begin_measuring(closed_t *cl) {
  cl->t_start = wp_now_ns();
  cl->t_end_goal = cl->t_start + cl->l->duration_ns;
  if (cl->l->count_syscalls) {
    cl->sysw = wb_pool_costs_begin(cl->pool, true);
    cl->sys_from = cl->answered;
  }
}

static void on_reply(wp_pool_t *p, int err, const wp_reply_t *rep, void *arg) {
  (void)p;
  token_t *t = arg;
  closed_t *cl = t->cl;
  if (!answer_in(&cl->inflight, cl->left, closed_free, cl)) return;
  cl->answered++;
  /* A request's latency is the pool's own times: `queued` read in the
   * wp_pool_call this loop made, `answered` just before this callback.
   * Reading our own clock around them cost two clock reads a request
   * (~90 instructions, a tenth of the supervisor's at C=100) that the
   * bare C pool, one read per read(), does not pay. */
  uint64_t lat = err ? 0 : rep->answered - rep->queued;
  if (!err) wb_guard_answer(&cl->guard, lat);
  bool measuring = cl->t_start != 0;
  if (measuring) cl->r->sent++;
  if (count_answer(&cl->counts, err, rep, measuring)) wb_hist_record(cl->r->lat, lat);
  if (!measuring && cl->answered >= cl->l->warmup) begin_measuring(cl);
  if (err == WP_ESTOPPED || err == WP_EFAILED) cl->fatal = err;
  if (want_more(cl)) send_one(cl, t);
}

static void closed_stalled(void *arg) {
  closed_t *cl = arg;
  cl->stop_sending = cl->stalled = true;
}

/* The state lives on the heap: after a stall the run returns with
 * requests outstanding, and their callbacks (run by the pool's stop) still
 * need it. */
int wb_run_closed(uv_loop_t *loop, wp_pool_t *p, const wb_load_t *l,
                  wb_load_result_t *r) {
  if (l->concurrency < 1 || (!l->requests && !l->duration_ns)) return WP_EINVAL;
  memset(r, 0, sizeof *r);
  r->lat = wb_hist_new();
  closed_t *cl = calloc(1, sizeof *cl);
  token_t *tokens = calloc((size_t)l->concurrency, sizeof *tokens);
  if (!r->lat || !cl || !tokens || split_alloc(l->split, &r->wait, &r->service)) {
    free(cl);
    free(tokens);
    return WP_ENOMEM;
  }
  *cl = (closed_t){.loop = loop, .pool = p, .l = l, .r = r, .tokens = tokens,
                   .counts = COUNTS_OF(r)};
  wb_guard_start(&cl->guard, loop, p, l->stall_ns, &l->req, &r->stall, closed_stalled, cl);
  if (l->warmup == 0) begin_measuring(cl);
  for (int i = 0; i < l->concurrency; i++) {
    tokens[i].cl = cl;
    if (!want_more(cl)) break;
    send_one(cl, &tokens[i]);
  }
  while (cl->inflight > 0 && !cl->stalled && uv_run(loop, UV_RUN_ONCE)) {
  }
  uint64_t end = wp_now_ns();
  sys_close(cl); /* still open: a duration run, or one that failed */
  wb_guard_close(&cl->guard, loop);
  r->elapsed_s = cl->t_start ? (double)(end - cl->t_start) / 1e9 : 0;
  r->rps = r->elapsed_s > 0 ? (double)r->ok / r->elapsed_s : 0;
  r->stall.unanswered = cl->inflight;
  if (r->stall.workers) wb_stall_note(&r->stall);
  int rc = cl->fatal ? cl->fatal : r->stall.workers ? WP_ETIMEDOUT : 0;
  if (cl->inflight > 0) cl->left = true;
  else closed_free(cl);
  return rc;
}

int wb_run_rate(uv_loop_t *loop, wp_pool_t *p, const wb_load_t *l, double *rps) {
  wb_load_result_t r = {0};
  int err = wb_run_closed(loop, p, l, &r);
  if (!err && r.failed) err = r.first_err;
  if (rps) *rps = r.rps;
  wb_hist_free(r.lat);
  return err;
}
