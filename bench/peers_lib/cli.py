"""cli.py — bench/peers: options, the measuring rounds, the results file.

A run is R rounds. Each round measures every system once, in the same
order: wpool (one build/wpool-baseline call, both transports), then each
Python peer — start-up at every size, then a pool of --workers for the ping
grid and memory. Every metric therefore has one run per round, and a ratio
(wpool-pipe ÷ peer) is taken per round from figures measured seconds apart
and then summarised, so a drift of the shared machine hits both sides.
"""
import argparse
import os
import platform
import sys
import time

from . import doc as D
from . import interrupt
from . import summary
from .pools import PEERS, Peer, PeerError
from .wpool_side import PCTS, SYSTEMS as WPOOL_SYSTEMS, WpoolError, WpoolSide

ALL_SYSTEMS = (*WPOOL_SYSTEMS, *PEERS)
PCT_VALUE = {"p50": 50.0, "p99": 99.0, "p99_9": 99.9}
MIB = 1024.0 * 1024.0
RATIO_BASE = "wpool-pipe"

READINESS = ("peers: n tasks that each wait on an n-party Barrier (given to the "
             "workers by the pool initializer) and return os.getpid(); timed "
             "from the pool constructor until all n replies are back; the n "
             "pids must be distinct and the pool's own. wpool: wp_pool_start "
             "until every worker's Hello (bench/baseline startup.all_ready, "
             "concurrent)")


def int_list(s, lo=1, hi=100000):
    try:
        v = [int(x) for x in s.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a list like 2,4,8, got {s!r}")
    if not v or any(not lo <= x <= hi for x in v):
        raise argparse.ArgumentTypeError(f"values must be {lo}..{hi}: {s!r}")
    return v


def cpu_list(s):
    cpus = set()
    try:
        for part in s.split(","):
            a, _, b = part.partition("-")
            lo, hi = int(a), int(b or a)
            if lo < 0 or hi < lo:
                raise ValueError
            cpus.update(range(lo, hi + 1))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a CPU list like 0 or 0-1, got {s!r}")
    return sorted(cpus)


def system_list(s):
    v = [x.strip() for x in s.split(",") if x.strip()]
    bad = [x for x in v if x not in ALL_SYSTEMS]
    if bad or not v:
        raise argparse.ArgumentTypeError(
            f"unknown system {bad[0] if bad else s!r}; known: {', '.join(ALL_SYSTEMS)}")
    return [x for x in ALL_SYSTEMS if x in v]  # wpool first, fixed order


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="bench/peers",
        description="wpool next to multiprocessing.Pool and ProcessPoolExecutor "
        "('fork' and 'spawn'): start-up, closed-loop ping, latency, memory, "
        "measured in the same run and placement; saves a wpool.bench/1 file.",
        epilog="Default ~3.5 min on 2 vCPUs, --quick < 90 s. Exit: 0 ok, 1 a "
        "point failed (the file is still written), 2 usage.")
    p.add_argument("--quick", action="store_true",
                   help="5 rounds, 2000 requests, warm-up 200 (< 90 s)")
    p.add_argument("--systems", type=system_list, default=list(ALL_SYSTEMS),
                   help="default: " + ",".join(ALL_SYSTEMS))
    p.add_argument("--sizes", type=int_list, default=[2, 4, 8, 16, 32],
                   help="start-up pool sizes (default 2,4,8,16,32)")
    p.add_argument("--workers", type=int, default=8,
                   help="pool size for ping and memory (default 8)")
    p.add_argument("--concurrency", type=int_list, default=[1, 10, 50, 100],
                   help="requests in flight (default 1,10,50,100)")
    p.add_argument("--reps", type=int, help="rounds (default 10, quick 5)")
    p.add_argument("--requests", type=int,
                   help="measured replies per ping point and round "
                   "(default 5000, quick 2000)")
    p.add_argument("--warmup", type=int,
                   help="replies before measuring, at least C (default 1000, quick 200)")
    p.add_argument("--cpus", type=cpu_list,
                   help="pin this process, the peers' workers and wpool, e.g. 0 or 0-1")
    p.add_argument("--timeout", type=float, default=60.0,
                   help="seconds one point may take before it fails (default 60)")
    p.add_argument("--out", help="write the results here (default "
                   "results/peers/<UTC time>-<commit>.json and results/peers/latest.json)")
    o = p.parse_args(argv)
    if o.reps is None:
        o.reps = 5 if o.quick else 10
    if o.requests is None:
        o.requests = 2000 if o.quick else 5000
    if o.warmup is None:
        o.warmup = 200 if o.quick else 1000
    if o.reps < 1 or o.requests < 1 or o.warmup < 0 or o.workers < 1:
        p.error("--reps, --requests and --workers must be positive, --warmup >= 0")
    return o


