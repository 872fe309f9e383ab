/*
 * pool_internal.h — the supervisor's private state, shared by its modules.
 * From the top down (a module calls only those below it, except dispatch
 * and the transport, which call each other: request and response):
 *
 *   pool.c       options, new/free, start/stop, the restart policy, accessors;
 *                the slots' upward events (on_ready, on_fail, on_down) land here
 *   recycle.c    the recycling policy (max_requests, max_rss_bytes), acted out
 *                through slot.c
 *   dispatch.c   calls: queue, checkout, deadlines, completing exactly once
 *   link.c       the transport's common part: reading a worker's stdout (the
 *                Hello, pipe replies), encoding requests, sending through the
 *                ops table; link_pipe.c and link_grpc.c, one per transport
 *   slot.c       every transition of a slot (state and role), with its ready
 *                count, available list and timer kept in step
 *   proc.c       a worker's process: spawning, exit watching, signals, and
 *                the count of its generation's open handles
 *   zygote.c     spawn = zygote: the template that forks workers, and its
 *                reports (a child's pid, its exit status)
 *   fault.c      what ended a slot's last generation (wp_pool_last_error)
 *   stderr.c     a worker's stderr (capture_stderr): forwarded, last line kept
 *
 * Upward notices go through function pointers (wp_link_ops_t, and the
 * hooks in wp_pool_t), so the direct calls between files form a tree but
 * for dispatch <-> link. Everything here is touched only on the loop thread.
 * Functions here are prefixed wpi_ (internal), never wp_ (the public API).
 */
#ifndef WP_POOL_INTERNAL_H
#define WP_POOL_INTERNAL_H

#include <stdbool.h>

#include "frame.h"
#include "wire.h"
#include "wpool.h"

typedef enum {
  SLOT_DOWN = 0,  /* no process; maybe waiting for a restart backoff */
  SLOT_STARTING,  /* spawned, waiting for the Hello */
  SLOT_CONNECTING,/* gRPC: Hello seen, channel not READY yet */
  SLOT_READY,     /* serving requests (READY or BUSY, by inflight) */
  SLOT_CLOSING,   /* asked to go (stop, retirement): stdin closed, its
                   * replies still taken, not yet reaped */
  SLOT_FAILING,   /* this generation failed: killed, its output ignored,
                   * not yet reaped and closed */
} slot_state_t;

/* A slot's role. Each logical slot i has two process hosts (slots[i] and
 * slots[i + size], twins): the CURRENT one serves; when it is recycled its
 * twin starts as SUCCESSOR, and once that is ready the old one is RETIRING
 * (no new requests, drains, exits) while the successor is CURRENT. */
typedef enum {
  ROLE_SPARE = 0, /* no process and none planned */
  ROLE_CURRENT,
  ROLE_SUCCESSOR,
  ROLE_RETIRING,
} slot_role_t;

typedef struct wp_call wp_call_t;
typedef struct wp_slot wp_slot_t;

/* A doubly linked list of calls (queue, or a slot's in-flight list). */
typedef struct call_list {
  wp_call_t *head, *tail;
  size_t len;
} call_list_t;

struct wp_call {
  wp_pool_t *pool;
  uint64_t id;
  wp_request_t req;        /* payload borrowed from the caller */
  wp_reply_cb cb;
  void *arg;
  uint64_t submitted;      /* ns */
  uint64_t deadline;       /* ns, 0 = none; the heap's key */
  uint64_t timeout;        /* ns, 0 = none: the budget, from submit and on a worker */
  uint64_t dispatched;     /* ns, when it was sent to its worker */
  bool overrun_check;      /* in the heap for the worker's overrun, not the caller's deadline */
  size_t heap_idx;         /* position in the deadline heap, SIZE_MAX if out */
  wp_slot_t *slot;         /* in flight on, or NULL while queued */
  wp_call_t *prev, *next;  /* in the queue or in slot->inflight */
  bool completed;          /* the callback ran */
  int transport_refs;      /* gRPC calls that still hold this (free later) */
  uint32_t attempts;       /* gRPC sends so far: a completion for an older
                            * one is stale (the call was retried) */
  int retries;
};

