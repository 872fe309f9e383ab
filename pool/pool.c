/*
 * pool.c — the pool's lifecycle and each slot's state machine:
 *
 *   DOWN → STARTING → (gRPC: CONNECTING →) READY → CLOSING → DOWN → restart
 *
 * A slot is DOWN again only when its process is reaped and its pipes and
 * exit watcher are closed; only then may it restart or the pool finish
 * stopping. Start: concurrent spawns every slot at once, sequential spawns
 * the next when the previous is ready; a slot that fails before the pool is
 * up fails the start (like an OTP supervisor whose child fails init), also
 * one that was already ready: nothing restarts while the pool starts, so
 * the start would otherwise never end.
 * After that, a worker that exits is restarted with exponential backoff and
 * jitter, and more than restart_max restarts in restart_window_ns fail the
 * pool (POOL_FAILED) instead of spinning.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pool_internal.h"

#define MS (1000000ull)

void wp_options_init(wp_options_t *o) {
  memset(o, 0, sizeof *o);
  o->size = 1;
  o->mode = WP_MODE_CONCURRENT;
  o->transport = WP_TRANSPORT_PIPE;
  o->max_inflight = 1;
  o->queue_limit = 1u << 20;
  o->start_timeout_ns = 10000 * MS;
  o->stop_grace_ns = 2000 * MS;
  o->max_frame = WP_DEFAULT_MAX_FRAME;
  o->restart = 1;
  o->restart_base_ns = 10 * MS;
  o->restart_cap_ns = 1000 * MS;
  o->restart_window_ns = 5000 * MS;
  o->kill_on_timeout = 1;
  o->rss_check_interval_ns = 1000 * MS;
}

/* ---- the worker command -------------------------------------------------- */

/* The default worker for a transport: wpool-worker (lean, pipe) or
 * wpool-worker-grpc (gRPC linked statically), which is what
 * `wpool-worker --transport grpc` re-execs anyway: spawning it directly
 * saves that exec (~1.5 ms a worker). */
static char *default_worker(const char *name) {
  const char *env = getenv("WPOOL_WORKER");
  if (env && *env) return strdup(env);
  /* Next to the running program (build/wpool), or one level up (tests in
   * build/tests/), else the repo-relative default. */
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 32);
  if (n > 0) {
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash) {
      snprintf(slash, 32, "/%s", name);
      if (access(exe, X_OK) == 0) return strdup(exe);
      *slash = '\0';
      slash = strrchr(exe, '/');
      if (slash) {
        snprintf(slash, 32, "/%s", name);
        if (access(exe, X_OK) == 0) return strdup(exe);
      }
    }
  }
  char rel[64];
  snprintf(rel, sizeof rel, "build/%s", name);
  return strdup(rel);
}

/* Copies the command, leaving room for "--transport grpc --listen ADDR". */
static int copy_argv(wp_pool_t *p, char *const *argv) {
  int n = 0;
  while (argv && argv[n]) n++;
  p->argv = calloc((size_t)n + 6, sizeof *p->argv);
  if (!p->argv) return WP_ENOMEM;
  if (n == 0) {
    p->argv[0] = default_worker(p->opts.transport == WP_TRANSPORT_GRPC
                                    ? "wpool-worker-grpc"
                                    : "wpool-worker");
    n = 1;
  } else {
    for (int i = 0; i < n; i++) p->argv[i] = strdup(argv[i]);
  }
  for (int i = 0; i < n; i++)
    if (!p->argv[i]) return WP_ENOMEM;
  p->argc = n;
  return 0;
}

/* ---- construction -------------------------------------------------------- */

static int check_options(const wp_options_t *o) {
  if (o->size < 1 || o->max_inflight < 1 || o->queue_limit < 1 ||
      o->max_frame < 256)
    return WP_EINVAL;
  if (o->mode != WP_MODE_CONCURRENT && o->mode != WP_MODE_SEQUENTIAL)
    return WP_EINVAL;
  if (o->transport != WP_TRANSPORT_PIPE && o->transport != WP_TRANSPORT_GRPC)
    return WP_EINVAL;
  return 0;
}

