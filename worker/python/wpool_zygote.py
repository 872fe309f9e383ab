"""wpool_zygote — the Python SDK's zygote template (libwpool's spawn=zygote).

Pipe transport only (a gRPC SPAWN is refused: exit 2, one line). The pool
starts the worker once with WPOOL_ZYGOTE=FD (its end of a
SOCK_SEQPACKET socketpair, wire/zygote.h): wpool_worker.run() runs the
init hooks (imports, model load) once, then calls serve(FD), which forks a
worker per request of the pool and returns only in a child, whose stdin,
stdout (and stderr) are then the pipes the pool sent. The child goes on as
an exec'd worker would: its Hello, its loop, in the protocol the pool offered
the template (WPOOL_PROTOCOL, which run() took before init and the fork
copies: the Hello and the frames agree).

Each child is cloned with CLONE_PARENT, as the C SDK's are: its parent is
the supervisor, which reaps it, so it outlives the template (a template
crash fails no call). os.fork cannot pass that flag, so _clone_parent does
what os.fork does around its fork() — PyOS_BeforeFork, then
PyOS_AfterFork_Child or PyOS_AfterFork_Parent, Python's public C API —
around the raw clone syscall, all called through ctypes.pythonapi-style
function objects, which keep the GIL (a CDLL call would release it).

What a fork copies, and so what init must not leave behind
(worker/python/README.md, "Zygote start"):
  * threads: only the forking thread exists in the child, and a lock
    another thread held stays locked for ever — serve() refuses to start
    (exit 2, one line) while threading.active_count() > 1;
  * open connections, sockets, gRPC channels, files: every descriptor but
    0, 1, 2 is closed in the child, so a client made in init is dead there;
    make it lazily in the first call instead;
  * randomness: Python's random reseeds itself in a forked child; numpy's
    global generator does not, so it is reseeded here when numpy is loaded.
"""

import ctypes
import gc
import os
import platform
import signal
import socket
import struct
import sys
import threading

_MSG = struct.Struct("=IIii")  # op, tag, pid, status: wire/zygote.h
READY, SPAWN, FORKED, FAILED = 1, 2, 3, 4
EXIT_USAGE = 2
CLONE_PARENT = 0x00008000
_SYS_CLONE = {"x86_64": 56, "aarch64": 220}  # <asm/unistd.h>; the args are 0 but flags


def _say(msg):
    sys.stderr.write(f"wpool zygote[{os.getpid()}]: {msg}\n")
    sys.stderr.flush()


def _check_threads():
    """A fork with other threads alive copies their locks, not them: Python
    threads and native ones (a BLAS pool, gRPC's) alike."""
    native = len(os.listdir("/proc/self/task"))
    if threading.active_count() > 1 or native > 1:
        names = ", ".join(t.name for t in threading.enumerate()
                          if t is not threading.current_thread()) or "native"
        _say(f"cannot fork workers: init left {native - 1} thread(s) running ({names}); "
             "start threads in a method, not in init (worker/python/README.md)")
        os._exit(EXIT_USAGE)


def _clone_api():
    """The functions _clone_parent calls, looked up once (at start-up, so a
    machine we cannot clone on fails the start, not the first worker)."""
    nr = _SYS_CLONE.get(platform.machine())
    if nr is None:
        _say(f"zygote start needs the clone syscall's number for {platform.machine()}: "
             "use --spawn exec")
        os._exit(EXIT_USAGE)
    api = ctypes.PyDLL(None, use_errno=True)  # keeps the GIL, like os.fork's own calls
    api.syscall.restype = ctypes.c_long
    api.syscall.argtypes = [ctypes.c_long] * 6
    return nr, api


def _clone_parent(nr, api):
    """os.fork(), but the child's parent is our parent (the supervisor):
    0 in the child, its pid in the template; OSError if it failed."""
    clone = api.syscall
    api.PyOS_BeforeFork()  # at-fork "before" hooks, the import lock
    pid = clone(nr, CLONE_PARENT | signal.SIGCHLD, 0, 0, 0, 0)
    if pid == 0:
        api.PyOS_AfterFork_Child()  # threads' state, locks, at-fork child hooks
        return 0
    err = ctypes.get_errno()
    api.PyOS_AfterFork_Parent()
    if pid < 0:
        raise OSError(err, os.strerror(err))
    return pid


def _become_worker(sock, tag, fds, die_with_parent):
    """In the child: reports itself, then the pool's pipes as 0/1/2,
    nothing else open."""
    os.setpgid(0, 0)
    die_with_parent()  # against the supervisor (WPOOL_PPID): it is our parent
    try:
        sock.send(_MSG.pack(FORKED, tag, os.getpid(), 0))
    except OSError:
        os._exit(1)  # the pool is gone
    sock.detach()  # closed below with the rest, without a stale object
    for i, fd in enumerate(fds):
        os.dup2(fd, i)
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))  # the socket, init's
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()


def serve(fd, die_with_parent):
    """The template's loop; returns only in a cloned child, which has armed
    die_with_parent() (wpool_worker's) against the supervisor."""
    _check_threads()
    sock = socket.socket(fileno=fd)
    os.set_inheritable(fd, False)
    os.environ.pop("WPOOL_ZYGOTE", None)
    # What init built is moved out of the collector's sight: a child's
    # collections would otherwise write to every object (gc_refs), copying
    # every page of the template's heap at the child's first collection.
    clone_nr, clone_api = _clone_api()
    gc.freeze()
    sock.send(_MSG.pack(READY, 0, os.getpid(), 0))
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(sock, 256, 3)
        except InterruptedError:
            continue
        if not msg:
            os._exit(0)  # EOF: the pool is done or gone; children are its own
        if len(msg) > _MSG.size:  # per-worker flags: the gRPC transport
            _say("the Python SDK's zygote forks pipe workers only (gRPC's threads "
                 "do not survive a fork): use --spawn exec with --transport grpc")
            os._exit(EXIT_USAGE)
        op, tag, _, _ = _MSG.unpack(msg)
        if op != SPAWN or len(fds) not in (2, 3):
            _say("bad message from the pool")
            os._exit(EXIT_USAGE)
        _check_threads()
        try:
            pid = _clone_parent(clone_nr, clone_api)
        except OSError as e:
            pid, err = -1, e.errno
        if pid == 0:
            _become_worker(sock, tag, fds, die_with_parent)
            return
        for f in fds:
            os.close(f)
        if pid < 0:  # a child reports FORKED itself
            sock.send(_MSG.pack(FAILED, tag, 0, err))