struct wp_slot {
  wp_pool_t *pool;
  int index;
  /* slot.c: its state (changed only there), role and timer */
  slot_state_t state;
  slot_role_t role;
  wp_slot_t *twin;         /* the other host of the same logical slot */
  bool recycle_due;        /* CURRENT: replace me when the twin is free */
  bool suspect;            /* the transport doubts the link (wpi_slot_suspect):
                            * no new work, fails soon */
  bool overran;            /* killed by kill_on_timeout */
  int fail_err;            /* why it went down (WP_E*), 0 on a clean stop */
  uv_timer_t timer;        /* start timeout, link or retire grace, restart backoff */
  uint64_t backoff_ns;     /* next restart delay */
  int young_deaths;        /* generations in a row that died young (pool.c) */
  wp_timeline_t tl;
  /* proc.c: the process and its generation's handles */
  int pidfd;
  bool reaped;             /* waited for: the pid is gone */
  int exit_status;         /* wait status once reaped */
  int handles;             /* open libuv handles of this generation */
  /* How its exit is seen: its pidfd turning readable or, where
   * pidfd_open does not exist (Linux < 5.3, valgrind 3.19), a timer that
   * polls waitpid every EXIT_POLL_MS. */
  union {
    uv_poll_t poll;
    uv_timer_t tick;
  } exitw;
  bool exitw_open;
  /* its stdio: stdout read by link.c (the Hello, pipe replies), stdin
   * written by link_pipe.c */
  uv_pipe_t in;            /* worker's stdin: we write requests */
  uv_pipe_t out;           /* worker's stdout: Hello and replies */
  bool in_open, out_open;
  wpi_frame_decoder_t dec;
  uint8_t *rbuf;           /* read buffer handed to libuv */
  uint8_t *wbuf;           /* frames packed, not yet written (link_pipe.c) */
  size_t wcap;
  size_t wlen;             /* bytes of wbuf waiting for the push */
  wp_slot_t *push_next;    /* in pool->push_head while wlen > 0 */
  bool push_due;
  uint32_t proto_version;  /* from this generation's Hello */
  bool compact;            /* pipe, protocol 3: compact frames (frame.h) */
  char *methods;           /* its Hello's method names (wpi_hello_t.methods) */
  uint32_t nmethods;
  /* dispatch.c: its calls; slot.c: its place in the available list */
  call_list_t inflight;    /* calls sent to this worker, oldest first */
  wp_slot_t *avail_next;   /* in pool->avail (has spare capacity) */
  bool in_avail;
  bool drain_due;          /* a deadline passed: read its pipe first */
  uint64_t served;         /* requests answered by this generation */
  uint64_t sent;           /* requests dispatched to this generation */
  uint64_t max_requests;   /* this generation's recycling limit, 0 = none */
  /* fault.c and stderr.c: what it said */
  uint8_t head[48];        /* its first stdout bytes (shown if not a Hello) */
  uint8_t head_len;
  uv_pipe_t err;           /* its stderr (capture_stderr) */
  bool err_open;
  char errline[320];       /* the last whole line it wrote there */
  char errpart[320];       /* the line being written */
  uint16_t errline_len, errpart_len;
  /* zygote.c: a process cloned by the pool's template, not spawned */
  bool zyg_asked;          /* asked of template zyg_gen, pid not known yet */
  int zyg_gen;             /* the template generation asked */
};

/* What ended a logical slot's last failed generation (fault.c). */
typedef struct wp_fault {
  int err;                 /* WP_E*, 0: none yet */
  int pid, generation;
  bool hello;              /* it had sent its Hello */
  bool starting;           /* the pool was still starting */
  bool overran;            /* killed by kill_on_timeout */
  bool reaped;             /* status is known */
  int status;              /* wait status */
  uint8_t head[48];        /* first stdout bytes, for a protocol error */
  uint8_t head_len;
  char errline[320];       /* its last stderr line (capture_stderr) */
  uint16_t errline_len;
} wp_fault_t;

