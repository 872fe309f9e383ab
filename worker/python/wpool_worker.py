"""wpool_worker — write a wpool worker in Python.

A worker is a process the wpool supervisor starts and sends requests to.
This module does everything but the job itself: it parses the same flags as
the C reference worker (build/wpool-worker), writes the Hello, speaks the
pipe or the gRPC transport, answers Ping/Work/Shutdown with the reference
behaviour, turns a failing handler into an error reply, and exits when the
supervisor goes away.

Most workers serve named methods (the pool's Call, protocol 2)::

    import wpool_worker

    worker = wpool_worker.Worker()

    @worker.init                       # runs once, before the Hello:
    def load():                        # "ready" then means ready
        global model
        model = load_the_model()

    @worker.method("embed")            # payload bytes -> result bytes | str
    def embed(payload):
        return model.embed(payload)

    worker.run()

A method that raises gives the caller an error reply with the exception's
text (STATUS_WORKER_ERROR) and the worker serves on; a Call for a name that
is not registered is answered STATUS_UNKNOWN_METHOD. An init hook that
raises ends the worker before its Hello (exit 1, one line on stderr). With
WPOOL_PHASES=1 in its environment the worker logs when each start-up phase
ended (module imported, init begun and done, Hello written) on stderr, as
CLOCK_MONOTONIC nanoseconds: the clock libwpool's timelines use.

The lower-level interface sees every request::

    import wpool_worker

    def handle(request):               # a wpool.v1.Request message
        if request.WhichOneof("kind") == "ping":
            return request.ping.payload[::-1]   # the reply payload (bytes or str)
        return None                    # None: the reference behaviour

    wpool_worker.run(handle)

The handler may be:
  * a function ``handle(request) -> bytes | str | Reply | None``;
  * an object with such a ``handle`` method, or a class (instantiated once
    with no arguments) — typically a subclass of :class:`Handler`, which
    splits the job into ``ping(msg)`` and ``work(msg)`` methods;
  * None: the reference worker (Ping echoes, Work burns CPU, sleeps, replies).

Returning None means "do what the reference worker does" for that request.
Raising :class:`BadRequest` replies STATUS_BAD_REQUEST; raising anything
else replies STATUS_WORKER_ERROR with the exception's text (the traceback
goes to stderr) — a handler bug never kills the worker. Shutdown and
requests without a kind never reach the handler. Requests are handled one at
a time, on both transports, so a handler need not be thread-safe.

Flags (the C worker's: --transport, --listen, --delay-us, --max-frame), the
wire format, exit codes and zygote start (wpool_zygote.py): worker/python/README.md.
On a pipe the framing (wpool_frames.py) is protocol 3's compact envelope
when the pool offers it (WPOOL_PROTOCOL), else protocol 2: automatic.

Nothing but frames ever reaches the real stdout: run() keeps the stdout file
descriptor for itself and points fd 1 and sys.stdout at stderr, so a stray
print() in a handler cannot corrupt the protocol.

The message classes are built at run time from the descriptor set that
`make` writes (build/gen/wpool.desc), or `make install`'s copy
(PREFIX/share/wpool/wpool.desc) for the installed module; $WPOOL_DESC
overrides its location.
"""

import os
import signal
import sys
import threading
import time

# The pipe's framing (beside this file, installed with it); its public
# names are this module's too.
from wpool_frames import (COMPACT_VERSION, DEFAULT_MAX_FRAME, PROTOCOL_VERSION,  # noqa: F401
                          ProtocolError, encode_frame, pipe_framing, read_frame, take_offer)

# When this module was imported (CLOCK_MONOTONIC ns): the end of the
# interpreter's and the SDK's own start-up, before any user code ran.
_T_IMPORTED = time.monotonic_ns()

__all__ = ["run", "Worker", "Handler", "BadRequest", "UnknownMethod", "DescriptorNotFound",
           "ProtocolError", "load_messages", "find_descriptor", "encode_frame",
           "read_frame", "burn_us", "PROTOCOL_VERSION", "COMPACT_VERSION", "DEFAULT_MAX_FRAME"]

SERVICE = "wpool.v1.Worker"

EXIT_OK, EXIT_IO, EXIT_PROTOCOL = 0, 1, 2
_PROG = "wpool-pyworker"


class DescriptorNotFound(RuntimeError):
    """The wpool.desc descriptor set is missing (run `make`)."""


class BadRequest(Exception):
    """Raise from a handler to reply STATUS_BAD_REQUEST with this text."""


