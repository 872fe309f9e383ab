/*
 * wpool.h — the public API of libwpool, a supervisor for a pool of external
 * worker processes, on libuv.
 *
 * Owns: the pool's options, its lifecycle (new → start → call* → stop →
 * free), the request/reply types callers see, error codes, and the per-slot
 * startup timeline. Everything runs on the caller's uv_loop_t; no function
 * here may be called from another thread. The library never prints or exits.
 *
 * Errors: functions return 0 or a negative WP_E* code; wp_strerror() names
 * it. A request's callback runs exactly once: with err == 0 and a reply;
 * with WP_EREMOTE or WP_EUNKNOWN_METHOD (the worker answered, with an
 * error status) and a reply carrying that status and the worker's error
 * text; or with any other WP_E* code and reply == NULL. (Until protocol 2,
 * WP_EREMOTE came with reply == NULL and no text.)
 */
#ifndef WPOOL_H
#define WPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks the public API: libwpool is built with -fvisibility=hidden, so
 * only what carries WP_EXTERN is exported from libwpool.so (as uv.h's
 * UV_EXTERN). */
#if defined(__GNUC__) && __GNUC__ >= 4
#define WP_EXTERN __attribute__((visibility("default")))
#else
#define WP_EXTERN
#endif

/* The library's version, "MAJOR.MINOR.PATCH" (the repository's VERSION
 * file; libwpool.so.MAJOR is the soname). */
WP_EXTERN const char *wp_version(void);

#define WP_DEFAULT_MAX_FRAME (16u * 1024u * 1024u)

/* Error codes (negative when returned). Keep wp_strerror() in step. */
#define WP_ERRORS(X)                                                        \
  X(EINVAL, -1, "invalid argument")                                         \
  X(ENOMEM, -2, "out of memory")                                            \
  X(ESPAWN, -3, "worker could not be spawned")                              \
  X(EHELLO, -4, "worker exited or failed before its Hello")                 \
  X(EPROTO, -5, "worker broke the wire protocol")                           \
  X(EWORKER_EXITED, -6, "worker exited (a request in flight, or during the start)") \
  X(EQUEUE_FULL, -7, "request queue is full")                               \
  X(ETIMEDOUT, -8, "request timed out")                                     \
  X(ESTOPPED, -9, "pool is stopping or stopped")                            \
  X(ESTATE, -11, "operation not allowed in the pool's current state")       \
  X(EREMOTE, -12, "worker answered with an error status")                   \
  X(ETRANSPORT, -13, "transport failure (connection or call failed)")       \
  X(ESTART_TIMEOUT, -14, "worker sent no Hello within the start timeout")   \
  X(EFAILED, -15, "pool gave up: too many restarts")                        \
  X(EIO, -16, "I/O error talking to a worker")                              \
  X(ENOFILES, -17, "too few file descriptors for the pool (raise ulimit -n)") \
  X(EINTERNAL, -18, "internal error: libwpool broke its own contract (a bug)") \
  X(EUNKNOWN_METHOD, -19, "worker has no such method")

enum {
#define WP_ENUM(name, val, msg) WP_##name = (val),
  WP_ERRORS(WP_ENUM)
#undef WP_ENUM
};

WP_EXTERN const char *wp_strerror(int err);
/* "WP_ETIMEDOUT" style symbolic name of an error code. */
WP_EXTERN const char *wp_errname(int err);

typedef enum { WP_MODE_CONCURRENT = 0, WP_MODE_SEQUENTIAL = 1 } wp_mode_t;
typedef enum { WP_TRANSPORT_PIPE = 0, WP_TRANSPORT_GRPC = 1 } wp_transport_t;

/* Parse "concurrent"/"sequential", "pipe"/"grpc": 0 or WP_EINVAL. */
WP_EXTERN int wp_mode_parse(const char *s, wp_mode_t *out);
WP_EXTERN int wp_transport_parse(const char *s, wp_transport_t *out);
WP_EXTERN const char *wp_mode_name(wp_mode_t m);
WP_EXTERN const char *wp_transport_name(wp_transport_t t);

/* How a worker process is made: exec (posix_spawn of the command, per
 * worker) or zygote (the command runs once as a template that forks each
 * worker; see README, "Zygote start"). */
