/*
 * floor_pipe.c — the pipe transport's floor: blocking write/read of frames
 * in the pipe framing (u32 big-endian length | body) with one echo child,
 * C frames in flight, each echoed frame sending the next. No libuv, no
 * protobuf, no dispatch: two processes and two pipes.
 *
 * A request's work, as the pool does it: one write per frame on each side
 * (the echo child splits what it reads into frames and answers each in a
 * write of its own), so requests per write is 1 at every C. Both sides'
 * writes are counted (ours here, the child's from /proc/PID/io) and
 * recorded with the floor, so that stays checked.
 *
 * Deadlock-free by size: at most C frames are ever in flight, and C frames
 * (≤ 1000 × ~30 bytes) fit in one pipe buffer, so a blocking write never
 * waits on a child that waits on us.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "floor.h"
#include "frame.h"
#include "wpool.h"

struct fl_pipe {
  fl_child_t ch;
  uint32_t body;
  uint8_t *frame;       /* one frame: header + body */
  uint64_t *sent;       /* send time by issue number % C (echo keeps order) */
  int sent_cap;
  uint64_t writes;      /* write() calls since fl_pipe_writes */
  uint64_t requests;    /* answered since fl_pipe_writes */
  long long echo_syscw; /* the child's write calls then, or -1 */
  uint8_t rbuf[65536];
};

/* syscw (write calls so far) of a process, from /proc/PID/io; -1 if unread. */
static long long child_syscw(int pid) {
  char path[64], line[128];
  snprintf(path, sizeof path, "/proc/%d/io", pid);
  FILE *fp = fopen(path, "r");
  long long v = -1;
  while (fp && fgets(line, sizeof line, fp))
    if (sscanf(line, "syscw: %lld", &v) == 1) break;
  if (fp) fclose(fp);
  return v;
}

void fl_pipe_writes(fl_pipe_t *f, fl_writes_t *w) {
  long long now = child_syscw(f->ch.pid);
  w->requests = f->requests;
  w->writes = f->writes;
  w->echo_writes = now >= 0 && f->echo_syscw >= 0 ? now - f->echo_syscw : -1;
  f->requests = f->writes = 0;
  f->echo_syscw = now;
}

int fl_pipe_open(const char *child, uint32_t body, fl_pipe_t **out) {
  fl_pipe_t *f = calloc(1, sizeof *f);
  if (!f) return -1;
  f->body = body;
  f->frame = calloc(1, WPI_FRAME_HDR + body);
  char *argv[] = {(char *)child, "echo", NULL};
  if (!f->frame || fl_child_spawn(argv, &f->ch) != 0) {
    free(f->frame);
    free(f);
    return -1;
  }
  wpi_frame_put_header(f->frame, body);
  memset(f->frame + WPI_FRAME_HDR, 'p', body);
  f->echo_syscw = child_syscw(f->ch.pid);
  *out = f;
  return 0;
}

void fl_pipe_close(fl_pipe_t *f) {
  if (!f) return;
  fl_child_end(&f->ch);
  free(f->frame);
  free(f->sent);
  free(f);
}

/* The loop's position: frames issued and answered, the frame being read. */
typedef struct loop_state {
  const fl_load_t *l;
  uint64_t total, issued, answered, t_start;
  uint32_t hdr_got, body_left;
  uint8_t hdr[WPI_FRAME_HDR];
} loop_state_t;

/* k frames, each in a write of its own (as the pool sends a request). */
static int send_frames(fl_pipe_t *f, loop_state_t *s, uint64_t k) {
  for (uint64_t i = 0; i < k; i++) {
    f->sent[s->issued++ % (uint64_t)s->l->conc] = wp_now_ns();
    if (fl_write_all(f->ch.in, f->frame, WPI_FRAME_HDR + f->body, &f->writes) != 0)
      return -1;
  }
  return 0;
}

/* A whole echoed frame arrived at `now`. */
static void answered(fl_pipe_t *f, loop_state_t *s, uint64_t now, wb_hist_t *lat) {
  f->requests++;
  uint64_t sent = f->sent[s->answered++ % (uint64_t)s->l->conc];
  if (s->t_start) wb_hist_record(lat, now - sent);
  else if (s->answered >= s->l->warmup) s->t_start = now;
}

/* Walks the bytes of one read through the framing; the frames completed. */
static uint64_t parse(fl_pipe_t *f, loop_state_t *s, size_t n, uint64_t now,
                      wb_hist_t *lat) {
  uint64_t done = 0;
  for (size_t i = 0; i < n;) {
    if (s->hdr_got < WPI_FRAME_HDR) {
      s->hdr[s->hdr_got++] = f->rbuf[i++];
      if (s->hdr_got == WPI_FRAME_HDR)
        s->body_left = (uint32_t)s->hdr[0] << 24 | (uint32_t)s->hdr[1] << 16 |
                       (uint32_t)s->hdr[2] << 8 | s->hdr[3];
    } else {
      size_t take = n - i < s->body_left ? n - i : s->body_left;
      s->body_left -= (uint32_t)take;
      i += take;
    }
    if (s->hdr_got == WPI_FRAME_HDR && s->body_left == 0) {
      s->hdr_got = 0;
      answered(f, s, now, lat);
      done++;
    }
  }
  return done;
}

static int alloc_for(fl_pipe_t *f, int conc) {
  if (conc <= f->sent_cap) return 0;
  free(f->sent);
  f->sent = calloc((size_t)conc, sizeof *f->sent);
  f->sent_cap = f->sent ? conc : 0;
  return f->sent ? 0 : -1;
}

int fl_pipe_run(fl_pipe_t *f, const fl_load_t *l, wb_hist_t *lat, double *rps) {
  if (l->conc < 1 || alloc_for(f, l->conc) != 0) return -1;
  loop_state_t s = {.l = l, .total = l->requests + l->warmup};
  if (l->warmup == 0) s.t_start = wp_now_ns();
  uint64_t first = (uint64_t)l->conc < s.total ? (uint64_t)l->conc : s.total;
  if (send_frames(f, &s, first) != 0) return -1;
  while (s.answered < s.total) {
    ssize_t n = read(f->ch.out, f->rbuf, sizeof f->rbuf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    uint64_t done = parse(f, &s, (size_t)n, wp_now_ns(), lat);
    uint64_t more = s.total - s.issued < done ? s.total - s.issued : done;
    if (more && send_frames(f, &s, more) != 0) return -1;
  }
  double el = (double)(wp_now_ns() - s.t_start) / 1e9;
  *rps = el > 0 ? (double)l->requests / el : 0;
  return 0;
}