typedef enum {
  POOL_NEW = 0,
  POOL_STARTING,
  POOL_RUNNING,
  POOL_STOPPING,
  POOL_STOPPED,
  POOL_FAILED,             /* restart intensity exceeded; calls fail */
} pool_state_t;

typedef struct wp_link_ops wp_link_ops_t;

struct wp_pool {
  uv_loop_t *loop;
  wp_options_t opts;
  char **argv;             /* owned copy of the worker command */
  int argc;
  pool_state_t state;
  wp_slot_t *slots;        /* nslots = 2 * size: the twins, see slot_role_t */
  int nslots;
  int next_to_spawn;       /* sequential start: the next slot index */
  int ready_count;
  wp_start_cb start_cb;
  void *start_arg;
  wp_stop_cb stop_cb;
  void *stop_arg;
  uint64_t next_id;
  call_list_t queue;       /* FIFO of calls not yet on a worker */
  wp_slot_t *avail_head, *avail_tail; /* slots with spare capacity */
  wp_call_t **heap;        /* min-heap of calls by deadline */
  size_t heap_len, heap_cap;
  uv_timer_t deadline_timer;
  uv_timer_t stop_timer;   /* stop grace period */
  uv_timer_t kick_timer;   /* zero-delay: dispatch on the next loop turn */
  uv_timer_t rss_timer;    /* max_rss_bytes checks */
  int pool_handles;        /* open pool-level handles */
  uint64_t *restart_times; /* ring of recent restart times (intensity) */
  int restart_ring_len;
  int restart_ring_pos;
  const wp_link_ops_t *link; /* the transport (opts.transport) */
  void *link_data;         /* its private state */
  /* link.c: while the replies of one read are handled (corked > 0), the
   * pipe's sends pack their frames and the slots wait in push_head; the
   * read's end writes each worker's frames in one write. */
  int corked;
  wp_slot_t *push_head;
  /* dispatch.c: released calls kept for the next wp_pool_call */
  wp_call_t *spare;
  int nspare;
  wp_stats_t stats;
  uint64_t rng;            /* jitter */
  /* What the layers below report up (set by pool.c and slot.c at new). */
  void (*on_ready)(wp_slot_t *s);        /* slot.c: s became READY */
  void (*on_fail)(wp_slot_t *s, int err); /* slot.c: s's calls will not be
                                           * answered (err); fails a start */
  void (*on_down)(wp_slot_t *s);         /* slot.c: s is DOWN */
  void (*on_exit)(wp_slot_t *s);         /* proc.c: s's process was reaped */
  void (*on_gone)(wp_slot_t *s);         /* proc.c: reaped, handles closed */
  void (*on_spawn_fail)(wp_slot_t *s, int err); /* zygote.c: an ask failed
                                           * after the slot started (slot.c) */
  wp_fault_t *faults;      /* per logical slot */
  int fault_slot;          /* the failure that ended the start, else the
                            * newest one; -1: none */
  struct wpi_zygote *zyg;  /* opts.spawn == WP_SPAWN_ZYGOTE: the template */
};

/* ---- the transport's ops table (link_pipe.c, link_grpc.c) -------------- */

/* What the rest of the pool calls blindly; a new transport is one file
 * that fills one of these. NULL entries are no-ops. */
