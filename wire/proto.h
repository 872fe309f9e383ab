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
 * of every version from 1 up to it (proto/wpool.proto states the rules). */
#define WPI_PROTOCOL_VERSION 3

/* Protocol 3 (the compact pipe envelope) is used only when both sides
 * speak it: the supervisor puts WPOOL_PROTOCOL=<its highest version> in
 * every worker's environment, and a pipe worker that finds 3 or more says
 * 3 in its Hello; any other worker says 2 and keeps protobuf envelopes. */
#define WPI_PROTOCOL_ENV "WPOOL_PROTOCOL"
/* The highest version with protobuf envelopes: what a pipe worker not
 * offered 3 says, and what a gRPC worker says (gRPC has its own framing;
 * protocol 3 changes nothing there). */
#define WPI_PROTOCOL_PROTOBUF 2
#define WPI_STR_(x) #x
#define WPI_STR(x) WPI_STR_(x) /* WPI_STR(WPI_PROTOCOL_VERSION): "3" */
#define WPI_PROTOCOL_COMPACT 3

/* The one gRPC method: service wpool.v1.Worker { rpc Call(Request) returns
 * (Reply); }. The worker serves it, the pool's gRPC client calls it. */
#define WPI_GRPC_METHOD "/wpool.v1.Worker/Call"

#endif
