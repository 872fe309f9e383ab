/*
 * floor_pool.c — the bare C pool: what wpool's pipe transport does with N
 * workers, written as plainly as C allows, so a pool figure has a floor
 * that did the same work in the same run (issue 19's "within 10 % of a
 * bare pool").
 *
 * N echo children (tests/floor_child batch: every whole frame of one read
 * echoed in one write, as the C worker answers), one epoll set over their
 * stdouts, a closed loop of C requests: each answer creates the next. The
 * pool's rules, no more and no less: at most max_inflight frames out per
 * child (1: checkout, the rest wait in a FIFO queue; ceil(C/N): pipelined),
 * the pool's writes (link.c, link_pipe.c): a request sent while one read's
 * replies are handled waits, and the read's end writes each child's
 * frames in one write(); any other goes out in a write of its own. The
 * replies are cut by the pool's own frame decoder (wire/frame.c), and a
 * queued request goes out as soon as a child has room. Children are chosen
 * as the pool's available list chooses them (slot.c, dispatch.c): the head
 * of a list where a child just answered goes to the front and a child sent
 * to with room left goes to the back. (Round-robin instead made the floor
 * 25 % slower than wpool at checkout n=8 c=1: every request met a child
 * whose cache had gone cold, where the pool reuses the warm one.) No libuv,
 * no protobuf, no call objects, no timers: what is left is the pool's
 * irreducible work.
 *
 * Latency runs from a request's creation (its wp_pool_call in the pool) to
 * its reply, queue wait included, as the pool's closed loop measures it.
 *
 * Deadlock-free by size, as floor_pipe.c: at most C frames of ~30 bytes are
 * ever out, so a blocking write never fills a pipe. Requests per write is
 * recorded (1 where every send is alone: C=1; more where reads bring
 * several replies, as the pool's).
 *
 * May call: libc, floor_proc.c, wire/frame.c, wp_now_ns, hist.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "floor.h"
#include "frame.h"
#include "wpool.h"

/* Longer than any reply takes on a sane machine; a child that hangs fails
 * the point instead of the suite. */
#define FL_POOL_WAIT_MS 10000

typedef struct kid {
  fl_child_t ch;
  int out;                  /* frames sent, not yet answered */
  int pend;                 /* of those, packed but not written (corked) */
  int head;                 /* sent[head] is the oldest out (FIFO) */
  bool in_avail;            /* on the available list */
  struct kid *next;         /* the next on it */
  uint64_t *sent;           /* creation time of each frame out, a ring */
  wpi_frame_decoder_t dec;
} kid_t;

struct fl_pool {
  int n, epfd, ring;        /* ring: capacity of each kid's sent[] */
  uint32_t body;
  uint8_t *frame;           /* header + body, the same for every request */
  uint8_t *frames;          /* ring frames back to back: a corked write */
  kid_t *kids;
  kid_t *avail_head, *avail_tail; /* children with room, as the pool's list */
  uint64_t writes, requests;
  uint8_t rbuf[65536];
};

/* The loop's position: the queue of created, unsent requests (their
 * creation times, a ring of C), and the counts. */
typedef struct run {
  const fl_load_t *l;
  int k;                    /* max_inflight */
  bool corked;              /* handling one read's replies */
  uint64_t *q;
  uint64_t qhead, qlen;
  uint64_t total, created, answered, t_start;
  wb_hist_t *lat;
} run_t;

int fl_pool_open(const char *child, int n, uint32_t body, fl_pool_t **out) {
  fl_pool_t *f = calloc(1, sizeof *f);
  if (!f) return -1;
  f->body = body;
  f->epfd = epoll_create1(EPOLL_CLOEXEC);
  f->frame = calloc(1, WPI_FRAME_HDR + body);
  f->kids = calloc((size_t)n, sizeof *f->kids);
  char *argv[] = {(char *)child, "batch", NULL};
  for (int i = 0; f->epfd >= 0 && f->frame && f->kids && i < n; i++) {
    kid_t *k = &f->kids[i];
    if (fl_child_spawn(argv, &k->ch) != 0) break;
    f->n++;
    wpi_frame_decoder_init(&k->dec, 1u << 20);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = k};
    if (epoll_ctl(f->epfd, EPOLL_CTL_ADD, k->ch.out, &ev) != 0) break;
  }
  if (f->n != n || f->epfd < 0) {
    fl_pool_close(f);
    return -1;
  }
  wpi_frame_put_header(f->frame, body);
  memset(f->frame + WPI_FRAME_HDR, 'p', body);
  *out = f;
  return 0;
}

void fl_pool_close(fl_pool_t *f) {
  if (!f) return;
  for (int i = 0; f->kids && i < f->n; i++) {
    fl_child_end(&f->kids[i].ch);
    wpi_frame_decoder_free(&f->kids[i].dec);
    free(f->kids[i].sent);
  }
  if (f->epfd >= 0) close(f->epfd);
  free(f->kids);
  free(f->frame);
  free(f->frames);
  free(f);
}

void fl_pool_writes(fl_pool_t *f, uint64_t *requests, uint64_t *writes) {
  *requests = f->requests;
  *writes = f->writes;
  f->requests = f->writes = 0;
}