struct wp_link_ops {
  const char *worker;      /* the default worker program's name */
  int fds_per_worker;      /* descriptors a worker holds here (stdio pipes,
                            * pidfd, a socket), for the start's budget */
  int fds_extra;           /* and the transport itself */
  bool replies_on_stdout;  /* replies come as frames after the Hello (pipe);
                            * otherwise any frame there is a protocol error */
  bool judges_late_overrun;/* an overrun seen late is left to the
                            * transport's own deadline (gRPC) */
  bool attached;           /* slots are addresses, not processes (attach.c):
                            * attach replaces spawn, no pid, no signals */
  int (*init)(wp_pool_t *p);  /* at wp_pool_new: private state */
  int (*open)(wp_pool_t *p);  /* at start; the pool then counts it as a
                               * handle until close calls done */
  /* At stop, once every slot is DOWN; done(p) runs once, maybe later. */
  void (*close)(wp_pool_t *p, void (*done)(wp_pool_t *p));
  void (*free)(wp_pool_t *p);
  /* Arguments for a worker's command line, written at argv (room for 4;
   * strings may live in buf); NULL-terminated by the caller. */
  void (*args)(wp_slot_t *s, char **argv, char *buf, size_t len);
  int (*start)(wp_slot_t *s);    /* the process is up: wait for its Hello */
  /* A Hello came while STARTING; address (malloc'd, may be NULL) is the
   * transport's. Pipe: ready; gRPC: connect, ready once connected. */
  void (*hello)(wp_slot_t *s, char *address);
  int (*send)(wp_slot_t *s, wp_call_t *c, const wpi_request_enc_t *r, size_t n);
  void (*drain)(wp_slot_t *s);   /* read what the worker wrote, now */
  void (*flush)(wp_pool_t *p);   /* hand over completions received already */
  /* Writes the frames s's sends left packed (corked): 0, or WP_E* when its
   * link broke. */
  int (*push)(wp_slot_t *s);
  void (*teardown)(wp_slot_t *s);/* this generation's link goes */
  void (*down)(wp_slot_t *s);    /* the generation is gone: remove what it
                                  * left behind (its socket file) */
  /* Attached slots only: starts a generation without a process (s is
   * STARTING; s->exitw must be opened as the generation's one handle and
   * closed by teardown); and the pool stops: s is CLOSING, let it go once
   * its calls are answered (called again whenever one is). */
  int (*attach)(wp_slot_t *s);
  void (*stop)(wp_slot_t *s);
};
extern const wp_link_ops_t wpi_link_pipe, wpi_link_grpc, wpi_link_attach;

/* link.c: the transports' common part */
int wpi_link_start(wp_slot_t *s);
/* Reads what is left in the worker's stdout now, without blocking. */
void wpi_link_drain(wp_slot_t *s);
int wpi_link_send(wp_slot_t *s, wp_call_t *c);
/* Writes what corked sends left packed: one slot (before its stdin
 * closes), or every slot waiting (the end of a read). */
void wpi_link_push(wp_slot_t *s);
void wpi_link_push_all(wp_pool_t *p);
/* Completes the call that reply bytes answer (c, or found by the reply's
 * id when NULL); WP_EPROTO when they do not decode or answer nothing. */
int wpi_link_reply(wp_slot_t *s, wp_call_t *c, const uint8_t *f, size_t len);

/* ---- dispatch.c ---------------------------------------------------------- */

void wpi_call_list_push(call_list_t *l, wp_call_t *c);
void wpi_call_list_push_front(call_list_t *l, wp_call_t *c);
void wpi_call_list_remove(call_list_t *l, wp_call_t *c);
void wpi_dispatch(wp_pool_t *p);
/* Dispatches on the next loop turn: for paths that must not run callbacks
 * inline (they may be inside wp_pool_call) but put calls back in line. */
void wpi_dispatch_soon(wp_pool_t *p);
void wpi_call_complete(wp_call_t *c, int err, const uint8_t *payload,
                      size_t len, int slot);
/* Completes c with what its worker answered: err is 0, WP_EREMOTE or
 * WP_EUNKNOWN_METHOD; r's times are filled in here. */
void wpi_call_answer(wp_call_t *c, int err, wp_reply_t *r);
void wpi_call_release(wp_call_t *c);   /* transport done with it */
/* Frees the calls kept for reuse (wp_pool_free). */
void wpi_calls_free(wp_pool_t *p);
/* The most a request adds around its payload when encoded (id, kind and
 * Work's fields, as varints with their tags): 64 is above it. A Call adds
 * its method's name on top (wp_pool_call counts it). */
