"""wpool_grpc — the gRPC transport of the Python worker SDK (wpool_worker).

Serves wpool.v1.Worker/Call and the standard health check,
grpc.health.v1.Health/Check (SERVING while it serves, NOT_SERVING once it
drains; messages from the same descriptor set as wpool.v1). Started by a
pool it writes the Hello with its bound address and stops on Shutdown,
stdin EOF or SIGTERM. Started by systemd or Kubernetes (--standalone) it
writes no Hello, watches no stdin, and on SIGTERM or SIGINT says
NOT_SERVING, lets the calls it holds finish (DRAIN_S at most) and exits 0.

Imported by wpool_worker.run() only for --transport grpc: importing grpc
costs ~60 ms of start-up that a pipe worker should not pay.
"""
import os
import signal
import sys
import threading

import wpool_worker as ww

HEALTH_SERVICE = "grpc.health.v1.Health"
DRAIN_S = 2.0  # as the C worker's SHUTDOWN_GRACE_MS


def _bind(server, listen):
    """Binds `listen` and returns the address to announce (with the real port)."""
    port = server.add_insecure_port(listen)  # raises RuntimeError, or 0 in old grpcio
    if not port:
        raise RuntimeError(f"failed to bind {listen}")
    if listen.startswith("unix:") or listen.startswith("unix-abstract:"):
        return listen
    host = listen.rpartition(":")[0]
    return f"{host}:{port}"


def _unix_path(address):
    if address.startswith("unix://"):
        return address[len("unix://"):]
    if address.startswith("unix:"):
        return address[len("unix:"):]
    return None


def _health_handler(grpc, m, draining):
    """Health/Check: "" (the server) and wpool.v1.Worker serve until the
    drain begins; another service name is NOT_FOUND, as the protocol says."""
    from google.protobuf import message_factory

    get_class = getattr(message_factory, "GetMessageClass", None)
    if get_class is None:  # protobuf < 4.22
        get_class = message_factory.MessageFactory(m.pool).GetPrototype
    req_cls = get_class(m.pool.FindMessageTypeByName("grpc.health.v1.HealthCheckRequest"))
    rep_cls = get_class(m.pool.FindMessageTypeByName("grpc.health.v1.HealthCheckResponse"))

    def check(request, context):
        if request.service not in ("", ww.SERVICE):
            context.abort(grpc.StatusCode.NOT_FOUND, f"unknown service {request.service!r}")
        return rep_cls(status=rep_cls.NOT_SERVING if draining.is_set() else rep_cls.SERVING)

    return grpc.method_handlers_generic_handler(HEALTH_SERVICE, {
        "Check": grpc.unary_unary_rpc_method_handler(
            check, request_deserializer=req_cls.FromString,
            response_serializer=rep_cls.SerializeToString),
    })


def _say_hello(dispatch, out, m, address, stop):
    """The Hello on the pool's pipe; the exit code so far."""
    try:
        out.write(ww.encode_frame(ww._hello(m.TRANSPORT_GRPC, address, dispatch.methods)))
        out.flush()
        dispatch.said_hello()
    except BrokenPipeError:
        stop.set()
    except OSError as e:
        ww._say(f"cannot write Hello: {e}")
        stop.set()
        return ww.EXIT_IO
    return ww.EXIT_OK


def _watch_stdin(stop):
    # Nothing is expected on stdin; its EOF means the supervisor is gone.
    try:
        while sys.stdin.buffer.read1(65536):
            pass
    except (OSError, ValueError):
        pass
    stop.set()


def serve(dispatch, out, listen, max_frame=ww.DEFAULT_MAX_FRAME, standalone=False):
    """Serves until stopped (see the module docstring); returns the exit code."""
    import grpc  # only here: importing grpc costs ~60 ms of start-up
    from concurrent import futures

    m = dispatch.m
    stop, draining = threading.Event(), threading.Event()
    one_at_a_time = threading.Lock()

    def call(request, context):
        with one_at_a_time:
            reply, shutdown = dispatch(request)
        if shutdown:  # stop once the reply is on its way, not before
            context.add_callback(stop.set)
        return reply

    handler = grpc.method_handlers_generic_handler(ww.SERVICE, {
        "Call": grpc.unary_unary_rpc_method_handler(
            call,
            request_deserializer=m.Request.FromString,
            response_serializer=m.Reply.SerializeToString),
    })
    # Calls are handled one at a time (the lock), as on the pipe; the second
    # thread answers a health check while a call runs.
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="wpool-call"),
        handlers=(handler, _health_handler(grpc, m, draining)),
        options=[("grpc.max_receive_message_length", max_frame),
                 ("grpc.max_send_message_length", max_frame),
                 ("grpc.so_reuseport", 0),
                 # the pool's keepalive pings (every second) are no abuse
                 ("grpc.http2.min_ping_interval_without_data_ms", 200),
                 ("grpc.http2.max_ping_strikes", 0),
                 ("grpc.keepalive_permit_without_calls", 1)])
    sock = _unix_path(listen)
    try:
        address = _bind(server, listen)
    except RuntimeError as e:
        ww._say(f"cannot listen on {listen}: {e}")
        return ww.EXIT_IO
    # Before the Hello: a supervisor may SIGTERM us as soon as it has it.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if standalone:
        signal.signal(signal.SIGINT, lambda *_: stop.set())
    server.start()
    code = ww.EXIT_OK
    if standalone:
        ww._say(f"serving on {address} (standalone)")
    else:
        code = _say_hello(dispatch, out, m, address, stop)
        threading.Thread(target=_watch_stdin, args=(stop,), name="wpool-stdin",
                         daemon=True).start()
    while not stop.wait(1.0):  # a timed wait lets signal handlers run
        pass
    # A pool's worker has no grace: a Shutdown's reply has already been sent,
    # and on stdin EOF nobody is left to answer (a grace would cost its full
    # length whenever the supervisor keeps its channel open). A standalone
    # one drains: the calls it holds still have callers.
    draining.set()
    server.stop(grace=DRAIN_S if standalone else None).wait(timeout=DRAIN_S + 2.0)
    if standalone:
        ww._say("drained, exiting")
    if sock and not sock.startswith("@"):
        try:
            os.unlink(sock)
        except OSError:
            pass
    return code
