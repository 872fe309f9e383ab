/*
 * pool.c — the pool's lifecycle: options, new/free, start (both modes),
 * stop, the restart policy, and the accessors.
 *
 * Start: concurrent spawns every slot at once, sequential spawns the next
 * when the previous is ready; a slot that fails before the pool is up fails
 * the start (like an OTP supervisor whose child fails init), also one that
 * was already ready: nothing restarts while the pool starts, so the start
 * would otherwise never end. After that, a worker that exits is restarted
 * with exponential backoff and jitter, and more than restart_max restarts
 * in restart_window_ns (or by one slot, in a row, dying young) fail the
 * pool (POOL_FAILED) instead of spinning.
 * The slots' states are slot.c's; it reports up here through on_ready,
 * on_fail and on_down.
 *
 * Owns: wp_pool_t, its pool-level timers and the stop sequence. May call:
 * slot.c, recycle.c, dispatch.c, proc.c (signals), the transport's ops
 * table (its selection: transport_ops).
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
  o->connect_keepalive_ms = 1000;
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
    p->argv[0] = default_worker(p->link->worker);
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

/* The one place the transport option is looked at; attached workers
 * (options.connect) always talk gRPC, through attach.c. */
static const wp_link_ops_t *transport_ops(const wp_options_t *o) {
  if (o->nconnect > 0) return &wpi_link_attach;
  switch (o->transport) {
  case WP_TRANSPORT_PIPE: return &wpi_link_pipe;
  case WP_TRANSPORT_GRPC: return &wpi_link_grpc;
  }
  return NULL;
}

/* Attached workers are addresses: whatever needs a process of ours (a
 * command, CPU pinning, its stderr, recycling) is refused, and so are
 * mixed pools. */
static int check_attached(const wp_options_t *o) {
  if (o->nconnect < 0 || (o->nconnect > 0 && !o->connect)) return WP_EINVAL;
  if (o->nconnect == 0) return 0;
  for (int i = 0; i < o->nconnect; i++)
    if (!o->connect[i] || !o->connect[i][0]) return WP_EINVAL;
  if (o->argv || o->cpus || o->capture_stderr || o->max_requests || o->max_rss_bytes ||
      o->spawn != WP_SPAWN_EXEC || o->connect_keepalive_ms < 0)
    return WP_EINVAL;
  return 0;
}

/* The pool's own copy of the attached targets (wp_pool_free frees it). */
static int copy_connect(wp_pool_t *p, const wp_options_t *o) {
  if (o->nconnect == 0) return 0;
  char **c = calloc((size_t)o->nconnect, sizeof *c);
  p->opts.connect = (const char *const *)c;
  if (!c) return WP_ENOMEM;
  for (int i = 0; i < o->nconnect; i++)
    if (!(c[i] = strdup(o->connect[i]))) return WP_ENOMEM;
  if (p->opts.size <= 1) p->opts.size = o->nconnect; /* one slot per target */
  return 0;
}

static void free_connect(wp_pool_t *p) {
  char **c = (char **)p->opts.connect;
  for (int i = 0; c && i < p->opts.nconnect; i++) free(c[i]);
  free(c);
}

static int check_options(const wp_options_t *o) {
  if (o->size < 1 || o->max_inflight < 1 || o->queue_limit < 1 ||
      o->max_frame < 256)
    return WP_EINVAL;
  if (o->mode != WP_MODE_CONCURRENT && o->mode != WP_MODE_SEQUENTIAL)
    return WP_EINVAL;
  if (!transport_ops(o)) return WP_EINVAL;
  if (o->spawn != WP_SPAWN_EXEC && o->spawn != WP_SPAWN_ZYGOTE) return WP_EINVAL;
  return check_attached(o);
}

static void on_slot_ready(wp_slot_t *s);
static void on_slot_fail(wp_slot_t *s, int err);
static void on_slot_down(wp_slot_t *s);

int wp_pool_new(uv_loop_t *loop, const wp_options_t *opts, wp_pool_t **out) {
  if (!loop || !opts || !out) return WP_EINVAL;
  int rc = check_options(opts);
  if (rc) return rc;
  wp_pool_t *p = calloc(1, sizeof *p);
  if (!p) return WP_ENOMEM;
  p->loop = loop;
  p->opts = *opts;
  p->link = transport_ops(opts);
  p->opts.connect = NULL;
  if (copy_connect(p, opts) != 0) {
    p->state = POOL_STOPPED;
    p->opts.size = 0;
    wp_pool_free(p);
    return WP_ENOMEM;
  }
  p->opts.cpus = NULL;
  if (opts->cpus && opts->ncpus > 0) {
    int *c = malloc(sizeof *c * (size_t)opts->ncpus);
    if (c) memcpy(c, opts->cpus, sizeof *c * (size_t)opts->ncpus);
    p->opts.cpus = c;
  }
  int size = p->opts.size;
  if (p->opts.restart_max <= 0) p->opts.restart_max = size * 5 > 10 ? size * 5 : 10;
  p->nslots = 2 * size;
  p->slots = calloc((size_t)p->nslots, sizeof *p->slots);
  p->restart_ring_len = p->opts.restart_max + 1;
  p->restart_times = calloc((size_t)p->restart_ring_len, sizeof(uint64_t));
  p->rng = wp_now_ns() ^ (uint64_t)getpid() << 32;
  p->faults = calloc((size_t)size, sizeof *p->faults);
  p->fault_slot = -1;
  if (!p->slots || !p->restart_times || !p->faults || copy_argv(p, opts->argv) != 0 ||
      (p->link->init && p->link->init(p) != 0) ||
      (opts->spawn == WP_SPAWN_ZYGOTE && wpi_zygote_init(p) != 0)) {
    p->state = POOL_STOPPED;
    wp_pool_free(p);
    return WP_ENOMEM;
  }
  wpi_slots_init(p);
  p->on_ready = on_slot_ready;
  p->on_fail = on_slot_fail;
  p->on_down = on_slot_down;
  *out = p;
  return 0;
}

