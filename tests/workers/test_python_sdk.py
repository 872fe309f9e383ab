"""Tests for the Python worker SDK (worker/python/wpool_worker.py).

Starts worker/python/example_worker.py as a subprocess and speaks the wire
protocol to it: pipe frames on stdin/stdout, and a grpcio client for the
gRPC transport. Every read, call and wait has a deadline; every process and
socket file a test creates is gone when it ends.

Run: /usr/bin/python3 tests/workers/test_python_sdk.py   (WPOOL_BUILD: build dir, default build)
"""
import os
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, os.environ.get("WPOOL_BUILD", "build"))
DESC = os.path.join(BUILD, "gen", "wpool.desc")
SDK_DIR = os.path.join(ROOT, "worker", "python")
EXAMPLE = os.path.join(SDK_DIR, "example_worker.py")
PYTHON = sys.executable

sys.path.insert(0, SDK_DIR)
import wpool_worker  # noqa: E402

M = wpool_worker.load_messages(DESC)
TIMEOUT = 10.0  # seconds, for any single read, call or wait


def worker_env(**extra):
    env = dict(os.environ, WPOOL_DESC=DESC)
    env.update(extra)
    return env


class WorkerProc:
    """A worker subprocess: frames on its stdin/stdout, stderr to a file.

    Reads use select() with a deadline, so a silent worker fails the test
    instead of hanging it. close() kills whatever is still running."""

    def __init__(self, argv, env=None, **popen_kw):
        self.stderr_file = tempfile.TemporaryFile()
        popen_kw.setdefault("stdin", subprocess.PIPE)
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self.stderr_file,
                                  bufsize=0, env=env or worker_env(), **popen_kw)
        self.buf = b""

    @property
    def pid(self):
        return self.p.pid

    def read_exact(self, n, timeout=TIMEOUT):
        """n bytes from the worker's stdout; EOFError if it closes first."""
        deadline = time.monotonic() + timeout
        fd = self.p.stdout.fileno()
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError(f"worker sent {len(self.buf)} of {n} bytes in {timeout} s")
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                raise EOFError(f"worker stdout closed after {len(self.buf)} of {n} bytes")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_frame(self, cls, timeout=TIMEOUT):
        (n,) = struct.unpack(">I", self.read_exact(4, timeout))
        return cls.FromString(self.read_exact(n, timeout))

    def read_rest(self, timeout=TIMEOUT):
        """Everything left on stdout up to EOF."""
        deadline = time.monotonic() + timeout
        fd = self.p.stdout.fileno()
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError("worker stdout not closed")
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                out, self.buf = self.buf, b""
                return out
            self.buf += chunk

    def send(self, data):
        self.p.stdin.write(data)
        self.p.stdin.flush()

    def call(self, request, timeout=TIMEOUT):
        self.send(wpool_worker.encode_frame(request))
        return self.read_frame(M.Reply, timeout)

    def close_stdin(self):
        if self.p.stdin and not self.p.stdin.closed:
            try:
                self.p.stdin.close()
            except BrokenPipeError:
                pass

    def wait(self, timeout=TIMEOUT):
        return self.p.wait(timeout)

    def stderr(self):
        self.stderr_file.seek(0)
        return self.stderr_file.read().decode("utf-8", "replace")

    def close(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(TIMEOUT)
        self.close_stdin()
        if not self.p.stdout.closed:
            self.p.stdout.close()
        self.stderr_file.close()


def start_pipe_worker(test, *args, argv=None, env=None):
    """Starts a worker on the pipe transport and checks its Hello."""
    w = WorkerProc(argv or [PYTHON, EXAMPLE, *args], env=env)
    test.addCleanup(w.close)
    hello = w.read_frame(M.Hello)
    test.assertEqual(hello.pid, w.pid)
    test.assertEqual(hello.protocol_version, 2)
    test.assertEqual(hello.transport, M.TRANSPORT_PIPE)
    test.assertEqual(hello.address, "")
    return w


def ping(id_, payload):
    return M.Request(id=id_, ping=M.Ping(payload=payload))


def process_gone(pid):
    """True once pid has exited (a zombie waiting for its reaper counts)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def wait_gone(pid, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process_gone(pid):
            return True
        time.sleep(0.01)
    return False


class PipeTransport(unittest.TestCase):
    def test_hello_then_ping_echo(self):
        w = start_pipe_worker(self)
        r = w.call(ping(7, b"hello"))
        self.assertEqual((r.id, r.status, r.error, r.payload), (7, M.STATUS_OK, "", b"hello"))

    def test_runs_from_its_shebang(self):
        w = start_pipe_worker(self, argv=[EXAMPLE])
        self.assertEqual(w.call(ping(1, b"x")).payload, b"x")

    def test_user_handler_transform(self):
        w = start_pipe_worker(self)
        self.assertEqual(w.call(ping(1, b"upper:hello")).payload, b"HELLO")

    def test_handler_exception_is_an_error_reply(self):
        w = start_pipe_worker(self)
        r = w.call(ping(3, b"fail:boom"))
        self.assertEqual((r.id, r.status), (3, M.STATUS_WORKER_ERROR))
        self.assertIn("boom", r.error)
        self.assertEqual(w.call(ping(4, b"still here")).payload, b"still here")

    def test_work_reply_bytes(self):
        w = start_pipe_worker(self)
        r = w.call(M.Request(id=2, work=M.Work(reply_bytes=100000)))
        self.assertEqual((r.id, r.status), (2, M.STATUS_OK))
        self.assertEqual(r.payload, b"w" * 100000)
        r = w.call(M.Request(id=3, work=M.Work(reply_bytes=5)))
        self.assertEqual(r.payload, b"wwwww")

    def test_work_echoes_payload_without_reply_bytes(self):
        w = start_pipe_worker(self)
        self.assertEqual(w.call(M.Request(id=1, work=M.Work(payload=b"job"))).payload, b"job")

    def test_work_burns_and_sleeps(self):
        w = start_pipe_worker(self)
        t0 = time.monotonic()
        r = w.call(M.Request(id=1, work=M.Work(cpu_us=30000, sleep_us=30000)))
        self.assertEqual(r.status, M.STATUS_OK)
        self.assertGreaterEqual(time.monotonic() - t0, 0.060)

    def test_no_kind_is_bad_request(self):
        w = start_pipe_worker(self)
        r = w.call(M.Request(id=9))
        self.assertEqual((r.id, r.status), (9, M.STATUS_BAD_REQUEST))
        self.assertTrue(r.error)
        # A kind from a newer .proto (field 15, unknown here) is no kind too.
        body = M.Request(id=10).SerializeToString() + b"\x7a\x00"
        w.send(struct.pack(">I", len(body)) + body)
        r = w.read_frame(M.Reply)
        self.assertEqual((r.id, r.status), (10, M.STATUS_BAD_REQUEST))

    def test_pipelined_frames_in_one_write(self):
        w = start_pipe_worker(self)
        w.send(b"".join(wpool_worker.encode_frame(ping(i, b"p%d" % i)) for i in range(50)))
        for i in range(50):
            r = w.read_frame(M.Reply)
            self.assertEqual((r.id, r.payload), (i, b"p%d" % i))

    def test_frames_split_across_writes(self):
        w = start_pipe_worker(self)
        frame = wpool_worker.encode_frame(ping(1, b"split" * 100))
        for cut in (1, 3, 4, 5, len(frame) - 1):  # inside and around the header
            w.send(frame[:cut])
            time.sleep(0.02)
            w.send(frame[cut:])
            self.assertEqual(w.read_frame(M.Reply).payload, b"split" * 100)
        # Byte by byte.
        for b in frame:
            w.send(bytes([b]))
        self.assertEqual(w.read_frame(M.Reply).payload, b"split" * 100)
        # One write ending in the middle of the second frame.
        two = frame + wpool_worker.encode_frame(ping(2, b"second"))
        w.send(two[:len(frame) + 6])
        self.assertEqual(w.read_frame(M.Reply).id, 1)
        time.sleep(0.02)
        w.send(two[len(frame) + 6:])
        self.assertEqual(w.read_frame(M.Reply).payload, b"second")

    def test_empty_frame_is_bad_request(self):
        w = start_pipe_worker(self)
        w.send(struct.pack(">I", 0))
        self.assertEqual(w.read_frame(M.Reply).status, M.STATUS_BAD_REQUEST)

    def assert_protocol_error(self, w, words):
        code = w.wait()
        self.assertNotEqual(code, 0)
        lines = w.stderr().strip().splitlines()
        self.assertEqual(len(lines), 1, lines)
        self.assertIn(words, lines[0])
        self.assertEqual(w.read_rest(), b"")  # no reply, nothing else on stdout

    def test_garbage_frame_exits_nonzero(self):
        for body in (b"\xff" * 11, b"\x0f", b"\x12\x05ab"):  # bad varint, bad wire type, short field
            with self.subTest(body=body):
                w = start_pipe_worker(self)
                w.send(struct.pack(">I", len(body)) + body)
                self.assert_protocol_error(w, "garbage")

    def test_oversized_frame_exits_nonzero(self):
        w = start_pipe_worker(self, "--max-frame", "1024")
        self.assertEqual(w.call(ping(1, b"x" * 1000)).payload, b"x" * 1000)
        w.send(struct.pack(">I", 1025))
        self.assert_protocol_error(w, "larger than --max-frame")

    def test_oversized_default_limit(self):
        w = start_pipe_worker(self)
        w.send(struct.pack(">I", 16 * 1024 * 1024 + 1))
        self.assert_protocol_error(w, "larger than --max-frame")

    def test_truncated_frame_at_eof_exits_nonzero(self):
        for tail in (struct.pack(">I", 100) + b"0123456789", b"\x00\x00"):
            with self.subTest(tail=tail):
                w = start_pipe_worker(self)
                w.send(tail)
                w.close_stdin()
                self.assert_protocol_error(w, "truncated")

    def test_stdin_eof_exits_zero(self):
        w = start_pipe_worker(self)
        w.call(ping(1, b"x"))
        w.close_stdin()
        self.assertEqual(w.wait(), 0)
        self.assertEqual(w.stderr(), "")
        self.assertEqual(w.read_rest(), b"")

    def test_closed_stdout_exits_zero(self):
        w = start_pipe_worker(self)
        w.p.stdout.close()  # the supervisor stopped reading: EPIPE on the reply
        w.send(wpool_worker.encode_frame(ping(1, b"x")))
        self.assertEqual(w.wait(), 0)
        self.assertEqual(w.stderr(), "")

    def test_shutdown_replies_then_exits_zero(self):
        w = start_pipe_worker(self)
        r = w.call(M.Request(id=5, shutdown=M.Shutdown()))
        self.assertEqual((r.id, r.status), (5, M.STATUS_OK))
        self.assertEqual(w.wait(), 0)
        self.assertEqual(w.read_rest(), b"")

    def test_stray_print_goes_to_stderr(self):
        code = ("import sys; sys.path.insert(0, %r); import wpool_worker\n"
                "def handle(req):\n"
                "    print('noise from the handler')\n"
                "    return b'ok'\n"
                "wpool_worker.run(handle)\n" % SDK_DIR)
        w = start_pipe_worker(self, argv=[PYTHON, "-c", code])
        self.assertEqual(w.call(ping(1, b"x")).payload, b"ok")
        w.close_stdin()
        self.assertEqual(w.wait(), 0)
        self.assertEqual(w.read_rest(), b"")
        self.assertIn("noise from the handler", w.stderr())

    def test_missing_descriptor_says_run_make(self):
        w = WorkerProc([PYTHON, EXAMPLE], env=worker_env(WPOOL_DESC="/nonexistent/wpool.desc"))
        self.addCleanup(w.close)
        self.assertNotEqual(w.wait(), 0)
        self.assertIn("run make", w.stderr())
        self.assertEqual(w.read_rest(), b"")

    def test_dies_with_its_parent(self):
        assert_dies_with_parent(self, [PYTHON, EXAMPLE])


def assert_missing_module_says_how(test, argv, env, module, debian, pip):
    """A Python without `module`: one line on stderr naming it and how to
    get it, exit 2, nothing on stdout."""
    w = WorkerProc(argv, env=env)
    test.addCleanup(w.close)
    test.assertEqual(w.wait(), 2)
    lines = w.stderr().strip().splitlines()
    test.assertEqual(len(lines), 1, lines)
    for word in (module, debian, pip):
        test.assertIn(word, lines[0])
    test.assertEqual(w.read_rest(), b"")


class MissingDependency(unittest.TestCase):
    def test_no_protobuf(self):
        # -S: no site, so no dist-packages: the stdlib alone, as in a bare
        # venv or pyenv python.
        assert_missing_module_says_how(self, [PYTHON, "-S", EXAMPLE], worker_env(),
                                       "google.protobuf", "python3-protobuf", "protobuf")

    def test_no_grpcio(self):
        # protobuf present, grpc shadowed by a package whose import fails.
        with tempfile.TemporaryDirectory() as tmp:
            os.mkdir(os.path.join(tmp, "grpc"))
            with open(os.path.join(tmp, "grpc", "__init__.py"), "w") as f:
                f.write("raise ModuleNotFoundError(\"No module named 'grpc'\", name='grpc')\n")
            env = worker_env(PYTHONPATH=tmp)
            assert_missing_module_says_how(self, [PYTHON, EXAMPLE, "--transport", "grpc"], env,
                                           "grpc", "python3-grpcio", "grpcio")


def assert_dies_with_parent(test, worker_argv):
    """Kills a worker's parent with SIGKILL while the worker's stdin stays
    open: only PR_SET_PDEATHSIG can end the worker then."""
    r, w = os.pipe()
    test.addCleanup(os.close, w)
    # The middle process starts the worker (stdin: our pipe, stdout: ours),
    # tells us its pid on stderr, then waits to be killed.
    middle_code = ("import subprocess, sys, time\n"
                   "p = subprocess.Popen(sys.argv[1:])\n"
                   "sys.stderr.write('%d\\n' % p.pid); sys.stderr.flush()\n"
                   "time.sleep(60)\n")
    middle = WorkerProc([PYTHON, "-c", middle_code, *worker_argv], stdin=r)
    os.close(r)
    test.addCleanup(middle.close)
    hello = middle.read_frame(M.Hello)  # the worker's Hello: PDEATHSIG is set
    test.addCleanup(lambda: process_gone(hello.pid) or os.kill(hello.pid, signal.SIGKILL))
    os.kill(middle.pid, signal.SIGKILL)
    middle.wait()
    test.assertTrue(wait_gone(hello.pid), "worker outlived its parent")
    if hello.address.startswith("unix:"):  # SIGKILL leaves the socket file
        try:
            os.unlink(hello.address[5:])
        except FileNotFoundError:
            pass


class GrpcTransport(unittest.TestCase):
    def start(self, *args):
        import grpc

        w = WorkerProc([PYTHON, EXAMPLE, "--transport", "grpc", *args])
        self.addCleanup(w.close)
        hello = w.read_frame(M.Hello)
        self.assertEqual((hello.pid, hello.protocol_version, hello.transport),
                         (w.pid, 2, M.TRANSPORT_GRPC))
        self.assertTrue(hello.address)
        if hello.address.startswith("unix:"):
            path = hello.address[5:]
            self.addCleanup(lambda: os.path.exists(path) and os.unlink(path))
        channel = grpc.insecure_channel(hello.address)
        self.addCleanup(channel.close)
        self.rpc = channel.unary_unary(
            "/wpool.v1.Worker/Call",
            request_serializer=M.Request.SerializeToString,
            response_deserializer=M.Reply.FromString)
        self.channel = channel
        return w, hello

    def call(self, request):
        return self.rpc(request, timeout=TIMEOUT)

    def test_default_address_is_a_unix_socket(self):
        w, hello = self.start()
        self.assertEqual(hello.address, f"unix:/tmp/wpool-pyworker-{w.pid}.sock")
        self.assertTrue(os.path.exists(hello.address[5:]))

    def test_ping_work_and_errors(self):
        w, _ = self.start()
        r = self.call(ping(1, b"hello"))
        self.assertEqual((r.id, r.status, r.payload), (1, M.STATUS_OK, b"hello"))
        self.assertEqual(self.call(ping(2, b"upper:abc")).payload, b"ABC")
        r = self.call(M.Request(id=3, work=M.Work(reply_bytes=4096, cpu_us=1000)))
        self.assertEqual((r.id, r.payload), (3, b"w" * 4096))
        r = self.call(M.Request(id=4))
        self.assertEqual((r.id, r.status), (4, M.STATUS_BAD_REQUEST))
        r = self.call(ping(5, b"fail:bad input"))
        self.assertEqual((r.id, r.status), (5, M.STATUS_WORKER_ERROR))
        self.assertIn("bad input", r.error)

    def test_tcp_any_port(self):
        w, hello = self.start("--listen", "127.0.0.1:0")
        host, port = hello.address.rsplit(":", 1)
        self.assertEqual(host, "127.0.0.1")
        self.assertGreater(int(port), 0)
        self.assertEqual(self.call(ping(1, b"tcp")).payload, b"tcp")

    def test_explicit_unix_path(self):
        d = tempfile.mkdtemp(prefix="wpool-test-")
        self.addCleanup(os.rmdir, d)
        path = os.path.join(d, "w.sock")
        w, hello = self.start("--listen", "unix:" + path)
        self.assertEqual(hello.address, "unix:" + path)
        self.assertEqual(self.call(ping(1, b"x")).payload, b"x")
        w.close_stdin()
        self.assertEqual(w.wait(), 0)
        self.assertFalse(os.path.exists(path), "socket file left behind")

    def test_unknown_method_is_unimplemented(self):
        import grpc

        self.start()
        other = self.channel.unary_unary("/wpool.v1.Worker/NoSuchMethod")
        with self.assertRaises(grpc.RpcError) as cm:
            other(b"", timeout=TIMEOUT)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.UNIMPLEMENTED)
        self.assertEqual(self.call(ping(1, b"alive")).payload, b"alive")

    def test_garbage_request_fails_the_call_not_the_worker(self):
        import grpc

        self.start()
        raw = self.channel.unary_unary("/wpool.v1.Worker/Call")
        with self.assertRaises(grpc.RpcError):
            raw(b"\xff" * 11, timeout=TIMEOUT)
        self.assertEqual(self.call(ping(1, b"alive")).payload, b"alive")

    def test_stdin_close_exits(self):
        w, hello = self.start()
        self.call(ping(1, b"x"))
        t0 = time.monotonic()
        w.close_stdin()
        self.assertEqual(w.wait(), 0)
        self.assertLess(time.monotonic() - t0, 1.0)  # even with our channel open
        self.assertFalse(os.path.exists(hello.address[5:]), "socket file left behind")
        self.assertEqual(w.read_rest(), b"")

    def test_shutdown_replies_then_exits(self):
        w, _ = self.start()
        r = self.call(M.Request(id=8, shutdown=M.Shutdown()))
        self.assertEqual((r.id, r.status), (8, M.STATUS_OK))
        self.assertEqual(w.wait(), 0)

    def test_sigterm_exits_cleanly(self):
        w, hello = self.start()
        w.p.send_signal(signal.SIGTERM)
        self.assertEqual(w.wait(), 0)
        self.assertFalse(os.path.exists(hello.address[5:]), "socket file left behind")

    def test_bad_listen_address_exits_nonzero(self):
        w = WorkerProc([PYTHON, EXAMPLE, "--transport", "grpc", "--listen", "unix:/nonexistent-dir/x.sock"])
        self.addCleanup(w.close)
        self.assertNotEqual(w.wait(), 0)
        self.assertIn("cannot listen", w.stderr())
        self.assertEqual(w.read_rest(), b"")

    def test_dies_with_its_parent(self):
        assert_dies_with_parent(self, [PYTHON, EXAMPLE, "--transport", "grpc"])


def time_to_hello(args, runs):
    """Median seconds from spawning the example worker to reading its Hello."""
    times = []
    for _ in range(runs):
        t0 = time.monotonic()
        w = WorkerProc([PYTHON, EXAMPLE, *args])
        try:
            w.read_frame(M.Hello)
            times.append(time.monotonic() - t0)
            w.close_stdin()
            w.wait()
        finally:
            w.close()
    return statistics.median(times)


class StartupTime(unittest.TestCase):
    """Reports exec-to-Hello (WPOOL_HELLO_RUNS starts each, default 5); the
    bound only catches a pathological regression on a loaded machine."""

    def test_time_to_hello(self):
        runs = int(os.environ.get("WPOOL_HELLO_RUNS", "5"))
        for name, args in (("pipe", []), ("grpc", ["--transport", "grpc"])):
            median = time_to_hello(args, runs)
            sys.stderr.write(f"\n  python worker exec->Hello, {name}: median {median * 1e3:.1f} ms "
                             f"over {runs} starts ")
            self.assertLess(median, 3.0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
