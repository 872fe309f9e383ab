"""The wpool command under hostile use (issue 12): stalled workers, signals,
failures in the warm-up, explicit options, and the one line every non-zero
exit owes the user.

Runs <build>/wpool as a real process against the helper workers of
tests/helpers (bad_worker). Drives only C programs, so the sanitized build
runs it too (scripts/run-tests.sh). Every wait has a deadline; every worker
a test sees is checked gone (zombies skipped: PID 1 reaps them late).

Run: /usr/bin/python3 tests/tools/test_cli.py   (WPOOL_BUILD: build dir, default build)
"""
import os
import re
import signal
import subprocess
import tempfile
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, os.environ.get("WPOOL_BUILD", "build"))
WPOOL = os.path.join(BUILD, "wpool")
BAD = os.path.join(BUILD, "tests", "bad_worker")
LIMIT = float(os.environ.get("WPOOL_CLI_LIMIT", "60"))  # s: longer is a hang


def state(pid):
    """The process's state letter, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def alive(pid):
    return state(pid) not in (None, "Z", "X")


def children(pid):
    kids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == pid and fields[0] not in ("Z", "X"):
            kids.append(int(d))
    return sorted(kids)


class Run:
    """`wpool ARGS` in the background, stdout and stderr to files."""

    def __init__(self, test, *args, prog=WPOOL):
        self.out = tempfile.TemporaryFile(mode="w+")
        self.err = tempfile.TemporaryFile(mode="w+")
        self.p = subprocess.Popen([prog, *args], stdout=self.out, stderr=self.err,
                                  stdin=subprocess.DEVNULL)
        self.kids = []
        test.addCleanup(self.cleanup)

    def wait_workers(self, n):
        """Waits until n workers are running; their pids."""
        deadline = time.monotonic() + LIMIT
        while time.monotonic() < deadline:
            kids = children(self.p.pid)
            if len(kids) >= n:
                self.kids = kids
                return kids
            if self.p.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(f"wpool did not start {n} workers: {self.stderr()}")

    def wait_stdout(self, text):
        deadline = time.monotonic() + LIMIT
        while time.monotonic() < deadline:
            if text in self.stdout():
                return
            if self.p.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(f"no {text!r} on stdout: {self.stdout()} {self.stderr()}")

    def wait(self, timeout=LIMIT):
        return self.p.wait(timeout=timeout)

    def stdout(self):
        self.out.seek(0)
        return self.out.read()

    def stderr(self):
        self.err.seek(0)
        return self.err.read()

    def cleanup(self):
        for k in self.kids:
            if alive(k):
                os.kill(k, signal.SIGKILL)
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
        self.out.close()
        self.err.close()


def run(test, *args):
    """Runs wpool ARGS to its end: (exit code, stdout, stderr)."""
    r = Run(test, *args)
    return r.wait(), r.stdout(), r.stderr()


def assert_one_line(test, err):
    lines = err.strip().splitlines()
    test.assertEqual(len(lines), 1, err)
    return lines[0]


def assert_gone(test, pids, within=2.0):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.02)
    test.assertEqual([p for p in pids if alive(p)], [], "workers outlived wpool")


class Stalls(unittest.TestCase):
    """Item 2: no --timeout, a worker that stops answering: the run ends."""

    def check_named(self, r, pids):
        self.assertEqual(r.wait(), 1, r.stderr())
        line = assert_one_line(self, r.stderr())
        m = re.search(r"(\d+) requests? got no answer: worker slot (\d+) \(pid (\d+)\) "
                      r"held \d+ of them for more than [\d.]+ s", line)
        self.assertIsNotNone(m, line)
        self.assertGreaterEqual(int(m.group(1)), 1)
        self.assertIn(int(m.group(3)), pids)
        return int(m.group(3))

    def test_worker_that_never_replies(self):
        r = Run(self, "ping", "-n", "1", "--requests", "10", "--worker", BAD + " hang")
        kids = r.wait_workers(1)
        self.assertEqual(self.check_named(r, kids), kids[0])

    def sigstop_one(self, *load):
        r = Run(self, "ping", "-n", "2", "--duration", "300s", *load)
        kids = r.wait_workers(2)
        time.sleep(0.3)  # past the warm-up, mid-run
        os.kill(kids[1], signal.SIGSTOP)
        self.addCleanup(lambda: alive(kids[1]) and os.kill(kids[1], signal.SIGKILL))
        self.assertEqual(self.check_named(r, kids), kids[1])
        assert_gone(self, kids)

    def test_sigstopped_worker_closed_loop(self):
        self.sigstop_one("-c", "2")

    def test_sigstopped_worker_open_loop(self):
        self.sigstop_one("--rate", "2000")


class StallsInBench(unittest.TestCase):
    """bench/baseline and bench/tune stopped by a stall name the worker, as
    wpool ping does, in their failure line."""

    STALL = re.compile(r"; (\d+) requests? got no answer: worker slot 0 \(pid (\d+)\) "
                       r"held \d+ of them for more than [\d.]+ s")

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def check_named(self, r, prefix):
        kids = set()  # every worker seen: a scenario may start short-lived pools first
        deadline = time.monotonic() + LIMIT
        while r.p.poll() is None and time.monotonic() < deadline:
            kids.update(children(r.p.pid))
            time.sleep(0.02)
        r.kids = sorted(kids)
        self.assertEqual(r.wait(), 1, r.stderr())
        lines = [ln for ln in r.stderr().replace("\r", "\n").splitlines() if prefix in ln]
        self.assertEqual(len(lines), 1, r.stderr())
        m = self.STALL.search(lines[0])
        self.assertIsNotNone(m, lines[0])
        self.assertIn(int(m.group(2)), kids)
        assert_gone(self, kids)

    def test_tune(self):
        r = Run(self, "--worker", BAD + " hang", "--max-size", "1", "--reps", "1",
                "--duration", "0.3s", "--warmup", "0.1s", "--no-charts",
                "--out", os.path.join(self.tmp.name, "t.json"),
                prog=os.path.join(BUILD, "wpool-tune"))
        self.check_named(r, "tune: n=1 failed: request timed out (WP_ETIMEDOUT)")

    def test_baseline(self):
        payload = os.path.join(self.tmp.name, "p")
        with open(payload, "wb") as f:
            f.write(b"x")
        r = Run(self, "--only", "workload", "--worker", BAD + " hang", "--call", "echo",
                "--payload-file", payload, "--transports", "pipe", "--sizes", "1",
                "--reps", "1", "--quick", "--out", os.path.join(self.tmp.name, "b.json"),
                prog=os.path.join(BUILD, "wpool-baseline"))
        self.check_named(r, "workload pipe n=1: request timed out (WP_ETIMEDOUT)")


class WrapperSignals(unittest.TestCase):
    """bench/tune and bench/baseline (drawing charts: the program does)
    exec their program: a signal to the wrapper's pid reaches the program
    once, which stops its pool and says so; nothing is left running."""

    def tree(self, pid):
        out, todo = [], [pid]
        while todo:
            kids = children(todo.pop())
            out += kids
            todo += kids
        return out

    def interrupt(self, sig, prog, *args):
        r = Run(self, *args, prog=os.path.join(ROOT, "bench", prog))
        def worker_up():
            for k in self.tree(r.p.pid):
                try:
                    with open(f"/proc/{k}/cmdline", "rb") as f:
                        if b"wpool-worker" in f.read().split(b"\0")[0]:
                            return True
                except OSError:
                    pass
            return False
        deadline = time.monotonic() + LIMIT
        while not worker_up() and time.monotonic() < deadline:
            time.sleep(0.05)  # the program's pool is up
        seen = self.tree(r.p.pid)
        r.kids = seen
        # The pid signalled is the program's own (the wrapper exec'd it),
        # with its worker below it.
        self.assertEqual(os.path.basename(os.readlink(f"/proc/{r.p.pid}/exe")),
                         "wpool-" + prog, r.stderr())
        self.assertTrue(worker_up(), r.stderr())
        time.sleep(0.3)
        r.p.send_signal(sig)
        self.assertEqual(r.wait(), 128 + sig, r.stderr())
        assert_gone(self, seen)
        self.assertIn(f"{signal.Signals(sig).name}: interrupted", r.stderr())

    def test_tune(self):
        with tempfile.TemporaryDirectory() as d:
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                with self.subTest(sig=sig.name):
                    self.interrupt(sig, "tune", "--worker", os.path.join(BUILD, "wpool-worker"),
                                   "--max-size", "1", "--reps", "1", "--duration", "60s",
                                   "--no-charts", "--out", os.path.join(d, "t.json"))

    def test_baseline_with_charts(self):
        with tempfile.TemporaryDirectory() as d:
            self.interrupt(signal.SIGTERM, "baseline", "--only", "throughput",
                           "--transports", "pipe", "--sizes", "1", "--concurrency", "1",
                           "--reps", "1", "--requests", "100000000",
                           "--out", os.path.join(d, "b.json"))


class Signals(unittest.TestCase):
    """Item 3: a signal runs the pool's stop, says so, exits 128 + signal."""

    def start_stubborn(self):
        # ignore-eof also ignores SIGTERM: only the stop's SIGKILL ends it.
        r = Run(self, "start", "-n", "2", "-q", "--hold", "300s",
                "--worker", BAD + " ignore-eof")
        r.wait_stdout("all ready")
        return r, r.wait_workers(2)

    def test_sigint_stops_workers_that_ignore_eof_and_term(self):
        r, kids = self.start_stubborn()
        t0 = time.monotonic()
        r.p.send_signal(signal.SIGINT)
        self.assertEqual(r.wait(), 130, r.stderr())
        took = time.monotonic() - t0
        line = assert_one_line(self, r.stderr())
        self.assertIn("SIGINT", line)
        self.assertIn("interrupted holding 2 workers", line)
        assert_gone(self, kids)
        # The normal stop: EOF, then the 2 s grace before TERM and KILL.
        self.assertGreaterEqual(took, 2.0)

    def test_second_sigint_skips_the_grace(self):
        r, kids = self.start_stubborn()
        t0 = time.monotonic()
        r.p.send_signal(signal.SIGINT)
        time.sleep(0.2)
        r.p.send_signal(signal.SIGINT)
        self.assertEqual(r.wait(), 130, r.stderr())
        self.assertLess(time.monotonic() - t0, 2.0)
        assert_gone(self, kids)

    def test_sigterm_during_ping(self):
        r = Run(self, "ping", "-n", "2", "-c", "4", "--duration", "300s",
                "--worker", BAD + " ignore-eof")
        kids = r.wait_workers(2)
        time.sleep(0.2)
        r.p.send_signal(signal.SIGTERM)
        self.assertEqual(r.wait(), 143, r.stderr())
        self.assertIn("interrupted a ping load", assert_one_line(self, r.stderr()))
        assert_gone(self, kids)

    def test_sighup_during_chaos(self):
        r = Run(self, "chaos", "-n", "2", "-c", "4", "--duration", "300s",
                "--kill-every", "100s", "--worker", BAD + " ignore-eof")
        kids = r.wait_workers(2)
        r.p.send_signal(signal.SIGHUP)
        self.assertEqual(r.wait(), 129, r.stderr())
        self.assertIn("interrupted a chaos run", assert_one_line(self, r.stderr()))
        assert_gone(self, kids)


