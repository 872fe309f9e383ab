"""wpool_zygote — the Python SDK's zygote template (libwpool's spawn=zygote).

Pipe transport only (a gRPC SPAWN is refused: exit 2, one line). The pool
starts the worker once with WPOOL_ZYGOTE=FD (its end of a
SOCK_SEQPACKET socketpair, wire/zygote.h): wpool_worker.run() runs the
init hooks (imports, model load) once, then calls serve(FD), which forks a
worker per request of the pool and returns only in a child, whose stdin,
stdout (and stderr) are then the pipes the pool sent. The child goes on as
an exec'd worker would: its Hello, its loop.

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

import gc
import os
import select
import signal
import socket
import struct
import sys
import threading

_MSG = struct.Struct("=IIii")  # op, tag, pid, status: wire/zygote.h
READY, SPAWN, FORKED, FAILED, EXITED = 1, 2, 3, 4, 5
EXIT_USAGE = 2


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


def _reap(sock):
    """Kills each exited child's group, reaps it, reports its status."""
    while True:
        try:
            info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return
        if info is None or info.si_pid == 0:
            return
        try:
            os.killpg(info.si_pid, signal.SIGKILL)  # its pid is held: not a stranger's
        except OSError:
            pass
        _, status = os.waitpid(info.si_pid, 0)
        sock.send(_MSG.pack(EXITED, 0, info.si_pid, status))


def _become_worker(sock, fds, die_with_parent):
    """In the child: the pool's pipes as 0/1/2, nothing else open."""
    os.setpgid(0, 0)
    die_with_parent()  # WPOOL_PPID is the template's pid now
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    sock.detach()  # closed below with the rest, without a stale object
    for i, fd in enumerate(fds):
        os.dup2(fd, i)
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))  # the socket, the wake pipe, init's
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()


def serve(fd, die_with_parent):
    """The template's loop; returns only in a forked child, which has armed
    die_with_parent() (wpool_worker's) against the template."""
    _check_threads()
    sock = socket.socket(fileno=fd)
    os.set_inheritable(fd, False)
    os.environ.pop("WPOOL_ZYGOTE", None)
    os.environ["WPOOL_PPID"] = str(os.getpid())
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wake_w)
    # What init built is moved out of the collector's sight: a child's
    # collections would otherwise write to every object (gc_refs), copying
    # every page of the template's heap at the child's first collection.
    gc.freeze()
    sock.send(_MSG.pack(READY, 0, os.getpid(), 0))
    while True:
        ready, _, _ = select.select([sock, wake_r], [], [])
        if wake_r in ready:
            while os.read(wake_r, 512) == 512:
                pass
            _reap(sock)
        if sock not in ready:
            continue
        try:
            msg, fds, _, _ = socket.recv_fds(sock, 256, 3)
        except InterruptedError:
            continue
        if not msg:
            os._exit(0)  # EOF: the pool is done or gone; children die with us
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
            pid = os.fork()
        except OSError as e:
            pid, err = -1, e.errno
        if pid == 0:
            _become_worker(sock, fds, die_with_parent)
            return
        for f in fds:
            os.close(f)
        sock.send(_MSG.pack(FORKED, tag, pid, 0) if pid > 0 else _MSG.pack(FAILED, tag, 0, err))
