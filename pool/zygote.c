/*
 * zygote.c — the supervisor's side of zygote start (opts.spawn ==
 * WP_SPAWN_ZYGOTE): one template process, started from the worker command
 * with WPOOL_ZYGOTE=3, does the worker's expensive set-up once (dynamic
 * loading, a Python SDK worker's imports and init hook) and then forks a
 * ready worker per request. The protocol is wire/zygote.h.
 *
 * Per worker the pool makes the stdio pipes as for exec, keeps its ends,
 * and sends the worker's ends to the template (SCM_RIGHTS); the template
 * clones a child with CLONE_PARENT, so the child's parent is this
 * supervisor, not the template. The child reports its own pid (FORKED:
 * the slot's `started`), makes the pipes its 0/1/2, closes every other
 * descriptor and runs the normal worker loop (Hello as usual). From then
 * on it is watched, signalled and reaped by proc.c exactly as an exec'd
 * worker. Timeline: spawn_asked = the ask, started = the fork reported,
 * hello/ready as for exec.
 *
 * Lifetimes. The template and every child die with the supervisor
 * (PR_SET_PDEATHSIG against it; the template also on EOF on its socket),
 * so nothing outlives the pool. A template that dies takes nothing with
 * it: its children are ours, they keep serving and no call fails. It is
 * replaced lazily, for new starts only: the next ask starts a new one, and
 * asks wait in its socket until its READY. Asks it had not answered fail
 * with WP_ESPAWN (the slot restarts with backoff). Its socket's EOF, not
 * its exit, ends its reports: a child cloned just before the template
 * died still holds the socket and sends its FORKED.
 *
 * Owns: the templates (pid, pidfd, socket, their handles), the asks in
 * flight. May call: proc.c (spawn the template, pidfds, the children's
 * exits); slot.c only through p->on_spawn_fail (a slot whose ask failed).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pool_internal.h"
#include "zygote.h"

#define MS (1000000ull)

typedef struct tmpl tmpl_t;

typedef struct wpi_zygote {
  wp_pool_t *pool;
  tmpl_t *cur;             /* the live template, or NULL */
  int ntmpl;               /* templates whose handles are not all closed */
  int generation;          /* templates started so far */
  wp_timeline_t tl;        /* the newest template's */
  bool closing;
  void (*done)(wp_pool_t *p);
  uv_timer_t kill_timer;   /* stop: SIGKILL a template that lingers */
  bool timer_open;
} wpi_zygote_t;

struct tmpl {
  wpi_zygote_t *z;
  int gen;
  int pid, pidfd, sock;
  uv_poll_t sockw, pidw;
  int handles;
  bool lost;               /* its socket ended: no more reports */
  bool reaped;
};

int wpi_zygote_init(wp_pool_t *p) {
  wpi_zygote_t *z = calloc(1, sizeof *z);
  if (!z) return WP_ENOMEM;
  z->pool = p;
  p->zyg = z;
  return 0;
}

void wpi_zygote_free(wp_pool_t *p) {
  free(p->zyg);
  p->zyg = NULL;
}

int wpi_zygote_timeline(const wp_pool_t *p, wp_timeline_t *out) {
  if (!p || !p->zyg || !p->zyg->generation || !out) return WP_EINVAL;
  *out = p->zyg->tl;
  return 0;
}

/* ---- a template's end ------------------------------------------------------ */

static void zygote_closed_maybe(wpi_zygote_t *z);

static void tmpl_handle_closed(uv_handle_t *h) {
  tmpl_t *t = h->data;
  if (h == (uv_handle_t *)&t->sockw) close(t->sock);
  if (h == (uv_handle_t *)&t->pidw) close(t->pidfd);
  if (--t->handles > 0) return;
  wpi_zygote_t *z = t->z;
  free(t);
  z->ntmpl--;
  zygote_closed_maybe(z);
}

static void tmpl_close(uv_poll_t *h) {
  if (!uv_is_closing((uv_handle_t *)h)) uv_close((uv_handle_t *)h, tmpl_handle_closed);
}

