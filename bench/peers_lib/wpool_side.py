"""wpool_side.py — wpool's own figures, measured in the same run and the
same CPU placement as the peers.

Each round runs build/wpool-baseline once, restricted to the scenarios and
points the peers are measured on (startup at the same sizes, the ping grid
at the same pool size and concurrencies, memory), with one repetition and
the same --cpus, --requests and --warmup; the round's figures are read from
the results file it writes. bench/baseline builds the program when it is
missing or stale; if that build fails (someone's half-finished change) an
existing binary is used, with a warning.

The wpool figures compared are the concurrent start (to every worker's
Hello) and the checkout dispatch (one request per worker at a time, the
rest queued in the pool), which is what both Python pools do.
"""
import json
import os
import subprocess
import sys
import tempfile

from . import interrupt

SYSTEMS = {"wpool-pipe": "pipe", "wpool-grpc": "grpc"}
PCTS = ("p50", "p99", "p99_9")  # as bench/baseline names them


class WpoolError(Exception):
    pass


class WpoolSide:
    def __init__(self, repo, systems, opts, log):
        self.repo = repo
        self.transports = [SYSTEMS[s] for s in systems]
        self.opts = opts
        self.log = log
        build = os.environ.get("WPOOL_BUILD", "build")
        self.build_dir = build if os.path.isabs(build) else os.path.join(repo, build)
        self.binary = os.path.join(self.build_dir, "wpool-baseline")
        self.build_info = None
        self.command = None
        self._built = False

    def args(self, out):
        o = self.opts
        a = ["--only", "startup,throughput,latency,memory",
             "--transports", ",".join(self.transports),
             "--startup-sizes", ",".join(map(str, o.sizes)),
             "--sizes", str(o.workers),
             "--concurrency", ",".join(map(str, o.concurrency)),
             "--reps", "1", "--requests", str(o.requests),
             "--warmup", str(o.warmup), "--out", out]
        if o.cpus:
            a += ["--cpus", ",".join(map(str, o.cpus))]
        return a

    def _command(self, out):
        if not self._built:
            self._built = True
            wrapper = os.path.join(self.repo, "bench", "baseline")
            r = subprocess.run([wrapper, "--list"], capture_output=True, text=True)
            if r.returncode != 0:
                if not os.access(self.binary, os.X_OK):
                    raise WpoolError("bench/baseline could not build "
                                     f"{self.binary}:\n{r.stderr.strip()}")
                self.log("warning: bench/baseline could not rebuild; using the "
                         f"existing {self.binary}")
        return [self.binary, *self.args(out)]

    def round(self, timeout):
        """One repetition of every wpool point: {(kind, key...): value}."""
        with tempfile.TemporaryDirectory(prefix="wpool-peers-") as tmp:
            out = os.path.join(tmp, "wpool.json")
            cmd = self._command(out)
            self.command = [a if a != out else "<temporary file>" for a in cmd]
            try:
                rc, _, stderr = interrupt.run_child(cmd, timeout, cwd=self.repo)
            except subprocess.TimeoutExpired:
                raise WpoolError(f"wpool-baseline did not finish in {timeout} s")
            if not os.path.exists(out):
                tail = "\n".join(stderr.strip().splitlines()[-5:])
                raise WpoolError(f"wpool-baseline exited {rc} "
                                 f"without results:\n{tail}")
            if rc != 0:
                for line in stderr.splitlines():
                    if "fail" in line:
                        self.log(f"wpool-baseline: {line.strip()}")
            with open(out) as f:
                doc = json.load(f)
        self.build_info = doc.get("build")
        return self.extract(doc)

    def extract(self, doc):
        """The round's figures keyed like the peers' (see cli.Round)."""
        by_id = {m["id"]: m for m in doc.get("metrics", [])}
        o = self.opts
        fig = {}

        def take(key, id_):
            m = by_id.get(id_)
            if m is not None:
                fig[key] = m["runs"][0]
        for t in self.transports:
            s = "wpool-" + t
            for n in o.sizes:
                take(("startup", s, n), f"startup.all_ready/{t}/concurrent/n={n}")
            for c in o.concurrency:
                pt = f"{t}/checkout/n={o.workers}/c={c}"
                take(("rps", s, c), f"ping.rps/{pt}")
                for p in PCTS:
                    take((p, s, c), f"ping.{p}/{pt}")
            take(("sup_rss", s), f"mem.supervisor_rss/{t}/n={o.workers}")
            take(("worker_rss", s), f"mem.worker_rss/{t}/n={o.workers}")
        return fig


