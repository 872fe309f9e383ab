/*
 * stderr.c — a worker's stderr, when options.capture_stderr is set: a pipe
 * per worker whose bytes the pool writes on to its own stderr as they
 * come, keeping the worker's last line for wp_pool_last_error.
 *
 * Why: a worker that dies before its Hello usually said why on stderr
 * (a missing module, a bad flag); the start's error can then quote it
 * instead of only an exit status. The worker's logs still reach the same
 * place, in the same order; what changes is that the supervisor's loop
 * does the writing, so a stderr that nobody reads (a full pipe) stalls the
 * pool instead of the worker — hence an option, which `wpool` turns on.
 *
 * Owns: a slot's err pipe and its last line. May call: proc.c (its
 * handle closes are counted there).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pool_internal.h"

/* Writes to our own stderr, all of it; errors are dropped (nowhere to
 * report them, and a closed stderr must not fail the worker). */
static void forward(const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(STDERR_FILENO, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    p += w;
    n -= (size_t)w;
  }
}

/* Keeps the newest non-empty line (cut to fit) of what the worker wrote. */
static void keep_lines(wp_slot_t *s, const char *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    char c = p[i];
    if (c == '\n') {
      if (s->errpart_len) {
        memcpy(s->errline, s->errpart, s->errpart_len);
        s->errline_len = s->errpart_len;
        s->errpart_len = 0;
      }
    } else if (c != '\r' && s->errpart_len < sizeof s->errpart) {
      s->errpart[s->errpart_len++] = c;
    }
  }
}

static void take(wp_slot_t *s, const char *p, size_t n) {
  forward(p, n);
  keep_lines(s, p, n);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)h;
  (void)hint;
  /* Consumed before the next read; per thread, as each loop is. */
  static _Thread_local char chunk[16384];
  *buf = uv_buf_init(chunk, sizeof chunk);
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf) {
  wp_slot_t *s = st->data;
  if (n > 0) take(s, buf->base, (size_t)n);
  else if (n < 0) wpi_stderr_close(s); /* EOF: it and its children are done */
}

int wpi_stderr_open(wp_slot_t *s, int fd) {
  s->errline_len = s->errpart_len = 0;
  uv_pipe_init(s->pool->loop, &s->err, 0);
  s->err.data = s;
  s->handles++;
  s->err_open = true;
  if (uv_pipe_open(&s->err, fd) != 0) {
    close(fd);
    return WP_EIO;
  }
  return uv_read_start((uv_stream_t *)&s->err, on_alloc, on_read) ? WP_EIO : 0;
}

void wpi_stderr_close(wp_slot_t *s) {
  if (!s->err_open) return;
  uv_os_fd_t fd;
  if (uv_fileno((uv_handle_t *)&s->err, &fd) == 0) { /* what is left now */
    char buf[16384];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) take(s, buf, (size_t)n);
  }
  s->err_open = false;
  uv_close((uv_handle_t *)&s->err, wpi_proc_handle_closed);
}

size_t wpi_stderr_last(const wp_slot_t *s, char *buf, size_t len) {
  /* A last line without its newline (the process died mid-line) counts. */
  const char *src = s->errpart_len ? s->errpart : s->errline;
  size_t n = s->errpart_len ? s->errpart_len : s->errline_len;
  if (n > len) n = len;
  memcpy(buf, src, n);
  return n;
}
