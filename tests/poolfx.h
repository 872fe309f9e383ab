/*
 * poolfx.h — the pool test fixture shared by the C suites that drive a
 * real pool (test_pool, test_recycle, test_orphans): a loop and a pool with
 * short timeouts, bad_worker as the command, exactly-once reply outcomes,
 * and a finish that proves every child was reaped and every handle closed.
 */
#ifndef WP_POOLFX_H
#define WP_POOLFX_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "testutil.h"

#define S (1000000000ull)
#define MS (1000000ull)

/* ---- fixtures ------------------------------------------------------------ */

typedef struct fx {
  uv_loop_t loop;
  wp_pool_t *pool;
  wp_options_t o;
  char *argv[4];
  bool started, stopped;
  int start_err;
  double stop_limit_s;  /* how long fx_finish waits for the stop; 0: 10 s */
} fx_t;

static inline void fx_init(fx_t *f, int size) {
  memset(f, 0, sizeof *f);
  assert_int_equal(uv_loop_init(&f->loop), 0);
  wp_options_init(&f->o);
  f->o.size = size;
  f->o.stop_grace_ns = 500 * MS;
  f->o.start_timeout_ns = 5 * S;
}

/* Uses tests/helpers/bad_worker MODE [ARG] as the worker command. */
static inline void fx_bad(fx_t *f, const char *mode, const char *arg) {
  static char path[4096];
  snprintf(path, sizeof path, "%s", tu_path("tests/bad_worker"));
  f->argv[0] = path;
  f->argv[1] = (char *)mode;
  f->argv[2] = (char *)arg;
  f->argv[3] = NULL;
  f->o.argv = f->argv;
}

static inline void on_started(wp_pool_t *p, int err, void *arg) {
  (void)p;
  fx_t *f = arg;
  f->started = true;
  f->start_err = err;
}

static inline void on_stopped(wp_pool_t *p, void *arg) {
  (void)p;
  ((fx_t *)arg)->stopped = true;
}

static inline int fx_start(fx_t *f) {
  assert_int_equal(wp_pool_new(&f->loop, &f->o, &f->pool), 0);
  assert_int_equal(wp_pool_start(f->pool, on_started, f), 0);
  assert_true(tu_run_until(&f->loop, &f->started, 15));
  return f->start_err;
}

/* Stops, checks every child is reaped and every handle closed. */
static inline void fx_finish(fx_t *f) {
  if (f->pool) {
    wp_pool_stop(f->pool, on_stopped, f);
    assert_true(tu_run_until(&f->loop, &f->stopped, f->stop_limit_s > 0 ? f->stop_limit_s : 10));
    wp_pool_free(f->pool);
  }
  assert_int_equal(uv_loop_close(&f->loop), 0);
  /* No zombie or child left: waitpid finds nothing to wait for. */
  assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
}

/* A request's outcome, for exactly-once accounting. */
typedef struct outcome {
  int calls;      /* how many times the callback ran */
  int err;
  int slot;
  char payload[64];
} outcome_t;

static inline void on_reply(wp_pool_t *p, int err, const wp_reply_t *r, void *arg) {
  (void)p;
  outcome_t *o = arg;
  o->calls++;
  o->err = err;
  if (!err) {
    o->slot = r->slot;
    size_t n = r->payload_len < sizeof o->payload - 1 ? r->payload_len : sizeof o->payload - 1;
    memcpy(o->payload, r->payload, n);
    o->payload[n] = '\0';
  }
}

static inline int call_ping(fx_t *f, const char *payload, outcome_t *o, uint64_t timeout_ns,
                     int idempotent) {
  wp_request_t req = {.kind = WP_REQ_PING, .payload = payload,
                      .payload_len = strlen(payload), .timeout_ns = timeout_ns,
                      .idempotent = idempotent};
  return wp_pool_call(f->pool, &req, on_reply, o);
}