/* The ask s made of t failed: s never had a process. */
static void ask_failed(wp_slot_t *s) {
  s->zyg_asked = false;
  if (s->state != SLOT_FAILING && s->state != SLOT_DOWN) s->pool->on_spawn_fail(s, WP_ESPAWN);
  wpi_proc_exited(s, 0);
}

/* t's socket ended (it and every child it cloned closed it, or it broke
 * the protocol): nothing more will be reported. Its unanswered asks fail;
 * its children are ours and live on. */
static void tmpl_lost(tmpl_t *t) {
  if (t->lost) return;
  t->lost = true;
  wpi_zygote_t *z = t->z;
  if (z->cur == t) z->cur = NULL;
  wp_pool_t *p = z->pool;
  for (int i = 0; i < p->nslots; i++) {
    wp_slot_t *s = &p->slots[i];
    if (s->zyg_gen != t->gen || s->reaped) continue;
    if (s->zyg_asked) ask_failed(s);
  }
  tmpl_close(&t->sockw);
  if (!t->reaped) kill(t->pid, SIGKILL); /* it may only have closed the socket */
}

/* s gives up on its ask (start timeout, or stop past its grace): the
 * template holding it has not answered all that time, so it is killed. Its
 * socket's end then fails every ask it held (tmpl_lost) and the slots go
 * down; its children are ours and live on. Without this a template that
 * never answered (an init blocked on the network) held its slots, and so
 * the pool's stop, for ever: nothing else signals a slot with no pid. */
void wpi_zygote_abandon(wp_slot_t *s) {
  wpi_zygote_t *z = s->pool->zyg;
  if (!z || !s->zyg_asked || !z->cur || z->cur->gen != s->zyg_gen || z->cur->reaped) return;
  kill(z->cur->pid, SIGKILL);
}

/* ---- reports --------------------------------------------------------------- */

static wp_slot_t *asker(tmpl_t *t, uint32_t tag) {
  wp_pool_t *p = t->z->pool;
  if (tag >= (uint32_t)p->nslots) return NULL;
  wp_slot_t *s = &p->slots[tag];
  return s->zyg_asked && s->zyg_gen == t->gen ? s : NULL;
}

/* Is pid our unreaped child? Then its pid cannot be reused under us. */
static bool our_child(int pid) {
  siginfo_t si;
  return pid > 0 && waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0;
}

/* A child nobody asked for any more (its slot stopped or failed while the
 * clone was on its way): ours to end and reap, or it stays a zombie. */
static void stray_child(int pid) {
  if (!our_child(pid)) return;
  kill(-pid, SIGKILL); /* its own group, held by the unreaped leader */
  waitpid(pid, NULL, 0);
}

static void on_forked(tmpl_t *t, const wpi_zyg_msg_t *m) {
  wp_slot_t *s = asker(t, m->tag);
  if (!s) {
    stray_child(m->pid);
    return;
  }
  s->zyg_asked = false;
  if (!our_child(m->pid)) { /* forked without CLONE_PARENT: we could not reap it */
    ask_failed(s);
    return;
  }
  s->tl.pid = m->pid;
  /* The child may write its Hello before the template reports the fork,
   * and the pool may read them in either order: forked is then the Hello. */
  uint64_t now = wp_now_ns();
  s->tl.started = s->tl.hello && s->tl.hello < now ? s->tl.hello : now;
  s->pidfd = wpi_pidfd_open(m->pid); /* -1 (ENOSYS): proc.c polls waitpid */
  if (s->pidfd >= 0) fcntl(s->pidfd, F_SETFD, FD_CLOEXEC);
  if (wpi_proc_watch(s) != 0) wpi_proc_reap_now(s);
  /* Asked to go while the fork was on its way: a failed one is killed; a
   * closing one sees its stdin's EOF and leaves by itself. */
  if (s->state == SLOT_FAILING) wpi_proc_signal(s, SIGKILL);
}