typedef enum { WP_SPAWN_EXEC = 0, WP_SPAWN_ZYGOTE = 1 } wp_spawn_t;
/* Parse "exec"/"zygote": 0 or WP_EINVAL. */
WP_EXTERN int wp_spawn_parse(const char *s, wp_spawn_t *out);
WP_EXTERN const char *wp_spawn_name(wp_spawn_t s);

typedef struct wp_options {
  /* Worker command, NULL-terminated. NULL means the default C worker
   * (WPOOL_WORKER env, else "build/wpool-worker"). The pool appends
   * "--transport grpc --listen ADDR" for gRPC workers unless
   * grpc_no_listen_args is set (then the command must pick its own). */
  char *const *argv;
  int size;                   /* number of worker slots, >= 1 */
  wp_mode_t mode;             /* how start spawns the slots */
  wp_transport_t transport;
  int grpc_tcp;               /* gRPC over 127.0.0.1:0 instead of a unix socket */
  int grpc_no_listen_args;
  int max_inflight;           /* requests in flight per worker, >= 1 (default 1).
                               * Requests go FIFO to the worker that answered
                               * last (LIFO checkout: the warm one); a worker
                               * with room left after a send goes to the back.
                               * So at low load a worker that answers fast
                               * with errors draws most requests: watch
                               * wp_stats_t errors, and keep kill_on_timeout
                               * on so a hanging one is replaced. */
  size_t queue_limit;         /* queued (not yet dispatched) requests; default 1<<20 */
  uint64_t request_timeout_ns;/* from wp_pool_call to reply; 0 = none */
  uint64_t start_timeout_ns;  /* spawn → Hello; default 10 s */
  uint64_t stop_grace_ns;     /* stdin closed → SIGTERM; SIGKILL min(grace/4,
                               * 1 s) after that; default 2 s */
  uint32_t max_frame;         /* largest frame, either way; default 16 MiB,
                               * at least 256; a request's payload may use
                               * all but 64 bytes of it */
  const int *cpus;            /* pin workers to these CPUs (NULL: inherit) */
  int ncpus;
  /* Restart policy: a worker that exits while the pool runs is restarted
   * after a backoff (base doubling to cap, with jitter); more than
   * restart_max restarts within restart_window_ns, or more than restart_max
   * generations of one slot in a row that die young (before ready, or
   * within restart_cap_ns of it: a backoff at its cap can space restarts
   * past the window), fails the pool. */
  int restart;                /* 1 (default) restart exited workers, 0 not */
  uint64_t restart_base_ns;   /* default 10 ms */
  uint64_t restart_cap_ns;    /* default 1 s */
  int restart_max;            /* default 5 * size (at least 10) */
  uint64_t restart_window_ns; /* default 5 s */
  /* kill_on_timeout (default 1): a worker that still holds a request when
   * the request's timeout has passed *since it was sent to that worker* is
   * SIGKILLed and restarted, like gunicorn's worker timeout (on by default
   * there too). Why on: the caller already got WP_ETIMEDOUT, so the work
   * is wasted, and a hung worker would otherwise hold its capacity forever
   * (with max_inflight 1, the whole slot). Measured from dispatch, not from
   * wp_pool_call, so time spent queued never gets a healthy worker killed.
   * Its other in-flight requests fail with WP_EWORKER_EXITED (or are retried
   * once if idempotent); the kill counts toward restart intensity. A
   * supervisor that was itself late (its loop blocked, or the process
   * stopped past the timeout) first takes the replies already waiting, so
   * a worker that answered is not killed (over gRPC: nor one whose
   * deadline gRPC saw only once the stall was over). Set 0
   * for workers that are costly to start and whose late work is harmless:
   * then the request keeps its place on the worker until it is answered. */
  int kill_on_timeout;
  /* Recycling (gunicorn's max_requests / max_requests_jitter, plus an RSS
   * limit): a worker that has been sent max_requests + U(0, jitter)
   * requests, or whose resident set exceeds max_rss_bytes (read from
   * /proc/PID/statm every rss_check_interval_ns), is replaced. The
   * replacement starts while the old worker still serves; when it is ready
   * the old one gets no more requests, finishes those it holds, then gets
   * stdin EOF (SIGKILL after stop_grace_ns). Capacity never dips and no
   * request fails because of a recycle; a worker may serve a few requests
   * past its limit while its replacement starts. 0 disables each. RSS is
   * the worker process's own, not its children's. */
  uint64_t max_requests;
  uint64_t max_requests_jitter;
  uint64_t max_rss_bytes;
  uint64_t rss_check_interval_ns; /* default 1 s */
  /* capture_stderr (default 0: workers inherit the supervisor's stderr):
   * each worker's stderr is a pipe the pool reads; what comes is written
   * on to the supervisor's own stderr at once, and the worker's last line
   * is kept, so wp_pool_last_error can quote it for a worker that died
   * ("exited with status 2 before its Hello; its last stderr line:
   * \"ModuleNotFoundError: ...\""). One more descriptor per worker. The
   * pool's loop does the writing: a stderr nobody reads stalls the pool,
   * where it would otherwise stall only the workers. */
  int capture_stderr;
  /* spawn (default WP_SPAWN_EXEC): WP_SPAWN_ZYGOTE starts the command once
   * as a template (WPOOL_ZYGOTE=3 in its environment, its socket on fd 3)
   * that does its set-up once and forks every worker, restarts included;
   * the children are cloned as the pool's own (CLONE_PARENT): they outlive
   * a template crash, and die with the pool as the template does. A
   * gRPC worker's flags (--transport grpc --listen ADDR) go with each
   * fork request; the C SDK starts gRPC in the child, the Python SDK's
   * template refuses (README, "Zygote start"). */
  wp_spawn_t spawn;
  /* Attached workers: the pool connects to workers started elsewhere
   * (systemd, Kubernetes: `wpool-worker-grpc --listen tcp:0.0.0.0:PORT
   * --standalone`) instead of spawning them. Each entry is a gRPC target:
   * "10.0.0.2:50051", "unix:/run/w.sock", "dns:///workers.example:50051"
   * (gRPC's own resolver). Slot i connects to connect[i % nconnect]; size 1
   * (the default) means one slot per target. A slot is ready when its
   * channel is up and grpc.health.v1.Health/Check answers SERVING, within
   * start_timeout_ns (gRPC retries a refused connect meanwhile). A worker
   * lost later (its connection fails, or keepalive pings go unanswered for
   * 2 x connect_keepalive_ms) fails its in-flight calls with WP_ETRANSPORT
   * (idempotent ones are retried once) and its slot reconnects after the
   * restart backoff; reconnects do not count toward restart_max (an
   * unreachable host is not a crash loop). Timeline: spawn_asked = connect
   * asked, started = channel up, hello = ready = SERVING, pid 0. Mixed pools
   * are refused: with connect set, argv, cpus, capture_stderr, max_requests
   * and max_rss_bytes (all about processes) give WP_EINVAL; transport is
   * ignored (gRPC). The strings are copied by wp_pool_new. */
  const char *const *connect;
  int nconnect;
  int connect_keepalive_ms;   /* default 1000 */
} wp_options_t;

