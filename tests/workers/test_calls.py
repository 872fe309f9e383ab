"""Application calls from the Python side: the SDK's Worker (methods, init
hook, errors, Hello, start-up phases) spoken to directly over the pipe, the
numpy example, and `wpool ping --call` with its bad-input exits, against the
C and the Python workers.

Run: /usr/bin/python3 tests/workers/test_calls.py   (WPOOL_BUILD: build dir, default build)
"""
import hashlib
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_python_sdk import (DESC, M, PYTHON, ROOT, BUILD, TIMEOUT, WorkerProc,  # noqa: E402
                             wait_gone, worker_env)
import wpool_worker  # noqa: E402  (test_python_sdk put the SDK on the path)

KNOBS = os.path.join(ROOT, "tests", "helpers", "py_knobs_worker.py")
SHA_PY = os.path.join(ROOT, "worker", "python", "examples", "sha256_worker.py")
NUMPY = os.path.join(ROOT, "worker", "python", "examples", "numpy_worker.py")
WPOOL = os.path.join(BUILD, "wpool")
SHA_C = os.path.join(BUILD, "wpool-example-sha256")


def call(id_, method, payload=b""):
    return M.Request(id=id_, call=M.Call(method=method, payload=payload))


def start(test, script, env=None):
    w = WorkerProc([PYTHON, script], env=env)
    test.addCleanup(w.close)
    hello = w.read_frame(M.Hello, timeout=30)
    test.assertEqual(hello.protocol_version, 2)
    return w, hello


class PythonWorker(unittest.TestCase):
    def test_hello_lists_methods(self):
        _, hello = start(self, KNOBS)
        self.assertEqual(list(hello.methods), ["echo", "fail", "nothing", "crash"])

    def test_method_answers(self):
        w, _ = start(self, KNOBS)
        r = w.call(call(1, "echo", b"abc"))
        self.assertEqual((r.id, r.status, r.payload), (1, M.STATUS_OK, b"abc"))
        r = w.call(call(2, "nothing", b"abc"))
        self.assertEqual((r.id, r.status, r.payload), (2, M.STATUS_OK, b""))

    def test_raise_is_an_error_reply_and_the_worker_lives(self):
        w, _ = start(self, KNOBS)
        r = w.call(call(2, "fail", b"disk full"))
        self.assertEqual(r.status, M.STATUS_WORKER_ERROR)
        self.assertEqual(r.error, "ValueError: disk full")
        r = w.call(call(3, "echo", b"alive"))
        self.assertEqual((r.status, r.payload), (M.STATUS_OK, b"alive"))
        self.assertIsNone(w.p.poll())

    def test_unknown_method_names_it(self):
        w, _ = start(self, KNOBS)
        r = w.call(call(4, "embed"))
        self.assertEqual(r.status, M.STATUS_UNKNOWN_METHOD)
        self.assertIn("unknown method 'embed'", r.error)
        self.assertIn("echo, fail, nothing, crash", r.error)

    def test_ping_and_work_keep_their_meaning(self):
        w, _ = start(self, KNOBS)
        r = w.call(M.Request(id=5, ping=M.Ping(payload=b"p")))
        self.assertEqual((r.status, r.payload), (M.STATUS_OK, b"p"))
        r = w.call(M.Request(id=6, work=M.Work(reply_bytes=3)))
        self.assertEqual((r.status, r.payload), (M.STATUS_OK, b"www"))

    def test_crash_ends_the_process(self):
        w, _ = start(self, KNOBS)
        w.send(wpool_worker.encode_frame(call(7, "crash")))
        self.assertTrue(wait_gone(w.pid))
        self.assertNotEqual(w.wait(), 0)

    def test_init_failure_exits_1_before_hello(self):
        w = WorkerProc([PYTHON, KNOBS], env=worker_env(WPOOL_TEST_INIT_FAIL="1"))
        self.addCleanup(w.close)
        self.assertEqual(w.wait(), 1)
        self.assertEqual(w.read_rest(), b"")  # no Hello
        self.assertIn("init failed: RuntimeError: model file missing", w.stderr())

    def test_init_runs_before_the_hello_and_phases_are_logged(self):
        w, _ = start(self, NUMPY, env=worker_env(WPOOL_PHASES="1"))
        r = w.call(call(1, "dim"))
        self.assertEqual(r.payload, b"512")
        w.close_stdin()
        self.assertEqual(w.wait(), 0)
        line = [x for x in w.stderr().splitlines() if "phases" in x][0]
        ph = dict(kv.split("=") for kv in line.split(": ", 2)[-1].split())
        ph = {k: int(v) for k, v in ph.items()}
        self.assertLessEqual(ph["imported"], ph["init_start"])
        self.assertLess(ph["init_start"], ph["init_done"])
        self.assertLessEqual(ph["init_done"], ph["hello"])

    def test_numpy_embed_is_a_unit_vector(self):
        import numpy as np

        w, _ = start(self, NUMPY)
        r = w.call(call(1, "embed", b"the quick brown fox"), timeout=30)
        self.assertEqual(r.status, M.STATUS_OK)
        y = np.frombuffer(r.payload, dtype="<f4")
        self.assertEqual(y.shape, (512,))
        self.assertAlmostEqual(float(np.linalg.norm(y)), 1.0, places=4)
        r2 = w.call(call(2, "embed", b"the quick brown fox"))
        self.assertEqual(r.payload, r2.payload)  # deterministic