static void on_report(tmpl_t *t, const wpi_zyg_msg_t *m) {
  switch (m->op) {
  case WPI_ZYG_READY:
    if (t->z->tl.generation == t->gen) t->z->tl.hello = t->z->tl.ready = wp_now_ns();
    break;
  case WPI_ZYG_FORKED: on_forked(t, m); break;
  case WPI_ZYG_FAILED: {
    wp_slot_t *s = asker(t, m->tag);
    if (s) ask_failed(s);
    break;
  }
  default: tmpl_lost(t); /* not our template protocol: give it up */
  }
}

/* Reads every report waiting; false once the socket ended. */
static bool read_reports(tmpl_t *t) {
  while (!t->lost) {
    wpi_zyg_msg_t m;
    ssize_t n = recv(t->sock, &m, sizeof m, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    if (n != (ssize_t)sizeof m) {
      tmpl_lost(t);
      return false;
    }
    on_report(t, &m);
  }
  return false;
}

static void on_sock_readable(uv_poll_t *w, int status, int events) {
  (void)status;
  (void)events;
  read_reports(w->data);
}

/* The template exited: new asks go to a new one; its socket's EOF (once
 * the children it cloned last have sent FORKED) fails what it left
 * unanswered. Reap it. */
static void on_tmpl_exit(uv_poll_t *w, int status, int events) {
  (void)status;
  (void)events;
  tmpl_t *t = w->data;
  if (waitpid(t->pid, NULL, WNOHANG) == 0) return; /* spurious */
  if (t->z->cur == t) t->z->cur = NULL;
  t->reaped = true;
  tmpl_close(&t->pidw);
}

/* ---- starting a template ------------------------------------------------------ */

static int tmpl_watch(wpi_zygote_t *z, tmpl_t *t) {
  uv_loop_t *loop = z->pool->loop;
  t->sockw.data = t->pidw.data = t;
  if (uv_poll_init(loop, &t->sockw, t->sock) != 0) return WP_EIO;
  t->handles++;
  if (uv_poll_init(loop, &t->pidw, t->pidfd) != 0) return WP_EIO;
  t->handles++;
  if (uv_poll_start(&t->sockw, UV_READABLE, on_sock_readable) != 0 ||
      uv_poll_start(&t->pidw, UV_READABLE, on_tmpl_exit) != 0)
    return WP_EIO;
  return 0;
}

/* A template that cannot be watched is killed and forgotten at once. */
static void tmpl_abandon(wpi_zygote_t *z, tmpl_t *t) {
  kill(t->pid, SIGKILL);
  waitpid(t->pid, NULL, 0);
  t->reaped = true;
  z->cur = NULL;
  if (t->handles == 0) {
    close(t->sock);
    close(t->pidfd);
    free(t);
    z->ntmpl--;
    return;
  }
  tmpl_lost(t); /* closes its socket's handle */
  if (t->handles == 2) tmpl_close(&t->pidw);
  else close(t->pidfd);
}

static int tmpl_start(wpi_zygote_t *z) {
  wp_pool_t *p = z->pool;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    return errno == EMFILE || errno == ENFILE ? WP_ENOFILES : WP_EIO;
  tmpl_t *t = calloc(1, sizeof *t);
  if (!t) {
    close(sv[0]);
    close(sv[1]);
    return WP_ENOMEM;
  }
  uint64_t asked = wp_now_ns();
  /* The command alone: the transport's flags after it are the asking
   * worker's (its SPAWN carries them). */
  char *flags = p->argv[p->argc];
  p->argv[p->argc] = NULL;
  int rc = wpi_spawn_template(p->argv, p->opts.cpus, p->opts.ncpus, sv[1], &t->pid, &t->pidfd);
  p->argv[p->argc] = flags;
  close(sv[1]);
  if (rc) {
    close(sv[0]);
    free(t);
    return rc;
  }
  t->z = z;
  t->sock = sv[0];
  t->gen = ++z->generation;
  fcntl(t->sock, F_SETFL, O_NONBLOCK);
  z->ntmpl++;
  z->cur = t;
  z->tl = (wp_timeline_t){.spawn_asked = asked, .started = wp_now_ns(),
                          .pid = t->pid, .generation = t->gen};
  rc = tmpl_watch(z, t);
  if (rc) tmpl_abandon(z, t);
  return rc;
}

/* ---- asking for a worker -------------------------------------------------------- */

/* The transport's flags for this worker (slot.c put them after the
 * command, NULL-terminated), NUL-separated into buf: their length, or -1
 * when they do not fit. */
static int pack_args(char *const *args, char *buf) {
  size_t off = 0;
  for (int i = 0; args[i]; i++) {
    size_t n = strlen(args[i]) + 1;
    if (off + n > WPI_ZYG_ARGS_MAX) return -1;
    memcpy(buf + off, args[i], n);
    off += n;
  }
  return (int)off;
}

static int send_ask(tmpl_t *t, uint32_t tag, const int *fds, int nfds, char *const *args) {
  wpi_zyg_msg_t m = {.op = WPI_ZYG_SPAWN, .tag = tag};
  char flags[WPI_ZYG_ARGS_MAX];
  int nflags = pack_args(args, flags);
  if (nflags < 0) return WP_ESPAWN;
  struct iovec iov[2] = {{.iov_base = &m, .iov_len = sizeof m},
                         {.iov_base = flags, .iov_len = (size_t)nflags}};
  union {
    char buf[CMSG_SPACE(3 * sizeof(int))];
    struct cmsghdr align;
  } u;
  memset(&u, 0, sizeof u);
  struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2, .msg_control = u.buf,
                      .msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int))};
  struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
  memcpy(CMSG_DATA(c), fds, (size_t)nfds * sizeof(int));
  ssize_t n;
  do n = sendmsg(t->sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);
  return n == (ssize_t)sizeof m + nflags ? 0 : WP_ESPAWN;
}