void wp_pool_free(wp_pool_t *p) {
  if (!p) return;
  for (int i = 0; p->argv && i < p->argc; i++) free(p->argv[i]);
  free(p->argv);
  for (int i = 0; p->slots && i < p->nslots; i++) wpi_slot_free(&p->slots[i]);
  if (p->link && p->link->free) p->link->free(p);
  if (p->zyg) wpi_zygote_free(p);
  wpi_calls_free(p);
  free(p->slots);
  free(p->heap);
  free(p->restart_times);
  free(p->faults);
  free((void *)p->opts.cpus);
  free_connect(p);
  free(p);
}

/* ---- start ----------------------------------------------------------------- */

static void start_done(wp_pool_t *p, int err) {
  wp_start_cb cb = p->start_cb;
  p->start_cb = NULL;
  if (err) {
    p->state = POOL_FAILED;
    wpi_fail_queue(p, err);
  } else {
    p->state = POOL_RUNNING;
    wpi_recycle_watch(p);
  }
  if (cb) cb(p, err, p->start_arg);
  if (!err) wpi_dispatch(p);
}

static int spawn_or_fail_start(wp_slot_t *s) {
  int rc = wpi_slot_spawn(s);
  if (rc) start_done(s->pool, rc);
  return rc;
}

static int init_pool_handles(wp_pool_t *p) {
  if (wpi_deadline_init(p) != 0) return WP_EIO;
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

/* The transport's pool-wide part (gRPC: its client): open, it counts as
 * one of the pool's handles until its close is done. */
static int open_link(wp_pool_t *p) {
  if (!p->link->open) return 0;
  int rc = p->link->open(p);
  if (rc == 0) p->pool_handles++;
  return rc;
}

static int open_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) return 0;
  int n = 0;
  while (readdir(d)) n++;
  closedir(d);
  return n;
}

/* Each worker holds a few descriptors here (its stdin and stdout pipes and
 * its pidfd, a gRPC one also a socket), the transport itself a few more. A
 * start that cannot fit fails at once with one clear error (WP_ENOFILES)
 * rather than part-way through with EMFILE from some spawn or socket. */
static int check_fd_budget(const wp_pool_t *p) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 0;
  uint64_t per = (uint64_t)p->link->fds_per_worker + (p->opts.capture_stderr ? 1 : 0);
  uint64_t need = (uint64_t)open_fds() + (uint64_t)p->opts.size * per +
                  (uint64_t)p->link->fds_extra;
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
  if (rc == 0) rc = open_link(p);
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

/* ---- what the slots report ---------------------------------------------------- */

static void on_slot_ready(wp_slot_t *s) {
  wp_pool_t *p = s->pool;
  if (s->role == ROLE_SUCCESSOR) wpi_recycle_promote(s);
  if (p->state == POOL_STARTING) {
    if (p->next_to_spawn < p->opts.size) {
      spawn_or_fail_start(&p->slots[p->next_to_spawn++]);
      return;
    }
    if (p->ready_count == p->opts.size) start_done(p, 0);
    return;
  }
  wpi_dispatch(p);
}

/* s's calls will not be answered: they fail or are retried. A slot that
 * fails while the pool starts fails the start. */
static void on_slot_fail(wp_slot_t *s, int err) {
  wpi_slot_fail_inflight(s, err);
  if (s->pool->state == POOL_STARTING) start_done(s->pool, err);
}

/* ---- restart ------------------------------------------------------------------ */