class Options(unittest.TestCase):
    def test_start_timeout_reaches_its_ping(self):
        """Item 6: --timeout bounds start's own ping (was a fixed 10 s)."""
        t0 = time.monotonic()
        rc, _, err = run(self, "start", "-n", "1", "-q", "--timeout", "300ms",
                         "--worker", BAD + " hang")
        self.assertEqual(rc, 1)
        self.assertIn("WP_ETIMEDOUT", assert_one_line(self, err))
        self.assertLess(time.monotonic() - t0, 8.0)

    def test_explicit_max_inflight_is_honoured(self):
        """Item 15: only the default adapts to C/N, and the header says."""
        rc, out, err = run(self, "ping", "-n", "2", "-c", "100", "--max-inflight", "1",
                           "--requests", "300", "--warmup", "0")
        self.assertEqual(rc, 0, err)
        self.assertIn("100 in flight (closed loop), at most 1 per worker", out)
        rc, out, err = run(self, "ping", "-n", "2", "-c", "100",
                           "--requests", "300", "--warmup", "0")
        self.assertEqual(rc, 0, err)
        self.assertIn("at most 50 per worker", out)
        rc, out, err = run(self, "chaos", "-n", "2", "-c", "10", "--max-inflight", "1",
                           "--duration", "300ms", "--kill-every", "100ms")
        self.assertIn("10 in flight (at most 1 per worker)", out)


