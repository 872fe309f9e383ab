"""Protocol 3 in the Python SDK (worker/python/wpool_frames.py): the compact
pipe envelope `u32 length | u8 tag | u64 id | body` (proto/wpool.proto,
issue 19), spoken when the pool offers it in WPOOL_PROTOCOL.

  - the Hello's version follows WPOOL_PROTOCOL (3 from 3 up on a pipe; 2
    without it, below 3, not a number, and always over gRPC);
  - a spawned worker answers Ping (echoed without a handler, or shown to
    one), Work, Call, error replies, an unknown tag, Shutdown and ids up to
    2^64-1 in compact frames; a short frame or an undecodable body ends it
    (exit 2, one line); a reply over --max-frame counts the compact size;
  - a zygote template's child speaks what its Hello says;
  - under the real pool (pipe, /usr/bin/python3): Ping, Call, Work and an
    error's text, offered 3; the same worker without the variable (a v2
    worker under a v3 pool); zygote children.

Run: /usr/bin/python3 tests/workers/test_python_compact.py   (WPOOL_BUILD: build dir)
"""
import os
import struct
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_python_sdk import (M, PYTHON, ROOT, BUILD, EXAMPLE, WorkerProc,  # noqa: E402
                             worker_env)
from test_zygote import Template  # noqa: E402

KNOBS = os.path.join(ROOT, "tests", "helpers", "py_knobs_worker.py")
WPOOL = os.path.join(BUILD, "wpool")
HDR = struct.Struct(">IBQ")  # length, tag, id
PING, WORK, SHUTDOWN, CALL = 2, 3, 4, 5
MAX_ID = 2**64 - 1


def frame(tag, id_, body=b""):
    return HDR.pack(9 + len(body), tag, id_) + body


def read_compact(read_exact):
    """(tag, id, body) of the next compact frame, from read_exact(n)."""
    n, tag, id_ = HDR.unpack(read_exact(HDR.size))
    return tag, id_, read_exact(n - 9)


def start(test, *argv, offered="3"):
    """A worker (default the knobs one) with WPOOL_PROTOCOL=offered (None:
    unset); its Hello."""
    env = worker_env()
    env.pop("WPOOL_PROTOCOL", None)
    if offered is not None:
        env["WPOOL_PROTOCOL"] = offered
    w = WorkerProc([PYTHON, *(argv or [KNOBS])], env=env)
    test.addCleanup(w.close)
    return w, w.read_frame(M.Hello)


class Negotiation(unittest.TestCase):
    def test_hello_says_3_only_when_offered(self):
        for offered, version in ((None, 2), ("2", 2), ("3", 3), ("4", 3), ("three", 2)):
            with self.subTest(offered=offered):
                w, hello = start(self, offered=offered)
                self.assertEqual((hello.protocol_version, hello.transport),
                                 (version, M.TRANSPORT_PIPE))
                # ... and the frames that follow are that protocol's.
                if version == 3:
                    w.send(frame(PING, 1, b"p"))
                    self.assertEqual(read_compact(w.read_exact), (M.STATUS_OK, 1, b"p"))
                else:
                    w.call(M.Request(id=1, ping=M.Ping(payload=b"p")))

    def test_offer_not_inherited(self):
        # Neither init nor a method (nor what they start) sees WPOOL_PROTOCOL:
        # under an older pool passing it through, a newer worker started by
        # a method would say 3 and never start (worker/pipe.c does the same).
        code = ("import os, sys; sys.path.insert(0, %r); import wpool_worker as ww\n"
                "w = ww.Worker(); seen = []\n"
                "w.init(lambda: seen.append(os.environ.get('WPOOL_PROTOCOL', '-')))\n"
                "w.method('seen')(lambda p: seen[0] + os.environ.get('WPOOL_PROTOCOL', '-'))\n"
                "w.run()\n" % os.path.join(ROOT, "worker", "python"))
        w, hello = start(self, "-c", code)
        self.assertEqual(hello.protocol_version, 3)
        w.send(frame(CALL, 1, M.Call(method="seen").SerializeToString()))
        self.assertEqual(read_compact(w.read_exact), (M.STATUS_OK, 1, b"--"))

    def test_grpc_hello_stays_2(self):
        w, hello = start(self, EXAMPLE, "--transport", "grpc")
        if hello.address.startswith("unix:"):
            path = hello.address[5:]
            self.addCleanup(lambda: os.path.exists(path) and os.unlink(path))
        self.assertEqual((hello.protocol_version, hello.transport), (2, M.TRANSPORT_GRPC))


