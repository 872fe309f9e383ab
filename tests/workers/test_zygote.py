"""The Python SDK's zygote template (wpool_zygote.py), spoken to as the pool
does (a SOCK_SEQPACKET socketpair, the pipes sent with SCM_RIGHTS, the
16-byte messages of wire/zygote.h), and then through the pool itself:

  - init runs once; each child serves on its own pipes, is our child (the
    template clones it with CLONE_PARENT), holds fds 0, 1, 2 and the SDK's
    copy of its stdout only, and has its own random and numpy seeds;
  - a child that dies is ours to reap, with its wait status (os.abort in a
    cloned child is a SIGABRT); the template reports nothing;
  - init that leaves a thread running: the template refuses, exit 2, one line;
  - EOF on the socket: the template exits, its children serve on;
  - the template SIGKILLed: its children serve on;
  - `wpool start|ping --spawn zygote` with the numpy example; a Python
    template refuses a gRPC worker (exit 1, its one line); a bad --spawn
    is a usage error.

Run: /usr/bin/python3 tests/workers/test_zygote.py   (WPOOL_BUILD: build dir, default build)
"""
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_python_sdk import M, PYTHON, ROOT, BUILD, TIMEOUT, wait_gone, worker_env  # noqa: E402

KNOBS = os.path.join(ROOT, "tests", "helpers", "py_zygote_worker.py")
NUMPY = os.path.join(ROOT, "worker", "python", "examples", "numpy_worker.py")
WPOOL = os.path.join(BUILD, "wpool")
MSG = struct.Struct("=IIii")
READY, SPAWN, FORKED, FAILED = 1, 2, 3, 4


def recv_msg(sock, timeout=TIMEOUT):
    """One 16-byte message, or None on EOF; TimeoutError if none comes."""
    if not select.select([sock], [], [], timeout)[0]:
        raise TimeoutError("no message from the template")
    data = sock.recv(64)
    return MSG.unpack(data) if data else None