int wp_pool_new(uv_loop_t *loop, const wp_options_t *opts, wp_pool_t **out) {
  if (!loop || !opts || !out) return WP_EINVAL;
  int rc = check_options(opts);
  if (rc) return rc;
  wp_pool_t *p = calloc(1, sizeof *p);
  if (!p) return WP_ENOMEM;
  p->loop = loop;
  p->opts = *opts;
  p->opts.cpus = NULL;
  if (opts->cpus && opts->ncpus > 0) {
    int *c = malloc(sizeof *c * (size_t)opts->ncpus);
    if (c) memcpy(c, opts->cpus, sizeof *c * (size_t)opts->ncpus);
    p->opts.cpus = c;
  }
  if (p->opts.restart_max <= 0)
    p->opts.restart_max = opts->size * 5 > 10 ? opts->size * 5 : 10;
  p->nslots = 2 * opts->size;
  p->slots = calloc((size_t)p->nslots, sizeof *p->slots);
  p->restart_ring_len = p->opts.restart_max + 1;
  p->restart_times = calloc((size_t)p->restart_ring_len, sizeof(uint64_t));
  p->rng = wp_now_ns() ^ (uint64_t)getpid() << 32;
  p->faults = calloc((size_t)opts->size, sizeof *p->faults);
  p->fault_slot = -1;
  if (!p->slots || !p->restart_times || !p->faults || copy_argv(p, opts->argv) != 0) {
    p->state = POOL_STOPPED;
    wp_pool_free(p);
    return WP_ENOMEM;
  }
  for (int i = 0; i < p->nslots; i++) {
    wp_slot_t *s = &p->slots[i];
    s->pool = p;
    s->index = i % opts->size;
    s->pidfd = -1;
    s->backoff_ns = p->opts.restart_base_ns;
    s->twin = &p->slots[(i + opts->size) % p->nslots];
    s->role = i < opts->size ? ROLE_CURRENT : ROLE_SPARE;
  }
  *out = p;
  return 0;
}

void wp_pool_free(wp_pool_t *p) {
  if (!p) return;
  for (int i = 0; p->argv && i < p->argc; i++) free(p->argv[i]);
  free(p->argv);
  for (int i = 0; p->slots && i < p->nslots; i++) {
    wpi_frame_decoder_free(&p->slots[i].dec);
    free(p->slots[i].rbuf);
    free(p->slots[i].wbuf);
    free(p->slots[i].address);
    free(p->slots[i].methods);
  }
  free(p->slots);
  free(p->heap);
  free(p->restart_times);
  free(p->faults);
  free((void *)p->opts.cpus);
  free(p);
}

/* ---- spawning one slot --------------------------------------------------- */

/* xorshift64: cheap randomness for jitter (restart backoff, max_requests). */
static uint64_t rnd(wp_pool_t *p) {
  p->rng ^= p->rng << 13;
  p->rng ^= p->rng >> 7;
  p->rng ^= p->rng << 17;
  return p->rng;
}

/* A generation's recycling limit: max_requests plus 0..jitter, so workers
 * started together are not all recycled together (gunicorn's reason). */
static uint64_t requests_limit(wp_pool_t *p) {
  const wp_options_t *o = &p->opts;
  if (!o->max_requests) return 0;
  return o->max_requests + (o->max_requests_jitter
                                ? rnd(p) % (o->max_requests_jitter + 1)
                                : 0);
}

/* The gRPC address a slot's worker is told to listen on. */
static void listen_addr(wp_slot_t *s, char *buf, size_t len) {
  wp_pool_t *p = s->pool;
  if (p->opts.grpc_tcp) snprintf(buf, len, "127.0.0.1:0");
  else
    snprintf(buf, len, "unix:%s/w%d-%d.sock", p->sockdir, s->index,
             s->tl.generation);
}

static int open_handles(wp_slot_t *s, const wp_proc_t *pr) {
  uv_loop_t *loop = s->pool->loop;
  uv_pipe_init(loop, &s->in, 0);
  uv_pipe_init(loop, &s->out, 0);
  s->in.data = s->out.data = s;
  s->handles += 2;
  s->in_open = s->out_open = true;
  int rc1 = uv_pipe_open(&s->in, pr->fd_in);
  int rc2 = uv_pipe_open(&s->out, pr->fd_out);
  int rc3 = pr->pidfd >= 0 ? uv_poll_init(loop, &s->exitw.poll, pr->pidfd)
                           : uv_timer_init(loop, &s->exitw.tick);
  int rc4 = pr->fd_err >= 0 ? wp_stderr_open(s, pr->fd_err) : 0;
  if (rc3 == 0) {
    s->exitw.poll.data = s->exitw.tick.data = s; /* one of them is in use */
    s->handles++;
    s->exitw_open = true;
  }
  if (rc1) close(pr->fd_in);
  if (rc2) close(pr->fd_out);
  return rc1 || rc2 || rc3 || rc4 ? WP_EIO : 0;
}

static void on_exit_readable(uv_poll_t *w, int status, int events);
static void on_exit_tick(uv_timer_t *t);
static void on_start_timeout(uv_timer_t *t);