class CompactPipe(unittest.TestCase):
    def roundtrip(self, w, tag, id_, body=b""):
        w.send(frame(tag, id_, body))
        return read_compact(w.read_exact)

    def test_ping_work_call_and_ids(self):
        w, _ = start(self)
        self.assertEqual(self.roundtrip(w, PING, 7, b"hello"), (M.STATUS_OK, 7, b"hello"))
        self.assertEqual(self.roundtrip(w, PING, MAX_ID), (M.STATUS_OK, MAX_ID, b""))
        work = M.Work(reply_bytes=100000).SerializeToString()
        self.assertEqual(self.roundtrip(w, WORK, 8, work), (M.STATUS_OK, 8, b"w" * 100000))
        work = M.Work(payload=b"job").SerializeToString()
        self.assertEqual(self.roundtrip(w, WORK, 9, work), (M.STATUS_OK, 9, b"job"))
        call = M.Call(method="echo", payload=b"abc").SerializeToString()
        self.assertEqual(self.roundtrip(w, CALL, 10, call), (M.STATUS_OK, 10, b"abc"))
        call = M.Call(method="nothing", payload=b"abc").SerializeToString()
        self.assertEqual(self.roundtrip(w, CALL, 11, call), (M.STATUS_OK, 11, b""))
        # An empty body is a Work with every field 0: an empty reply.
        self.assertEqual(self.roundtrip(w, WORK, 12), (M.STATUS_OK, 12, b""))

    def test_error_replies_carry_their_text(self):
        w, _ = start(self)
        call = M.Call(method="fail", payload=b"disk full").SerializeToString()
        self.assertEqual(self.roundtrip(w, CALL, 1, call),
                         (M.STATUS_WORKER_ERROR, 1, b"ValueError: disk full"))
        tag, id_, text = self.roundtrip(w, CALL, 2, M.Call(method="embed").SerializeToString())
        self.assertEqual((tag, id_), (M.STATUS_UNKNOWN_METHOD, 2))
        self.assertIn(b"unknown method 'embed'; this worker has: echo, fail, nothing, crash", text)
        for tag in (0, 1, 6, 255):  # no kind, or one from a newer protocol
            self.assertEqual(self.roundtrip(w, tag, 3, b"xyz"),
                             (M.STATUS_BAD_REQUEST, 3, b"unknown request tag %d" % tag))
        self.assertEqual(self.roundtrip(w, PING, 4, b"alive"), (M.STATUS_OK, 4, b"alive"))

    def test_a_handler_still_sees_pings(self):
        # example_worker's handler upper-cases "upper:" pings and raises on
        # "fail:": a Ping goes through it, as a Request, in protocol 3 too.
        w, _ = start(self, EXAMPLE)
        self.assertEqual(self.roundtrip(w, PING, 1, b"upper:abc"), (M.STATUS_OK, 1, b"ABC"))
        tag, id_, text = self.roundtrip(w, PING, 2, b"fail:boom")
        self.assertEqual((tag, id_), (M.STATUS_WORKER_ERROR, 2))
        self.assertIn(b"boom", text)

    def test_a_handlers_reply_status_is_the_tag(self):
        code = ("import sys; sys.path.insert(0, %r); import wpool_worker as w\n"
                "w.run(lambda req: w.Reply(status=int(req.ping.payload), error='mine'))\n"
                % os.path.join(ROOT, "worker", "python"))
        w, _ = start(self, "-c", code)
        self.assertEqual(self.roundtrip(w, PING, 1, b"7"), (7, 1, b"mine"))  # the pool's to judge
        for status in (b"256", b"-1"):  # no u8 carries it: an error reply, not a crash
            self.assertEqual(self.roundtrip(w, PING, 2, status),
                             (M.STATUS_WORKER_ERROR, 2, b"reply status %s is not a u8" % status))
        self.assertEqual(self.roundtrip(w, PING, 3, b"0"), (M.STATUS_OK, 3, b""))

    def test_pipelined_frames_in_one_write(self):
        w, _ = start(self)
        w.send(b"".join(frame(PING, i, b"p%d" % i) for i in range(50)))
        for i in range(50):
            self.assertEqual(read_compact(w.read_exact), (M.STATUS_OK, i, b"p%d" % i))

    def test_shutdown_replies_then_exits_zero(self):
        for body in (b"", b"\xff" * 3):  # a body is ignored, as the C worker does
            with self.subTest(body=body):
                w, _ = start(self)
                self.assertEqual(self.roundtrip(w, SHUTDOWN, 5, body), (M.STATUS_OK, 5, b""))
                self.assertEqual(w.wait(), 0)
                self.assertEqual(w.read_rest(), b"")

    def test_reply_over_max_frame_counts_the_compact_size(self):
        w, _ = start(self, KNOBS, "--max-frame", "1024")
        fits = M.Work(reply_bytes=1024 - 9).SerializeToString()
        self.assertEqual(self.roundtrip(w, WORK, 1, fits), (M.STATUS_OK, 1, b"w" * 1015))
        over = M.Work(reply_bytes=1024 - 8).SerializeToString()
        tag, id_, text = self.roundtrip(w, WORK, 2, over)
        self.assertEqual((tag, id_), (M.STATUS_WORKER_ERROR, 2))
        self.assertIn(b"reply of 1025 bytes exceeds --max-frame 1024", text)

    def test_delay_us_holds_a_ping_answered_without_a_handler(self):
        w, _ = start(self, KNOBS, "--delay-us", "30000")
        t0 = time.monotonic()
        self.assertEqual(self.roundtrip(w, PING, 1, b"x"), (M.STATUS_OK, 1, b"x"))
        self.assertGreaterEqual(time.monotonic() - t0, 0.030)

    def assert_protocol_error(self, w, words):
        self.assertEqual(w.wait(), 2)
        lines = w.stderr().strip().splitlines()
        self.assertEqual(len(lines), 1, lines)
        self.assertIn(words, lines[0])
        self.assertEqual(w.read_rest(), b"")  # no reply

    def test_frame_shorter_than_tag_and_id_exits_2(self):
        for n in (0, 1, 8):
            with self.subTest(length=n):
                w, _ = start(self)
                w.send(struct.pack(">I", n) + b"\x02" * n)
                self.assert_protocol_error(w, f"garbage frame ({n} bytes, shorter than")

    def test_undecodable_body_exits_2(self):
        for tag, kind in ((WORK, "Work"), (CALL, "Call")):
            with self.subTest(kind=kind):
                w, _ = start(self)
                w.send(frame(tag, 1, b"\xff" * 11))  # a varint that never ends
                self.assert_protocol_error(w, f"garbage frame (not a {kind})")