/* Fills defaults: size 1, concurrent, pipe, max_inflight 1, ... */
WP_EXTERN void wp_options_init(wp_options_t *o);

/* Per-slot startup timeline of the slot's newest generation, ns on the
 * monotonic clock (wp_now_ns()). 0 means "not reached". */
typedef struct wp_timeline {
  uint64_t spawn_asked;   /* the pool decided to spawn this slot */
  uint64_t started;       /* the process exists (spawn returned) */
  uint64_t hello;         /* its Hello arrived */
  uint64_t ready;         /* usable: Hello (pipe) or channel READY (gRPC) */
  int pid;
  int generation;         /* how many times this slot was (re)started */
} wp_timeline_t;

typedef enum {
  WP_REQ_PING = 0,
  WP_REQ_WORK = 1,
  WP_REQ_CALL = 2,        /* the worker's own method `method` on payload */
} wp_req_kind_t;

/* Longest method name a WP_REQ_CALL may carry, in bytes. */
#define WP_METHOD_MAX 255

typedef struct wp_request {
  wp_req_kind_t kind;
  /* WP_REQ_CALL: the method's name, 1..WP_METHOD_MAX bytes, borrowed until
   * the callback runs. A worker without it answers WP_EUNKNOWN_METHOD with
   * its text; so does a protocol-1 worker, which knows no Call at all. */
  const char *method;
  const void *payload;    /* borrowed until the callback runs */
  size_t payload_len;
  uint32_t cpu_us, sleep_us, reply_bytes; /* WP_REQ_WORK */
  uint64_t timeout_ns;    /* overrides options.request_timeout_ns when > 0 */
  int idempotent;         /* may be retried once on another worker */
} wp_request_t;