#define EXIT_POLL_MS 10

static int watch_exit(wp_slot_t *s) {
  int rc = s->pidfd >= 0
               ? uv_poll_start(&s->exitw.poll, UV_READABLE, on_exit_readable)
               : uv_timer_start(&s->exitw.tick, on_exit_tick, EXIT_POLL_MS, EXIT_POLL_MS);
  return rc ? WP_EIO : 0;
}
static void slot_down(wp_slot_t *s);
static void close_handle(uv_handle_t *h, bool *open);

int wp_slot_spawn(wp_slot_t *s) {
  wp_pool_t *p = s->pool;
  /* Generations count per logical slot, across both twins: the newest is
   * the one the timeline accessor shows, and gRPC socket names stay unique. */
  int gen = s->tl.generation > s->twin->tl.generation ? s->tl.generation
                                                      : s->twin->tl.generation;
  s->tl.generation = gen + 1;
  s->tl.spawn_asked = wp_now_ns();
  s->tl.started = s->tl.hello = s->tl.ready = 0;
  s->tl.pid = 0;
  s->reaped = false;
  s->failed = false;
  s->fail_err = 0;
  s->served = 0;
  s->sent = 0;
  s->recycle_due = false;
  s->suspect = false;
  s->overran = false;
  s->head_len = 0;
  s->max_requests = requests_limit(p);
  free(s->address);
  s->address = NULL;
  free(s->methods);
  s->methods = NULL;
  s->nmethods = 0;
  wpi_frame_decoder_free(&s->dec);
  wpi_frame_decoder_init(&s->dec, p->opts.max_frame);
  char addr[sizeof p->sockdir + 64];
  if (p->opts.transport == WP_TRANSPORT_GRPC && !p->opts.grpc_no_listen_args) {
    listen_addr(s, addr, sizeof addr);
    p->argv[p->argc] = "--transport";
    p->argv[p->argc + 1] = "grpc";
    p->argv[p->argc + 2] = "--listen";
    p->argv[p->argc + 3] = addr;
  }
  wp_proc_t pr;
  int rc = wp_spawn(p->argv, p->opts.cpus, p->opts.ncpus, p->opts.capture_stderr != 0, &pr);
  p->argv[p->argc] = NULL; /* the extra args live on this stack frame */
  if (rc) return rc;
  s->tl.started = wp_now_ns();
  s->tl.pid = pr.pid;
  s->pidfd = pr.pidfd;
  s->state = SLOT_STARTING;
  rc = open_handles(s, &pr);
  /* The exit watch starts whenever its handle exists, even if a pipe
   * failed: the slot only goes DOWN once the process is reaped. */
  int wrc = s->exitw_open ? watch_exit(s) : WP_EIO;
  if (rc == 0) rc = wrc;
  if (rc == 0) rc = wp_link_start_reading(s);
  if (rc == 0 && p->opts.start_timeout_ns)
    uv_timer_start(&s->timer, on_start_timeout, p->opts.start_timeout_ns / MS, 0);
  if (rc == 0) return 0;
  if (wrc) { /* nothing will tell us it exited: reap it here */
    kill(-pr.pid, SIGKILL);
    waitpid(pr.pid, NULL, 0);
    s->reaped = true;
    if (s->exitw_open) { /* its close callback closes the pidfd */
      close_handle((uv_handle_t *)&s->exitw, &s->exitw_open);
    } else if (s->pidfd >= 0) {
      close(s->pidfd);
      s->pidfd = -1;
    }
  }
  wp_slot_fail(s, rc);
  return 0;
}

/* ---- start ----------------------------------------------------------------- */

static void start_done(wp_pool_t *p, int err) {
  wp_start_cb cb = p->start_cb;
  p->start_cb = NULL;
  if (err) {
    p->state = POOL_FAILED;
    wp_fail_queue(p, err);
  } else {
    p->state = POOL_RUNNING;
    wp_recycle_watch(p);
  }
  if (cb) cb(p, err, p->start_arg);
  if (!err) wp_dispatch(p);
}

static int spawn_or_fail_start(wp_slot_t *s) {
  int rc = wp_slot_spawn(s);
  if (rc) {
    s->fail_err = rc;
    wp_fault_record(s, rc);
    start_done(s->pool, rc);
  }
  return rc;
}