class Run:
    def __init__(self, opts, repo):
        self.o = opts
        self.repo = repo
        self.t0 = time.monotonic()
        self.rounds = []       # one {key: value} per round
        self.failures = 0
        self.doing = "the start"  # what a signal interrupts (main says it)
        wp = [s for s in opts.systems if s in WPOOL_SYSTEMS]
        self.wpool = WpoolSide(repo, wp, opts, self.log) if wp else None
        self.peers = [Peer(s) for s in opts.systems if s in PEERS]

    def log(self, msg):
        print(f"[{time.monotonic() - self.t0:5.1f}s] {msg}", file=sys.stderr, flush=True)

    def fail(self, msg):
        self.failures += 1
        self.log(f"FAILED {msg}")

    def warm_up(self):
        """One discarded start per peer: page cache, imports, the resource
        tracker 'spawn' starts once — none of it a pool's steady cost."""
        for peer in self.peers:
            try:
                h, _, _ = peer.start_ready(min(self.o.sizes), self.o.timeout)
                h.close()
            except PeerError as e:
                self.fail(f"warm-up: {e}")

    def peer_round(self, peer, fig):
        o, s = self.o, peer.name
        for n in o.sizes:
            try:
                h, secs, served = peer.start_ready(n, o.timeout)
                h.close()
            except PeerError as e:
                self.fail(str(e))
                continue
            fig[("startup", s, n)] = secs * 1e3
            fig[("served", s, n)] = served
        try:
            h, _, _ = peer.start_ready(o.workers, o.timeout)
        except PeerError as e:
            return self.fail(f"ping pool: {e}")
        try:
            for c in o.concurrency:
                rps, lat = h.ping(c, o.warmup, o.requests, o.timeout)
                fig[("rps", s, c)] = rps
                for p in PCTS:
                    if D.percentile_supported(len(lat), PCT_VALUE[p]):
                        fig[(p, s, c)] = D.percentile(lat, PCT_VALUE[p]) / 1e3
            sup, workers = h.rss()
            if sup is not None and len(workers) == o.workers:
                fig[("sup_rss", s)] = sup / MIB
                fig[("worker_rss", s)] = sum(workers) / len(workers) / MIB
            else:
                self.fail(f"{s}: could not read the RSS of all workers")
        except PeerError as e:
            self.fail(str(e))
        finally:
            h.close()

    def progress(self, r, s, fig):
        o = self.o
        st = " ".join(f"{fig[('startup', s, n)]:.1f}" for n in o.sizes
                      if ("startup", s, n) in fig)
        rps = " ".join(f"{fig[('rps', s, c)]:.0f}" for c in o.concurrency
                       if ("rps", s, c) in fig)
        self.log(f"round {r}/{o.reps} {s:<22} start-up ms [{st}]  req/s [{rps}]")

    def measure(self):
        self.doing = "the warm-up"
        self.warm_up()
        for r in range(1, self.o.reps + 1):
            fig = {}
            if self.wpool:
                self.doing = f"round {r} of {self.o.reps}, wpool-baseline"
                try:
                    fig.update(self.wpool.round(timeout=max(120, 4 * self.o.timeout)))
                except WpoolError as e:
                    self.fail(str(e))
                for s in self.o.systems:
                    if s in WPOOL_SYSTEMS:
                        self.progress(r, s, fig)
            for peer in self.peers:
                interrupt.check()
                self.doing = f"round {r} of {self.o.reps}, {peer.name}"
                self.peer_round(peer, fig)
                self.progress(r, peer.name, fig)
            self.rounds.append(fig)
            interrupt.check()

    # -- the document ----------------------------------------------------
    def runs(self, key):
        return [f[key] for f in self.rounds if key in f]

    def ratio_runs(self, key_w, key_p):
        return [f[key_w] / f[key_p] for f in self.rounds
                if key_w in f and key_p in f and f[key_p] > 0]

    def metrics(self):
        o, out = self.o, []

        def add(id_, unit, better, params, runs):
            if runs:
                out.append(D.metric(id_, unit, better, params, runs))
        W = o.workers
        for s in o.systems:
            for n in o.sizes:
                add(f"peers.startup.all_ready/{s}/n={n}", "ms", "lower",
                    {"system": s, "n": n}, self.runs(("startup", s, n)))
                add(f"peers.startup.workers_served/{s}/n={n}", "workers", "higher",
                    {"system": s, "n": n}, self.runs(("served", s, n)))
            for c in o.concurrency:
                add(f"peers.ping.rps/{s}/n={W}/c={c}", "req/s", "higher",
                    {"system": s, "n": W, "c": c}, self.runs(("rps", s, c)))
                for p in PCTS:
                    add(f"peers.ping.{p}/{s}/n={W}/c={c}", "us", "lower",
                        {"system": s, "n": W, "c": c, "percentile": PCT_VALUE[p]},
                        self.runs((p, s, c)))
            add(f"peers.mem.supervisor_rss/{s}/n={W}", "MiB", "lower",
                {"system": s, "n": W}, self.runs(("sup_rss", s)))
            add(f"peers.mem.worker_rss/{s}/n={W}", "MiB", "lower",
                {"system": s, "n": W}, self.runs(("worker_rss", s)))
        if RATIO_BASE in o.systems:
            for peer in self.peers:
                s = peer.name
                for n in o.sizes:
                    add(f"peers.ratio.startup/{s}/n={n}", "ratio", "lower",
                        {"system": s, "wpool": RATIO_BASE, "n": n},
                        self.ratio_runs(("startup", RATIO_BASE, n), ("startup", s, n)))
                for c in o.concurrency:
                    add(f"peers.ratio.rps/{s}/n={W}/c={c}", "ratio", "higher",
                        {"system": s, "wpool": RATIO_BASE, "n": W, "c": c},
                        self.ratio_runs(("rps", RATIO_BASE, c), ("rps", s, c)))
        return out

    def config(self):
        o = self.o
        return {
            "quick": o.quick, "systems": o.systems, "sizes": o.sizes,
            "workers": o.workers, "concurrency": o.concurrency,
            "reps": o.reps, "requests": o.requests, "warmup": o.warmup,
            "payload_bytes": 16, "cpus": o.cpus, "out": o.out,
            "timeout_s": o.timeout, "readiness": READINESS,
            "ratios": f"{RATIO_BASE} / peer, per round, then median/min/max",
            "python": {"executable": sys.executable,
                       "version": platform.python_version()},
            "wpool": None if not self.wpool else {
                "command": self.wpool.command,
                "startup": "concurrent, until every worker's Hello",
                "dispatch": "checkout (max_inflight 1, the rest queued)"},
        }

    def build(self):
        b = dict((self.wpool and self.wpool.build_info) or
                 {"compiler": None, "cflags": None, "libuv": None,
                  "grpc": None, "protobuf_c": None})
        b["python"] = platform.python_version()
        return b