class FailureLines(unittest.TestCase):
    def test_warmup_failures_are_counted(self):
        """Item 8: a pool that gives up during the warm-up says how many
        requests failed there (it printed "0 requests failed")."""
        rc, _, err = run(self, "ping", "-n", "1", "--requests", "10",
                         "--worker", BAD + " crash-after 0")
        self.assertEqual(rc, 1)
        m = re.search(r"(\d+) during warm-up", assert_one_line(self, err))
        self.assertIsNotNone(m, err)
        self.assertGreater(int(m.group(1)), 0)
        self.assertIn("WP_EFAILED", err)

    def test_chaos_says_why_on_hung_calls(self):
        """Item 7: exit 1 on hung calls comes with a line saying so."""
        rc, out, err = run(self, "chaos", "-n", "2", "-c", "4", "--duration", "1s",
                           "--kill-every", "300ms", "--drain", "300ms",
                           "--worker", BAD + " hang")
        self.assertEqual(rc, 1, out)
        self.assertRegex(assert_one_line(self, err), r"\d+ calls hung")

    def test_chaos_without_kills_fails(self):
        """Item 13: a run in which no worker was killed proved nothing."""
        rc, out, err = run(self, "chaos", "-n", "2", "-c", "4", "--duration", "300ms",
                           "--kill-every", "10s")
        self.assertEqual(rc, 1, out)
        self.assertIn("kills       0", out)
        self.assertIn("no worker was killed", assert_one_line(self, err))

    def test_every_usage_error_says_why(self):
        """Item 7: each command's exit 2 names what was wrong first."""
        for args in ([], ["nosuch"],
                     ["ping", "-n", "1", "--requests", "5", "stray"],
                     ["start", "-n", "1", "stray"],
                     ["chaos", "-n", "1", "stray"],
                     ["ping", "-n", "1"],
                     ["ping", "-n", "0", "--requests", "5"],
                     ["ping", "--connect", "a,,b", "--requests", "5"]):
            rc, _, err = run(self, *args)
            self.assertEqual(rc, 2, args)
            self.assertTrue(err.startswith("wpool"), (args, err))


