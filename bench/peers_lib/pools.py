"""pools.py — the Python pools measured against wpool, behind one interface.

A peer is multiprocessing.Pool or concurrent.futures.ProcessPoolExecutor
with the 'fork' or the 'spawn' start method (stdlib only). For each one:

  start_ready(n)  a new pool of n workers, returned only once every worker
                  has served a request (see below), with the time it took;
  ping(C, ...)    a closed loop of exactly C 16-byte echoes in flight, each
                  completion's callback submitting the next;
  rss()           the supervisor's (this process) and the workers' VmRSS.

Forcing readiness. Neither pool says when its workers are up: Pool starts
its processes in the constructor but they may still be importing, and
ProcessPoolExecutor starts them lazily on submit (one per submit with
'spawn'). So the pool is given an initializer holding a Barrier of n
parties, and n tasks that each wait on it and return os.getpid(). A worker
blocked in the barrier cannot take a second task, so the barrier opens only
when n distinct processes have each started, imported, run the initializer
and taken a task; the clock stops when all n replies are back, and the n
pids are checked to be distinct and to be the pool's own. A lazy start can
not look fast: it has to finish inside the timed window.
"""
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor

from . import interrupt, tasks

PAYLOAD = b"p" * 16  # as wpool's ping: 16 bytes, echoed back

PEERS = ("python-pool-fork", "python-pool-spawn",
         "python-executor-fork", "python-executor-spawn")


class PeerError(Exception):
    """A point that could not be measured (timeout, wrong worker count)."""


def rss_bytes(pid="self"):
    """VmRSS of a process from /proc, in bytes (None when gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


class Peer:
    def __init__(self, name):
        if name not in PEERS:
            raise ValueError(f"unknown peer {name!r}")
        _, self.kind, self.method = name.split("-")
        self.name = name
        self.ctx = multiprocessing.get_context(self.method)

    # -- start-up -------------------------------------------------------
    def start_ready(self, n, timeout):
        """A pool of n workers, each of which has served a request.
        Returns (handle, seconds, distinct pids that checked in)."""
        barrier = self.ctx.Barrier(n)  # the harness's device: not timed
        t0 = time.perf_counter()
        h = _Handle(self, n, barrier)
        try:
            pids = h.run_checkins(n, timeout)
            elapsed = time.perf_counter() - t0
            served = set(pids)
            own = set(h.pids())
            if len(served) != n or not served <= own:
                raise PeerError(f"{self.name} n={n}: {len(served)} distinct "
                                f"workers served the start-up tasks, "
                                f"{len(served - own)} not the pool's own")
        except BaseException:
            h.close(kill=True)
            raise
        return h, elapsed, len(served)


class _Handle:
    """One live pool: submit with a completion callback, pids, close."""

    def __init__(self, peer, n, barrier):
        self.peer, self.n = peer, n
        init = dict(initializer=tasks.init_worker, initargs=(barrier,))
        if peer.kind == "pool":
            self.pool = peer.ctx.Pool(n, **init)
        else:
            self.pool = ProcessPoolExecutor(n, mp_context=peer.ctx, **init)

    def submit(self, fn, args, on_done):
        """Runs fn(*args) in a worker; on_done(ok, value) is called from the
        pool's own result thread when it completes."""
        if self.peer.kind == "pool":
            self.pool.apply_async(fn, args,
                                  callback=lambda v: on_done(True, v),
                                  error_callback=lambda e: on_done(False, e))
        else:
            def done(fut):
                exc = fut.exception()
                on_done(exc is None, exc if exc is not None else fut.result())
            self.pool.submit(fn, *args).add_done_callback(done)

    def run_checkins(self, n, timeout):
        """n barrier tasks at once; the pids that served them."""
        results, errors = [], []
        all_back = threading.Event()
        lock = threading.Lock()

        def on_done(ok, v):
            with lock:
                (results if ok else errors).append(v)
                if len(results) + len(errors) == n:
                    all_back.set()
        for _ in range(n):
            self.submit(tasks.checkin, (timeout,), on_done)
        if not interrupt.wait(all_back, timeout + 5):
            raise PeerError(f"{self.peer.name} n={n}: only {len(results)} of "
                            f"{n} workers checked in within {timeout} s")
        if errors:
            raise PeerError(f"{self.peer.name} n={n}: start-up task failed: "
                            f"{errors[0]!r}")
        return results

    def pids(self):
        # Both pools keep their processes in private attributes; the public
        # API has no way to list them.
        if self.peer.kind == "pool":
            return [p.pid for p in self.pool._pool]
        return list(self.pool._processes.keys())

    def close(self, kill=False):
        """Stops the pool and reaps every worker before returning, so the
        next measurement starts on a quiet machine. Nothing is pending when
        the harness closes a pool, so Pool is always terminated: its
        graceful close+join took ~0.8 s for 32 'spawn' workers here (not
        measured, but a second of wall time per round)."""
        if self.peer.kind == "pool":
            self.pool.terminate()
            self.pool.join()
        else:
            if kill:
                for p in list(self.pool._processes.values()):
                    p.terminate()
            self.pool.shutdown(wait=True, cancel_futures=kill)

    # -- ping -----------------------------------------------------------
    def ping(self, conc, warmup, requests, timeout):
        """Closed loop: exactly conc echoes in flight, each completion's
        callback submits the next. The first max(warmup, conc) completions
        are not measured (warm-up and the ramp from zero in flight); then
        `requests` completions are, with conc still in flight up to the
        last of them. Returns (req/s, latencies in ns, sorted)."""
        return _ClosedLoop(self, conc, max(warmup, conc), requests).run(timeout)

    # -- memory ---------------------------------------------------------
    def rss(self):
        """(supervisor bytes, [worker bytes]) from /proc VmRSS."""
        workers = [rss_bytes(p) for p in self.pids()]
        return rss_bytes(), [w for w in workers if w is not None]


