/*
 * grpc_client.h — the supervisor's gRPC client (gRPC C core), on libuv.
 *
 * Owns: grpc_init/grpc_shutdown for the pool, one completion queue, ONE
 * thread that drains it, the channels to the workers (one wp_grpc_conn_t per
 * worker) and the unary calls on them (WPI_GRPC_METHOD). Knows nothing
 * about slots, queues or retries: it moves serialized Request/Reply bytes.
 *
 * Threads: every function here must be called on the loop thread, and every
 * callback runs on the loop thread. The drain thread only calls
 * grpc_completion_queue_next and hands finished operations to the loop in
 * batches through a uv_async_t; it never touches caller state.
 *
 * Callbacks never run inside the function that registered them.
 *
 * Lifecycle:
 *   wpi_grpc_client_new → (conn_open → conn_call* → conn_close)* →
 *   wpi_grpc_client_close → on_closed. After on_closed nothing of the client
 *   is left on the loop (no handle, no thread, gRPC shut down).
 */
#ifndef WP_GRPC_CLIENT_H
#define WP_GRPC_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "proto.h"
#include "wpool.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wp_grpc_client wp_grpc_client_t;
typedef struct wp_grpc_conn wp_grpc_conn_t;

typedef void (*wp_grpc_ready_cb)(void *arg, int err);
typedef void (*wp_grpc_done_cb)(void *arg, int err, const uint8_t *reply,
                                size_t len);
typedef void (*wp_grpc_closed_cb)(void *arg);

/* Initializes gRPC, creates the completion queue, starts the drain thread
 * and registers a uv_async_t on loop (the loop stays alive until
 * wpi_grpc_client_close). 0, WP_ENOMEM or WP_EINVAL. */
int wpi_grpc_client_new(uv_loop_t *loop, wp_grpc_client_t **out);

/* Closes every conn not closed yet (as wpi_grpc_conn_close would, but their
 * pending calls' done callbacks get WP_ESTOPPED), waits for every gRPC
 * operation to come back, stops the drain thread, closes the async handle
 * and shuts gRPC down (synchronously, on the drain thread); then runs
 * on_closed(arg) on the loop (on_closed may be NULL), after which
 * uv_loop_close can succeed. No on_ready runs after this call. Until
 * on_closed, conn pointers stay valid: wpi_grpc_conn_close on them is a
 * no-op and wpi_grpc_conn_call returns WP_ESTOPPED. The client and every
 * conn are freed before on_closed runs. Extra calls are ignored. */
void wpi_grpc_client_close(wp_grpc_client_t *c, wp_grpc_closed_cb on_closed,
                          void *arg);

/* Opens a channel to addr ("unix:/path" or "127.0.0.1:port") and starts
 * connecting at once. on_ready(arg, 0) runs once the channel is READY;
 * on_ready(arg, WP_ETRANSPORT) if it fails (TRANSIENT_FAILURE) or is not
 * READY within connect_timeout_ns (0 = 10 s). on_ready runs at most once,
 * never after wpi_grpc_conn_close. Calls may be started before READY (gRPC
 * holds them until the connection is up or fails).
 * Returns 0, WP_EINVAL, WP_ENOMEM or WP_ESTOPPED (client closing). */
int wpi_grpc_conn_open(wp_grpc_client_t *c, const char *addr,
                      uint64_t connect_timeout_ns, wp_grpc_ready_cb on_ready,
                      void *arg, wp_grpc_conn_t **out);

/* Starts one unary call with the serialized Request req[0..len) (copied;
 * the caller may free it on return) and a deadline timeout_ns from now
 * (0 = none). done(arg, err, reply, rlen) runs exactly once, on the loop:
 *   0              reply/rlen hold the serialized Reply (valid only during
 *                  the callback)
 *   WP_ETIMEDOUT   the deadline passed (DEADLINE_EXCEEDED)
 *   WP_ETRANSPORT  any other non-OK status (UNAVAILABLE when the worker
 *                  died), or the conn was closed with the call pending
 *   WP_ESTOPPED    the client was closed with the call pending
 *   WP_EPROTO      status OK but no reply message
 * and reply == NULL, rlen == 0 whenever err != 0.
 * Returns 0, or WP_EINVAL / WP_ENOMEM / WP_ESTOPPED (conn or client closing)
 * / WP_ETRANSPORT (gRPC refused the call) and then done never runs. */
int wpi_grpc_conn_call(wp_grpc_conn_t *k, const uint8_t *req, size_t len,
                      uint64_t timeout_ns, wp_grpc_done_cb done, void *arg);

/* grpc.health.v1.Health/Check for service "" on k, as wpi_grpc_conn_call
 * (same results and rules); a reply's bytes are a HealthCheckResponse. */
int wpi_grpc_conn_check(wp_grpc_conn_t *k, uint64_t timeout_ns, wp_grpc_done_cb done,
                       void *arg);

/* Workers across a network: channels opened after this ping their worker
 * every keepalive_ms (0: never) and drop the connection when a ping goes
 * unanswered for as long; a refused connect is retried (100 ms backing off
 * to 1 s) until connect_timeout_ns instead of failing on_ready at once. */
void wpi_grpc_client_remote(wp_grpc_client_t *c, int keepalive_ms);

/* Cancels the conn's pending calls (their done callbacks run later, never
 * in here, with WP_ETRANSPORT, exactly once each — even a call whose reply
 * was already on its way), destroys the channel and frees the conn once
 * every operation on it came back. k must not be used after this returns
 * (unless the client is closing, see above). on_ready never runs after it.
 * Safe to call from inside any callback, including a done callback of
 * this conn. */
void wpi_grpc_conn_close(wp_grpc_conn_t *k);

/* Runs now, on the loop, the completions the drain thread has already
 * handed over (which the next async wake-up would run): for a caller that
 * must see every reply already received before it judges a deadline.
 * Callbacks run inside this call; call it only where that is safe (not
 * from inside a done or ready callback). */
void wpi_grpc_client_flush(wp_grpc_client_t *c);

/* Inside a done callback: when the drain thread received that completion
 * from gRPC (wp_now_ns), which may be well before the loop ran it. */
uint64_t wpi_grpc_client_received(const wp_grpc_client_t *c);

/* Number of calls started on k whose done callback has not run yet. */
size_t wpi_grpc_conn_pending(const wp_grpc_conn_t *k);

#ifdef __cplusplus
}
#endif
#endif