class UnknownMethod(Exception):
    """Raise from a handler to reply STATUS_UNKNOWN_METHOD with this text."""


# --------------------------------------------------------------------------
# Messages, built from the descriptor set
# --------------------------------------------------------------------------

# `make install` writes the installed descriptor set's path here.
_INSTALLED_DESC = None


def find_descriptor():
    """Returns the path of wpool.desc: $WPOOL_DESC, else the installed copy
    (an installed module), else the repo's build/.

    Raises DescriptorNotFound, naming where it looked, when it is missing."""
    env = os.environ.get("WPOOL_DESC")
    here = os.path.dirname(os.path.abspath(__file__))
    path = env or _INSTALLED_DESC or os.path.join(here, "..", "..", "build", "gen", "wpool.desc")
    path = os.path.normpath(path)
    if not os.path.isfile(path):
        how = ("$WPOOL_DESC" if env else "make install" if _INSTALLED_DESC
               else "the repository's build directory")
        raise DescriptorNotFound(
            f"wpool descriptor set not found at {path} (from {how}); "
            "run make (it writes build/gen/wpool.desc) or set WPOOL_DESC")
    return path


class _Messages:
    """The wpool.v1 message classes and enum values, one set per process."""

    def __init__(self, path):
        from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

        with open(path, "rb") as f:
            fds = descriptor_pb2.FileDescriptorSet.FromString(f.read())
        # A private pool: never clashes with a generated wpool_pb2 the
        # application may also have loaded into the default pool.
        pool = descriptor_pool.DescriptorPool()
        for file_proto in fds.file:  # protoc writes dependencies first
            pool.Add(file_proto)
        get_class = getattr(message_factory, "GetMessageClass", None)
        if get_class is None:  # protobuf < 4.22 (Debian 12 ships 4.21)
            get_class = message_factory.MessageFactory(pool).GetPrototype
        for name in ("Hello", "Ping", "Work", "Shutdown", "Call", "Request", "Reply"):
            setattr(self, name, get_class(pool.FindMessageTypeByName("wpool.v1." + name)))
        self.pool = pool  # wpool_grpc.py finds grpc.health.v1 in it
        for enum in ("Transport", "Status"):
            for value in pool.FindEnumTypeByName("wpool.v1." + enum).values:
                setattr(self, value.name, value.number)


_messages = None
_messages_lock = threading.Lock()


def load_messages(path=None):
    """Returns the message classes (.Request, .Reply, .Hello, .Ping, .Work,
    .Shutdown) and enum values (.STATUS_OK, .TRANSPORT_GRPC, ...), loading
    the descriptor set once. Raises DescriptorNotFound if it is missing."""
    global _messages
    with _messages_lock:
        if _messages is None:
            _messages = _Messages(path or find_descriptor())
        return _messages