class _ClosedLoop:
    def __init__(self, h, conc, warmup, requests):
        self.h, self.conc = h, conc
        self.warmup, self.requests = warmup, requests
        self.last_measured = warmup + requests
        self.lock = threading.Lock()
        self.finished = threading.Event()
        self.issued = self.completed = 0
        self.t_begin = self.t_end = None
        self.lat = []
        self.error = None
        self.stopped = False  # the harness gave up (a signal): send no more

    def send(self):
        t = time.perf_counter_ns()
        self.h.submit(tasks.echo, (PAYLOAD,),
                      lambda ok, v, t=t: self.on_reply(t, ok, v))

    def on_reply(self, t_sent, ok, value):
        now = time.perf_counter_ns()
        with self.lock:
            self.completed += 1
            k = self.completed
            if not ok or value != PAYLOAD:
                self.error = self.error or (value if not ok else
                                            f"bad echo {value!r}")
            if k == self.warmup:
                self.t_begin = now
            elif self.warmup < k <= self.last_measured:
                self.lat.append(now - t_sent)
                if k == self.last_measured:
                    self.t_end = now
            more = k < self.last_measured and self.error is None and not self.stopped
            if more:
                self.issued += 1
            elif self.completed == self.issued:
                self.finished.set()
        if more:
            self.send()

    def run(self, timeout):
        self.issued = self.conc  # before any callback can run
        for _ in range(self.conc):
            self.send()
        try:
            done = interrupt.wait(self.finished, timeout)
        except interrupt.Interrupted:
            with self.lock:  # the pool is terminated next: stop feeding it
                self.stopped = True
            raise
        if not done:
            raise PeerError(f"{self.h.peer.name} ping c={self.conc}: "
                            f"{self.completed} of {self.issued} answered "
                            f"within {timeout} s")
        if self.error is not None:
            raise PeerError(f"{self.h.peer.name} ping c={self.conc}: "
                            f"{self.error!r}")
        rps = self.requests / ((self.t_end - self.t_begin) / 1e9)
        self.lat.sort()
        return rps, self.lat