static int init_pool_handles(wp_pool_t *p) {
  if (wp_deadline_init(p) != 0) return WP_EIO;
  uv_timer_init(p->loop, &p->stop_timer);
  p->stop_timer.data = p;
  p->pool_handles++;
  uv_timer_init(p->loop, &p->rss_timer);
  p->rss_timer.data = p;
  p->pool_handles++;
  uv_timer_init(p->loop, &p->kick_timer);
  p->kick_timer.data = p;
  p->pool_handles++;
  for (int i = 0; i < p->nslots; i++) {
    uv_timer_init(p->loop, &p->slots[i].timer);
    p->slots[i].timer.data = &p->slots[i];
    p->pool_handles++;
  }
  return 0;
}

static int init_grpc(wp_pool_t *p) {
  if (p->opts.transport != WP_TRANSPORT_GRPC) return 0;
  if (!p->opts.grpc_tcp) {
    snprintf(p->sockdir, sizeof p->sockdir, "/tmp/wpool-%d-XXXXXX", (int)getpid());
    if (!mkdtemp(p->sockdir)) return WP_EIO;
  }
  return wp_grpc_client_new(p->loop, &p->grpc);
}

static int open_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) return 0;
  int n = 0;
  while (readdir(d)) n++;
  closedir(d);
  return n;
}

/* Each worker holds 3 descriptors here (its stdin and stdout pipes and its
 * pidfd), a gRPC one also a socket, and gRPC itself a few more. A start
 * that cannot fit fails at once with one clear error (WP_ENOFILES) rather
 * than part-way through with EMFILE from some spawn or socket. */
static int check_fd_budget(const wp_pool_t *p) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 0;
  bool grpc = p->opts.transport == WP_TRANSPORT_GRPC;
  uint64_t per = (grpc ? 4 : 3) + (p->opts.capture_stderr ? 1 : 0);
  uint64_t need = (uint64_t)open_fds() + (uint64_t)p->opts.size * per + (grpc ? 32 : 8);
  return need > (uint64_t)rl.rlim_cur ? WP_ENOFILES : 0;
}

int wp_pool_start(wp_pool_t *p, wp_start_cb cb, void *arg) {
  if (!p) return WP_EINVAL;
  if (p->state != POOL_NEW) return WP_ESTATE;
  /* libuv timers count from the loop's cached clock: a caller that kept
   * the loop thread busy before this call would otherwise see the start
   * timeout fire at once. */
  uv_update_time(p->loop);
  int rc = check_fd_budget(p);
  if (rc) return rc; /* still POOL_NEW: stop and free need no loop turn */
  rc = init_pool_handles(p);
  if (rc == 0) rc = init_grpc(p);
  p->state = POOL_STARTING;
  p->start_cb = cb;
  p->start_arg = arg;
  if (rc) {
    p->start_cb = NULL;
    p->state = POOL_FAILED;
    return rc;
  }
  if (p->opts.mode == WP_MODE_SEQUENTIAL) {
    p->next_to_spawn = 1;
    spawn_or_fail_start(&p->slots[0]);
    return 0;
  }
  p->next_to_spawn = p->opts.size;
  for (int i = 0; i < p->opts.size && p->state == POOL_STARTING; i++)
    spawn_or_fail_start(&p->slots[i]);
  return 0;
}

/* ---- readiness ------------------------------------------------------------- */

static void on_grpc_ready(void *arg, int err) {
  wp_slot_t *s = arg;
  if (s->state != SLOT_CONNECTING) return;
  if (err) wp_slot_fail(s, err);
  else wp_slot_ready(s);
}

void wp_slot_on_hello(wp_slot_t *s, char *address) {
  wp_pool_t *p = s->pool;
  if (s->state != SLOT_STARTING) { /* stopped while it started: too late */
    free(address);
    return;
  }
  if (p->opts.transport != WP_TRANSPORT_GRPC) {
    wp_slot_ready(s);
    return;
  }
  s->address = address;
  s->state = SLOT_CONNECTING;
  uint64_t left = p->opts.start_timeout_ns;
  int rc = wp_grpc_conn_open(p->grpc, s->address, left, on_grpc_ready, s, &s->conn);
  if (rc) wp_slot_fail(s, rc);
}

void wp_slot_ready(wp_slot_t *s) {
  wp_pool_t *p = s->pool;
  s->tl.ready = wp_now_ns();
  s->state = SLOT_READY;
  uv_timer_stop(&s->timer);
  p->ready_count++;
  wp_slot_avail_update(s);
  if (s->role == ROLE_SUCCESSOR) wp_recycle_promote(s);
  if (p->state == POOL_STARTING) {
    if (p->next_to_spawn < p->opts.size) {
      spawn_or_fail_start(&p->slots[p->next_to_spawn++]);
      return;
    }
    if (p->ready_count == p->opts.size) start_done(p, 0);
    return;
  }
  wp_dispatch(p);
}