/* Runs until o's callback ran (bounded). */
static inline void wait_outcome(fx_t *f, outcome_t *o) {
  uint64_t end = wp_now_ns() + 10 * S;
  while (o->calls == 0 && wp_now_ns() < end) tu_run_for(&f->loop, 0.01);
  assert_int_equal(o->calls, 1);
}

/* Runs until slot's newest generation is >= gen and ready (bounded). */
static inline bool fx_wait_gen(fx_t *f, int slot, int gen, double seconds) {
  uint64_t end = wp_now_ns() + (uint64_t)(seconds * 1e9);
  for (;;) {
    wp_timeline_t tl;
    wp_pool_timeline(f->pool, slot, &tl);
    if (tl.generation >= gen && wp_pool_slot_ready(f->pool, slot)) return true;
    if (wp_now_ns() >= end) return false;
    tu_run_for(&f->loop, 0.005);
  }
}

/* A closed loop that checks exactly-once delivery: total requests, at most
 * conc in flight, each callback counted per request. */
typedef struct fx_load {
  int total, conc, sent, done;
  int ok, failed, dup, first_err;
  int other_err;                /* failures whose err differs from first_err */
  unsigned char *seen;          /* per request: callbacks run */
  wp_request_t req;
  fx_t *f;
} fx_load_t;

typedef struct fx_tok {
  fx_load_t *l;
  int idx;
} fx_tok_t;

static inline void fx_load_send(fx_load_t *l, fx_tok_t *toks);

static inline void fx_on_load(wp_pool_t *p, int err, const wp_reply_t *r, void *arg) {
  (void)p;
  (void)r;
  fx_tok_t *t = arg;
  fx_load_t *l = t->l;
  if (l->seen[t->idx]++) {
    l->dup++;
    return;
  }
  l->done++;
  if (err) {
    l->failed++;
    if (!l->first_err) l->first_err = err;
    else if (err != l->first_err) l->other_err++;
  } else {
    l->ok++;
  }
}

static inline void fx_load_send(fx_load_t *l, fx_tok_t *toks) {
  while (l->sent < l->total && l->sent - l->done < l->conc) {
    fx_tok_t *t = &toks[l->sent];
    t->l = l;
    t->idx = l->sent;
    int rc = wp_pool_call(l->f->pool, &l->req, fx_on_load, t);
    assert_int_equal(rc, 0);
    l->sent++;
  }
}

/* Something done to the pool's workers mid-load (fx_run_load_at). */
typedef void (*fx_event_fn)(void *arg);

/* Runs total requests of kind req through the pool, running event(arg)
 * once when `at` of them are done (event NULL: never); every one must be
 * answered within seconds. */
static inline void fx_run_load_at(fx_t *f, fx_load_t *l, int total, int conc,
                                  const wp_request_t *req, double seconds, int at,
                                  fx_event_fn event, void *arg) {
  memset(l, 0, sizeof *l);
  l->f = f;
  l->total = total;
  l->conc = conc;
  l->req = *req;
  l->seen = calloc((size_t)total, 1);
  fx_tok_t *toks = calloc((size_t)total, sizeof *toks);
  uv_timer_t wake; /* so a stuck pool fails the test instead of hanging it */
  uv_timer_init(&f->loop, &wake);
  uv_timer_start(&wake, tu_wake, 10, 10);
  uint64_t end = wp_now_ns() + (uint64_t)(seconds * 1e9);
  while (l->done < total && wp_now_ns() < end) {
    if (event && l->done >= at) {
      event(arg);
      event = NULL;
    }
    fx_load_send(l, toks);
    uv_run(&f->loop, UV_RUN_ONCE);
  }
  uv_close((uv_handle_t *)&wake, NULL);
  tu_run_for(&f->loop, 0.02); /* a late second callback would show now */
  assert_int_equal(l->done, total);
  assert_int_equal(l->dup, 0);
  free(toks);
  free(l->seen);
  l->seen = NULL;
}

static inline void fx_run_load(fx_t *f, fx_load_t *l, int total, int conc,
                               const wp_request_t *req, double seconds) {
  fx_run_load_at(f, l, total, conc, req, seconds, 0, NULL, NULL);
}

#endif
