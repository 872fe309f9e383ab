#!/usr/bin/python3
"""py_knobs_worker — the Python twin of the reference worker's Call methods
(build/wpool-worker), for the tests of the pool's error paths:

  echo    the payload back
  fail    raises ValueError(payload): an error reply, the worker lives on
  nothing returns None: an empty result
  crash   os.abort(): the process dies with the request in flight

WPOOL_TEST_INIT_FAIL=1 makes the init hook raise (no Hello: a failed start),
and so does WPOOL_TEST_OFFERED=V when the pool's WPOOL_PROTOCOL is not V
("-": unset), naming what it found: a test's proof of what the pool offered.
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "worker", "python"))
import wpool_worker  # noqa: E402

worker = wpool_worker.Worker()
OFFERED = os.environ.get("WPOOL_PROTOCOL", "-")  # run() takes it out before init


@worker.init
def init():
    if os.environ.get("WPOOL_TEST_INIT_FAIL"):
        raise RuntimeError("model file missing (test)")
    want = os.environ.get("WPOOL_TEST_OFFERED")
    if want is not None and OFFERED != want:
        raise RuntimeError(f"WPOOL_PROTOCOL is {OFFERED}, the test expects {want}")


@worker.method("echo")
def echo(payload):
    return payload


@worker.method("fail")
def fail(payload):
    raise ValueError(payload.decode("utf-8", "replace"))


@worker.method("nothing")
def nothing(payload):
    return None  # an empty result, not "unknown"


@worker.method("crash")
def crash(payload):
    os.abort()


if __name__ == "__main__":
    worker.run()