class CWorker(unittest.TestCase):
    def test_hello_lists_methods_and_a_call_is_answered(self):
        for binary, methods in ((os.path.join(BUILD, "wpool-worker"), ["echo", "fail", "crash", "leak"]),
                                (SHA_C, ["sha256", "sha256_hex"])):
            w = WorkerProc([binary])
            self.addCleanup(w.close)
            hello = w.read_frame(M.Hello)
            self.assertEqual((hello.protocol_version, list(hello.methods)), (2, methods))
            r = w.call(call(1, methods[0], b"abc"))
            self.assertEqual(r.status, M.STATUS_OK)
            if binary == SHA_C:
                self.assertEqual(r.payload, hashlib.sha256(b"abc").digest())
            r = w.call(call(2, "nope"))
            self.assertEqual(r.status, M.STATUS_UNKNOWN_METHOD)
            self.assertIn("unknown method 'nope'", r.error)


def wpool(*args):
    return subprocess.run([WPOOL, *args], capture_output=True, text=True,
                          timeout=60, cwd=ROOT, env=worker_env())


class PingCall(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def path(self, name, data):
        p = os.path.join(self.tmp.name, name)
        with open(p, "wb") as f:
            f.write(data)
        return p

    def test_call_prints_queue_wait_and_service(self):
        p = self.path("in.txt", b"hello")
        for t in ("pipe", "grpc"):
            r = wpool("ping", "-n", "1", "--transport", t, "--call", "echo",
                      "--payload-file", p, "--requests", "200")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("queue wait us (pool)", r.stdout)
            self.assertIn("service us (pool)", r.stdout)

    def test_c_and_python_workers_serve_the_same_set(self):
        d = os.path.join(self.tmp.name, "set")
        os.mkdir(d)
        for i in range(3):
            self.path(os.path.join("set", f"{i}.bin"), bytes([i]) * (100 + i))
        for worker in (SHA_C, f"{PYTHON} {SHA_PY}"):
            for t in ("pipe", "grpc"):
                r = wpool("ping", "-n", "2", "--transport", t, "--worker", worker,
                          "--call", "sha256", "--payloads", d, "--requests", "60")
                self.assertEqual(r.returncode, 0, f"{worker} {t}: {r.stderr}")
                self.assertIn("60 ok, 0 failed", r.stdout)

    def test_unknown_method_exit_1_with_the_workers_text(self):
        p = self.path("in.txt", b"x")
        for worker in (os.path.join(BUILD, "wpool-worker"), f"{PYTHON} {KNOBS}"):
            r = wpool("ping", "--worker", worker, "--call", "embed",
                      "--payload-file", p, "--requests", "5")
            self.assertEqual(r.returncode, 1)
            self.assertIn("WP_EUNKNOWN_METHOD", r.stderr)
            self.assertIn("unknown method 'embed'", r.stderr)

    def test_raising_method_exit_1_with_its_text(self):
        p = self.path("in.txt", b"disk full")
        r = wpool("ping", "--worker", f"{PYTHON} {KNOBS}", "--call", "fail",
                  "--payload-file", p, "--requests", "3")
        self.assertEqual(r.returncode, 1)
        self.assertIn("WP_EREMOTE", r.stderr)
        self.assertIn("ValueError: disk full", r.stderr)

    def test_unreadable_payload_file_exit_2_one_line(self):
        r = wpool("ping", "--call", "echo", "--payload-file",
                  os.path.join(self.tmp.name, "missing"), "--requests", "1")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertIn("cannot read payload file", r.stderr)

    def test_payload_over_the_frame_limit_exit_2_one_line(self):
        p = os.path.join(self.tmp.name, "big")
        with open(p, "wb") as f:
            f.truncate(16 * 1024 * 1024)
        r = wpool("ping", "--call", "echo", "--payload-file", p, "--requests", "1")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertIn("over the frame limit", r.stderr)

    def test_bad_jsonl_exit_2_one_line(self):
        p = self.path("set.jsonl", b'"ok"\n[1, 2]\n')
        r = wpool("ping", "--call", "echo", "--payloads", p, "--requests", "1")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertIn("set.jsonl:2", r.stderr)


class StartListsMethods(unittest.TestCase):
    """`wpool start` prints each worker's methods from its Hello."""

    def rows(self, *args):
        r = wpool("start", *args)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertIn("methods", lines[0])
        return lines[1:1 + int(args[args.index("-n") + 1])]

    def test_c_and_python_workers(self):
        for worker, want in ((os.path.join(BUILD, "wpool-worker"), "echo, fail, crash, leak"),
                             (f"{PYTHON} {KNOBS}", "echo, fail, nothing, crash")):
            for t in ("pipe", "grpc"):
                for row in self.rows("-n", "2", "--transport", t, "--worker", worker):
                    self.assertTrue(row.endswith("  " + want), f"{worker} {t}: {row!r}")

    def test_protocol_1_worker_lists_none(self):
        rows = self.rows("-n", "1", "--worker", f"{os.path.join(BUILD, 'tests', 'bad_worker')} v1")
        self.assertTrue(rows[0].endswith("  -"), rows)

    def test_unicode_passes_control_bytes_are_escaped(self):
        with tempfile.TemporaryDirectory() as d:
            script = os.path.join(d, "w.py")
            with open(script, "w") as f:
                f.write(f"import sys; sys.path.insert(0, {os.path.join(ROOT, 'worker', 'python')!r})\n"
                        "import wpool_worker\n"
                        "w = wpool_worker.Worker()\n"
                        "w.method('埋め込み')(lambda p: p)\n"
                        "w.method('two\\nlines')(lambda p: p)\n"
                        "w.run()\n")
            rows = self.rows("-n", "1", "--worker", f"{PYTHON} {script}")
            self.assertEqual(len(rows), 1)
            self.assertTrue(rows[0].endswith("  埋め込み, two\\x0alines"), rows)


if __name__ == "__main__":
    unittest.main(verbosity=2)