class ZygoteChild(unittest.TestCase):
    def test_child_speaks_what_its_hello_says(self):
        for offered, version in (("3", 3), ("2", 2)):
            with self.subTest(offered=offered):
                t = Template(self, WPOOL_PROTOCOL=offered)
                t.ready()
                c = t.spawn()
                self.assertEqual(c.frame(M.Hello).protocol_version, version)
                if version == 2:
                    self.assertEqual(c.call(1, "echo", b"v2").payload, b"v2")
                    continue
                call = M.Call(method="echo", payload=b"v3").SerializeToString()
                os.write(c.in_w, frame(CALL, 1, call))
                self.assertEqual(read_compact(c.read_exact), (M.STATUS_OK, 1, b"v3"))


def wpool(*args, offered="3", worker=f"{PYTHON} {KNOBS}"):
    """Runs build/wpool with the knobs worker, which fails its start unless
    the pool's WPOOL_PROTOCOL is `offered`."""
    return subprocess.run([WPOOL, *args, "--worker", worker], capture_output=True, text=True,
                          timeout=60, cwd=ROOT, env=worker_env(WPOOL_TEST_OFFERED=offered))


class UnderThePool(unittest.TestCase):
    """libwpool offers protocol 3 to every worker; the Python SDK takes it."""

    def setUp(self):
        self.payload = os.path.join(ROOT, "README.md")

    def assert_ok(self, r, n):
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"{n} ok, 0 failed", r.stdout)

    def test_ping_call_work(self):
        self.assert_ok(wpool("ping", "-n", "2", "-c", "4", "--requests", "500"), 500)
        self.assert_ok(wpool("ping", "-n", "2", "-c", "4", "--requests", "200", "--call", "echo",
                             "--payload-file", self.payload), 200)
        # Work: a one-step stress at 50 req/s (its objective is broken on
        # purpose, so the run stops after two steps: 100 Work requests).
        self.assert_ok(wpool("load", "--profile", "stress", "--quick", "--capacity", "500",
                             "--step", "1s", "--slo", "p99<1us", "--fail-on", "errors<1%",
                             "--work", "cpu_us=10,reply_bytes=100"), 100)

    def test_error_text_reaches_the_caller(self):
        with tempfile.NamedTemporaryFile() as f:
            f.write(b"disk full")
            f.flush()
            r = wpool("ping", "--call", "fail", "--payload-file", f.name, "--requests", "3")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("WP_EREMOTE", r.stderr)
        self.assertIn("ValueError: disk full", r.stderr)

    def test_offered_3_checked(self):
        # The knob that proves the offer can fail: expecting another value
        # fails the start, naming what the pool gave.
        r = wpool("ping", "--requests", "10", offered="2")
        self.assertEqual(r.returncode, 1)
        self.assertIn("WPOOL_PROTOCOL is 3, the test expects 2", r.stderr)

    def test_v2_worker_under_a_v3_pool(self):
        worker = f"env -u WPOOL_PROTOCOL {PYTHON} {KNOBS}"
        self.assert_ok(wpool("ping", "-n", "2", "-c", "4", "--requests", "500",
                             offered="-", worker=worker), 500)
        self.assert_ok(wpool("ping", "--requests", "100", "--call", "echo", "--payload-file",
                             self.payload, offered="-", worker=worker), 100)

    def test_zygote_children(self):
        self.assert_ok(wpool("ping", "-n", "2", "-c", "4", "--requests", "300",
                             "--spawn", "zygote"), 300)
        self.assert_ok(wpool("ping", "-n", "2", "--requests", "100", "--spawn", "zygote",
                             "--call", "echo", "--payload-file", self.payload), 100)


if __name__ == "__main__":
    unittest.main(verbosity=2)
