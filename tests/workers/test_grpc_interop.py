"""Interop: a Python grpcio client against the C worker's gRPC transport.

Starts $WPOOL_BUILD/wpool-worker --transport grpc, reads its Hello from
stdout, and calls wpool.v1.Worker/Call with python3-grpcio — so the C server
is checked against an independent gRPC implementation, over a unix socket
and loopback TCP. Every call and wait has a deadline; processes and socket
files are cleaned up.

Run: /usr/bin/python3 tests/workers/test_grpc_interop.py   (WPOOL_BUILD: build dir, default build)
"""
import os
import sys
import tempfile
import time
import unittest
from concurrent import futures

import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_python_sdk import (BUILD, M, TIMEOUT, WorkerProc,  # noqa: E402
                             assert_dies_with_parent, ping)

C_WORKER = os.path.join(BUILD, "wpool-worker")


class CWorkerGrpc(unittest.TestCase):
    def setUp(self):
        if not os.access(C_WORKER, os.X_OK):
            self.fail(f"{C_WORKER} not found: run make")

    def start(self, *args):
        """Starts the C worker on gRPC; returns (proc, hello) with a stub in self.rpc."""
        w = WorkerProc([C_WORKER, "--transport", "grpc", *args])
        self.addCleanup(w.close)
        try:
            hello = w.read_frame(M.Hello)
        except EOFError:
            w.wait()
            self.fail(f"C worker exited before its Hello: {w.stderr().strip()}")
        self.assertEqual((hello.pid, hello.protocol_version, hello.transport),
                         (w.pid, 2, M.TRANSPORT_GRPC))
        self.assertTrue(hello.address)
        if hello.address.startswith("unix:"):
            path = hello.address[len("unix:"):]
            self.addCleanup(lambda: os.path.exists(path) and os.unlink(path))
        self.channel = grpc.insecure_channel(hello.address)
        self.addCleanup(self.channel.close)
        self.rpc = self.channel.unary_unary(
            "/wpool.v1.Worker/Call",
            request_serializer=M.Request.SerializeToString,
            response_deserializer=M.Reply.FromString)
        return w, hello

    def call(self, request):
        return self.rpc(request, timeout=TIMEOUT)

    def check_calls(self):
        """The calls every address must serve: Ping, Work, no kind, unknown method."""
        r = self.call(ping(1, b"hello"))
        self.assertEqual((r.id, r.status, r.error, r.payload), (1, M.STATUS_OK, "", b"hello"))
        r = self.call(M.Request(id=2, work=M.Work(reply_bytes=65536)))
        self.assertEqual((r.id, r.status, r.payload), (2, M.STATUS_OK, b"w" * 65536))
        r = self.call(M.Request(id=3, work=M.Work(payload=b"job")))
        self.assertEqual((r.id, r.payload), (3, b"job"))
        r = self.call(M.Request(id=4))
        self.assertEqual((r.id, r.status), (4, M.STATUS_BAD_REQUEST))
        self.assertTrue(r.error)
        other = self.channel.unary_unary("/wpool.v1.Worker/NoSuchMethod")
        with self.assertRaises(grpc.RpcError) as cm:
            other(b"", timeout=TIMEOUT)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.UNIMPLEMENTED)
        other = self.channel.unary_unary("/wpool.v2.Other/Call")
        with self.assertRaises(grpc.RpcError) as cm:
            other(b"", timeout=TIMEOUT)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.UNIMPLEMENTED)
        # Still serving after the failed calls.
        self.assertEqual(self.call(ping(5, b"after")).payload, b"after")

    def test_default_unix_socket(self):
        w, hello = self.start()
        self.assertEqual(hello.address, f"unix:/tmp/wpool-worker-{w.pid}.sock")
        self.check_calls()

    def test_explicit_unix_path(self):
        d = tempfile.mkdtemp(prefix="wpool-test-")
        path = os.path.join(d, "c.sock")
        self.addCleanup(os.rmdir, d)  # runs after start()'s socket clean-up
        w, hello = self.start("--listen", "unix:" + path)
        self.assertEqual(hello.address, "unix:" + path)
        self.check_calls()

    def test_tcp_any_port(self):
        w, hello = self.start("--listen", "127.0.0.1:0")
        host, port = hello.address.rsplit(":", 1)
        self.assertEqual(host, "127.0.0.1")
        self.assertGreater(int(port), 0)
        self.check_calls()

    def test_work_burns_and_sleeps(self):
        self.start()
        t0 = time.monotonic()
        r = self.call(M.Request(id=1, work=M.Work(cpu_us=20000, sleep_us=20000, reply_bytes=10)))
        self.assertEqual((r.status, r.payload), (M.STATUS_OK, b"w" * 10))
        self.assertGreaterEqual(time.monotonic() - t0, 0.040)

    def test_concurrent_calls(self):
        self.start("--listen", "127.0.0.1:0")
        with futures.ThreadPoolExecutor(16) as pool:
            replies = list(pool.map(lambda i: self.call(ping(i, b"c%d" % i)), range(200)))
        self.assertEqual([(r.id, r.payload) for r in replies],
                         [(i, b"c%d" % i) for i in range(200)])

    def test_shutdown_replies_then_exits_zero(self):
        w, hello = self.start()
        r = self.call(M.Request(id=9, shutdown=M.Shutdown()))
        self.assertEqual((r.id, r.status), (9, M.STATUS_OK))
        self.assertEqual(w.wait(), 0)
        self.assertFalse(os.path.exists(hello.address[5:]), "socket file left behind")

    def test_stdin_close_exits_zero(self):
        w, hello = self.start()
        self.call(ping(1, b"x"))
        w.close_stdin()
        self.assertEqual(w.wait(), 0)
        self.assertFalse(os.path.exists(hello.address[5:]), "socket file left behind")

    def test_dies_with_its_parent(self):
        assert_dies_with_parent(self, [C_WORKER, "--transport", "grpc"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