static uint64_t jitter(wp_pool_t *p, uint64_t ns) {
  /* ±25 %: restarts of many workers killed together spread out. */
  uint64_t span = ns / 2;
  return span ? ns - ns / 4 + wpi_rand(p) % span : ns;
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

static void on_restart_timer(uv_timer_t *t) {
  wp_slot_t *s = t->data;
  if (s->state != SLOT_DOWN || s->pool->state != POOL_RUNNING ||
      s->role == ROLE_SPARE)
    return;
  s->pool->stats.restarts++;
  wpi_slot_launch(s);
}

static void pool_fail(wp_pool_t *p) {
  p->state = POOL_FAILED;
  wpi_fail_queue(p, WP_EFAILED);
}

/* Counts s's generations that died young (never ready, or within
 * restart_cap of ready); true once restart_max did so in a row. The window
 * alone cannot see such a slot once its backoff reaches the cap: with the
 * defaults (10 restarts in 5 s, cap 1 s) a lone worker that crashes on every
 * request then restarts just under once a second for ever, and a loaded
 * host that slows the first restarts by ~75 ms in all gets there (wpool
 * ping on such a worker was found still spinning after 9 minutes). */
static bool crash_looping(wp_slot_t *s, uint64_t now) {
  wp_pool_t *p = s->pool;
  bool young = !s->tl.ready || now - s->tl.ready <= p->opts.restart_cap_ns;
  s->young_deaths = young ? s->young_deaths + 1 : 0;
  return s->young_deaths > p->opts.restart_max;
}

static void schedule_restart(wp_slot_t *s) {
  wp_pool_t *p = s->pool;
  uint64_t now = wp_now_ns();
  /* An attached worker's reconnects do not count: a host that is down or
   * unreachable is not a crash loop, and the pool serves on without it. */
  if (!p->link->attached && (crash_looping(s, now) || !restart_allowed(p))) {
    pool_fail(p);
    return;
  }
  /* A generation that served a while earns a fresh backoff. */
  if (s->tl.ready && now - s->tl.ready > p->opts.restart_cap_ns)
    s->backoff_ns = p->opts.restart_base_ns;
  uint64_t d = jitter(p, s->backoff_ns);
  s->backoff_ns = s->backoff_ns * 2 > p->opts.restart_cap_ns
                      ? p->opts.restart_cap_ns
                      : s->backoff_ns * 2;
  wpi_slot_timer(s, on_restart_timer, d / MS);
}

static void stop_finish_maybe(wp_pool_t *p);

static void on_slot_down(wp_slot_t *s) {
  wp_pool_t *p = s->pool;
  if (p->state == POOL_STOPPING) {
    stop_finish_maybe(p);
    return;
  }
  if (p->state != POOL_RUNNING || wpi_recycle_on_down(s)) return;
  if (p->opts.restart) schedule_restart(s);
}

/* ---- stop ------------------------------------------------------------------ */

static void pool_handle_release(wp_pool_t *p) {
  if (--p->pool_handles == 0) {
    p->state = POOL_STOPPED;
    if (p->stop_cb) p->stop_cb(p, p->stop_arg);
  }
}

static void pool_timer_closed(uv_handle_t *h) { pool_handle_release(h->data); }

static void slot_timer_closed(uv_handle_t *h) {
  pool_handle_release(((wp_slot_t *)h->data)->pool);
}

static void stop_finish_maybe(wp_pool_t *p) {
  for (int i = 0; i < p->nslots; i++)
    if (p->slots[i].state != SLOT_DOWN) return;
  uv_timer_stop(&p->stop_timer);
  uv_close((uv_handle_t *)&p->deadline_timer, pool_timer_closed);
  uv_close((uv_handle_t *)&p->stop_timer, pool_timer_closed);
  uv_close((uv_handle_t *)&p->rss_timer, pool_timer_closed);
  uv_close((uv_handle_t *)&p->kick_timer, pool_timer_closed);
  for (int i = 0; i < p->nslots; i++)
    uv_close((uv_handle_t *)&p->slots[i].timer, slot_timer_closed);
  if (p->link->close) p->link->close(p, pool_handle_release);
  if (p->zyg) { /* the template goes last: it counts as a pool handle */
    p->pool_handles++;
    wpi_zygote_close(p, pool_handle_release);
  }
}

static void on_stop_kill(uv_timer_t *t) {
  wp_pool_t *p = t->data;
  for (int i = 0; i < p->nslots; i++) {
    wpi_proc_signal_group(&p->slots[i], SIGKILL);
    wpi_zygote_abandon(&p->slots[i]);
  }
}

/* Grace is over: SIGTERM, then SIGKILL a quarter-grace (≤ 1 s) later. */
static void on_stop_grace(uv_timer_t *t) {
  wp_pool_t *p = t->data;
  for (int i = 0; i < p->nslots; i++) wpi_proc_signal_group(&p->slots[i], SIGTERM);
  uint64_t k = p->opts.stop_grace_ns / 4;
  if (k > 1000 * MS) k = 1000 * MS;
  uv_timer_start(&p->stop_timer, on_stop_kill, k / MS, 0);
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
  wpi_fail_queue(p, WP_ESTOPPED);
  for (int i = 0; i < p->nslots; i++) wpi_slot_stop(&p->slots[i]);
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

int wp_pool_protocol(const wp_pool_t *p, int slot) {
  if (!p || slot < 0 || slot >= p->opts.size) return WP_EINVAL;
  return (int)newest(p, slot)->proto_version;
}

int wp_pool_template(const wp_pool_t *p, wp_timeline_t *out) {
  return wpi_zygote_timeline(p, out);
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
  return wpi_proc_signal(s, sig);
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
