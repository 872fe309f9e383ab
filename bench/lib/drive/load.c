/* load.c — see load.h. */
#include "load.h"

#include "interrupt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

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

/* ---- what both loops share ------------------------------------------------ */

/* Request number i: the template, with the set's payload when there is one. */
static wp_request_t request_at(const wp_request_t *tmpl, const wb_payload_t *set,
                               size_t nset, uint64_t i) {
  wp_request_t r = *tmpl;
  if (nset) {
    r.payload = set[i % nset].data;
    r.payload_len = set[i % nset].len;
  }
  return r;
}

static int split_alloc(bool split, wb_hist_t **wait, wb_hist_t **service) {
  if (!split) return 0;
  *wait = wb_hist_new();
  *service = wb_hist_new();
  return *wait && *service ? 0 : WP_ENOMEM;
}

/* The answer counters both results keep under the same names
 * (wb_load_result_t, wb_open_result_t); a run sets them once, when its
 * histograms exist, so an answer pays no more than a pointer. */
typedef struct counts {
  uint64_t *ok, *failed, *warmup_failed;
  int *first_err, *warmup_first_err;
  char *first_text;
  size_t cap;
  wb_hist_t *wait, *service;
} counts_t;

#define COUNTS_OF(r)                                                              \
  ((counts_t){&(r)->ok, &(r)->failed, &(r)->warmup_failed, &(r)->first_err,       \
              &(r)->warmup_first_err, (r)->first_text, sizeof (r)->first_text,    \
              (r)->wait, (r)->service})

/* Counts an answer: a measured one as ok, with the pool's split of its time
 * (when split), or as failed; a warm-up failure apart (the first error of
 * each kept), and a failure's worker text when it is the first one with a
 * text (warm-up included: a method that always fails fails there first).
 * True for a measured success: the caller records its latency. */
static inline bool count_answer(const counts_t *c, int err, const wp_reply_t *rep,
                                bool measured) {
  if (err) {
    if (!c->first_text[0] && rep && rep->error[0])
      snprintf(c->first_text, c->cap, "%s", rep->error);
    int *first = measured ? c->first_err : c->warmup_first_err;
    ++*(measured ? c->failed : c->warmup_failed);
    if (!*first) *first = err;
    return false;
  }
  if (!measured) return false;
  ++*c->ok;
  if (c->wait) wb_hist_record(c->wait, rep->sent - rep->queued);
  if (c->service) wb_hist_record(c->service, rep->answered - rep->sent);
  return true;
}

/* After a stall a loop returns with requests out, and their callbacks still
 * need its state: the last of them frees it. An answer counts itself out of
 * *out; false when the loop has returned (left) and the answer is not its. */