/* Each child's ring holds max_inflight send times. */
static int rings_for(fl_pool_t *f, int k) {
  for (int i = 0; i < f->n; i++) {
    kid_t *c = &f->kids[i];
    if (k > f->ring) {
      free(c->sent);
      c->sent = calloc((size_t)k, sizeof *c->sent);
      if (!c->sent) return -1;
    }
    c->out = c->head = c->pend = 0;
    c->in_avail = false;
  }
  f->avail_head = f->avail_tail = NULL;
  if (k > f->ring) {
    size_t flen = WPI_FRAME_HDR + f->body;
    free(f->frames);
    f->frames = malloc((size_t)k * flen);
    if (!f->frames) return -1;
    for (int i = 0; i < k; i++) memcpy(f->frames + (size_t)i * flen, f->frame, flen);
    f->ring = k;
  }
  return 0;
}

/* Writes c's corked frames in one write. */
static int push(fl_pool_t *f, kid_t *c) {
  size_t n = (size_t)c->pend * (WPI_FRAME_HDR + f->body);
  c->pend = 0;
  return n ? fl_write_all(c->ch.in, f->frames, n, &f->writes) : 0;
}

/* Puts c on the available list, at the front (it just answered) or the
 * back (it was just sent to), if it has room and is not on it: as
 * wpi_slot_avail_insert. */
static void avail_insert(fl_pool_t *f, run_t *s, kid_t *c, bool front) {
  if (c->in_avail || c->out >= s->k) return;
  c->in_avail = true;
  c->next = NULL;
  if (front) {
    c->next = f->avail_head;
    f->avail_head = c;
    if (!f->avail_tail) f->avail_tail = c;
    return;
  }
  if (f->avail_tail) f->avail_tail->next = c;
  else f->avail_head = c;
  f->avail_tail = c;
}

/* The head of the available list; NULL when every child is full. */
static kid_t *pick(fl_pool_t *f, run_t *s) {
  while (f->avail_head) {
    kid_t *c = f->avail_head;
    f->avail_head = c->next;
    if (!f->avail_head) f->avail_tail = NULL;
    c->in_avail = false;
    c->next = NULL;
    if (c->out < s->k) return c;
  }
  return NULL;
}

/* Sends queued requests while a child has room, each in a write of its own. */
static int dispatch(fl_pool_t *f, run_t *s) {
  kid_t *c;
  while (s->qlen > 0 && (c = pick(f, s)) != NULL) {
    uint64_t t = s->q[s->qhead % (uint64_t)s->l->conc];
    s->qhead++;
    s->qlen--;
    c->sent[(c->head + c->out++) % s->k] = t;
    c->pend++;
    if (!s->corked && push(f, c) != 0) return -1;
    avail_insert(f, s, c, false);
  }
  return 0;
}

static void create(run_t *s, uint64_t now) {
  s->q[(s->qhead + s->qlen) % (uint64_t)s->l->conc] = now;
  s->qlen++;
  s->created++;
}

/* One reply from c at `now`: its latency, and the closed loop's next one. */
static void answered(fl_pool_t *f, run_t *s, kid_t *c, uint64_t now) {
  uint64_t t = c->sent[c->head];
  c->head = (c->head + 1) % s->k;
  c->out--;
  avail_insert(f, s, c, true);
  f->requests++;
  s->answered++;
  if (s->t_start) wb_hist_record(s->lat, now - t);
  else if (s->answered >= s->l->warmup) s->t_start = now;
  if (s->created < s->total) create(s, now);
}

/* Reads what child c wrote and answers each whole frame. -1: it broke. */
static int drain(fl_pool_t *f, run_t *s, kid_t *c) {
  ssize_t n;
  do n = read(c->ch.out, f->rbuf, sizeof f->rbuf);
  while (n < 0 && errno == EINTR);
  if (n <= 0 || wpi_frame_feed(&c->dec, f->rbuf, (size_t)n) != 0) return -1;
  uint64_t now = wp_now_ns();
  const uint8_t *fr;
  uint32_t len;
  int rc;
  s->corked = true;
  while ((rc = wpi_frame_next(&c->dec, &fr, &len)) == WPI_FRAME_OK) {
    if (c->out == 0 || len != f->body) return -1; /* not our echo */
    answered(f, s, c, now);
    if (dispatch(f, s) != 0) return -1; /* as the pool: each answer sends */
  }
  s->corked = false;
  for (int i = 0; i < f->n; i++)
    if (push(f, &f->kids[i]) != 0) return -1;
  return rc == WPI_FRAME_NEED ? 0 : -1;
}

static int loop(fl_pool_t *f, run_t *s) {
  struct epoll_event ev[64];
  while (s->answered < s->total) {
    int n = epoll_wait(f->epfd, ev, 64, FL_POOL_WAIT_MS);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    for (int i = 0; i < n; i++)
      if (drain(f, s, ev[i].data.ptr) != 0) return -1;
  }
  return 0;
}

int fl_pool_run(fl_pool_t *f, const fl_load_t *l, int max_inflight,
                wb_hist_t *lat, double *rps) {
  if (l->conc < 1 || max_inflight < 1 || rings_for(f, max_inflight) != 0) return -1;
  run_t s = {.l = l, .k = max_inflight, .lat = lat,
             .total = l->requests + l->warmup};
  s.q = calloc((size_t)l->conc, sizeof *s.q);
  if (!s.q) return -1;
  for (int i = 0; i < f->n; i++) avail_insert(f, &s, &f->kids[i], false);
  uint64_t now = wp_now_ns();
  if (l->warmup == 0) s.t_start = now;
  while (s.created < s.total && s.created < (uint64_t)l->conc) create(&s, now);
  int err = dispatch(f, &s);
  if (!err) err = loop(f, &s);
  free(s.q);
  double el = (double)(wp_now_ns() - s.t_start) / 1e9;
  *rps = !err && el > 0 ? (double)l->requests / el : 0;
  return err;
}