int wpi_zygote_spawn(wp_slot_t *s, bool err_pipe, wp_proc_t *out) {
  wpi_zygote_t *z = s->pool->zyg;
  if (!z->cur) {
    int rc = tmpl_start(z);
    if (rc) return rc;
  }
  wpi_stdio_t io;
  int rc = wpi_stdio_pipes(err_pipe, &io);
  if (rc) return rc;
  const int theirs[3] = {io.in[0], io.out[1], io.err[1]};
  wp_pool_t *p = s->pool;
  rc = send_ask(z->cur, (uint32_t)(s - p->slots), theirs, err_pipe ? 3 : 2, p->argv + p->argc);
  wpi_stdio_theirs_close(&io); /* the message holds its own references */
  if (rc) {
    wpi_stdio_ours_close(&io);
    return rc;
  }
  s->zyg_asked = true;
  s->zyg_gen = z->cur->gen;
  *out = (wp_proc_t){.pid = 0, .pidfd = -1, .fd_in = io.in[1], .fd_out = io.out[0],
                     .fd_err = io.err[0]};
  return 0;
}

/* ---- stop ------------------------------------------------------------------------ */

static void on_kill_timer_closed(uv_handle_t *h) {
  wpi_zygote_t *z = h->data;
  z->timer_open = false;
  z->done(z->pool);
}

static void zygote_closed_maybe(wpi_zygote_t *z) {
  if (!z->closing || z->ntmpl > 0 || !z->timer_open) return;
  if (!uv_is_closing((uv_handle_t *)&z->kill_timer))
    uv_close((uv_handle_t *)&z->kill_timer, on_kill_timer_closed);
}

static void on_kill_timer(uv_timer_t *h) {
  wpi_zygote_t *z = h->data;
  if (z->cur && !z->cur->reaped) kill(z->cur->pid, SIGKILL);
}

/* Every worker is down: EOF on the template's socket asks it to exit; it
 * is SIGKILLed if it has not within the stop grace. */
void wpi_zygote_close(wp_pool_t *p, void (*done)(wp_pool_t *p)) {
  wpi_zygote_t *z = p->zyg;
  z->closing = true;
  z->done = done;
  uv_timer_init(p->loop, &z->kill_timer);
  z->kill_timer.data = z;
  z->timer_open = true;
  if (z->cur) {
    shutdown(z->cur->sock, SHUT_WR);
    uv_timer_start(&z->kill_timer, on_kill_timer, p->opts.stop_grace_ns / MS, 0);
  }
  zygote_closed_maybe(z);
}