static bool answer_in(uint64_t *out, bool left, void (*free_run)(void *), void *run) {
  --*out;
  if (!left) return true;
  if (*out == 0) free_run(run);
  return false;
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

/* ---- open loop ------------------------------------------------------------ */

/* Why a timerfd and not a uv_timer: libuv timers tick in whole milliseconds,
 * and a latency measured from the intended send time would then include up
 * to 1 ms of the generator's own lateness — ten times a pipe ping. A
 * timerfd armed at the next intended time (absolute, ns, on the same
 * CLOCK_MONOTONIC as wp_now_ns) and watched with uv_poll wakes the loop
 * with ns resolution and costs nothing while it waits.
 *
 * What remains is the wake-up itself: on this VM a thread woken from idle
 * runs ~50 µs after its timer expires. So the timer is armed that much
 * early (a running average of the lateness actually seen, see early_for)
 * and the last few µs are spun; a request never leaves before its intended
 * time. */

typedef struct open_run open_run_t;

typedef struct open_tok {
  open_run_t *run;
  uint64_t idx;             /* position in the schedule */
  uint64_t sent_at;
  struct open_tok *next_free;
} open_tok_t;

struct open_run {
  wp_pool_t *pool;
  const wb_open_t *o;
  wb_open_result_t *r;
  uv_poll_t poll;
  int tfd;
  bool closed;
  uint64_t t0;              /* intended time of request 0 */
  uint64_t total;           /* warm-up + measured */
  uint64_t next;            /* next request to send, in schedule order */
  uint64_t counted;         /* requests up to here already checked for overflow */
  uint64_t cap, outstanding;
  uint64_t last_answer;     /* of a measured request */
  uint64_t armed_for;       /* when the timer was asked to fire */
  uint64_t early_ns;        /* running average of the wake-up lateness */
  uint64_t armed_early;     /* how early the timer was armed */
  bool over;                /* schedule ended: nothing more is sent */
  int fatal;
  bool stalled;             /* the guard fired: stop waiting */
  bool left;                /* returned with requests outstanding */
  open_tok_t *tokens, *free_tok;
  wb_guard_t guard;
  counts_t counts;
};

static void open_free(void *arg) {
  open_run_t *run = arg;
  free(run->tokens);
  free(run);
}

static uint64_t phase_count(const wb_phase_t *ph) {
  double n = ph->rate * (double)ph->duration_ns / 1e9;
  return n < 1 ? 1 : (uint64_t)(n + 0.5);
}

static double warmup_rate(const wb_open_t *o) {
  return o->rate > 0 || !o->nphases ? o->rate : o->phases[0].rate;
}

/* With phases: the warm-up at its own pace, then each phase's requests
 * evenly over that phase. */
static uint64_t phased_time(const wb_open_t *o, uint64_t i) {
  double w = (double)o->warmup * 1e9 / warmup_rate(o);
  if (i < o->warmup) return (uint64_t)((double)i * 1e9 / warmup_rate(o));
  i -= o->warmup;
  double t = w;
  for (size_t k = 0; k < o->nphases; k++) {
    uint64_t c = phase_count(&o->phases[k]);
    if (i < c || k + 1 == o->nphases) return (uint64_t)(t + (double)i * 1e9 / o->phases[k].rate);
    i -= c;
    t += (double)o->phases[k].duration_ns;
  }
  return (uint64_t)t;
}

/* The phases' mean rate, what a fixed-rate run's target is. */
static double phased_rate(const wb_open_t *o) {
  double n = 0, ns = 0;
  for (size_t k = 0; k < o->nphases; k++) {
    n += (double)phase_count(&o->phases[k]);
    ns += (double)o->phases[k].duration_ns;
  }
  return n * 1e9 / ns;
}

/* The highest rate of the run: what its timer must keep up with. */
static double peak_rate(const wb_open_t *o) {
  double r = warmup_rate(o);
  for (size_t k = 0; k < o->nphases; k++)
    if (o->phases[k].rate > r) r = o->phases[k].rate;
  return r;
}

static uint64_t intended(const open_run_t *run, uint64_t i) {
  if (run->o->nphases) return run->t0 + phased_time(run->o, i);
  return run->t0 + (uint64_t)((double)i * 1e9 / run->o->rate);
}

static bool measured(const open_run_t *run, uint64_t i) {
  return i >= run->o->warmup;
}

static void on_open_reply(wp_pool_t *p, int err, const wp_reply_t *rep, void *arg);

/* A request the pool refused (its queue_limit is full): what a user's
 * caller sees under overload, so it is counted as a failure of that
 * request, not as the end of the run. */
static void open_refused(open_run_t *run, open_tok_t *t) {
  wb_open_result_t *r = run->r;
  if (measured(run, t->idx)) {
    r->sent++;
    r->failed++;
    if (!r->first_err) r->first_err = WP_EQUEUE_FULL;
    if (run->o->series) {
      wb_series_offer(run->o->series, intended(run, t->idx));
      wb_series_answer(run->o->series, t->sent_at, WP_EQUEUE_FULL, 0);
    }
  } else {
    r->warmup_failed++;
    if (!r->warmup_first_err) r->warmup_first_err = WP_EQUEUE_FULL;
  }
  t->next_free = run->free_tok;
  run->free_tok = t;
}

static void open_send(open_run_t *run) {
  open_tok_t *t = run->free_tok;
  run->free_tok = t->next_free;
  t->idx = run->next++;
  const wb_open_t *o = run->o;
  wp_request_t req = request_at(&o->req, o->set, o->nset, t->idx);
  t->sent_at = wp_now_ns();
  int rc = wp_pool_call(run->pool, &req, on_open_reply, t);
  if (rc == WP_EQUEUE_FULL) { /* refused: an answer, a failed one, at once */
    open_refused(run, t);
    return;
  }
  if (rc) {
    t->next_free = run->free_tok;
    run->free_tok = t;
    if (!run->fatal) run->fatal = rc;
    return;
  }
  run->outstanding++;
  if (measured(run, t->idx)) {
    run->r->sent++;
    if (o->series) {
      wb_series_offer(o->series, intended(run, t->idx));
      wb_series_sample(o->series, t->sent_at, run->pool);
    }
  }
}

/* Counts, once each, the measured requests that are due but held back by
 * the cap (they go out late, as answers free places). */
static void count_overflow(open_run_t *run, uint64_t now) {
  uint64_t i = run->counted > run->next ? run->counted : run->next;
  while (i < run->total && intended(run, i) <= now) {
    if (measured(run, i)) run->r->overflow++;
    i++;
  }
  run->counted = i;
}

#define OPEN_MAX_EARLY_NS 200000u

/* How early to wake for a request due at `at`: the learned lateness, but
 * never more than an eighth of the interval between requests, so the spin
 * costs the generator at most ~12 % of a CPU — at high rates the CPU the
 * workers under test need, and the loop is busy with replies anyway. */
static uint64_t early_for(const open_run_t *run) {
  uint64_t cap = (uint64_t)(1e9 / peak_rate(run->o) / 8);
  return run->early_ns < cap ? run->early_ns : cap;
}

static void arm(open_run_t *run, uint64_t at) {
  uint64_t early = early_for(run);
  /* Replies pump too, mostly finding the timer already set for the same
   * request: skip the syscall then (it is most of the generator's cost at
   * tens of thousands of requests per second). */
  if (run->armed_for == at && run->armed_early == early) return;
  run->armed_for = at;
  run->armed_early = early;
  at = at > run->t0 + early ? at - early : run->t0;
  struct itimerspec its = {{0, 0}, {(time_t)(at / 1000000000u), (long)(at % 1000000000u)}};
  if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0) its.it_value.tv_nsec = 1;
  timerfd_settime(run->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* Sends everything due, then arms the timer: at the next intended time, or
 * at the schedule's end when the cap holds requests back (answers drive the
 * sending then). Past the end, a run of a given count still sends what the
 * cap holds back, late: those waited longest, so dropping them would hide
 * the very delay the run measures (on a loaded machine a cap of 1 left 2 of
 * 2000 unsent). A run of a given duration gives them up (unsent), so that
 * a pool far slower than the rate cannot stretch it without bound. */
static void pump(open_run_t *run) {
  if (run->over || run->fatal) return;
  uint64_t now = wp_now_ns();
  while (run->next < run->total && intended(run, run->next) <= now &&
         run->outstanding < run->cap && !run->fatal)
    open_send(run);
  if (run->next >= run->total || run->fatal) {
    run->over = true;
    return;
  }
  uint64_t end = intended(run, run->total);
  if (run->outstanding < run->cap) {
    arm(run, intended(run, run->next));
    return;
  }
  count_overflow(run, now);
  if (now < end) {
    arm(run, end);
    return;
  }
  if (run->o->requests) return;
  for (uint64_t i = run->next; i < run->total; i++)
    if (measured(run, i)) {
      run->r->unsent++;
      if (run->o->series) wb_series_offer(run->o->series, intended(run, i));
    }
  run->over = true;
}

static void on_open_reply(wp_pool_t *p, int err, const wp_reply_t *rep, void *arg) {
  open_tok_t *t = arg;
  open_run_t *run = t->run;
  uint64_t now = wp_now_ns();
  if (!answer_in(&run->outstanding, run->left, open_free, run)) return;
  if (!err) wb_guard_answer(&run->guard, now - t->sent_at);
  wb_open_result_t *r = run->r;
  bool m = measured(run, t->idx);
  if (m) {
    run->last_answer = now;
    if (run->o->series) {
      wb_series_answer(run->o->series, now, err, now - intended(run, t->idx));
      wb_series_sample(run->o->series, now, p);
    }
  }
  if (count_answer(&run->counts, err, rep, m)) {
    wb_hist_record(r->lat, now - intended(run, t->idx));
    wb_hist_record(r->lat_sent, now - t->sent_at);
  }
  if (err == WP_ESTOPPED || err == WP_EFAILED) run->fatal = err;
  t->next_free = run->free_tok;
  run->free_tok = t;
  pump(run);
}

static void on_tick(uv_poll_t *h, int status, int events) {
  (void)status;
  (void)events;
  open_run_t *run = h->data;
  uint64_t expirations;
  if (read(run->tfd, &expirations, sizeof expirations) < 0) { /* EAGAIN: spurious */
  }
  uint64_t now = wp_now_ns(), target = run->armed_for - run->armed_early;
  if (run->armed_for > run->armed_early && now >= target) {
    /* Learn the lateness (7/8 old, 1/8 new), bounded so one preemption
     * cannot make the loop spin for long. */
    uint64_t late = now - target;
    if (late > OPEN_MAX_EARLY_NS) late = OPEN_MAX_EARLY_NS;
    run->early_ns = (run->early_ns * 7 + late) / 8;
  }
  while (now < run->armed_for && run->armed_for - now <= OPEN_MAX_EARLY_NS)
    now = wp_now_ns();
  run->armed_for = 0; /* fired: the next arm must really set the timer */
  pump(run);
}

static void on_poll_closed(uv_handle_t *h) { ((open_run_t *)h->data)->closed = true; }

static int open_setup(uv_loop_t *loop, open_run_t *run) {
  run->tokens = calloc(run->cap, sizeof *run->tokens);
  run->r->lat = wb_hist_new();
  run->r->lat_sent = wb_hist_new();
  if (!run->tokens || !run->r->lat || !run->r->lat_sent ||
      split_alloc(run->o->split, &run->r->wait, &run->r->service))
    return WP_ENOMEM;
  for (uint64_t i = 0; i < run->cap; i++) {
    run->tokens[i].run = run;
    run->tokens[i].next_free = i + 1 < run->cap ? &run->tokens[i + 1] : NULL;
  }
  run->free_tok = run->tokens;
  run->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (run->tfd < 0) return WP_EIO;
  if (uv_poll_init(loop, &run->poll, run->tfd) != 0) {
    close(run->tfd);
    run->tfd = -1;
    return WP_EIO;
  }
  run->poll.data = run;
  return uv_poll_start(&run->poll, UV_READABLE, on_tick) ? WP_EIO : 0;
}

static uint64_t open_count(const wb_open_t *o) {
  if (o->nphases) {
    uint64_t n = 0;
    for (size_t k = 0; k < o->nphases; k++) n += phase_count(&o->phases[k]);
    return n;
  }
  if (o->requests) return o->requests;
  double n = o->rate * (double)o->duration_ns / 1e9;
  return n < 1 ? 1 : (uint64_t)(n + 0.999999);
}

static void open_finish(open_run_t *run) {
  wb_open_result_t *r = run->r;
  uint64_t start = intended(run, run->o->warmup), end = intended(run, run->total);
  r->t_first = start;
  if (run->last_answer > end) end = run->last_answer;
  r->elapsed_s = end > start ? (double)(end - start) / 1e9 : 0;
  r->achieved_rps = r->elapsed_s > 0 ? (double)r->ok / r->elapsed_s : 0;
}

/* A stalled worker: nothing more is sent, what is out drains. */
static void open_stalled(void *arg) {
  open_run_t *run = arg;
  run->over = run->stalled = true;
}

int wb_run_open(uv_loop_t *loop, wp_pool_t *p, const wb_open_t *o,
                wb_open_result_t *r) {
  memset(r, 0, sizeof *r);
  if (o->nphases) {
    for (size_t k = 0; k < o->nphases; k++)
      if (!(o->phases[k].rate > 0) || !o->phases[k].duration_ns) return WP_EINVAL;
  } else if (!(o->rate > 0) || (!o->requests && !o->duration_ns)) {
    return WP_EINVAL;
  }
  /* On the heap, as the closed loop's: a stall leaves requests behind. */
  open_run_t *run = calloc(1, sizeof *run);
  if (!run) return WP_ENOMEM;
  *run = (open_run_t){.pool = p, .o = o, .r = r, .tfd = -1,
                      .cap = o->max_outstanding ? o->max_outstanding : WB_OPEN_DEFAULT_CAP};
  r->target_rps = o->nphases ? phased_rate(o) : o->rate;
  run->total = o->warmup + open_count(o);
  int rc = open_setup(loop, run);
  if (rc == 0) {
    run->counts = COUNTS_OF(r);
    wb_guard_start(&run->guard, loop, p, o->stall_ns, &o->req, &r->stall, open_stalled, run);
    run->t0 = wp_now_ns();
    pump(run);
    while ((!run->over || run->outstanding > 0) && !run->stalled && uv_run(loop, UV_RUN_ONCE)) {
    }
    open_finish(run);
    rc = run->fatal ? run->fatal : r->stall.workers ? WP_ETIMEDOUT : 0;
  }
  wb_guard_close(&run->guard, loop);
  if (run->tfd >= 0) {
    uv_close((uv_handle_t *)&run->poll, on_poll_closed);
    while (!run->closed && uv_run(loop, UV_RUN_ONCE)) {
    }
    close(run->tfd);
  }
  r->stall.unanswered = run->outstanding;
  if (r->stall.workers) wb_stall_note(&r->stall);
  if (run->outstanding > 0) run->left = true;
  else open_free(run);
  return rc;
}