static void on_start_timeout(uv_timer_t *t) {
  wp_slot_t *s = t->data;
  if (s->state == SLOT_STARTING || s->state == SLOT_CONNECTING)
    wp_slot_fail(s, WP_ESTART_TIMEOUT);
}

/* ---- going down -------------------------------------------------------------- */

void wp_slot_handle_closed(uv_handle_t *h) {
  wp_slot_t *s = h->data;
  if (h == (uv_handle_t *)&s->exitw && s->pidfd >= 0) {
    close(s->pidfd);
    s->pidfd = -1;
  }
  if (--s->handles == 0 && s->reaped) slot_down(s);
}

static void close_handle(uv_handle_t *h, bool *open) {
  if (!*open) return;
  *open = false;
  uv_close(h, wp_slot_handle_closed);
}

static void close_pipes(wp_slot_t *s) {
  close_handle((uv_handle_t *)&s->in, &s->in_open);
  close_handle((uv_handle_t *)&s->out, &s->out_open);
  wp_stderr_close(s);
}

void wp_signal_group(wp_slot_t *s, int sig) {
  if (s->tl.pid > 0 && !s->reaped) kill(-s->tl.pid, sig);
}

static void exit_check(wp_slot_t *s);

static void on_exit_readable(uv_poll_t *w, int status, int events) {
  (void)status;
  (void)events;
  exit_check(w->data);
}

static void on_exit_tick(uv_timer_t *t) { exit_check(t->data); }