/* A Reply's status, as the worker sent it (proto/wpool.proto's Status). */
typedef enum {
  WP_STATUS_OK = 0,
  WP_STATUS_BAD_REQUEST = 1,
  WP_STATUS_WORKER_ERROR = 2,
  WP_STATUS_UNKNOWN_METHOD = 3,
} wp_status_t;

/* What a worker answered. Everything here is valid only during the
 * callback. The three times (wp_now_ns()) split a request's latency:
 * queue wait = sent - queued, service = answered - sent (the round trip
 * to the worker: transport plus the worker's own time). A request retried
 * on another worker counts its first worker's time as queue wait. */
typedef struct wp_reply {
  const uint8_t *payload; /* never NULL */
  size_t payload_len;
  int slot;               /* which worker answered */
  int status;             /* wp_status_t: OK when err == 0 */
  const char *error;      /* the worker's error text; "" when none; never NULL */
  uint64_t queued;        /* wp_pool_call accepted it */
  uint64_t sent;          /* handed to the worker's transport (last attempt) */
  uint64_t answered;      /* its reply was decoded */
} wp_reply_t;

typedef struct wp_pool wp_pool_t;

typedef void (*wp_reply_cb)(wp_pool_t *pool, int err, const wp_reply_t *reply,
                            void *arg);
/* err == 0 when every slot is ready; else why the start failed. */
typedef void (*wp_start_cb)(wp_pool_t *pool, int err, void *arg);
typedef void (*wp_stop_cb)(wp_pool_t *pool, void *arg);

WP_EXTERN int wp_pool_new(uv_loop_t *loop, const wp_options_t *opts, wp_pool_t **out);
/* Spawns every slot (all at once, or one after the previous is ready) and
 * runs cb once: when all slots are ready, or when the start failed — a
 * worker that fails while the pool starts fails the start, even after its
 * Hello (WP_EWORKER_EXITED); nothing is restarted before the pool is up.
 * wp_pool_last_error(p, -1, ...) then says which worker and why.
 * Returns 0, or an error at once (then cb never runs): WP_ESTATE, or
 * WP_ENOFILES when RLIMIT_NOFILE cannot hold the pool's descriptors (about
 * 3 per pipe worker, 4 per gRPC worker; raise the soft limit). */
WP_EXTERN int wp_pool_start(wp_pool_t *p, wp_start_cb cb, void *arg);
/* Queues a request; cb runs exactly once, never before this returns.
 * Returns 0, or an error (and then cb never runs): WP_EINVAL for a bad
 * request, among them a payload larger than max_frame - 64. */
WP_EXTERN int wp_pool_call(wp_pool_t *p, const wp_request_t *req, wp_reply_cb cb,
                 void *arg);
/* Fails queued requests with WP_ESTOPPED, closes workers' stdin, waits
 * stop_grace_ns, then SIGTERMs each worker's process group and SIGKILLs it
 * min(grace/4, 1 s) later; cb runs when every child is reaped and every
 * handle is closed. In-flight requests get their replies if they arrive in
 * the grace period, else WP_ESTOPPED. */
WP_EXTERN void wp_pool_stop(wp_pool_t *p, wp_stop_cb cb, void *arg);
/* wp_pool_stop without the grace: every worker's process group is
 * SIGKILLed now (a second Ctrl-C). On a pool already stopping it cuts the
 * grace short and the first stop's callback is kept (cb is ignored). */
WP_EXTERN void wp_pool_stop_now(wp_pool_t *p, wp_stop_cb cb, void *arg);
/* Only after the stop callback ran, or if wp_pool_start was never called.
 * After wp_pool_start returned an error, call wp_pool_stop first. */
WP_EXTERN void wp_pool_free(wp_pool_t *p);

