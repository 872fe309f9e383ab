"""The Python SDK's standalone mode (worker/python/wpool_grpc.py): a worker
started as systemd or Kubernetes would (--standalone) answers the standard
health check, serves a pool that attaches to it (build/wpool ping
--connect), and on SIGTERM drains the call it holds, then exits 0.

Run: /usr/bin/python3 tests/workers/test_python_standalone.py   (WPOOL_BUILD: build dir)
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, os.environ.get("WPOOL_BUILD", "build"))
DESC = os.path.join(BUILD, "gen", "wpool.desc")
SDK_DIR = os.path.join(ROOT, "worker", "python")
EXAMPLE = os.path.join(SDK_DIR, "example_worker.py")
TIMEOUT = 10.0

sys.path.insert(0, SDK_DIR)
import wpool_worker  # noqa: E402


def health_classes():
    from google.protobuf import message_factory

    m = wpool_worker.load_messages(DESC)
    get = getattr(message_factory, "GetMessageClass", None) or \
        message_factory.MessageFactory(m.pool).GetPrototype
    find = m.pool.FindMessageTypeByName
    return (get(find("grpc.health.v1.HealthCheckRequest")),
            get(find("grpc.health.v1.HealthCheckResponse")))


class Standalone(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="wpool-pystandalone-")
        self.addr = f"unix:{self.dir}/w.sock"
        self.err = tempfile.TemporaryFile()
        self.p = subprocess.Popen(
            ["/usr/bin/python3", EXAMPLE, "--transport", "grpc", "--listen", self.addr,
             "--standalone"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.err,
            env=dict(os.environ, WPOOL_DESC=DESC))
        deadline = time.monotonic() + TIMEOUT
        while not os.path.exists(f"{self.dir}/w.sock") and time.monotonic() < deadline:
            time.sleep(0.02)

    def tearDown(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait(TIMEOUT)
        self.err.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def stderr(self):
        self.err.seek(0)
        return self.err.read().decode(errors="replace")

    def test_health_then_pool_then_drain(self):
        import grpc

        req_cls, rep_cls = health_classes()
        m = wpool_worker.load_messages(DESC)
        with grpc.insecure_channel(self.addr) as ch:
            check = ch.unary_unary("/grpc.health.v1.Health/Check",
                                   request_serializer=req_cls.SerializeToString,
                                   response_deserializer=rep_cls.FromString)
            self.assertEqual(check(req_cls(), timeout=TIMEOUT).status, rep_cls.SERVING)
            with self.assertRaises(grpc.RpcError) as e:
                check(req_cls(service="nope"), timeout=TIMEOUT)
            self.assertEqual(e.exception.code(), grpc.StatusCode.NOT_FOUND)
            # A pool attaches to it and serves through it.
            r = subprocess.run([os.path.join(BUILD, "wpool"), "ping", "--connect", self.addr,
                                "-c", "4", "--requests", "400"],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("400 ok, 0 failed", r.stdout)
            # SIGTERM while a call runs: the call is answered, then exit 0.
            call = ch.unary_unary("/wpool.v1.Worker/Call",
                                  request_serializer=m.Request.SerializeToString,
                                  response_deserializer=m.Reply.FromString)
            out = {}

            def slow():
                out["reply"] = call(m.Request(id=7, work=m.Work(sleep_us=500000)),
                                    timeout=TIMEOUT)

            t = threading.Thread(target=slow)
            t.start()
            time.sleep(0.2)
            self.p.send_signal(signal.SIGTERM)
            t.join(TIMEOUT)
            self.assertEqual(out["reply"].id, 7)
            self.assertEqual(out["reply"].status, m.STATUS_OK)
        self.assertEqual(self.p.wait(TIMEOUT), 0, self.stderr())
        self.assertIn("drained, exiting", self.stderr())

    def test_standalone_needs_grpc(self):
        r = subprocess.run(["/usr/bin/python3", EXAMPLE, "--standalone"],
                           capture_output=True, text=True, timeout=TIMEOUT,
                           env=dict(os.environ, WPOOL_DESC=DESC))
        self.assertEqual(r.returncode, 2)
        self.assertIn("--standalone needs --transport grpc", r.stderr)


if __name__ == "__main__":
    unittest.main()
