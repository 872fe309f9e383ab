/*
 * proto.h — the constants of the wire contract (proto/wpool.proto), each
 * defined here once for both sides: the supervisor (pool/) and the C
 * workers (worker/).
 *
 * Owns: the protocol version and the gRPC method path. May call: nothing
 * (constants only; no protobuf, no libuv).
 */
#ifndef WPI_PROTO_H
#define WPI_PROTO_H

/* The highest wire protocol version spoken here. The pool accepts workers
 * of every version from 1 up to it; the C worker SDK announces it in its
 * Hello (proto/wpool.proto states the rules). */
#define WPI_PROTOCOL_VERSION 2

/* The one gRPC method: service wpool.v1.Worker { rpc Call(Request) returns
 * (Reply); }. The worker serves it, the pool's gRPC client calls it. */
#define WPI_GRPC_METHOD "/wpool.v1.Worker/Call"

#endif
