/* openloop.c — the open loop of load.h (wb_run_open): requests sent at
 * their intended times whatever the pool does, latency measured from
 * those times. The closed loop and the pool's set-up are load.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "answers.h"
#include "load.h"

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