#define WP_REQ_ENVELOPE 64u
/* Takes an answered (or abandoned) call off its worker. */
void wpi_slot_detach(wp_slot_t *s, wp_call_t *c);
/* Fails or requeues (idempotent, first time) every call on a dead slot. */
void wpi_slot_fail_inflight(wp_slot_t *s, int err);
void wpi_fail_queue(wp_pool_t *p, int err);
int wpi_deadline_init(wp_pool_t *p);
/* A worker seen holding c at `seen` (ns), past its limit (dispatch +
 * timeout): true when that was so late that the supervisor itself was
 * stalled (SIGSTOP, a blocked loop) rather than the worker slow. */
bool wpi_overrun_seen_late(const wp_call_t *c, uint64_t seen);
void wpi_deadline_remove(wp_call_t *c);

/* ---- recycle.c: replacing healthy workers (max_requests, max_rss_bytes) -- */

/* Starts s's successor (s is CURRENT); s serves until it is ready. */
void wpi_slot_recycle(wp_slot_t *s);
/* A SUCCESSOR became ready: it takes over, its twin retires. */
void wpi_recycle_promote(wp_slot_t *s);
/* A host went down while the pool runs: true if its role settles it (no
 * restart wanted), false to restart it with backoff. */
bool wpi_recycle_on_down(wp_slot_t *s);
/* The pool is running: start the RSS checks if max_rss_bytes is set. */
void wpi_recycle_watch(wp_pool_t *p);

/* ---- slot.c -------------------------------------------------------------- */

/* Sets up every host of the pool (roles, twins) and proc.c's hooks. */
void wpi_slots_init(wp_pool_t *p);
void wpi_slot_free(wp_slot_t *s);
/* xorshift64: cheap randomness for jitter (restart backoff, max_requests). */
uint64_t wpi_rand(wp_pool_t *p);
/* Starts a new generation on s; a nonzero return (recorded as s's fault)
 * means nothing was spawned and s is still DOWN. */
int wpi_slot_spawn(wp_slot_t *s);
/* Spawns s, or on a spawn failure puts it through on_down at once. */
void wpi_slot_launch(wp_slot_t *s);
/* Arms s's timer without a transition (the restart backoff). */
void wpi_slot_timer(wp_slot_t *s, uv_timer_cb cb, uint64_t ms);
void wpi_slot_connecting(wp_slot_t *s);  /* Hello seen, link not up yet */
void wpi_slot_ready(wp_slot_t *s);
void wpi_slot_fail(wp_slot_t *s, int err);
/* A transport saw a broken link while the process still looked alive. */
void wpi_slot_suspect(wp_slot_t *s);
/* A worker held a request past its timeout (kill_on_timeout). */
void wpi_slot_overran(wp_slot_t *s);
/* The pool stops: s is asked to leave (stdin EOF). */
void wpi_slot_stop(wp_slot_t *s);
/* s (READY, now RETIRING) takes no new work and goes once drained. */
void wpi_slot_retire(wp_slot_t *s);
/* A RETIRING worker's last in-flight request was answered. */
void wpi_slot_drained(wp_slot_t *s);
/* A closing slot's stdout ended: what is in flight will not be answered. */
void wpi_slot_out_eof(wp_slot_t *s);
/* The available list: slots with spare capacity, in checkout order. */
void wpi_slot_avail_insert(wp_slot_t *s, bool front);
void wpi_slot_avail_remove(wp_slot_t *s);
wp_slot_t *wpi_slot_avail_pop(wp_pool_t *p);

/* ---- proc.c -------------------------------------------------------------- */

typedef struct wp_proc {
  int pid, pidfd, fd_in, fd_out;
  int fd_err;              /* its stderr's read end, or -1 (inherited) */
} wp_proc_t;
int wpi_spawn(char *const argv[], const int *cpus, int ncpus, bool err_pipe,
             wp_proc_t *out);