class Child:
    """A worker forked by the template: frames on the pipes we made."""

    def __init__(self, sock, tag):
        in_r, self.in_w = os.pipe()
        self.out_r, out_w = os.pipe()
        socket.send_fds(sock, [MSG.pack(SPAWN, tag, 0, 0)], [in_r, out_w])
        os.close(in_r)
        os.close(out_w)
        op, got, self.pid, _ = recv_msg(sock)
        assert (op, got) == (FORKED, tag), (op, got)
        self.buf = b""

    def read_exact(self, n):
        while len(self.buf) < n:
            if not select.select([self.out_r], [], [], TIMEOUT)[0]:
                raise TimeoutError("the child said nothing")
            chunk = os.read(self.out_r, 1 << 16)
            if not chunk:
                raise EOFError("the child's stdout closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def frame(self, cls):
        (n,) = struct.unpack(">I", self.read_exact(4))
        return cls.FromString(self.read_exact(n))

    def call(self, id_, method, payload=b""):
        body = M.Request(id=id_, call=M.Call(method=method, payload=payload)).SerializeToString()
        os.write(self.in_w, struct.pack(">I", len(body)) + body)
        return self.frame(M.Reply)

    def close(self):
        for fd in (self.in_w, self.out_r):
            try:
                os.close(fd)
            except OSError:
                pass


class Template:
    """The worker started as the pool starts a template."""

    def __init__(self, test, script=KNOBS, **env):
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.err = tempfile.TemporaryFile()
        self.p = subprocess.Popen([PYTHON, script], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=self.err,
                                  pass_fds=(theirs.fileno(),),
                                  env=worker_env(WPOOL_ZYGOTE=str(theirs.fileno()), **env))
        theirs.close()
        self.children = []
        test.addCleanup(self.close)

    def ready(self):
        op, _, pid, _ = recv_msg(self.sock)
        assert (op, pid) == (READY, self.p.pid), (op, pid)

    def spawn(self):
        c = Child(self.sock, len(self.children))
        self.children.append(c)
        return c

    def stderr(self):
        self.err.seek(0)
        return self.err.read().decode(errors="replace")

    def close(self):
        for c in self.children:
            c.close()
            try:
                os.kill(c.pid, signal.SIGKILL)
                os.waitpid(c.pid, 0)  # ours: the template cloned it with CLONE_PARENT
            except (ProcessLookupError, ChildProcessError):
                pass
        self.sock.close()
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()
        self.err.close()


def ppid_of(pid):
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


class TemplateProtocol(unittest.TestCase):
    def test_children_serve_on_their_own(self):
        t = Template(self)
        t.ready()
        a, b = t.spawn(), t.spawn()
        for c in (a, b):
            hello = c.frame(M.Hello)
            self.assertEqual(hello.pid, c.pid)
            self.assertEqual(list(hello.methods), ["echo", "rand", "crash"])
            self.assertEqual(ppid_of(c.pid), os.getpid())
            # 0, 1, 2 and the SDK's own private copy of stdout (fd 1 is
            # pointed at stderr): our pipe, nothing of the template's.
            self.assertEqual(sorted(os.listdir(f"/proc/{c.pid}/fd")), ["0", "1", "2", "3"])
            self.assertEqual(os.readlink(f"/proc/{c.pid}/fd/3"),
                             os.readlink(f"/proc/self/fd/{c.out_r}"))
        self.assertEqual(a.call(1, "echo", b"to a").payload, b"to a")
        self.assertEqual(b.call(1, "echo", b"to b").payload, b"to b")

    def test_children_reseed(self):
        try:
            import numpy  # noqa: F401
        except ImportError:
            self.skipTest("numpy is not installed")
        t = Template(self, WPOOL_TEST_NUMPY="1")
        t.ready()
        a, b = t.spawn(), t.spawn()
        ra, rb = (c.frame(M.Hello) and c.call(1, "rand").payload.split() for c in (a, b))
        self.assertNotEqual(ra[0], rb[0])  # random
        self.assertNotEqual(ra[1], rb[1])  # numpy.random
        self.assertNotEqual(ra[1], b"-")

    def test_exit_status_is_ours(self):
        t = Template(self)
        t.ready()
        c = t.spawn()
        c.frame(M.Hello)
        body = M.Request(id=1, call=M.Call(method="crash")).SerializeToString()
        os.write(c.in_w, struct.pack(">I", len(body)) + body)
        pid, status = os.waitpid(c.pid, 0)
        self.assertTrue(os.WIFSIGNALED(status))
        self.assertEqual(os.WTERMSIG(status), signal.SIGABRT)
        with self.assertRaises(TimeoutError):  # the template has nothing to say
            recv_msg(t.sock, 0.3)

    def test_thread_left_by_init_is_refused(self):
        t = Template(self, WPOOL_TEST_INIT_THREAD="1")
        self.assertIsNone(recv_msg(t.sock))  # EOF, no READY
        self.assertEqual(t.p.wait(TIMEOUT), 2)
        err = t.stderr()
        self.assertIn("cannot fork workers: init left 1 thread(s) running (poller)", err)
        self.assertEqual(len(err.strip().splitlines()), 1, err)

    def check_outlives(self, end_template, code):
        t = Template(self)
        t.ready()
        a, b = t.spawn(), t.spawn()
        for c in (a, b):
            c.frame(M.Hello)
        end_template(t)
        self.assertEqual(t.p.wait(TIMEOUT), code)
        self.assertEqual(a.call(1, "echo", b"still here").payload, b"still here")
        self.assertEqual(ppid_of(b.pid), os.getpid())
        # A child ends as an exec'd worker does: EOF on its stdin, exit 0.
        os.close(b.in_w)
        b.in_w = -1
        self.assertEqual(os.waitpid(b.pid, 0), (b.pid, 0))

    def test_eof_ends_template_not_children(self):
        self.check_outlives(lambda t: t.sock.shutdown(socket.SHUT_WR), 0)

    def test_template_killed_children_serve(self):
        self.check_outlives(lambda t: t.p.kill(), -signal.SIGKILL)


def wpool(*args):
    return subprocess.run([WPOOL, *args], capture_output=True, text=True, timeout=120,
                          env=worker_env())


class ThroughThePool(unittest.TestCase):
    def test_numpy_workers(self):
        try:
            import numpy  # noqa: F401
        except ImportError:
            self.skipTest("numpy is not installed")
        worker = f"{PYTHON} {NUMPY}"
        r = wpool("start", "-n", "3", "--spawn", "zygote", "--worker", worker)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("zygote template (pid", r.stdout)
        self.assertIn("pinged all 3 workers", r.stdout)
        r = wpool("ping", "-n", "2", "-c", "2", "--spawn", "zygote", "--worker", worker,
                  "--call", "embed", "--payload-file", os.path.join(ROOT, "README.md"),
                  "--requests", "50")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_python_grpc_refused(self):
        r = wpool("start", "-n", "1", "--spawn", "zygote", "--transport", "grpc",
                  "--worker", f"{PYTHON} {KNOBS}")
        self.assertEqual(r.returncode, 1)
        self.assertIn("the Python SDK's zygote forks pipe workers only", r.stderr)

    def test_bad_spawn(self):
        r = wpool("start", "-n", "1", "--spawn", "fork")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--spawn must be exec or zygote", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