class Attached(unittest.TestCase):
    def test_unreachable_target_is_named(self):
        """--connect to nobody: exit 1, one line naming the target and the
        health check it never passed."""
        rc, _, err = run(self, "start", "--connect", "unix:/tmp/wpool-cli-nobody.sock",
                         "--start-timeout", "300ms")
        self.assertEqual(rc, 1)
        line = assert_one_line(self, err)
        self.assertIn("wpool-cli-nobody.sock", line)
        self.assertIn("Health/Check", line)


class Load(unittest.TestCase):
    """wpool load (issue 16): thresholds set the exit code, as k6's do."""

    def soak(self, method, out):
        # The capacity is given: measuring it on the leak method would leak
        # GiBs. 200/s for 1.5 s: ~12 MiB/s leaked across the pool.
        return run(self, "load", "--profile", "soak", "-n", "2", "--call", method,
                   "--capacity", "400", "--duration", "1500ms", "--sample", "300ms",
                   "--slo", "errors<1%", "--fail-on", "worker_rss_slope<50MiB/min",
                   "--out", out)

    def test_a_failed_threshold_exits_1_and_is_saved(self):
        with tempfile.TemporaryDirectory() as d:
            rc, out, err = self.soak("echo", os.path.join(d, "echo.json"))
            self.assertEqual(rc, 0, out + err)
            self.assertRegex(out, r"worker_rss_slope<50MiB/min +-?[\d.]+ MiB/min +pass")
            rc, out, err = self.soak("leak", os.path.join(d, "leak.json"))
            self.assertEqual(rc, 1, out + err)
            self.assertRegex(out, r"worker_rss_slope<50MiB/min +[\d.]+ MiB/min +FAIL")
            self.assertIn("1 of 2 thresholds failed", out)
            import json
            with open(os.path.join(d, "leak.json")) as f:
                doc = json.load(f)
            table = {t["rule"]: t["pass"] for t in doc["load"]["thresholds"]}
            self.assertEqual(table, {"errors<1%": True, "worker_rss_slope<50MiB/min": False})
            ids = [m["id"] for m in doc["metrics"]]
            self.assertIn("load.soak.worker_rss_slope/pipe/n=2", ids)
            series = doc["load"]["series"]["intervals"]
            self.assertEqual(sum(i["ok"] for i in series), doc["load"]["ok"])

    def test_usage_errors(self):
        for args in (["--capacity", "10"],
                     ["--profile", "storm"],
                     ["--profile", "stress", "--slo", "p98<5ms"],
                     ["--profile", "stress", "--slo", "p99<5MiB"],
                     ["--profile", "soak", "--fail-on", "breaking_point>1"],
                     ["--profile", "spike", "--work", "cpu_us=1", "--call", "echo"],
                     ["--profile", "spike", "--work", "cpus=1"]):
            rc, _, err = run(self, "load", *args)
            self.assertEqual(rc, 2, args)
            self.assertTrue(err.startswith("wpool load: "), (args, err))

if __name__ == "__main__":
    unittest.main(verbosity=2)