/* A worker's stdio pipes, [0] the read end, all close-on-exec; err only
 * when asked for (else -1s). */
typedef struct wpi_stdio {
  int in[2], out[2], err[2];
} wpi_stdio_t;
/* 0, or WP_ENOFILES / WP_EIO with nothing left open. */
int wpi_stdio_pipes(bool err_pipe, wpi_stdio_t *io);
/* The worker's ends (once it has them: spawned, or sent to a template). */
void wpi_stdio_theirs_close(wpi_stdio_t *io);
/* The pool's ends (the worker never came). */
void wpi_stdio_ours_close(wpi_stdio_t *io);
/* Watches s's exit (its pidfd, else a waitpid tick): p->on_exit runs once
 * it is reaped. WP_EIO when the watch could not start. */
int wpi_proc_watch(wp_slot_t *s);
/* A spawn that could not be watched: kill and reap it here. */
void wpi_proc_reap_now(wp_slot_t *s);
void wpi_proc_unwatch(wp_slot_t *s);
/* Closes one of s's handles; p->on_gone runs when the last closes and the
 * process is reaped. */
void wpi_proc_close(uv_handle_t *h, bool *open);
void wpi_proc_handle_closed(uv_handle_t *h);
void wpi_proc_signal_group(wp_slot_t *s, int sig);
/* Signals the process alone (pidfd_send_signal where there is a pidfd). */
int wpi_proc_signal(wp_slot_t *s, int sig);
/* Has the process exited (maybe still unreaped)? */
bool wpi_proc_gone(const wp_slot_t *s);
/* A zygote template: spawned with its socket as fd 3 (WPOOL_ZYGOTE=3). */
int wpi_spawn_template(char *const argv[], const int *cpus, int ncpus, int sock,
                      int *pid, int *pidfd);
int wpi_pidfd_open(int pid);
/* s's generation ends with no process to reap (a zygote ask that failed). */
void wpi_proc_exited(wp_slot_t *s, int status);

/* ---- zygote.c: workers forked from a warm template ------------------------ */

/* At wp_pool_new when opts.spawn is zygote. */
int wpi_zygote_init(wp_pool_t *p);
/* Asks the template (started now if there is none) to fork s's worker on
 * new pipes; out gets the pool's ends, pid 0 until the fork is reported. */
int wpi_zygote_spawn(wp_slot_t *s, bool err_pipe, wp_proc_t *out);
/* At stop, once every slot is DOWN: the template gets EOF, grace, SIGKILL;
 * done(p) runs once it is reaped and its handles closed. */
void wpi_zygote_close(wp_pool_t *p, void (*done)(wp_pool_t *p));
void wpi_zygote_abandon(wp_slot_t *s);
void wpi_zygote_free(wp_pool_t *p);
/* The newest template's timeline (ready = its init done); WP_EINVAL if none. */
int wpi_zygote_timeline(const wp_pool_t *p, wp_timeline_t *out);

/* ---- fault.c ------------------------------------------------------------- */

/* s's generation fails with err: remember how, for wp_pool_last_error. */
void wpi_fault_record(wp_slot_t *s, int err);
/* s was reaped: its exit status completes the record of its failure. */
void wpi_fault_exited(wp_slot_t *s);
/* Keeps the first bytes a worker wrote on stdout before its Hello. */
void wpi_fault_stdout(wp_slot_t *s, const uint8_t *data, size_t n);

/* ---- stderr.c ------------------------------------------------------------ */

int wpi_stderr_open(wp_slot_t *s, int fd);
/* Forwards what is left in the pipe now, then closes it. */
void wpi_stderr_close(wp_slot_t *s);
/* Copies the worker's last stderr line (no newline) to buf; its length. */
size_t wpi_stderr_last(const wp_slot_t *s, char *buf, size_t len);

#endif
