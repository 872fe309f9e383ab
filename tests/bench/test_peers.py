"""bench/peers: the Python pools measured against wpool.

A tiny configuration of the real command (two start-up sizes, a 2-worker
ping pool, two concurrencies, two rounds, pinned to CPU 0) checked for the
results file's structure and ids, the readiness proof (every peer's start-up
was served by n distinct workers), the ratios and the recorded placement;
plus the harness's parts on their own: forced start-up on each peer, the
closed loop's counts, the percentile and the validator.

Run: /usr/bin/python3 tests/bench/test_peers.py   (WPOOL_BUILD: build dir, default build)
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, os.environ.get("WPOOL_BUILD", "build"))
PEERS_CMD = os.path.join(ROOT, "bench", "peers")
sys.path.insert(0, os.path.join(ROOT, "bench"))
from peers_lib import doc as D  # noqa: E402
from peers_lib.pools import PEERS, Peer  # noqa: E402

SIZES, WORKERS, CONC = (2, 3), 2, (1, 4)


def run_peers(*args, timeout=120):
    return subprocess.run([PEERS_CMD, *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


class TinyRun(unittest.TestCase):
    """One run of bench/peers shared by the tests of this class."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.out = os.path.join(cls.tmp.name, "peers.json")
        cls.have_wpool = os.access(os.path.join(BUILD, "wpool-baseline"), os.X_OK)
        systems = (["wpool-pipe"] if cls.have_wpool else []) + list(PEERS)
        cls.systems = systems
        cls.r = run_peers(
            "--systems", ",".join(systems), "--sizes", ",".join(map(str, SIZES)),
            "--workers", str(WORKERS), "--concurrency", ",".join(map(str, CONC)),
            "--reps", "2", "--requests", "200", "--warmup", "20",
            "--cpus", "0", "--out", cls.out)
        cls.doc = None
        if os.path.exists(cls.out):
            with open(cls.out) as f:
                cls.doc = json.load(f)
            cls.by_id = {m["id"]: m for m in cls.doc["metrics"]}

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def setUp(self):
        self.assertEqual(self.r.returncode, 0, self.r.stderr[-2000:])
        self.assertIsNotNone(self.doc)

    def test_document_validates(self):
        self.assertIsNone(D.validate(self.doc))
        for key in ("schema", "tool", "created_at", "git", "host", "build",
                    "config", "metrics"):
            self.assertIn(key, self.doc)
        self.assertEqual(self.doc["schema"], "wpool.bench/1")
        self.assertEqual(self.doc["tool"], "bench/peers")
        self.assertRegex(self.doc["created_at"],
                         r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
        for m in self.doc["metrics"]:
            self.assertEqual(m["n"], len(m["runs"]))
            self.assertEqual(m["median"], D.median(m["runs"]))
            self.assertEqual((m["min"], m["max"]), (min(m["runs"]), max(m["runs"])))

    def test_c_loader_accepts_it(self):
        compare = os.path.join(BUILD, "wpool-compare")
        if not os.access(compare, os.X_OK):
            self.skipTest(f"{compare} not built")
        r = subprocess.run([compare, self.out, self.out, "--json"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["schema"], "wpool.compare/1")

    def test_no_unsupported_tail(self):
        for id_ in self.by_id:
            self.assertNotIn(".p99", id_.split("/")[0] + ".")

    def test_every_id_for_every_system(self):
        for s in self.systems:
            want = [f"peers.startup.all_ready/{s}/n={n}" for n in SIZES]
            for c in CONC:
                want.append(f"peers.ping.rps/{s}/n={WORKERS}/c={c}")
                # Tails only where the samples support them (200 a rep:
                # P50 only), for wpool and the peers alike.
                want += [f"peers.ping.{p}/{s}/n={WORKERS}/c={c}"
                         for p, v in (("p50", 50), ("p99", 99), ("p99_9", 99.9))
                         if D.percentile_supported(200, v)]
            want += [f"peers.mem.supervisor_rss/{s}/n={WORKERS}",
                     f"peers.mem.worker_rss/{s}/n={WORKERS}"]
            for id_ in want:
                self.assertIn(id_, self.by_id)
                m = self.by_id[id_]
                self.assertEqual(m["params"]["system"], s, id_)
                self.assertEqual(m["n"], 2, id_)
                self.assertTrue(all(x > 0 for x in m["runs"]), id_)

    def test_each_peer_start_was_served_by_n_distinct_workers(self):
        for s in PEERS:
            for n in SIZES:
                m = self.by_id[f"peers.startup.workers_served/{s}/n={n}"]
                self.assertEqual(m["runs"], [float(n)] * 2, s)

    def test_ratios_are_wpool_over_peer_per_round(self):
        if not self.have_wpool:
            self.skipTest("no build/wpool-baseline: no wpool side")
        for s in PEERS:
            for n in SIZES:
                m = self.by_id[f"peers.ratio.startup/{s}/n={n}"]
                w = self.by_id[f"peers.startup.all_ready/wpool-pipe/n={n}"]["runs"]
                p = self.by_id[f"peers.startup.all_ready/{s}/n={n}"]["runs"]
                self.assertEqual((m["unit"], m["better"]), ("ratio", "lower"))
                for got, a, b in zip(m["runs"], w, p):
                    self.assertAlmostEqual(got, a / b)
            for c in CONC:
                m = self.by_id[f"peers.ratio.rps/{s}/n={WORKERS}/c={c}"]
                self.assertEqual((m["unit"], m["better"]), ("ratio", "higher"))

    def test_report_shows_them_side_by_side(self):
        report = os.path.join(ROOT, "bench", "report")
        if not os.access(os.path.join(BUILD, "wpool-report"), os.X_OK):
            self.skipTest("build/wpool-report not built")
        if subprocess.run(["sh", "-c", "command -v gnuplot"],
                          capture_output=True).returncode != 0:
            self.skipTest("no gnuplot")
        out = os.path.join(self.tmp.name, "report")
        r = subprocess.run([report, self.out, "--out", out], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(out, "report.md")) as f:
            md = f.read()
        for name in ("peers_startup", "peers_rps", "peers_latency",
                     "peers_ratio_startup", "peers_ratio_rps"):
            self.assertIn(f"({name}.png)", md)
            self.assertTrue(os.path.getsize(os.path.join(out, name + ".svg")) > 0)
        for s in self.systems:
            self.assertIn(f"| {s} |", md)

    def test_placement_recorded(self):
        self.assertEqual(self.doc["config"]["cpus"], [0])
        self.assertEqual(self.doc["host"]["cpu_affinity"], [0])

    def test_summary_on_stdout_progress_on_stderr(self):
        self.assertIn("start-up, all served, ms", self.r.stdout)
        for s in self.systems:
            self.assertIn(s, self.r.stdout)
        self.assertIn("round 2/2", self.r.stderr)
        self.assertNotIn("round 1/2", self.r.stdout)


class Parts(unittest.TestCase):
    def test_forced_start_on_every_peer(self):
        """A lazy pool (the executor with 'spawn' starts one worker per
        submit) still has all n up and serving when start_ready returns."""
        for name in PEERS:
            with self.subTest(peer=name):
                h, secs, served = Peer(name).start_ready(3, timeout=30)
                try:
                    self.assertEqual(served, 3)
                    self.assertEqual(len(set(h.pids())), 3)
                    self.assertGreater(secs, 0)
                    rps, lat = h.ping(4, warmup=10, requests=50, timeout=30)
                    self.assertEqual(len(lat), 50)
                    self.assertEqual(lat, sorted(lat))
                    self.assertGreater(rps, 0)
                    sup, workers = h.rss()
                    self.assertGreater(sup, 0)
                    self.assertEqual(len(workers), 3)
                finally:
                    h.close()

    def test_percentile_nearest_rank(self):
        xs = list(range(1, 2001))
        self.assertEqual(D.percentile(xs, 50), 1000)
        self.assertEqual(D.percentile(xs, 99), 1980)
        self.assertEqual(D.percentile(xs, 99.9), 1998)
        self.assertEqual(D.percentile(xs, 100), 2000)
        self.assertEqual(D.percentile([7], 99.9), 7)
        self.assertEqual(D.median([3, 1, 2, 10]), 2.5)

    def test_validate_rejects_what_the_c_loader_rejects(self):
        ok = {"schema": "wpool.bench/1",
              "metrics": [D.metric("a", "ms", "lower", {}, [1, 2])]}
        self.assertIsNone(D.validate(ok))
        self.assertIn("schema", D.validate(dict(ok, schema="x")))
        self.assertIn("twice", D.validate(dict(ok, metrics=ok["metrics"] * 2)))
        bad = dict(ok["metrics"][0], runs=[])
        self.assertIn("runs", D.validate(dict(ok, metrics=[bad])))
        with self.assertRaises(ValueError):
            D.metric("b", "ms", "sideways", {}, [1])

    def test_usage_errors_exit_2(self):
        for args in (["--systems", "python-pool-forkserver"], ["--sizes", "0"],
                     ["--cpus", "x"]):
            r = run_peers(*args, timeout=30)
            self.assertEqual(r.returncode, 2, args)
            self.assertTrue(r.stderr.strip())


def alive(pid):
    """Running, neither gone nor a zombie (PID 1 reaps orphans late)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def descendants(pid):
    """Live (not zombie) processes under pid, its children first."""
    kids = {}
    for d in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] not in ("Z", "X"):
            kids.setdefault(int(fields[1]), []).append(int(d))
    out, todo = [], [pid]
    while todo:
        for k in kids.get(todo.pop(0), []):
            out.append(k)
            todo.append(k)
    return out


def kill_tree(p, seen):
    """SIGKILL to p's live descendants and to every pid in seen, then p."""
    for pid in set(descendants(p.pid)) | set(seen):
        if alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    if p.poll() is None:
        p.kill()
        p.wait()


class Signals(unittest.TestCase):
    """SIGINT, SIGTERM and SIGHUP to bench/peers reach its wpool-baseline
    child (which stops its pool) and stop a Python pool being measured:
    exit 128 + signal, one line naming what was interrupted, nothing left."""

    def interrupt(self, sig, system, what, nprocs):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        err = tempfile.TemporaryFile(mode="w+")
        self.addCleanup(err.close)
        p = subprocess.Popen(
            [PEERS_CMD, "--systems", system, "--sizes", "2", "--workers", "2",
             "--concurrency", "1", "--reps", "1", "--requests", "100000000",
             "--warmup", "20", "--out", os.path.join(tmp.name, "p.json")],
            stdout=subprocess.DEVNULL, stderr=err, cwd=ROOT)
        seen = set()
        # A failed assertion below must not leave the wpool-baseline child
        # running on as an orphan (it runs in its own session, so killing
        # bench/peers alone does not end it: one was found here spinning
        # through its 10^8 requests half an hour after a loaded run).
        self.addCleanup(kill_tree, p, seen)
        deadline = time.monotonic() + 60
        while len(descendants(p.pid)) < nprocs and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # into the measured ping, past the start
        seen.update(descendants(p.pid))
        self.assertGreaterEqual(len(seen), nprocs)
        p.send_signal(sig)
        rc = p.wait(timeout=30)
        err.seek(0)
        self.assertEqual(rc, 128 + sig, err.read()[:3000])
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(alive(k) for k in seen):
            time.sleep(0.05)
        self.assertEqual([k for k in seen if alive(k)], [], "processes outlived bench/peers")
        err.seek(0)
        lines = err.read().strip().splitlines()
        self.assertRegex(lines[-1], f"interrupted ({what}|the warm-up)", lines)

    def test_wpool_baseline_child_gets_each_signal(self):
        if not os.access(os.path.join(BUILD, "wpool-baseline"), os.X_OK):
            self.skipTest("no wpool-baseline")
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            with self.subTest(sig=sig.name):
                # wpool-baseline and its 2 workers
                self.interrupt(sig, "wpool-pipe", "round 1 of 1, wpool-baseline", 3)

    def test_python_pool_is_stopped(self):
        self.interrupt(signal.SIGTERM, "python-pool-fork", "round 1 of 1, python-pool-fork", 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
