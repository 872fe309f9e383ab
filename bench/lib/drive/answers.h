/*
 * answers.h — what the closed loop (load.c) and the open loop (openloop.c)
 * share: request i of a run, the answer counters both results keep under
 * the same names, and the hand-over of a run's state to its last answer
 * after a stall. Internal to libwpdrive.
 *
 * May call: libc, wpool.h, hist.h, load.h's types.
 */
#ifndef WB_ANSWERS_H
#define WB_ANSWERS_H

#include <stdio.h>

#include "load.h"

/* Request number i: the template, with the set's payload when there is one. */
static inline wp_request_t request_at(const wp_request_t *tmpl, const wb_payload_t *set,
                                      size_t nset, uint64_t i) {
  wp_request_t r = *tmpl;
  if (nset) {
    r.payload = set[i % nset].data;
    r.payload_len = set[i % nset].len;
  }
  return r;
}

static inline int split_alloc(bool split, wb_hist_t **wait, wb_hist_t **service) {
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
static inline bool answer_in(uint64_t *out, bool left, void (*free_run)(void *), void *run) {
  --*out;
  if (!left) return true;
  if (*out == 0) free_run(run);
  return false;
}

#endif
