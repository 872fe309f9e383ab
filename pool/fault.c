/*
 * fault.c — what ended a slot's last failed generation, in words.
 *
 * An error code alone (WP_EPROTO, WP_EHELLO) does not tell a user what to
 * fix. Each logical slot keeps a record of its newest failure: the code,
 * the pid, whether the Hello had come, the exit status once the process is
 * reaped, and the first bytes the worker wrote on stdout (a print() before
 * the Hello is the most common mistake in a real worker). The sentence is
 * written only when wp_pool_last_error asks, so the exit status, known
 * later than the failure, is in it if the process was reaped by then.
 *
 * Owns: p->faults and wp_pool_last_error. May call: stderr.c (the last
 * line), errors.c.
 */
#include <ctype.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "pool_internal.h"
#include "proto.h"

void wpi_fault_stdout(wp_slot_t *s, const uint8_t *data, size_t n) {
  size_t room = sizeof s->head - s->head_len;
  if (n > room) n = room;
  memcpy(s->head + s->head_len, data, n);
  s->head_len = (uint8_t)(s->head_len + n);
}

void wpi_fault_record(wp_slot_t *s, int err) {
  wp_pool_t *p = s->pool;
  if (!err || !p->faults) return;
  wp_fault_t *f = &p->faults[s->index];
  *f = (wp_fault_t){.err = err, .pid = s->tl.pid, .generation = s->tl.generation,
                    .hello = s->tl.hello != 0, .overran = s->overran,
                    .starting = p->state == POOL_STARTING, .reaped = s->reaped,
                    .status = s->exit_status, .head_len = s->head_len};
  memcpy(f->head, s->head, s->head_len);
  f->errline_len = (uint16_t)wpi_stderr_last(s, f->errline, sizeof f->errline);
  /* The failure that ended a start (or failed the pool) is the one to
   * show for it: later ones do not replace it. */
  if (p->fault_slot < 0 || p->state == POOL_STARTING || p->state == POOL_RUNNING)
    p->fault_slot = s->index;
}

void wpi_fault_exited(wp_slot_t *s) {
  wp_pool_t *p = s->pool;
  if (!p->faults) return;
  wp_fault_t *f = &p->faults[s->index];
  if (f->err && f->pid == s->tl.pid && f->generation == s->tl.generation) {
    f->reaped = true;
    f->status = s->exit_status;
  }
}

/* ---- the sentence ----------------------------------------------------------- */

typedef struct out {
  char *buf;
  size_t len, used;
} out_t;