def __getattr__(name):
    """Lazy module attributes: wpool_worker.Request, .Reply, .STATUS_OK, ..."""
    if name[:1].isupper():
        m = load_messages()
        if hasattr(m, name):
            return getattr(m, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --------------------------------------------------------------------------
# What a request does
# --------------------------------------------------------------------------

def burn_us(us):
    """Spins on the CPU for `us` microseconds of wall time (the Work job)."""
    if us <= 0:
        return
    end = time.monotonic_ns() + us * 1000
    x = 0
    while time.monotonic_ns() < end:
        for i in range(64):
            x += i * 2654435761


class Handler:
    """Base class for a worker's job; the defaults are the reference worker.

    Override ping() and/or work(), or handle() to see every request. Each
    returns the reply payload (bytes or str), a Reply, or None (reference
    behaviour)."""

    _filler = b""

    def handle(self, request):
        kind = request.WhichOneof("kind")
        if kind == "ping":
            return self.ping(request.ping)
        if kind == "work":
            return self.work(request.work)
        if kind == "call":
            raise UnknownMethod(f"unknown method {request.call.method!r}; "
                                "this worker has: (none)")
        raise BadRequest(f"unsupported request kind {kind!r}")

    def ping(self, ping):
        """Ping: echo the payload."""
        return ping.payload

    def work(self, work):
        """Work: burn cpu_us of CPU, sleep sleep_us, then reply reply_bytes
        bytes (or echo the payload when reply_bytes is 0)."""
        burn_us(work.cpu_us)
        if work.sleep_us:
            time.sleep(work.sleep_us / 1e6)
        if work.reply_bytes == 0:
            return work.payload
        if len(Handler._filler) < work.reply_bytes:
            Handler._filler = b"w" * work.reply_bytes
        return Handler._filler[:work.reply_bytes]


_reference = Handler()


def _as_callable(handler):
    """Turns what run() was given into one callable: request -> result."""
    if handler is None:
        return _reference.handle
    if isinstance(handler, type):
        handler = handler()
    fn = getattr(handler, "handle", handler)
    if not callable(fn):
        raise TypeError("handler must be a callable, an object with a handle() "
                        f"method, or a class; got {type(handler).__name__}")
    return fn


class Worker:
    """A worker made of named methods, and init hooks run before the Hello.

    Ping, Work and Shutdown keep the reference behaviour."""

    def __init__(self):
        self._methods = {}
        self._inits = []
        self.phases = {"imported": _T_IMPORTED}  # CLOCK_MONOTONIC ns

    def method(self, name):
        """Decorator: registers fn(payload: bytes) -> bytes | str | Reply
        | None (an empty result) as the method `name`."""
        if not isinstance(name, str) or not 0 < len(name.encode()) <= 255:
            raise ValueError(f"bad method name {name!r}")

        def register(fn):
            if name in self._methods:
                raise ValueError(f"method {name!r} registered twice")
            self._methods[name] = fn
            return fn
        return register

    def init(self, fn):
        """Decorator: fn() runs once before the Hello (load models here)."""
        self._inits.append(fn)
        return fn

    def methods(self):
        """The registered names, in registration order (the Hello lists them)."""
        return list(self._methods)

    def handle(self, request):
        if request.WhichOneof("kind") != "call":
            return None  # the reference behaviour
        call = request.call  # once: protobuf's C++ backend builds a wrapper per access
        fn = self._methods.get(call.method)
        if fn is None:
            have = ", ".join(self._methods) or "(none)"
            raise UnknownMethod(f"unknown method {call.method!r}; this worker has: {have}")
        out = fn(call.payload)
        return b"" if out is None else out  # None would mean "the reference"

    def run_init(self):
        """Runs the init hooks; the phases record when."""
        self.phases["init_start"] = time.monotonic_ns()
        for fn in self._inits:
            fn()
        self.phases["init_done"] = time.monotonic_ns()

    def run(self, argv=None):
        """Serves (see run()) and exits the process."""
        run(self, argv)


def _echoes_pings(fn):
    """True when the handler leaves Ping to the reference (echo the payload):
    no handler, a Worker, or a Handler whose handle() and ping() are the
    base's. Only then may a Ping be answered without being shown to it."""
    base = getattr(fn, "__func__", None)
    if base is Worker.handle:
        return True
    return base is Handler.handle and type(fn.__self__).ping is Handler.ping


class _Dispatcher:
    """Answers one Request with one Reply: the part both transports share."""

    def __init__(self, handler, delay_us=0, max_frame=DEFAULT_MAX_FRAME):
        self.m = load_messages()
        self.fn = _as_callable(handler)
        names = getattr(handler, "methods", None)
        self.methods = list(names()) if callable(names) else []
        self.phases = {"imported": _T_IMPORTED}
        self.delay_us = delay_us
        self.max_frame = max_frame
        # A reply's size on the wire, for --max-frame: (reply, its payload
        # bytes or None) -> bytes; the compact codec sets its own.
        self.reply_size = lambda reply, payload: reply.ByteSize()
        self.echoes_pings = _echoes_pings(self.fn)

    def said_hello(self):
        """The Hello is out: logs the start-up phases if WPOOL_PHASES is set."""
        self.phases["hello"] = time.monotonic_ns()
        if os.environ.get("WPOOL_PHASES"):
            _say("phases (CLOCK_MONOTONIC ns): " +
                 " ".join(f"{k}={v}" for k, v in self.phases.items()))

    def __call__(self, request):
        """Returns (reply, shutdown)."""
        m = self.m
        reply = m.Reply(id=request.id)
        kind = request.WhichOneof("kind")
        shutdown = kind == "shutdown"
        if kind is None:
            reply.status = m.STATUS_BAD_REQUEST
            reply.error = "request has no kind"
        elif not shutdown:
            self._call_handler(request, reply)
        burn_us(self.delay_us)
        return reply, shutdown

    def delay(self):
        """--delay-us: busy time added to every reply (a benchmark's knob)."""
        burn_us(self.delay_us)

    def _call_handler(self, request, reply):
        m = self.m
        try:
            result = self.fn(request)
            if result is None:
                result = _reference.handle(request)
            if isinstance(result, str):
                result = result.encode("utf-8")
            payload = None
            if isinstance(result, (bytes, bytearray, memoryview)):
                payload = reply.payload = bytes(result)
            elif isinstance(result, m.Reply):
                reply.CopyFrom(result)
                reply.id = request.id
            else:
                raise TypeError(f"handler returned {type(result).__name__}; "
                                "expected bytes, str, Reply or None")
            # A reply the supervisor would reject as oversized is our error.
            size = self.reply_size(reply, payload)
            if size > self.max_frame:
                raise ValueError(f"reply of {size} bytes exceeds --max-frame {self.max_frame}")
        except BadRequest as e:
            reply.Clear()
            reply.id, reply.status, reply.error = request.id, m.STATUS_BAD_REQUEST, str(e)
        except UnknownMethod as e:
            reply.Clear()
            reply.id, reply.status, reply.error = request.id, m.STATUS_UNKNOWN_METHOD, str(e)
        except Exception as e:  # a handler bug is a reply, never a crash
            import traceback  # only when needed: it costs ~3 ms of start-up

            traceback.print_exc(file=sys.stderr)
            reply.Clear()
            reply.id, reply.status = request.id, m.STATUS_WORKER_ERROR
            reply.error = f"{type(e).__name__}: {e}"[:4096]  # keep the reply small


# --------------------------------------------------------------------------
# Process plumbing
# --------------------------------------------------------------------------

def die_with_parent():
    """Asks the kernel to SIGKILL us when the supervisor dies (PR_SET_PDEATHSIG).

    If the parent already died before the prctl we were re-parented and the
    signal will never come: exit now instead of living on as an orphan.
    libwpool passes its pid in WPOOL_PPID, which tells that case apart from
    a supervisor that is PID 1 (a container's entrypoint)."""
    import ctypes

    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: rely on stdin EOF alone
        pass
    expected = os.environ.get("WPOOL_PPID", "")
    if os.getppid() != parent or (expected.isdigit() and os.getppid() != int(expected)):
        os._exit(EXIT_IO)


def _claim_stdout():
    """Keeps the real stdout for frames and sends everything else to stderr.

    Returns a binary stream on a private (close-on-exec) copy of fd 1; then
    fd 1 and sys.stdout become stderr, so print() in a handler, or a child
    process it starts, cannot write into the frame stream."""
    sys.stdout.flush()
    frames = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return frames


def _hello(transport, address="", methods=(), version=PROTOCOL_VERSION):
    m = load_messages()
    return m.Hello(pid=os.getpid(), protocol_version=version,
                   transport=transport, address=address, methods=methods)


def _say(msg):
    """One line on stderr, prefixed like the C worker's."""
    sys.stderr.write(f"{_PROG}[{os.getpid()}]: {msg}\n")
    sys.stderr.flush()


# The third-party modules the SDK imports: (Debian package, pip package).
_DEPENDENCIES = {
    "google.protobuf": ("python3-protobuf", "protobuf"),
    "grpc": ("python3-grpcio", "grpcio"),
}


def _require(module):
    """Imports module, or says in one line which package provides it and
    exits 2: a venv or pyenv python3 often lacks what Debian's has, and a
    traceback ending in "No module named 'google'" does not say what to do."""
    import importlib

    try:
        importlib.import_module(module)
    except ImportError as e:
        debian, pip = _DEPENDENCIES[module]
        other = "" if sys.executable == "/usr/bin/python3" else \
            " or start the worker with /usr/bin/python3"
        _say(f"cannot import {module} ({e}) in {sys.executable}: install it "
             f"(Debian: apt install {debian}; pip: pip install {pip}){other}")
        sys.exit(EXIT_PROTOCOL)


# --------------------------------------------------------------------------
# Transports
# --------------------------------------------------------------------------

def serve_pipe(dispatch, out, inp=None, max_frame=DEFAULT_MAX_FRAME, offered=None):
    """Pipe transport: Request frames from `inp` (stdin), Reply frames to `out`,
    in protocol 3 if `offered` (default: take_offer()) says so. Returns the exit code."""
    inp = inp if inp is not None else sys.stdin.buffer
    offered = take_offer() if offered is None else offered
    frames = pipe_framing(dispatch, offered)  # the Hello says which
    try:
        hello = _hello(dispatch.m.TRANSPORT_PIPE, "", dispatch.methods, frames.version)
        out.write(encode_frame(hello))  # a protobuf Hello in either protocol
        out.flush()
        dispatch.said_hello()
        while True:
            body = read_frame(inp, max_frame)
            if body is None:
                return EXIT_OK  # stdin EOF: the supervisor is gone or done
            frame, shutdown = frames.answer(body)
            out.write(frame)
            out.flush()
            if shutdown:
                return EXIT_OK
    except ProtocolError as e:
        _say(e)
        return EXIT_PROTOCOL
    except BrokenPipeError:
        return EXIT_OK  # the supervisor closed our stdout: it is gone
    except OSError as e:
        _say(f"I/O error: {e}")
        return EXIT_IO


# --------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------

def _u32(text):
    import argparse

    v = int(text, 10) if text.isascii() and text.isdigit() else -1
    if not 0 <= v <= 0xFFFFFFFF:
        raise argparse.ArgumentTypeError(f"not a u32: {text!r}")
    return v


def parse_args(argv=None):
    """Parses the worker flags (see the module docstring); exits 2 on bad usage."""
    import argparse

    p = argparse.ArgumentParser(prog=_PROG, description="A wpool worker written in Python.")
    p.add_argument("--transport", choices=("pipe", "grpc"), default="pipe",
                   help="pipe: frames on stdin/stdout (default); grpc: serve wpool.v1.Worker")
    p.add_argument("--listen", default=None,
                   help="gRPC address: unix:PATH or 127.0.0.1:PORT (0 = any); "
                        "default unix:/tmp/wpool-pyworker-<pid>.sock")
    p.add_argument("--delay-us", type=_u32, default=0,
                   help="add N microseconds of busy time to every reply (test knob)")
    p.add_argument("--max-frame", type=_u32, default=DEFAULT_MAX_FRAME,
                   help="largest frame accepted, in bytes (default 16 MiB)")
    p.add_argument("--standalone", action="store_true",
                   help="gRPC worker started by systemd/Kubernetes, not a pool: no Hello, "
                        "stdin and parent not watched; SIGTERM drains, then exits 0")
    opts = p.parse_args(argv)
    if opts.standalone and opts.transport != "grpc":
        p.error("--standalone needs --transport grpc")
    if opts.max_frame == 0:
        p.error("--max-frame must be positive")
    if opts.listen is None:
        opts.listen = f"unix:/tmp/wpool-pyworker-{os.getpid()}.sock"
    return opts


def run(handler=None, argv=None):
    """Runs a worker with `handler` (see the module docstring) and exits the
    process with the worker's exit code. `argv` defaults to sys.argv[1:].
    A Worker's init hooks run after stdout is claimed and before the Hello."""
    opts = parse_args(argv)
    offered = take_offer()  # before init: nothing it starts inherits the offer
    _require("google.protobuf")
    if opts.transport == "grpc":
        _require("grpc")
    if not opts.standalone:  # a standalone worker's parent is not a pool
        die_with_parent()
    # Ctrl-C in the supervisor's terminal ends us like the C worker, without
    # a KeyboardInterrupt traceback from whatever line we were on.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    zygote = os.environ.get("WPOOL_ZYGOTE")  # the pool's template: wpool_zygote.py
    out = None if zygote else _claim_stdout()
    try:
        dispatch = _Dispatcher(handler, opts.delay_us, opts.max_frame)
    except DescriptorNotFound as e:
        _say(e)
        sys.exit(EXIT_PROTOCOL)
    if isinstance(handler, Worker):
        dispatch.phases = handler.phases
        try:
            handler.run_init()
        except Exception as e:  # no Hello: the pool sees a failed start
            _say(f"init failed: {type(e).__name__}: {e}")
            sys.stderr.flush()
            os._exit(EXIT_IO)
    if zygote:  # init ran once; returns in each forked worker
        __import__("wpool_zygote").serve(int(zygote), die_with_parent)
        out = _claim_stdout()
    if opts.transport == "grpc":
        import wpool_grpc  # beside this file (installed with it)

        code = wpool_grpc.serve(dispatch, out, opts.listen, opts.max_frame, opts.standalone)
    else:
        code = serve_pipe(dispatch, out, max_frame=opts.max_frame, offered=offered)
    # Exit without the interpreter's teardown: no flush of a closed stdout
    # ("Exception ignored ... BrokenPipeError"), no wait on gRPC's threads.
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
