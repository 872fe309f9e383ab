#!/usr/bin/python3
"""phases — where a Python worker's start-up goes: starts the worker command
N times on the pipe transport with WPOOL_PHASES=1, reads its Hello, and
prints the median time between consecutive phases the SDK logs
(CLOCK_MONOTONIC, the clock this script and libwpool read too):

  exec → imported         interpreter start-up and `import wpool_worker`
  imported → init_start   the rest of the SDK's set-up (flags, message classes)
  init_start → init_done  the worker's init hooks (importing numpy, a model)
  init_done → hello       writing the Hello
  exec → Hello read       the whole, as the pool sees it (spawn to ready)

A worker may add its own marks inside init (worker.phases["name"] =
time.monotonic_ns(); numpy_worker.py marks numpy_imported): they show as
phases of their own.

    /usr/bin/python3 worker/python/phases.py -n 20 -- \\
        /usr/bin/python3 worker/python/examples/numpy_worker.py

Exit: 0, 1 when a start failed (its stderr is shown), 2 on bad usage.
"""
import argparse
import os
import select
import statistics
import struct
import subprocess
import sys
import time


def read_exact(fd, n, deadline):
    buf = b""
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise TimeoutError("no Hello in time")
        chunk = os.read(fd, n - len(buf))
        if not chunk:
            raise EOFError("the worker exited before its Hello")
        buf += chunk
    return buf


def one_start(argv, timeout):
    """The phase times of one start, ns on CLOCK_MONOTONIC."""
    env = dict(os.environ, WPOOL_PHASES="1")
    t0 = time.monotonic_ns()
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env)
    try:
        deadline = time.monotonic() + timeout
        (n,) = struct.unpack(">I", read_exact(p.stdout.fileno(), 4, deadline))
        read_exact(p.stdout.fileno(), n, deadline)
        t_hello = time.monotonic_ns()
        p.stdin.close()  # EOF: the worker exits 0
        err = p.stderr.read().decode("utf-8", "replace")
        p.wait(timeout)
    except (EOFError, TimeoutError) as e:
        p.kill()
        p.wait()
        sys.stderr.write(p.stderr.read().decode("utf-8", "replace"))
        raise SystemExit(f"phases: {e}")
    line = next((x for x in err.splitlines() if "phases" in x), None)
    if line is None:
        raise SystemExit("phases: the worker logged no phases (not on wpool_worker.Worker?)")
    ph = {k: int(v) for k, v in (kv.split("=") for kv in line.split(": ", 2)[-1].split())}
    ph.update(exec=t0, hello_read=t_hello)
    return ph


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=10, help="starts (default 10)")
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds per start")
    ap.add_argument("command", nargs="+", help="the worker command")
    a = ap.parse_args()
    if a.n < 1:
        ap.error("-n must be positive")
    runs = [one_start(a.command, a.timeout) for _ in range(a.n)]
    print(f"{a.n} starts of: {' '.join(a.command)}  (median, min-max, ms)")
    # The phases in the order they happened (the first run's), then the total.
    marks = sorted((k for k in runs[0] if k != "hello_read"), key=runs[0].get)
    steps = list(zip(marks, marks[1:])) + [("exec", "hello_read")]
    for start, end in steps:
        ms = [(r[end] - r[start]) / 1e6 for r in runs if start in r and end in r]
        label = f"{start} → {end}" if end != "hello_read" else "exec → Hello read"
        print(f"  {label:<30} {statistics.median(ms):8.1f}  ({min(ms):.1f}-{max(ms):.1f})")


if __name__ == "__main__":
    main()
