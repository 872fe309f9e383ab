/*
 * link_grpc.h — the parts of the gRPC transport (link_grpc.c) that the
 * attached-worker transport (attach.c) shares: the pool-wide client and
 * its per-slot connections, sending a call, and the teardown of a
 * generation's channel. Loop thread only, as everything in pool/.
 */
#ifndef WP_LINK_GRPC_H
#define WP_LINK_GRPC_H

#include "grpc_client.h"
#include "pool_internal.h"

int wpi_grpc_link_init(wp_pool_t *p);
/* Opens the client; sockdir: make the private unix socket directory too. */
int wpi_grpc_link_open(wp_pool_t *p, bool sockdir);
void wpi_grpc_link_close(wp_pool_t *p, void (*done)(wp_pool_t *p));
void wpi_grpc_link_free(wp_pool_t *p);
void wpi_grpc_link_flush(wp_pool_t *p);
int wpi_grpc_link_send(wp_slot_t *s, wp_call_t *c, const wpi_request_enc_t *r, size_t n);
/* Closes s's channel (its pending calls come back WP_ETRANSPORT). */
void wpi_grpc_link_teardown(wp_slot_t *s);

wp_grpc_client_t *wpi_grpc_link_client(const wp_pool_t *p);
/* Where s's channel is kept (NULL when it has none). */
wp_grpc_conn_t **wpi_grpc_link_conn(const wp_slot_t *s);

#endif