/* Reaps the worker if it exited, and ends its generation. */
static void exit_check(wp_slot_t *s) {
  if (s->reaped) return;
  /* Look without reaping first: while the leader is an unreaped zombie its
   * pid (and so its process-group id) cannot be reused, so the group kill
   * below cannot hit a stranger. Whatever the leader left in its group
   * goes with it. */
  siginfo_t si = {0};
  if (waitid(P_PID, (id_t)s->tl.pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
      si.si_pid == 0)
    return; /* spurious: still running */
  kill(-s->tl.pid, SIGKILL);
  int st = 0;
  pid_t r = waitpid(s->tl.pid, &st, WNOHANG);
  if (r == 0) return;
  s->reaped = true;
  s->exit_status = st;
  wp_fault_exited(s);
  s->pool->stats.worker_exits++;
  /* Replies it wrote just before exiting are still in the pipe: take them
   * before declaring the rest lost. */
  if (s->out_open && !s->failed) wp_link_drain(s);
  if (s->state == SLOT_CLOSING && !s->failed) { /* a clean stop or retirement */
    close_pipes(s);
    if (s->conn) {
      wp_grpc_conn_close(s->conn);
      s->conn = NULL;
    }
    wp_slot_fail_inflight(s, wp_closing_err(s));
  } else {
    wp_slot_fail(s, s->tl.hello ? WP_EWORKER_EXITED : WP_EHELLO);
  }
  close_handle((uv_handle_t *)&s->exitw, &s->exitw_open);
}

/* Ends a slot's generation: stops serving, answers its calls, kills its
 * process group, closes its pipes. slot_down runs once it is reaped and
 * every handle is closed. While the pool starts, any slot's failure, even
 * after its Hello, fails the start: slots restart only in a running pool,
 * so a start that waited for this one would never end. */
void wp_slot_fail(wp_slot_t *s, int err) {
  wp_pool_t *p = s->pool;
  if (s->failed || s->state == SLOT_DOWN) return;
  if (s->state == SLOT_READY) p->ready_count--;
  s->failed = true;
  s->state = SLOT_CLOSING;
  s->fail_err = err;
  wp_stderr_close(s); /* its last words, before they are recorded */
  wp_fault_record(s, err);
  uv_timer_stop(&s->timer);
  wp_slot_avail_remove(s);
  if (s->conn) {
    wp_grpc_conn_close(s->conn);
    s->conn = NULL;
  }
  wp_signal_group(s, SIGKILL);
  close_pipes(s);
  wp_slot_fail_inflight(s, err);
  if (p->state == POOL_STARTING) start_done(p, err);
}

/* kill_on_timeout: a worker that held one request longer than the
 * request's whole timeout is hung or far too slow; the caller already has
 * WP_ETIMEDOUT, and the worker holds capacity for an unknown time. It is
 * ended like a crash (restarted with backoff, counted for intensity); its
 * other in-flight calls fail with WP_EWORKER_EXITED or are retried once
 * when idempotent. */
void wp_slot_overran(wp_slot_t *s) {
  if (s->failed || s->state == SLOT_DOWN) return;
  s->pool->stats.timeout_kills++;
  s->overran = true;
  wp_slot_fail(s, WP_EWORKER_EXITED);
}

static void on_link_grace(uv_timer_t *t) {
  wp_slot_t *s = t->data;
  if (!s->failed) wp_slot_fail(s, WP_ETRANSPORT);
}

/* A gRPC call failed with a broken connection while waitpid does not yet
 * see the worker exit. Usually it is dying: the kernel closes a process's
 * sockets just before its exit becomes visible. So the slot takes no new
 * work and waits a moment: the exit path then names the calls' error
 * WP_EWORKER_EXITED; a process still there after the grace means the link
 * itself broke (WP_ETRANSPORT). Its calls stay in flight until then, to be
 * failed or retried together. */
void wp_slot_suspect(wp_slot_t *s) {
  if (s->suspect || s->failed || s->state == SLOT_DOWN) return;
  s->suspect = true;
  wp_slot_avail_remove(s);
  uv_timer_start(&s->timer, on_link_grace, 100, 0);
}

/* ---- restart ------------------------------------------------------------------ */

static uint64_t jitter(wp_pool_t *p, uint64_t ns) {
  /* ±25 %: restarts of many workers killed together spread out. */
  uint64_t span = ns / 2;
  return span ? ns - ns / 4 + rnd(p) % span : ns;
}

/* Records a restart; false when that makes too many in the window. */
static bool restart_allowed(wp_pool_t *p) {
  uint64_t now = wp_now_ns();
  int oldest = (p->restart_ring_pos + 1) % p->restart_ring_len;
  p->restart_times[p->restart_ring_pos] = now;
  p->restart_ring_pos = oldest;
  uint64_t t = p->restart_times[oldest];
  return t == 0 || now - t > p->opts.restart_window_ns;
}

/* Spawns s; when the spawn itself fails, s goes down again at once and so
 * through the restart policy (backoff, intensity). */
void wp_slot_launch(wp_slot_t *s) {
  int rc = wp_slot_spawn(s);
  if (rc) {
    s->fail_err = rc;
    wp_fault_record(s, rc);
    slot_down(s);
  }
}

static void on_restart_timer(uv_timer_t *t) {
  wp_slot_t *s = t->data;
  if (s->state != SLOT_DOWN || s->pool->state != POOL_RUNNING ||
      s->role == ROLE_SPARE)
    return;
  s->pool->stats.restarts++;
  wp_slot_launch(s);
}

static void pool_fail(wp_pool_t *p) {
  p->state = POOL_FAILED;
  wp_fail_queue(p, WP_EFAILED);
}

void wp_slot_schedule_restart(wp_slot_t *s) {
  wp_pool_t *p = s->pool;
  if (!restart_allowed(p)) {
    pool_fail(p);
    return;
  }
  /* A generation that served a while earns a fresh backoff. */
  uint64_t now = wp_now_ns();
  if (s->tl.ready && now - s->tl.ready > p->opts.restart_cap_ns)
    s->backoff_ns = p->opts.restart_base_ns;
  uint64_t d = jitter(p, s->backoff_ns);
  s->backoff_ns = s->backoff_ns * 2 > p->opts.restart_cap_ns
                      ? p->opts.restart_cap_ns
                      : s->backoff_ns * 2;
  uv_timer_start(&s->timer, on_restart_timer, d / MS, 0);
}

static void stop_finish_maybe(wp_pool_t *p);

static void slot_down(wp_slot_t *s) {
  wp_pool_t *p = s->pool;
  s->state = SLOT_DOWN;
  /* Whatever this generation armed (start timeout, retire grace) must not
   * fire on the next one. */
  uv_timer_stop(&s->timer);
  if (p->opts.transport == WP_TRANSPORT_GRPC && !p->opts.grpc_tcp &&
      p->sockdir[0]) {
    char path[sizeof p->sockdir + 64];
    snprintf(path, sizeof path, "%s/w%d-%d.sock", p->sockdir, s->index,
             s->tl.generation);
    unlink(path); /* a killed worker cannot remove its own socket */
  }
  if (p->state == POOL_STOPPING) {
    stop_finish_maybe(p);
    return;
  }
  if (p->state != POOL_RUNNING || wp_recycle_on_down(s)) return;
  if (p->opts.restart) wp_slot_schedule_restart(s);
}

/* ---- stop ------------------------------------------------------------------ */

static void pool_handle_release(wp_pool_t *p) {
  if (--p->pool_handles == 0 && !p->grpc) {
    p->state = POOL_STOPPED;
    if (p->stop_cb) p->stop_cb(p, p->stop_arg);
  }
}

static void pool_timer_closed(uv_handle_t *h) { pool_handle_release(h->data); }

static void slot_timer_closed(uv_handle_t *h) {
  pool_handle_release(((wp_slot_t *)h->data)->pool);
}

static void on_grpc_closed(void *arg) {
  wp_pool_t *p = arg;
  p->grpc = NULL;
  if (p->pool_handles == 0) {
    p->state = POOL_STOPPED;
    if (p->stop_cb) p->stop_cb(p, p->stop_arg);
  }
}

static void stop_finish_maybe(wp_pool_t *p) {
  for (int i = 0; i < p->nslots; i++)
    if (p->slots[i].state != SLOT_DOWN) return;
  if (p->sockdir[0]) rmdir(p->sockdir);
  uv_timer_stop(&p->stop_timer);
  uv_close((uv_handle_t *)&p->deadline_timer, pool_timer_closed);
  uv_close((uv_handle_t *)&p->stop_timer, pool_timer_closed);
  uv_close((uv_handle_t *)&p->rss_timer, pool_timer_closed);
  uv_close((uv_handle_t *)&p->kick_timer, pool_timer_closed);
  for (int i = 0; i < p->nslots; i++)
    uv_close((uv_handle_t *)&p->slots[i].timer, slot_timer_closed);
  if (p->grpc && !p->grpc_closing) {
    p->grpc_closing = true;
    wp_grpc_client_close(p->grpc, on_grpc_closed, p);
  }
}

static void on_stop_kill(uv_timer_t *t) {
  wp_pool_t *p = t->data;
  for (int i = 0; i < p->nslots; i++) wp_signal_group(&p->slots[i], SIGKILL);
}

/* Grace is over: SIGTERM, then SIGKILL a quarter-grace (≤ 1 s) later. */
static void on_stop_grace(uv_timer_t *t) {
  wp_pool_t *p = t->data;
  for (int i = 0; i < p->nslots; i++) wp_signal_group(&p->slots[i], SIGTERM);
  uint64_t k = p->opts.stop_grace_ns / 4;
  if (k > 1000 * MS) k = 1000 * MS;
  uv_timer_start(&p->stop_timer, on_stop_kill, k / MS, 0);
}

/* Asks one slot to leave: EOF on its stdin (its in-flight pipe replies may
 * still arrive during the grace period). */
static void slot_stop(wp_slot_t *s) {
  uv_timer_stop(&s->timer);
  if (s->state == SLOT_DOWN) return;
  if (s->state == SLOT_READY) s->pool->ready_count--;
  wp_slot_avail_remove(s);
  s->state = SLOT_CLOSING;
  wp_slot_close_stdin(s);
}

void wp_slot_close_stdin(wp_slot_t *s) {
  close_handle((uv_handle_t *)&s->in, &s->in_open);
}

/* What the calls still on a closing worker get when it goes: the pool is
 * stopping (WP_ESTOPPED), or a retiring worker died while it drained. */
int wp_closing_err(const wp_slot_t *s) {
  return s->pool->state == POOL_STOPPING || s->pool->state == POOL_STOPPED
             ? WP_ESTOPPED
             : WP_EWORKER_EXITED;
}

void wp_pool_stop(wp_pool_t *p, wp_stop_cb cb, void *arg) {
  if (!p || p->state == POOL_STOPPING || p->state == POOL_STOPPED) return;
  uv_update_time(p->loop); /* the grace counts from now (see wp_pool_start) */
  p->stop_cb = cb;
  p->stop_arg = arg;
  if (p->state == POOL_NEW) { /* never started: nothing to close */
    p->state = POOL_STOPPED;
    if (cb) cb(p, arg);
    return;
  }
  /* STOPPING before the start callback runs: a start callback that calls
   * wp_pool_stop itself (the usual "stop on failure") is then a no-op and
   * the first stop callback is kept. */
  wp_start_cb start_cb = p->start_cb;
  p->state = POOL_STOPPING;
  if (start_cb) {
    p->start_cb = NULL;
    start_cb(p, WP_ESTOPPED, p->start_arg);
  }
  uv_timer_stop(&p->rss_timer);
  wp_fail_queue(p, WP_ESTOPPED);
  for (int i = 0; i < p->nslots; i++) slot_stop(&p->slots[i]);
  uv_timer_start(&p->stop_timer, on_stop_grace, p->opts.stop_grace_ns / MS, 0);
  stop_finish_maybe(p);
}

/* The grace is what a second Ctrl-C gives up: straight to SIGKILL. */
void wp_pool_stop_now(wp_pool_t *p, wp_stop_cb cb, void *arg) {
  if (!p) return;
  wp_pool_stop(p, cb, arg);
  if (p->state != POOL_STOPPING) return;
  uv_timer_stop(&p->stop_timer);
  on_stop_kill(&p->stop_timer);
}

/* Called by link.c when a closing slot's stdout ends: the worker is done
 * talking; whatever is still in flight will not be answered. */
void wp_slot_out_eof(wp_slot_t *s) {
  close_handle((uv_handle_t *)&s->out, &s->out_open);
  wp_slot_fail_inflight(s, wp_closing_err(s));
}

/* ---- accessors ------------------------------------------------------------- */

/* The host of logical slot i that runs its newest generation. */
static const wp_slot_t *newest(const wp_pool_t *p, int i) {
  const wp_slot_t *a = &p->slots[i], *b = a->twin;
  return b->tl.generation > a->tl.generation ? b : a;
}

int wp_pool_size(const wp_pool_t *p) { return p ? p->opts.size : 0; }

int wp_pool_timeline(const wp_pool_t *p, int slot, wp_timeline_t *out) {
  if (!p || !out || slot < 0 || slot >= p->opts.size) return WP_EINVAL;
  *out = newest(p, slot)->tl;
  return 0;
}

int wp_pool_methods(const wp_pool_t *p, int slot, const char **names, int max) {
  if (!p || slot < 0 || slot >= p->opts.size || max < 0 || (max && !names))
    return WP_EINVAL;
  const wp_slot_t *s = newest(p, slot);
  const char *m = s->methods;
  for (uint32_t i = 0; i < s->nmethods; m += strlen(m) + 1, i++)
    if ((int)i < max) names[i] = m;
  return (int)s->nmethods;
}

int wp_pool_ready_count(const wp_pool_t *p) { return p ? p->ready_count : 0; }

static bool live(const wp_slot_t *s) {
  return s->state != SLOT_DOWN && !s->reaped && s->tl.pid > 0;
}

int wp_pool_pids(const wp_pool_t *p, int *pids, int max) {
  int n = 0;
  for (int i = 0; p && i < p->nslots && n < max; i++)
    if (live(&p->slots[i])) pids[n++] = p->slots[i].tl.pid;
  return n;
}

int wp_pool_slot_ready(const wp_pool_t *p, int slot) {
  if (!p || slot < 0 || slot >= p->opts.size) return 0;
  const wp_slot_t *a = &p->slots[slot];
  return (a->role == ROLE_CURRENT && a->state == SLOT_READY) ||
         (a->twin->role == ROLE_CURRENT && a->twin->state == SLOT_READY);
}

/* The process is still our unreaped child (live() checks), so neither the
 * pidfd nor, without one, its pid can name a stranger that reused it. */
int wp_pool_signal(wp_pool_t *p, int slot, int sig) {
  if (!p || slot < 0 || slot >= p->opts.size) return WP_EINVAL;
  wp_slot_t *s = &p->slots[slot];
  if (s->role != ROLE_CURRENT) s = s->twin;
  if (s->role != ROLE_CURRENT || !live(s)) return WP_ESTATE;
  if (s->pidfd >= 0 && syscall(SYS_pidfd_send_signal, s->pidfd, sig, NULL, 0) == 0)
    return 0;
  if (s->pidfd >= 0 && errno != ENOSYS) return WP_EIO;
  return kill(s->tl.pid, sig) == 0 ? 0 : WP_EIO;
}

/* Both hosts of the logical slot count: a retiring worker still holds
 * what it was sent before its successor took over. */
int wp_pool_slot_inflight(const wp_pool_t *p, int slot, uint64_t *oldest_ns, int *pid) {
  if (oldest_ns) *oldest_ns = 0;
  if (pid) *pid = 0;
  if (!p || slot < 0 || slot >= p->opts.size) return 0;
  const wp_slot_t *a = &p->slots[slot], *hosts[2] = {a, a->twin};
  int n = 0;
  for (int i = 0; i < 2; i++) {
    const wp_call_t *c = hosts[i]->inflight.head;
    n += (int)hosts[i]->inflight.len;
    if (!c || (oldest_ns && *oldest_ns && *oldest_ns <= c->dispatched)) continue;
    if (oldest_ns) *oldest_ns = c->dispatched;
    if (pid) *pid = hosts[i]->tl.pid;
  }
  return n;
}

void wp_pool_stats(const wp_pool_t *p, wp_stats_t *out) {
  *out = p->stats;
  out->queued_now = p->queue.len;
  uint64_t in = 0;
  for (int i = 0; i < p->nslots; i++) in += p->slots[i].inflight.len;
  out->inflight_now = in;
}