def default_paths(repo, d):
    stamp = "".join(ch for ch in d["created_at"].split(".")[0] if ch not in "-:") + "Z"
    sha = (d["git"]["commit"] or "nogit")[:7]
    rdir = os.environ.get("WPOOL_PEERS_DIR") or os.path.join(repo, "results", "peers")
    os.makedirs(rdir, exist_ok=True)
    return [os.path.join(rdir, f"{stamp}-{sha}.json"), os.path.join(rdir, "latest.json")]


def main(argv=None):
    o = parse_args(sys.argv[1:] if argv is None else argv)
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if o.cpus:
        try:  # before any thread or child: they inherit it
            os.sched_setaffinity(0, o.cpus)
        except OSError as e:
            print(f"peers: --cpus: cannot pin to {o.cpus}: {e}", file=sys.stderr)
            return 2
    interrupt.install()
    run = Run(o, repo)
    d = D.new_document("bench/peers", None, repo, None)
    run.log(f"{o.reps} rounds of {', '.join(o.systems)}"
            f"{'' if not o.cpus else ' on cpus ' + ','.join(map(str, o.cpus))}")
    try:
        run.measure()
    except interrupt.Interrupted as e:
        print(f"peers: {e}: interrupted {run.doing}; its pools are stopped, "
              "no results saved", file=sys.stderr)
        return 128 + e.sig
    d["config"], d["build"] = run.config(), run.build()
    d["metrics"] = run.metrics()
    d["elapsed_s"] = time.monotonic() - run.t0
    why = D.validate(d)
    if why:
        print(f"peers: internal: the document does not validate: {why}", file=sys.stderr)
        return 1
    paths = [o.out] if o.out else default_paths(repo, d)
    try:
        for path in paths:
            D.write_atomic(d, path)
    except OSError as e:
        print(f"peers: cannot write {path}: {e}", file=sys.stderr)
        return 1
    summary.print_summary(sys.stdout, d, paths[0])
    if run.failures:
        print(f"peers: {run.failures} point(s) failed (see above); their "
              "metrics are missing", file=sys.stderr)
    return 1 if run.failures else 0