static void put(out_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(out_t *o, const char *fmt, ...) {
  if (o->used >= o->len) return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(o->buf + o->used, o->len - o->used, fmt, ap);
  va_end(ap);
  if (n > 0) o->used += (size_t)n;
  if (o->used >= o->len) o->used = o->len - 1;
}

static bool texty(uint8_t c) {
  return (c >= 0x20 && c < 0x7f) || c == '\n' || c == '\t' || c == '\r';
}

/* At most max bytes quoted C-style; text stops at the first byte that is
 * not text (what follows is usually the Hello frame). */
static void put_bytes(out_t *o, const uint8_t *b, size_t n, bool text, size_t max) {
  size_t shown = 0;
  put(o, "\"");
  for (; shown < n && shown < max && (!text || texty(b[shown])); shown++) {
    uint8_t c = b[shown];
    if (c == '\n') put(o, "\\n");
    else if (c == '\t') put(o, "\\t");
    else if (c == '\r') put(o, "\\r");
    else if (c == '"' || c == '\\') put(o, "\\%c", c);
    else if (isprint(c)) put(o, "%c", c);
    else put(o, "\\x%02x", c);
  }
  put(o, "\"%s", shown == max && shown < n ? "..." : "");
}

static void put_exit(out_t *o, const wp_fault_t *f) {
  if (!f->reaped) put(o, "closed its stdout");
  else if (WIFEXITED(f->status)) put(o, "exited with status %d", WEXITSTATUS(f->status));
  else if (WIFSIGNALED(f->status))
    put(o, "was killed by signal %d (%s)", WTERMSIG(f->status), strsignal(WTERMSIG(f->status)));
  else put(o, "ended (wait status %#x)", (unsigned)f->status);
}

static void put_what(out_t *o, const wp_pool_t *p, const wp_fault_t *f) {
  switch (f->err) {
  case WP_EPROTO:
    if (f->hello) {
      put(o, "broke the wire protocol after its Hello (a frame that is not a "
             "Reply to a request it holds)");
    } else if (f->head_len && texty(f->head[0])) {
      put(o, "wrote non-protocol bytes to stdout before its Hello: ");
      put_bytes(o, f->head, f->head_len, true, 40);
      put(o, " (logs belong on stderr)");
    } else {
      put(o, "sent a first frame that is not a valid Hello (protocol 1 to %d, "
             "transport %s): ", WPI_PROTOCOL_VERSION,
          wp_transport_name(p->opts.transport));
      put_bytes(o, f->head, f->head_len, false, 40);
    }
    return;
  case WP_EHELLO:
    put_exit(o, f);
    put(o, " before its Hello");
    return;
  case WP_EWORKER_EXITED:
    if (f->overran) {
      put(o, "held a request past its timeout and was killed (kill_on_timeout)");
      return;
    }
    put_exit(o, f);
    put(o, f->starting ? " after its Hello, before the pool finished starting"
                       : " while serving");
    return;
  case WP_ESTART_TIMEOUT:
    if (p->link->attached) {
      put(o, "did not answer Health/Check SERVING within the start timeout "
             "(%llu ms): unreachable, refusing connections, or not serving",
          (unsigned long long)(p->opts.start_timeout_ns / 1000000));
      return;
    }
    put(o, "sent no Hello within the start timeout (%llu ms)",
        (unsigned long long)(p->opts.start_timeout_ns / 1000000));
    return;
  case WP_ETRANSPORT:
    if (p->link->attached && f->overran) {
      put(o, "held a request past its timeout: its connection was dropped "
             "(kill_on_timeout), it is reconnected");
      return;
    }
    if (p->link->attached) {
      put(o, "lost its connection (a call failed on it, or keepalive pings went "
             "unanswered), or its Health/Check did not answer SERVING");
      return;
    }
    put(o, "failed: %s", wp_strerror(f->err));
    return;
  case WP_ESPAWN:
    put(o, "could not be spawned (is the command there and executable?)");
    return;
  default:
    put(o, "failed: %s", wp_strerror(f->err));
  }
}

static void put_command(out_t *o, const wp_pool_t *p) {
  size_t start = o->used;
  for (int i = 0; i < p->argc && o->used - start < 60; i++)
    put(o, "%s%s", i ? " " : "", p->argv[i]);
}

int wp_pool_last_error(const wp_pool_t *p, int slot, char *buf, size_t len) {
  if (!p || slot < -1 || slot >= p->opts.size || (len && !buf)) return WP_EINVAL;
  if (slot < 0) slot = p->fault_slot;
  const wp_fault_t *f = slot >= 0 && p->faults ? &p->faults[slot] : NULL;
  if (len) buf[0] = '\0';
  if (!f || !f->err) return 0;
  out_t o = {buf, len, 0};
  if (!len) return f->err;
  put(&o, "slot %d (", slot);
  if (f->pid > 0) put(&o, "pid %d, ", f->pid);
  if (p->link->attached) put(&o, "attached %s", p->opts.connect[slot % p->opts.nconnect]);
  else put_command(&o, p);
  put(&o, "): ");
  put_what(&o, p, f);
  if (f->errline_len && !f->overran && (f->err != WP_EPROTO || f->hello)) {
    put(&o, "; its last stderr line: ");
    put_bytes(&o, (const uint8_t *)f->errline, f->errline_len, false, sizeof f->errline);
  }
  return f->err;
}