WP_EXTERN int wp_pool_size(const wp_pool_t *p);
WP_EXTERN int wp_pool_timeline(const wp_pool_t *p, int slot, wp_timeline_t *out);
/* The Call methods the slot's newest worker listed in its Hello (protocol
 * 2), in its order: up to max of them into names, and returns how many it
 * listed (may exceed max; 0 before its Hello or when it lists none), or
 * WP_EINVAL. The strings belong to the pool and stay valid until that
 * worker is replaced or the pool freed: copy them to keep them longer. */
WP_EXTERN int wp_pool_methods(const wp_pool_t *p, int slot, const char **names, int max);
/* The wire protocol the slot's newest worker said in its Hello (1 to 3; 3:
 * compact pipe frames, proto/wpool.proto), 0 before its Hello (and for an
 * attached worker, which sends none), or WP_EINVAL. */
WP_EXTERN int wp_pool_protocol(const wp_pool_t *p, int slot);
/* Number of slots ready now. */
WP_EXTERN int wp_pool_ready_count(const wp_pool_t *p);
/* Pids of live workers, retiring ones included (for tests / chaos);
 * returns count written. */
/* The zygote template's timeline (spawn_asked, started, ready = its set-up
 * done; pid; generation = templates started so far): 0, or WP_EINVAL when
 * the pool has not started one (exec, or not started). */
WP_EXTERN int wp_pool_template(const wp_pool_t *p, wp_timeline_t *out);
WP_EXTERN int wp_pool_pids(const wp_pool_t *p, int *pids, int max);
/* 1 if the slot's current worker is ready (serving), else 0. */
WP_EXTERN int wp_pool_slot_ready(const wp_pool_t *p, int slot);
/* Sends sig to the slot's current worker through its pidfd (never to a
 * recycled pid). 0, WP_EINVAL, WP_ESTATE (no live worker), WP_EIO. For
 * chaos testing: a SIGKILLed worker is restarted like any crash, and
 * wp_pool_timeline then shows the replacement's spawn and ready times. */
WP_EXTERN int wp_pool_signal(wp_pool_t *p, int slot, int sig);

/* Requests in flight on the slot's workers now; *oldest_ns (0 if none):
 * when the oldest of them was sent to its worker, *pid: that worker. For a
 * caller's watchdog: which worker holds a request nobody answers. Either
 * out pointer may be NULL. */
WP_EXTERN int wp_pool_slot_inflight(const wp_pool_t *p, int slot, uint64_t *oldest_ns, int *pid);

/* What ended the slot's last failed worker, as one line for a person:
 * which worker (slot, pid, command) and what it did, e.g.
 *   slot 0 (pid 4242, python3 w.py): wrote non-protocol bytes to stdout
 *   before its Hello: "Loading model...\n" (logs belong on stderr)
 *   slot 1 (pid 4243, ./w): exited with status 2 before its Hello
 * The exit status shows once the process is reaped (after the stop
 * callback, always). slot -1 means the failure that ended the start or
 * failed the pool, else the newest. Returns that failure's WP_E* code (the
 * one the start callback or the requests got), 0 if none (buf is then
 * ""), WP_EINVAL for a bad slot. buf is always NUL-terminated (len > 0);
 * a line longer than len is cut. */
WP_EXTERN int wp_pool_last_error(const wp_pool_t *p, int slot, char *buf, size_t len);

typedef struct wp_stats {
  uint64_t calls, replies, errors, queued_now, inflight_now;
  uint64_t restarts, worker_exits, protocol_errors;
  uint64_t timeout_kills;     /* workers killed by kill_on_timeout */
  uint64_t recycles;          /* replacements started by recycling */
  uint64_t rss_recycles;      /* of which asked by max_rss_bytes */
  /* Requests a worker answered (any status), and the sums of their queue
   * wait and service times (see wp_reply_t): mean = sum / answered. */
  uint64_t answered, queue_wait_ns_sum, service_ns_sum;
  uint64_t queue_wait_ns_max, service_ns_max;
} wp_stats_t;
WP_EXTERN void wp_pool_stats(const wp_pool_t *p, wp_stats_t *out);

/* Monotonic clock, ns. */
WP_EXTERN uint64_t wp_now_ns(void);

#ifdef __cplusplus
}
#endif
#endif
